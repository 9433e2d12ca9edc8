//! The Java grammar text: template expansion and start modes.
//!
//! `java.lark` is written once with `__C` in the names of the statement
//! rules; the return rule needs one copy of those rules per *return context*
//! (void body, value body, switch-expression body), and writing three copies
//! by hand would let them drift apart. Expansion is textual and happens once
//! per start mode.

use std::fmt;

const TEMPLATE: &str = include_str!("java.lark");
const CONTEXT_MARK: &str = "__C";

/// Where the text (prompt plus generation) starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StartMode {
    /// A whole compilation unit (package, imports, type declarations) or a
    /// `module-info.java`.
    File,
    /// The members of a class body, without the braces around them.
    ClassBody,
    /// The statements of a method body, without the braces around them.
    MethodBody(BodyKind),
}

/// The return context assumed for [`StartMode::MethodBody`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// `return;` — a void method, constructor or initialiser.
    Void,
    /// `return expr;` — a method with a result type.
    Value,
    /// Either, decided by the first return statement.
    Infer,
}

impl StartMode {
    pub const NAMES: [&'static str; 3] = ["file", "class-body", "method-body"];

    /// Parses the `start` parameter; `body` is only used for `method-body`.
    pub fn from_names(start: &str, body: BodyKind) -> Option<StartMode> {
        match start {
            "file" => Some(StartMode::File),
            "class-body" => Some(StartMode::ClassBody),
            "method-body" => Some(StartMode::MethodBody(body)),
            _ => None,
        }
    }

    fn start_rule(self) -> &'static str {
        match self {
            StartMode::File => "start: compilation_unit",
            StartMode::ClassBody => "start: class_body_decl*",
            StartMode::MethodBody(BodyKind::Void) => "start: block_stmt_v*",
            StartMode::MethodBody(BodyKind::Value) => "start: block_stmt_r*",
            StartMode::MethodBody(BodyKind::Infer) => "start: block_stmt_v* | block_stmt_r*",
        }
    }
}

impl BodyKind {
    pub const NAMES: [&'static str; 3] = ["infer", "void", "value"];

    pub fn from_name(name: &str) -> Option<BodyKind> {
        match name {
            "infer" => Some(BodyKind::Infer),
            "void" => Some(BodyKind::Void),
            "value" => Some(BodyKind::Value),
            _ => None,
        }
    }
}

impl fmt::Display for StartMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartMode::File => write!(f, "file"),
            StartMode::ClassBody => write!(f, "class-body"),
            StartMode::MethodBody(_) => write!(f, "method-body"),
        }
    }
}

/// Suffixes of the three return contexts, in the order the template's
/// hand-written `ctl_*` rules use.
const CONTEXTS: [&str; 3] = ["_v", "_r", "_y"];

/// The complete Lark grammar for `mode`.
pub fn lark_source(mode: StartMode) -> String {
    let mut out = String::with_capacity(TEMPLATE.len() * 2);
    out.push_str(mode.start_rule());
    out.push('\n');
    for rule in split_rules(TEMPLATE) {
        if rule.contains(CONTEXT_MARK) {
            for ctx in CONTEXTS {
                out.push_str(&rule.replace(CONTEXT_MARK, ctx));
            }
        } else {
            out.push_str(rule);
        }
    }
    out
}

/// The regex of the `IDENT_CHARS` lexeme, exactly as the grammar spells it
/// (the token slices in `vocab.rs` must be the very same expression for
/// llguidance to prove that a slice stays inside an identifier).
pub(crate) fn ident_chars_regex() -> &'static str {
    TEMPLATE
        .lines()
        .find_map(|line| line.strip_prefix("IDENT_CHARS: /"))
        .and_then(|rest| rest.strip_suffix('/'))
        .expect("java.lark defines IDENT_CHARS as one regex on one line")
}

/// Every word the grammar spells out as a literal (`"class"`, `"yield"`,
/// `"non-sealed"`, …): keywords, contextual keywords and literals.
pub(crate) fn grammar_words() -> Vec<&'static str> {
    let mut words: Vec<&str> = TEMPLATE
        .lines()
        .filter(|line| !line.trim_start().starts_with("//") && !line.starts_with('%'))
        .flat_map(|line| line.split('"').skip(1).step_by(2))
        .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-'))
        .filter(|w| w.bytes().any(|b| b.is_ascii_alphabetic() || b == b'_'))
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// Splits the grammar into chunks that each hold one top-level item (a rule
/// with its continuation lines, a directive or a comment line). A chunk
/// starts at every line that does not begin with whitespace.
fn split_rules(text: &str) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let continues = line.starts_with(' ') || line.starts_with('\t');
        if !continues && pos > start {
            chunks.push(&text[start..pos]);
            start = pos;
        }
        pos += line.len();
    }
    chunks.push(&text[start..]);
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_templated_rule_is_expanded_three_times() {
        let src = lark_source(StartMode::File);
        assert!(!src.contains(CONTEXT_MARK));
        for ctx in CONTEXTS {
            assert_eq!(src.matches(&format!("\nblock{ctx}: ")).count(), 1, "block{ctx}");
            assert_eq!(src.matches(&format!("\nstmt{ctx}: ")).count(), 1, "stmt{ctx}");
        }
    }

    #[test]
    fn grammar_words_include_keywords_and_contextual_words() {
        let words = grammar_words();
        for w in ["class", "return", "_", "non-sealed", "yield", "record", "permits", "transitive", "true"] {
            assert!(words.contains(&w), "{w} missing from {words:?}");
        }
        assert!(!words.iter().any(|w| w.contains(' ') || *w == "-" || *w == "--"), "{words:?}");
    }

    #[test]
    fn ident_chars_regex_is_the_lexeme() {
        assert!(ident_chars_regex().starts_with("[A-Za-z_$"));
        assert!(ident_chars_regex().ends_with("]*"));
    }

    #[test]
    fn split_keeps_continuation_lines_with_their_rule() {
        let chunks = split_rules("a: x\n  | y\nb: z\n");
        assert_eq!(chunks, vec!["a: x\n  | y\n", "b: z\n"]);
    }
}
