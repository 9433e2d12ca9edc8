//! Maximal munch for words: `interfaces1000` is one identifier, never the
//! keyword `interface` followed by `s1000`.
//!
//! llguidance's lexer only tries the lexemes the parser can use next. Where
//! a keyword fits but an identifier does not (after `static final` in a
//! method body, say), it ends the keyword at the first byte that cannot
//! continue it and starts a new lexeme there, so `interfaces1000` parses as
//! `interface s1000`. javac reads the whole run of identifier characters
//! as one token and fails. This module restores Java's rule: a run of
//! identifier characters in code that has a grammar word as a proper prefix
//! but is not itself a grammar word (or, while still growing, a prefix of
//! one) is only valid where an identifier may start. Whether one may is
//! asked of the parser with a probe: can `z` (which begins no keyword)
//! follow the bytes before the word?
//!
//! The scan tracks just enough lexical context (comments, string, char and
//! text-block literals) to know which runs are code; the text it sees was
//! already accepted by the grammar, so it never has to diagnose errors.

use std::collections::{HashMap, HashSet};

use crate::grammar::grammar_words;

/// Where a byte of Java text sits, for telling code words from literal or
/// comment text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    Code,
    /// A `/` in code: division, or the start of a comment.
    Slash,
    LineComment,
    BlockComment,
    BlockCommentStar,
    /// Just after an opening `"`: a string, an empty string or a text block.
    StringStart,
    /// `""` in code: an empty string, or two thirds of a text-block opener.
    QuoteQuote,
    Str,
    StrEscape,
    Char,
    CharEscape,
    TextBlock,
    TextBlockQuote1,
    TextBlockQuote2,
    TextBlockEscape,
}

/// A byte of a run of identifier characters (non-ASCII bytes count: in
/// code they can only belong to a Unicode identifier).
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The lexical position after some text: its context and the run of
/// identifier characters it ends with, if that run is a code word.
#[derive(Clone, Debug)]
pub(crate) struct WordScan {
    context: Context,
    /// The code word the text ends with (empty if it ends otherwise, or in
    /// a number such as `0x1F`, whose letters are not a word).
    word: Vec<u8>,
    /// Whether the text ends inside a run of identifier characters in code
    /// that started with a digit.
    in_number: bool,
}

/// What happened to a code word while scanning.
pub(crate) enum WordEvent<'a> {
    /// The word starts `offset` bytes into the scanned bytes.
    Started { offset: usize },
    /// The word (which may have started before the scanned bytes) ended.
    Ended { word: &'a [u8] },
}

impl WordScan {
    pub(crate) fn new() -> WordScan {
        WordScan { context: Context::Code, word: Vec::new(), in_number: false }
    }

    /// The code word the text ends with, possibly still growing.
    pub(crate) fn trailing_word(&self) -> &[u8] {
        &self.word
    }

    /// Whether a byte that is not `"`, `'`, `/`, `*` or `\\` appended
    /// here would be code (here `/` and `""` are complete operators or
    /// literals once such a byte follows).
    /// Whether the text ends in code (not in a comment, literal or after a
    /// `/` or `""` that may still start one).
    pub(crate) fn ends_in_code(&self) -> bool {
        matches!(self.context, Context::Code)
    }

    fn plain_byte_is_code(&self) -> bool {
        matches!(self.context, Context::Code | Context::Slash | Context::QuoteQuote)
    }

    /// Whether the text ends inside a run of identifier characters in code
    /// (a word or a number), which a word byte would continue.
    fn ends_in_run(&self) -> bool {
        !self.word.is_empty() || self.in_number
    }

    /// Advances over `bytes`; returns where in them the word the text now
    /// ends with starts: `Some(k)` if it starts inside `bytes`, `None` if
    /// it is the old last word grown, or if the text ends with no word.
    pub(crate) fn scan_to_trailing_word(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut start = None;
        self.scan(bytes, |event| match event {
            WordEvent::Started { offset } => start = Some(offset),
            WordEvent::Ended { .. } => start = None,
        });
        if self.word.is_empty() {
            None
        } else {
            start
        }
    }

    /// Advances over `bytes`, reporting each code word's start and end.
    pub(crate) fn scan(&mut self, bytes: &[u8], mut on_word: impl FnMut(WordEvent<'_>)) {
        for (offset, &b) in bytes.iter().enumerate() {
            self.step(b, offset, &mut on_word);
        }
    }

    fn step(&mut self, b: u8, offset: usize, on_word: &mut impl FnMut(WordEvent<'_>)) {
        use Context::*;
        match self.context {
            Code => {
                if is_word_byte(b) {
                    if self.word.is_empty() && !self.in_number {
                        if b.is_ascii_digit() {
                            self.in_number = true;
                        } else {
                            on_word(WordEvent::Started { offset });
                            self.word.push(b);
                        }
                    } else if !self.in_number {
                        self.word.push(b);
                    }
                    return;
                }
                if !self.word.is_empty() {
                    on_word(WordEvent::Ended { word: &self.word });
                    self.word.clear();
                }
                self.in_number = false;
                self.context = match b {
                    b'/' => Slash,
                    b'"' => StringStart,
                    b'\'' => Char,
                    _ => Code,
                };
            }
            Slash => match b {
                b'/' => self.context = LineComment,
                b'*' => self.context = BlockComment,
                _ => {
                    self.context = Code;
                    self.step(b, offset, on_word);
                }
            },
            LineComment => {
                if b == b'\n' || b == b'\r' {
                    self.context = Code;
                }
            }
            BlockComment => {
                if b == b'*' {
                    self.context = BlockCommentStar;
                }
            }
            BlockCommentStar => {
                self.context = match b {
                    b'/' => Code,
                    b'*' => BlockCommentStar,
                    _ => BlockComment,
                }
            }
            StringStart => {
                self.context = match b {
                    b'"' => QuoteQuote,
                    b'\\' => StrEscape,
                    _ => Str,
                }
            }
            QuoteQuote => {
                if b == b'"' {
                    self.context = TextBlock;
                } else {
                    self.context = Code;
                    self.step(b, offset, on_word);
                }
            }
            Str => {
                self.context = match b {
                    b'"' => Code,
                    b'\\' => StrEscape,
                    _ => Str,
                }
            }
            StrEscape => self.context = Str,
            Char => {
                self.context = match b {
                    b'\'' => Code,
                    b'\\' => CharEscape,
                    _ => Char,
                }
            }
            CharEscape => self.context = Char,
            TextBlock | TextBlockQuote1 | TextBlockQuote2 => {
                self.context = match (self.context, b) {
                    (_, b'\\') => TextBlockEscape,
                    (TextBlock, b'"') => TextBlockQuote1,
                    (TextBlockQuote1, b'"') => TextBlockQuote2,
                    (TextBlockQuote2, b'"') => Code,
                    _ => TextBlock,
                }
            }
            TextBlockEscape => self.context = TextBlock,
        }
    }
}

/// The grammar's words, split at `-` (`non-sealed` is the words `non` and
/// `sealed` to a scan of identifier characters), with all their prefixes.
pub(crate) struct GrammarWords {
    words: HashSet<Vec<u8>>,
    prefixes: HashSet<Vec<u8>>,
}

impl GrammarWords {
    pub(crate) fn new() -> GrammarWords {
        let words: HashSet<Vec<u8>> = grammar_words()
            .iter()
            .flat_map(|w| w.split('-'))
            .filter(|w| !w.is_empty())
            .map(|w| w.as_bytes().to_vec())
            .collect();
        let prefixes = words.iter().flat_map(|w| (1..=w.len()).map(|n| w[..n].to_vec())).collect();
        GrammarWords { words, prefixes }
    }

    /// The grammar's words (keywords and contextual keywords).
    pub(crate) fn words(&self) -> impl Iterator<Item = &[u8]> {
        self.words.iter().map(Vec::as_slice)
    }

    /// Whether a word could only have been accepted by splitting it after
    /// a keyword: it has a grammar word as a proper prefix, and it is not a
    /// grammar word itself (`complete`) or, while it may still grow, not a
    /// prefix of one.
    pub(crate) fn needs_identifier(&self, word: &[u8], complete: bool) -> bool {
        let fits = if complete { self.words.contains(word) } else { self.prefixes.contains(word) };
        !fits && (1..word.len()).any(|n| self.words.contains(&word[..n]))
    }

    /// Whether `bytes` holds a run of identifier characters (not starting
    /// with a digit) that has a grammar word as a proper prefix, regardless
    /// of context: a cheap superset of the tokens that can glue.
    pub(crate) fn has_keyword_prefixed_run(&self, bytes: &[u8]) -> bool {
        bytes
            .split(|&b| !is_word_byte(b))
            .filter(|run| run.first().is_some_and(|b| !b.is_ascii_digit()))
            .any(|run| (1..run.len()).any(|n| self.words.contains(&run[..n])))
    }

    /// For a simple candidate (prefix, word, rest): whether its word needs
    /// an identifier position when it starts fresh.
    fn needs_identifier_in(&self, bytes: &[u8]) -> bool {
        let k = bytes.iter().position(|&b| is_word_byte(b)).unwrap_or(bytes.len());
        let run_len = bytes[k..].iter().take_while(|&&b| is_word_byte(b)).count();
        self.needs_identifier(&bytes[k..k + run_len], k + run_len < bytes.len())
    }

    /// An ASCII identifier that no grammar word is a prefix of and that is
    /// no prefix of a grammar word: whatever the parser state, it can only
    /// be read as (part of) a plain identifier. Word classes and the glue
    /// witnesses rest on this.
    pub(crate) fn is_plain_unrelated_word(&self, word: &[u8]) -> bool {
        let plain = word.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_' || *b == b'$')
            && word.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'$');
        plain && !self.may_be_keyword(word)
    }

    /// Whether a word is, or may still become, a grammar word: only then
    /// can its reading depend on whether an identifier may start there.
    pub(crate) fn may_be_keyword(&self, word: &[u8]) -> bool {
        self.prefixes.contains(word) || (1..word.len()).any(|n| self.words.contains(&word[..n]))
    }
}

/// The tokens that may glue a word onto a keyword, sorted for cheap masks.
///
/// Most are *simple*: some non-word bytes (the prefix: ` `, `(`, `.`),
/// then one word that has a grammar word as a proper prefix and is not
/// one (` newValue`, `.forEach(`), and nothing else that could glue. For
/// these the answer depends only on whether an identifier may start after
/// the prefix, the same for the whole group with that prefix, and often
/// read off the mask itself: a *witness* token (prefix + a plain
/// identifier that no grammar word relates to) is allowed exactly when an
/// identifier may start there. The rest (quotes, comment marks, two such
/// words) are scanned one by one.
pub(crate) struct GlueCandidates {
    groups: Vec<PrefixGroup>,
    complex: Vec<u32>,
}

struct PrefixGroup {
    prefix: Vec<u8>,
    members: Vec<u32>,
    witness: Option<u32>,
}

impl GlueCandidates {
    pub(crate) fn new(tokens: &[Vec<u8>], eos: u32, words: &GrammarWords) -> GlueCandidates {
        let mut groups: std::collections::BTreeMap<&[u8], Vec<u32>> = std::collections::BTreeMap::new();
        let mut complex = Vec::new();
        for (id, bytes) in tokens.iter().enumerate() {
            let id = id as u32;
            if id == eos || !words.has_keyword_prefixed_run(bytes) {
                continue;
            }
            let special = bytes.iter().any(|b| matches!(b, b'"' | b'\'' | b'/' | b'*' | b'\\') || *b >= 0x80);
            let k = bytes.iter().position(|&b| is_word_byte(b)).unwrap_or(bytes.len());
            let run_len = bytes[k..].iter().take_while(|&&b| is_word_byte(b)).count();
            let (run, rest) = (&bytes[k..k + run_len], &bytes[k + run_len..]);
            if special || run.first().is_none_or(|b| b.is_ascii_digit()) || words.has_keyword_prefixed_run(rest) {
                complex.push(id);
            } else if words.needs_identifier(run, !rest.is_empty()) || k == 0 {
                // A word at the very start may also grow the text's last
                // word; that case is handled apart (see `drop_glued`).
                groups.entry(&bytes[..k]).or_default().push(id);
            }
        }
        // Witnesses: prefix + a plain ASCII identifier unrelated to every
        // grammar word.
        let mut witnesses: HashMap<&[u8], u32> = HashMap::new();
        for (id, bytes) in tokens.iter().enumerate() {
            let k = bytes.iter().position(|&b| is_word_byte(b)).unwrap_or(bytes.len());
            if id as u32 != eos && words.is_plain_unrelated_word(&bytes[k..]) {
                witnesses.entry(&bytes[..k]).or_insert(id as u32);
            }
        }
        let groups = groups
            .into_iter()
            .map(|(prefix, members)| PrefixGroup {
                witness: witnesses.get(prefix).copied(),
                prefix: prefix.to_vec(),
                members,
            })
            .collect();
        GlueCandidates { groups, complex }
    }

    /// The tokens `allowed` lets through that glue a word onto a keyword
    /// after a text at `scan`. `identifier_may_start(prefix)` asks the
    /// parser; the trailing-word flag is as for [`glues`].
    pub(crate) fn glued<'v>(
        &self,
        words: &GrammarWords,
        scan: &WordScan,
        trailing_word_may_be_identifier: bool,
        allowed: impl Fn(u32) -> bool,
        token_bytes: impl Fn(u32) -> &'v [u8],
        mut identifier_may_start: impl FnMut(&[u8]) -> bool,
    ) -> Vec<u32> {
        let mut glued = Vec::new();
        if scan.plain_byte_is_code() {
            for group in &self.groups {
                // A word right at the start of the token grows the text's
                // last word or number instead: not this group's case.
                if group.prefix.is_empty() && scan.ends_in_run() {
                    continue;
                }
                let mut members = group.members.iter().copied().filter(|&t| allowed(t)).peekable();
                if members.peek().is_none() {
                    continue;
                }
                let may_start = match group.witness {
                    Some(w) => allowed(w),
                    None => identifier_may_start(&group.prefix),
                };
                if !may_start {
                    glued.extend(members.filter(|&t| words.needs_identifier_in(token_bytes(t))));
                }
            }
        }
        for &t in &self.complex {
            if allowed(t) {
                let bytes = token_bytes(t);
                if glues(words, scan, bytes, trailing_word_may_be_identifier, |k| identifier_may_start(&bytes[..k])) {
                    glued.push(t);
                }
            }
        }
        glued
    }
}

/// For a text whose last word started where no identifier may: which
/// tokens that begin with word bytes (and so grow that word) glue. There
/// can be tens of thousands of them in one mask (the parser offers every
/// identifier as a glued one after a keyword), so this avoids building
/// the grown word: it compares the token's leading run with the few ways
/// the text's word can still become a grammar word.
pub(crate) struct Growth {
    /// The text's word is, or has a proper prefix that is, a grammar word:
    /// any growth has a grammar word as a proper prefix.
    word_has_keyword_prefix: bool,
    /// The rest of each grammar word that extends the text's word.
    completions: Vec<Vec<u8>>,
}

impl Growth {
    pub(crate) fn new(words: &GrammarWords, trailing_word: &[u8]) -> Growth {
        let word_has_keyword_prefix = (1..=trailing_word.len()).any(|n| words.words.contains(&trailing_word[..n]));
        let completions = words
            .words
            .iter()
            .filter(|w| w.len() > trailing_word.len() && w.starts_with(trailing_word))
            .map(|w| w[trailing_word.len()..].to_vec())
            .collect();
        Growth { word_has_keyword_prefix, completions }
    }

    /// Whether `bytes` (starting with a word byte) glues: the grown word
    /// needs an identifier position, which the text's word did not have.
    pub(crate) fn glues(&self, bytes: &[u8]) -> bool {
        let run_len = bytes.iter().take_while(|&&b| is_word_byte(b)).count();
        let (run, complete) = (&bytes[..run_len], run_len < bytes.len());
        let fits =
            self.completions.iter().any(|rest| if complete { rest.as_slice() == run } else { rest.starts_with(run) });
        let keyword_prefixed = self.word_has_keyword_prefix
            || self.completions.iter().any(|rest| rest.len() < run.len() && run.starts_with(rest));
        !fits && keyword_prefixed
    }
}

/// Whether appending `bytes` to a text that ended at `scan` glues a word
/// onto a keyword. `trailing_word_may_be_identifier` says whether an
/// identifier may start where the text's trailing word started;
/// `identifier_may_start(k)` whether one may start after the first `k`
/// bytes of `bytes`.
pub(crate) fn glues(
    words: &GrammarWords,
    scan: &WordScan,
    bytes: &[u8],
    trailing_word_may_be_identifier: bool,
    mut identifier_may_start: impl FnMut(usize) -> bool,
) -> bool {
    let mut scan = scan.clone();
    // The start of the word being read: None while it is the text's
    // trailing word, which started before `bytes`.
    let mut start: Option<usize> = None;
    let mut glued = false;
    let mut check = |word: &[u8], start: Option<usize>, complete: bool| {
        if words.needs_identifier(word, complete) {
            let may_be_identifier = match start {
                None => trailing_word_may_be_identifier,
                Some(k) => identifier_may_start(k),
            };
            if !may_be_identifier {
                return true;
            }
        }
        false
    };
    scan.scan(bytes, |event| match event {
        WordEvent::Started { offset } => start = Some(offset),
        WordEvent::Ended { word } => {
            glued |= !glued && check(word, start, true);
            start = None;
        }
    });
    if !glued && !scan.word.is_empty() {
        glued = check(&scan.word, start, false);
    }
    glued
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_in(text: &str) -> Vec<String> {
        let mut scan = WordScan::new();
        let mut out = Vec::new();
        scan.scan(text.as_bytes(), |e| {
            if let WordEvent::Ended { word } = e {
                out.push(String::from_utf8_lossy(word).into_owned());
            }
        });
        if !scan.trailing_word().is_empty() {
            out.push(String::from_utf8_lossy(scan.trailing_word()).into_owned());
        }
        out
    }

    #[test]
    fn only_code_words_count() {
        assert_eq!(
            words_in("int x1 = 0x1F + 1e5; // class c\n/* new * y */ s = \"if a\" + 'b' + \"\"\"\n  do \"\" x\"\"\" + \"\" + z"),
            ["int", "x1", "s", "z"]
        );
        assert_eq!(words_in("a/b/=c"), ["a", "b", "c"]);
    }

    #[test]
    fn plain_unrelated_words() {
        let words = GrammarWords::new();
        for w in ["size", "x", "Data", "s1000", "$y", "buffer"] {
            assert!(words.is_plain_unrelated_word(w.as_bytes()), "{w}");
        }
        // Prefixes of grammar words, grammar words, extensions of them,
        // digits first, non-ASCII, `non` (of `non-sealed`).
        for w in ["i", "in", "int", "interfaces", "classData", "1x", "é", "non", "nonX", "_x", ""] {
            assert!(!words.is_plain_unrelated_word(w.as_bytes()), "{w}");
        }
    }

    #[test]
    fn glued_words_need_an_identifier_position() {
        let words = GrammarWords::new();
        assert!(words.needs_identifier(b"interfaces1000", true));
        assert!(words.needs_identifier(b"newValue", false));
        assert!(!words.needs_identifier(b"inter", false));
        assert!(!words.needs_identifier(b"interface", true));
        assert!(!words.needs_identifier(b"non", true));
        assert!(!words.needs_identifier(b"size", true));
        assert!(words.may_be_keyword(b"in") && words.may_be_keyword(b"newX") && !words.may_be_keyword(b"size"));
    }

    #[test]
    fn growth_agrees_with_the_full_scan() {
        let words = GrammarWords::new();
        for text in ["static final interface", "x = inter", "public", "package", "int", "non"] {
            let mut scan = WordScan::new();
            scan.scan(text.as_bytes(), |_| {});
            let growth = Growth::new(&words, scan.trailing_word());
            for token in ["s", "s1000", "face", "faceX", "faces(", "erface ", "x", "_", "Value;", "ernal", "", "eger"] {
                if token.is_empty() {
                    continue;
                }
                assert_eq!(
                    growth.glues(token.as_bytes()),
                    glues(&words, &scan, token.as_bytes(), false, |_| true),
                    "{text:?} + {token:?}"
                );
            }
        }
    }

    #[test]
    fn glue_is_found_inside_tokens_and_across_them() {
        let words = GrammarWords::new();
        let at = WordScan::new();
        // A keyword-prefixed word where no identifier may start.
        assert!(glues(&words, &at, b" interfaces", true, |_| false));
        // The same where one may.
        assert!(!glues(&words, &at, b" interfaces", true, |_| true));
        // The probe is asked where the word starts.
        let mut asked = Vec::new();
        glues(&words, &at, b"(newValue", true, |k| {
            asked.push(k);
            true
        });
        assert_eq!(asked, [1]);
        // Growing the text's trailing word uses what was known at its start.
        let mut after_interface = WordScan::new();
        after_interface.scan(b"static final interface", |_| {});
        assert!(glues(&words, &after_interface, b"s", false, |_| true));
        assert!(!glues(&words, &after_interface, b" s", false, |_| true));
        // Literal and comment text is never glued.
        assert!(!glues(&words, &at, b"\"interfaces\"", true, |_| false));
        assert_eq!(at.clone().scan_to_trailing_word(b"a.newX"), Some(2));
        assert_eq!(after_interface.clone().scan_to_trailing_word(b"s1"), None);
        assert_eq!(at.clone().scan_to_trailing_word(b"x;"), None);
    }
}
