//! Java grammar constraint.
