//! An incremental Java lexer for the scope tracker: it yields a lexeme only
//! once the bytes after it prove it complete, so that a name still being
//! typed (`siz` before `e`) stays in the tail.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An identifier or a keyword.
    Word,
    /// A separator or operator. A run of `>` not followed by `=` comes out
    /// as one `>` per character: in types they close type-argument lists
    /// one by one, and shifts do not matter here.
    Punct,
    Literal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lexeme {
    pub kind: Kind,
    pub text: Box<str>,
}

impl Lexeme {
    pub fn is(&self, s: &str) -> bool {
        &*self.text == s
    }
    pub fn is_word(&self) -> bool {
        self.kind == Kind::Word
    }
}

pub fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b >= 0x80
}

pub fn is_ident_byte(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

const OPERATORS: [&str; 24] = [
    "<<=", "...", "->", "::", "++", "--", "&&", "||", "==", "!=", "<=", "+=", "-=", "*=", "/=", "&=", "|=", "^=", "%=",
    "<<", ">>>=", ">>=", ">=", ">",
];

/// Result of trying to lex at a position.
pub enum Step {
    /// A lexeme (or skipped whitespace/comment when `None`) ending at `end`.
    Done { lexeme: Option<Lexeme>, end: usize },
    /// What starts here may still grow: wait for more bytes.
    Incomplete,
}

/// Lexes one item at `i < text.len()`.
pub fn step(text: &[u8], i: usize) -> Step {
    let n = text.len();
    let b = text[i];
    let done = |kind, end: usize| Step::Done {
        lexeme: Some(Lexeme { kind, text: String::from_utf8_lossy(&text[i..end]).into() }),
        end,
    };
    if b.is_ascii_whitespace() {
        let mut j = i;
        while j < n && text[j].is_ascii_whitespace() {
            j += 1;
        }
        return Step::Done { lexeme: None, end: j };
    }
    if b == b'/' {
        match text.get(i + 1) {
            None => return Step::Incomplete,
            Some(b'/') => {
                return match text[i..].iter().position(|&c| c == b'\n') {
                    Some(p) => Step::Done { lexeme: None, end: i + p + 1 },
                    None => Step::Incomplete,
                }
            }
            Some(b'*') => {
                return match text[i + 2..].windows(2).position(|w| w == b"*/") {
                    Some(p) => Step::Done { lexeme: None, end: i + 2 + p + 2 },
                    None => Step::Incomplete,
                }
            }
            _ => {}
        }
    }
    if is_ident_start(b) {
        let mut j = i;
        while j < n && is_ident_byte(text[j]) {
            j += 1;
        }
        return if j == n { Step::Incomplete } else { done(Kind::Word, j) };
    }
    if b.is_ascii_digit() || (b == b'.' && text.get(i + 1).is_some_and(u8::is_ascii_digit)) {
        let mut j = i;
        while j < n {
            let c = text[j];
            let hex = j > i + 1 && text[i] == b'0' && (text[i + 1] | 0x20) == b'x';
            let prev = if j > i { text[j - 1] | 0x20 } else { 0 };
            let exponent_sign = (c == b'+' || c == b'-') && ((prev == b'e' && !hex) || (prev == b'p' && hex));
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exponent_sign {
                j += 1;
            } else {
                break;
            }
        }
        return if j == n { Step::Incomplete } else { done(Kind::Literal, j) };
    }
    if b == b'"' {
        if text[i..].starts_with(b"\"\"\"") {
            let mut j = i + 3;
            while j + 2 < n {
                if text[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if &text[j..j + 3] == b"\"\"\"" {
                    return done(Kind::Literal, j + 3);
                }
                j += 1;
            }
            return Step::Incomplete;
        }
        if n < i + 3 && text[i..].iter().all(|&c| c == b'"') {
            return Step::Incomplete; // `"` or `""` may become `"""`
        }
        return quoted(text, i, b'"').map_or(Step::Incomplete, |end| done(Kind::Literal, end));
    }
    if b == b'\'' {
        return quoted(text, i, b'\'').map_or(Step::Incomplete, |end| done(Kind::Literal, end));
    }
    if b == b'>' {
        let mut j = i;
        while j < n && text[j] == b'>' {
            j += 1;
        }
        if j == n {
            return Step::Incomplete;
        }
        return if text[j] == b'=' { done(Kind::Punct, j + 1) } else { done(Kind::Punct, i + 1) };
    }
    if b == b'.' {
        return match text.get(i + 1) {
            None => Step::Incomplete,
            Some(b'.') if text.len() < i + 3 => Step::Incomplete,
            Some(b'.') if text[i + 2] == b'.' => done(Kind::Punct, i + 3),
            _ => done(Kind::Punct, i + 1),
        };
    }
    if b"(){}[];,@?~".contains(&b) {
        return done(Kind::Punct, i + 1);
    }
    // Operators: the longest that matches, once the next byte shows it cannot grow.
    let rest = &text[i..];
    if let Some(op) = OPERATORS.iter().filter(|op| rest.starts_with(op.as_bytes())).max_by_key(|op| op.len()) {
        let end = i + op.len();
        if end == n && OPERATORS.iter().any(|o| o.len() > op.len() && o.starts_with(op)) {
            return Step::Incomplete;
        }
        return done(Kind::Punct, end);
    }
    // Single-character operators (`+ - * / % = ! < & | ^ :`).
    if i + 1 == n && OPERATORS.iter().any(|o| o.as_bytes()[0] == b) {
        return Step::Incomplete;
    }
    done(Kind::Punct, i + 1)
}

fn quoted(text: &[u8], i: usize, quote: u8) -> Option<usize> {
    let mut j = i + 1;
    while j < text.len() {
        match text[j] {
            b'\\' => j += 2,
            b'\n' => return Some(j), // unterminated on its line: javac stops here too
            c if c == quote => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{step, Step};

    fn lex(text: &str) -> (Vec<String>, usize) {
        let (mut out, mut i) = (Vec::new(), 0);
        while i < text.len() {
            match step(text.as_bytes(), i) {
                Step::Done { lexeme, end } => {
                    out.extend(lexeme.map(|l| l.text.to_string()));
                    i = end;
                }
                Step::Incomplete => break,
            }
        }
        (out, i)
    }

    #[test]
    fn lexemes_wait_until_complete() {
        assert_eq!(lex("int size"), (vec!["int".into()], 4));
        assert_eq!(lex("a.b(1e-5, 0x1p-3);"), ("a . b ( 1e-5 , 0x1p-3 ) ;".split(' ').map(String::from).collect(), 18));
        assert_eq!(
            lex("Map<K, List<V>> m ").0,
            "Map < K , List < V > > m".split(' ').map(String::from).collect::<Vec<_>>()
        );
        assert_eq!(lex("x >>= 2;").0, vec!["x", ">>=", "2", ";"]);
        assert_eq!(lex("x /* a */ // b\n y-").0, vec!["x", "y"]);
        assert_eq!(lex("s = \"a\\\"b\" + \"\"\"\n q \"\"\";").0.len(), 6);
        assert_eq!(lex("x.").0, vec!["x"]);
        assert_eq!(lex("x. ").0, vec!["x", "."]);
        assert_eq!(lex("f(int... a)").0, vec!["f", "(", "int", "...", "a", ")"]);
    }
}
