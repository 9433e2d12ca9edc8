//! The hook for checks beyond the grammar.
//!
//! The return rule is compiled into the grammar (see the crate docs), which
//! costs nothing per step. Rules a context-free grammar cannot express —
//! identifiers declared before use, types of operands — need state that
//! grows with the text. They implement [`SemanticCheck`]: the constraint
//! shows each check the bytes of every accepted token and asks it about the
//! tokens the grammar still allows; a check can only remove tokens, never
//! add them, so a chain of checks stays sound.
pub trait SemanticCheck: Send {
    /// Short name, for error messages.
    fn name(&self) -> &str;
    /// Sees the bytes of each accepted token, in order.
    fn observe(&mut self, token_bytes: &[u8]);
    /// Whether a token the grammar allows may follow the text observed so far.
    fn allows(&self, token_bytes: &[u8]) -> bool;
    /// An independent copy, for `JavaConstraint::fork`.
    fn fork(&self) -> Box<dyn SemanticCheck>;
}
