//! Standard processors.
