//! The first-run notice about staying connected.

pub mod seen;
