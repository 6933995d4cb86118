//! plock-store-memory: the in-memory store behind plock-core's [`Store`](plock_core::Store)
//! trait, and the durable data file that keeps it between runs of the `plock` command.
#![deny(missing_docs)]

mod datafile;
mod memory;

pub use datafile::{
    DataFile, DataFileError, DecodeError, FORMAT_VERSION, LockWait, MAX_PAYLOAD_BYTES, decode,
    encode,
};
pub use memory::{MemoryStore, Snapshot};
