//! # Grammar-constrained Java decoding
//!
//! The `java_grammar` processor keeps a generation on the manifold of valid
//! Java 17: at every step it masks each token whose bytes cannot continue a
//! valid program, and it allows EOS only where the text is complete.
//! Beyond syntax it enforces the *return rule*: `return;` only in void
//! methods, constructors and initialisers, `return expr;` only in methods
//! with a result type, and lambda block bodies judged on their own.
//!
//! ## Design choices
//!
//! * **llguidance does the parsing.** Its lexer is a lazily built DFA over
//!   all lexemes and its parser an Earley parser; a token mask is a walk of
//!   the vocabulary's byte trie that prunes whole subtrees as soon as the
//!   lexer dies. That is the fastest known way to mask a 50k vocabulary
//!   against a context-free grammar, and it works on token *bytes*, so
//!   tokens that straddle lexemes (`){`, `();`, ` return`) need no special
//!   care. The grammar is our own (`src/java.lark`, from the JLS).
//! * **The return rule is grammar, not a side check.** The statement rules
//!   exist in three copies (void body, value body, switch-expression body),
//!   generated from one template (`grammar.rs`); a method's result type
//!   picks the copy. A mask therefore never allows a token that leads to a
//!   misplaced return, with no extra work per step. Checks that a grammar
//!   cannot express (declared-before-use) plug in through
//!   [`semantic::SemanticCheck`], which vetoes tokens after the grammar.
//! * **Compiled state is shared.** The token trie and the compiled grammar
//!   are built once per vocabulary and start mode and cloned per sequence
//!   (`vocab.rs`).

#[cfg(not(target_arch = "wasm32"))]
mod constraint;
mod grammar;
#[cfg(not(target_arch = "wasm32"))]
mod maximal_munch;
#[cfg(not(target_arch = "wasm32"))]
mod processor;
#[cfg(not(target_arch = "wasm32"))]
pub mod scope;
pub mod semantic;
#[cfg(not(target_arch = "wasm32"))]
mod vocab;

#[cfg(not(target_arch = "wasm32"))]
pub use constraint::JavaConstraint;
pub use grammar::{lark_source, BodyKind, StartMode};
#[cfg(not(target_arch = "wasm32"))]
pub use processor::{JavaGrammar, JavaScope};
#[cfg(not(target_arch = "wasm32"))]
pub use vocab::{java_slices, Acceleration, Vocabulary};

use logitloom_plugin_api::ProcessorEntry;

/// Why a text or a set-up was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConstraintError {
    #[error("not valid Java ({mode} mode) at line {line}, column {column}: {token} cannot follow {after:?}")]
    Rejected { mode: StartMode, line: usize, column: usize, token: String, after: String },
    #[error("unusable vocabulary: {0}")]
    Vocabulary(String),
    #[error("the Java grammar failed to compile (a bug in this plugin): {0}")]
    Grammar(String),
    #[error("parser error: {0}")]
    Parser(String),
}

/// The processors this library exports.
#[cfg(not(target_arch = "wasm32"))]
pub fn library() -> Vec<ProcessorEntry> {
    vec![ProcessorEntry::of::<JavaGrammar>(), ProcessorEntry::of::<JavaScope>()]
}

/// llguidance does not build for `wasm32-unknown-unknown` (its hash maps
/// seed from an OS random source, and it reads the clock while masking), so
/// the WASM module exports no processor: a chain that names `java_grammar`
/// there is refused as naming an unknown processor. Use the native module.
#[cfg(target_arch = "wasm32")]
pub fn library() -> Vec<ProcessorEntry> {
    Vec::new()
}
