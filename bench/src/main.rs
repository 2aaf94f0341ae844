//! `idlewatch-bench`: load generator.

fn main() {}
