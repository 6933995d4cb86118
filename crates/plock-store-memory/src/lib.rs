//! plock-store-memory: the in-memory store behind plock-core's store trait.
