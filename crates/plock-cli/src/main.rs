//! The plock command.
fn main() {}
