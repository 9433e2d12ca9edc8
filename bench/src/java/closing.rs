//! Closing the braces of a generation that stopped mid-body.
//!
//! A generation cut off by the token budget is almost never a complete
//! compilation unit, and judging it as-is would make "compiles" mean only
//! "stopped early by luck". So before parsing and compiling we apply one
//! fixed rule, documented in `docs/bench.md`:
//!
//! 1. If prompt + completion ends outside any comment or literal with every
//!    `{`, `(` and `[` closed, it is used unchanged.
//! 2. Otherwise the completion's last line is dropped when it is incomplete
//!    (does not end in a newline): a statement cut in half is an artefact of
//!    the budget, not of the decoding strategy. Not so when the generation
//!    ended in a tail loop (then the last line is the model's degenerate
//!    output, often `.S.S.S...` never reaching a newline), nor when the
//!    completion is that one line (there would be nothing left to judge).
//! 3. An open block comment is closed with `*/`; then every open `{` gets a
//!    `}` on its own line, innermost first.
//!
//! Open `(` and `[` are deliberately not closed: at a line end they mean the
//! model left an expression unfinished, which is a real error.
//!
//! Brackets are counted with a small lexer that skips comments, string and
//! character literals and text blocks, so `"}"` or `// {` do not count.

/// Prompt plus completion as judged by the Java checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedSource {
    pub text: String,
    /// Bytes of the completion dropped by rule 2.
    pub dropped: usize,
    /// What rule 3 appended.
    pub appended: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lex {
    Code,
    LineComment,
    BlockComment,
    Str,
    Char,
    TextBlock,
}

/// Where a scan of the text ends: lexer state and the open brackets.
struct ScanEnd {
    state: Lex,
    open: Vec<u8>,
}

fn scan(text: &str) -> ScanEnd {
    let bytes = text.as_bytes();
    let mut state = Lex::Code;
    let mut open = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        match state {
            Lex::Code => match c {
                b'/' if next == Some(b'/') => {
                    state = Lex::LineComment;
                    i += 1;
                }
                b'/' if next == Some(b'*') => {
                    state = Lex::BlockComment;
                    i += 1;
                }
                b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                    state = Lex::TextBlock;
                    i += 2;
                }
                b'"' => state = Lex::Str,
                b'\'' => state = Lex::Char,
                b'{' | b'(' | b'[' => open.push(c),
                b'}' | b')' | b']' => {
                    // An unmatched closer is the model's error; javac will say so.
                    open.pop();
                }
                _ => {}
            },
            Lex::LineComment if c == b'\n' => state = Lex::Code,
            Lex::BlockComment if c == b'*' && next == Some(b'/') => {
                state = Lex::Code;
                i += 1;
            }
            Lex::Str | Lex::Char | Lex::TextBlock if c == b'\\' => i += 1,
            Lex::Str if c == b'"' || c == b'\n' => state = Lex::Code,
            Lex::Char if c == b'\'' || c == b'\n' => state = Lex::Code,
            Lex::TextBlock if bytes[i..].starts_with(b"\"\"\"") => {
                state = Lex::Code;
                i += 2;
            }
            _ => {}
        }
        i += 1;
    }
    ScanEnd { state, open }
}

/// Applies the rule in the module docs; `ends_in_loop` disables rule 2.
pub fn close_source(prompt: &str, completion: &str, ends_in_loop: bool) -> ClosedSource {
    let full = format!("{prompt}{completion}");
    let end = scan(&full);
    if end.state == Lex::Code && end.open.is_empty() {
        return ClosedSource { text: full, dropped: 0, appended: String::new() };
    }
    let keep = if completion.ends_with('\n') || ends_in_loop {
        completion.len()
    } else {
        completion.rfind('\n').map_or(completion.len(), |i| i + 1)
    };
    let mut text = format!("{prompt}{}", &completion[..keep]);
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let end = scan(&text);
    let mut appended = String::new();
    if end.state == Lex::BlockComment {
        appended.push_str("*/\n");
    }
    for _ in end.open.iter().filter(|&&b| b == b'{') {
        appended.push_str("}\n");
    }
    text.push_str(&appended);
    ClosedSource { text, dropped: completion.len() - keep, appended }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "public class A {\n    int f(int x) {\n";

    #[test]
    fn balanced_source_is_unchanged() {
        let c = "        return x;\n    }\n}\n";
        let closed = close_source(PROMPT, c, false);
        assert_eq!(closed.text, format!("{PROMPT}{c}"));
        assert_eq!((closed.dropped, closed.appended.as_str()), (0, ""));
    }

    #[test]
    fn drops_partial_line_and_closes_braces_innermost_first() {
        let c = "        if (x > 0) {\n            return x;\n        }\n        int y = comp";
        let closed = close_source(PROMPT, c, false);
        assert_eq!(closed.dropped, "        int y = comp".len());
        assert_eq!(closed.appended, "}\n}\n");
        assert!(closed.text.ends_with("        }\n}\n}\n"));
    }

    #[test]
    fn a_looping_last_line_is_kept() {
        let c = "        x++;\n        .S.S.S.S.S.S";
        let closed = close_source(PROMPT, c, true);
        assert_eq!(closed.dropped, 0);
        assert!(closed.text.ends_with(".S.S.S.S.S.S\n}\n}\n"));
    }

    #[test]
    fn a_single_unfinished_line_is_kept() {
        let c = "        return x +";
        let closed = close_source(PROMPT, c, false);
        assert_eq!(closed.dropped, 0);
        assert_eq!(closed.text, format!("{PROMPT}{c}\n}}\n}}\n"));
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let c = "        String s = \"{{\"; // {\n        /* } */ char c = '{';\n";
        let closed = close_source(PROMPT, c, false);
        assert_eq!(closed.appended, "}\n}\n");
        assert_eq!(closed.dropped, 0);
    }

    #[test]
    fn open_block_comment_is_closed_first() {
        let c = "        /* explain {\n";
        assert_eq!(close_source(PROMPT, c, false).appended, "*/\n}\n}\n");
    }

    #[test]
    fn open_parentheses_are_left_open() {
        let c = "        return f(x,\n";
        let closed = close_source(PROMPT, c, false);
        assert_eq!(closed.appended, "}\n}\n");
        assert!(closed.text.contains("return f(x,\n}\n}\n"));
    }
}
