//! Java validity of a generation: the brace-closing rule, tree-sitter syntax
//! checks, and batch compilation with javac.

pub mod closing;
pub mod javac;
pub mod syntax;

pub use closing::{close_source, ClosedSource};
pub use javac::{compile_batch, CompileOutcome, JavacError};
pub use syntax::{JavaSyntax, SyntaxReport};
