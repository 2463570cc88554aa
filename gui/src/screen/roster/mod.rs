//! The roster.

pub mod words;
