//! Plugin hosting: see the crate docs once written.
