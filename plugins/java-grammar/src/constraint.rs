//! One sequence's parse state: feed the prompt, ask for masks, accept tokens.

use std::sync::Arc;

use llguidance::Matcher;
use toktrie::SimpleVob;

use crate::grammar::StartMode;
use crate::maximal_munch::{glues, WordScan};
use crate::scope::Scope;
use crate::semantic::SemanticCheck;
use crate::vocab::Vocabulary;
use crate::ConstraintError;

/// The parse of one sequence, advanced token by token.
pub struct JavaConstraint {
    vocab: Arc<Vocabulary>,
    matcher: Matcher,
    mode: StartMode,
    /// Every byte accepted so far, to say where an error is.
    text: Vec<u8>,
    /// Checks beyond the grammar, in the order they were added.
    checks: Vec<Box<dyn SemanticCheck>>,
    /// Code words of the text, for Java's maximal munch (`maximal_munch.rs`).
    words: WordScan,
    /// Whether an identifier may start where the text's last word started.
    trailing_word_may_be_identifier: bool,
    /// The grammar's mask (before word classes, glue and checks) for the
    /// current state, kept while only whitespace follows a state where
    /// whitespace changes nothing (see [`JavaConstraint::mask`]).
    mask_before_whitespace: Option<SimpleVob>,
    /// The symbol table, when scope-aware decoding is on.
    scope: Option<Box<Scope>>,
    /// Whether the last mask at this state found every grammar-allowed
    /// token refused by the symbol table (`x.new` where the grammar has no
    /// qualified `new` and the type no member `new…`). The mask then keeps
    /// them all, and so must the check on accept, or a token the mask
    /// offered would be refused. Cleared by every consume and rollback.
    scope_waived: bool,
    /// What each consumed token changed besides the parser, to undo it
    /// (see [`JavaConstraint::rollback`]).
    undo: Vec<Undo>,
}

/// The state beside the parser before one token was consumed.
struct Undo {
    text_len: usize,
    words: WordScan,
    trailing_word_may_be_identifier: bool,
    mask_before_whitespace: Option<SimpleVob>,
    checks: Vec<Box<dyn SemanticCheck>>,
    /// Tokens the symbol table had observed (it rolls back by itself).
    scope_tokens: usize,
}

impl JavaConstraint {
    pub fn new(vocab: Arc<Vocabulary>, mode: StartMode) -> Result<JavaConstraint, ConstraintError> {
        let matcher = vocab.fresh_matcher(mode)?;
        Ok(JavaConstraint {
            vocab,
            matcher,
            mode,
            text: Vec::new(),
            checks: Vec::new(),
            words: WordScan::new(),
            trailing_word_may_be_identifier: true,
            mask_before_whitespace: None,
            scope: None,
            scope_waived: false,
            undo: Vec::new(),
        })
    }

    /// Turns on scope-aware decoding (`scope/`): from now on masks also
    /// drop names the symbol table proves wrong. Call before feeding.
    pub fn enable_scope(&mut self) {
        let mut scope = Scope::for_mode(self.mode);
        if !self.text.is_empty() {
            scope.observe(&self.text);
        }
        self.scope = Some(Box::new(scope));
    }

    /// The symbol table, if scope-aware decoding is on.
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_deref()
    }

    /// The grammar's mask without the scope restriction (for tests and
    /// measurements).
    pub fn grammar_mask(&mut self) -> Result<SimpleVob, ConstraintError> {
        let scope = self.scope.take();
        let mask = self.mask();
        self.scope = scope;
        mask
    }

    /// Adds a check that may veto tokens the grammar allows from now on.
    pub fn add_check(&mut self, check: impl SemanticCheck + 'static) {
        self.checks.push(Box::new(check));
    }

    /// An independent copy of this state, e.g. to try a token without
    /// committing to it.
    pub fn fork(&self) -> JavaConstraint {
        JavaConstraint {
            vocab: Arc::clone(&self.vocab),
            matcher: self.matcher.clone(),
            mode: self.mode,
            text: self.text.clone(),
            checks: self.checks.iter().map(|c| c.fork()).collect(),
            words: self.words.clone(),
            trailing_word_may_be_identifier: self.trailing_word_may_be_identifier,
            mask_before_whitespace: self.mask_before_whitespace.clone(),
            scope: self.scope.clone(),
            scope_waived: self.scope_waived,
            undo: self.undo.iter().map(Undo::fork).collect(),
        }
    }

    /// Tokens consumed so far (prompt included).
    pub fn consumed(&self) -> usize {
        self.undo.len()
    }

    /// Takes back the last `n` consumed tokens: the parser through
    /// llguidance's own rollback, the rest from the undo log. The state is
    /// then exactly the one those tokens found (masks included).
    pub fn rollback(&mut self, n: usize) -> Result<(), ConstraintError> {
        if n == 0 {
            return Ok(());
        }
        if n > self.undo.len() {
            return Err(self.internal(format!("cannot take back {n} tokens, {} were consumed", self.undo.len())));
        }
        self.matcher.rollback(n).map_err(|e| self.internal(e))?;
        self.scope_waived = false;
        let keep = self.undo.len() - n;
        let before = self.undo.drain(keep..).next().expect("n > 0 entries were drained");
        self.text.truncate(before.text_len);
        self.words = before.words;
        self.trailing_word_may_be_identifier = before.trailing_word_may_be_identifier;
        self.mask_before_whitespace = before.mask_before_whitespace;
        self.checks = before.checks;
        if let Some(scope) = &mut self.scope {
            scope.rollback_to(before.scope_tokens);
        }
        Ok(())
    }

    /// Consumes `tokens`, or says at which token (line and column) the text
    /// stops being valid Java in this start mode. On error nothing after the
    /// last valid token has been consumed.
    pub fn feed(&mut self, tokens: &[u32]) -> Result<(), ConstraintError> {
        for &token in tokens {
            let parser_id = self.vocab.parser_id(token);
            let valid = self.matcher.validate_tokens(&[parser_id]).map_err(|e| self.internal(e))? == 1;
            if !valid || (token != self.vocab.eos() && self.glues(token)) {
                return Err(self.rejection(token));
            }
            let scope_refuses = token != self.vocab.eos()
                && !self.scope_waived
                && self.scope.as_ref().is_some_and(|scope| !scope.allows(self.vocab.token_bytes(token)));
            if scope_refuses {
                return Err(self.rejection(token));
            }
            self.consume(token)?;
        }
        Ok(())
    }

    /// Whether the symbol table found no way on from here: every token the
    /// grammar allows at this state names something it knows is not there,
    /// so [`JavaConstraint::mask`] gave them all back rather than none. Valid
    /// after `mask()` at the current state. A stage that may rewind should
    /// take the last token back; one that may not writes on past the table.
    pub fn scope_dead_end(&self) -> bool {
        self.scope_waived
    }

    /// Consumes one token the caller believes is allowed.
    pub fn accept(&mut self, token: u32) -> Result<(), ConstraintError> {
        self.feed(std::slice::from_ref(&token))
    }

    fn consume(&mut self, token: u32) -> Result<(), ConstraintError> {
        self.scope_waived = false;
        self.undo.push(Undo {
            text_len: self.text.len(),
            words: self.words.clone(),
            trailing_word_may_be_identifier: self.trailing_word_may_be_identifier,
            mask_before_whitespace: self.mask_before_whitespace.clone(),
            checks: self.checks.iter().map(|c| c.fork()).collect(),
            scope_tokens: self.scope.as_ref().map_or(0, |s| s.len_tokens()),
        });
        let bytes = self.vocab.token_bytes(token);
        if token == self.vocab.eos() || !bytes.iter().all(u8::is_ascii_whitespace) {
            self.mask_before_whitespace = None;
        }
        if token != self.vocab.eos() {
            // For the word the text will end with, remember whether an
            // identifier may start where it starts; the parser is asked
            // before it consumes the token.
            if let Some(start) = self.words.scan_to_trailing_word(bytes) {
                self.trailing_word_may_be_identifier =
                    !self.vocab.grammar_words().may_be_keyword(self.words.trailing_word())
                        || identifier_may_start(&mut self.matcher, &self.vocab, &bytes[..start]);
            }
            self.text.extend_from_slice(bytes);
            for check in &mut self.checks {
                check.observe(bytes);
            }
            if let Some(scope) = &mut self.scope {
                scope.observe(bytes);
            }
        }
        self.matcher.consume_tokens(&[self.vocab.parser_id(token)]).map_err(|e| self.internal(e))
    }

    /// Whether `token` would glue a word onto a keyword (see `maximal_munch.rs`).
    fn glues(&mut self, token: u32) -> bool {
        let bytes = self.vocab.token_bytes(token);
        let (matcher, vocab) = (&mut self.matcher, &self.vocab);
        glues(vocab.grammar_words(), &self.words, bytes, self.trailing_word_may_be_identifier, |k| {
            identifier_may_start(matcher, vocab, &bytes[..k])
        })
    }

    /// The tokens that keep the text valid (EOS only where it is complete).
    ///
    /// Whitespace in code right after `; , ( ) [ ] { }` or after other
    /// whitespace (JLS 3.6: exactly `u8::is_ascii_whitespace`) changes
    /// nothing that may follow: those are whole tokens
    /// that nothing extends, and whitespace is skipped. So the grammar's
    /// mask at such a point also holds after any whitespace tokens, and is
    /// reused instead of walking the vocabulary again from inside the
    /// whitespace (where llguidance's token slices cannot apply).
    pub fn mask(&mut self) -> Result<SimpleVob, ConstraintError> {
        let mut mask = match &self.mask_before_whitespace {
            Some(mask) => mask.clone(),
            None => {
                let mask = self.matcher.compute_mask_or_eos().map_err(|e| self.internal(e))?;
                let whitespace_changes_nothing = self.words.ends_in_code()
                    && self.text.last().is_some_and(|&b| b.is_ascii_whitespace() || b";,()[]{}".contains(&b));
                if self.vocab.whitespace_reuse() && whitespace_changes_nothing {
                    self.mask_before_whitespace = Some(mask.clone());
                }
                mask
            }
        };
        self.vocab.expand_classes(&mut mask);
        self.drop_glued(&mut mask);
        for check in &self.checks {
            let vetoed: Vec<u32> =
                mask.iter().filter(|&t| t != self.vocab.eos() && !check.allows(self.vocab.token_bytes(t))).collect();
            for t in vetoed {
                mask.disallow_token(t);
            }
        }
        if let Some(scope) = &self.scope {
            self.scope_waived = scope.apply(&self.vocab.scope_tables(), &mut mask);
        }
        Ok(mask)
    }

    /// Removes the allowed tokens that glue a word onto a keyword. Only two
    /// groups can: tokens with a keyword-prefixed word inside, and, when
    /// no identifier may start where the text's last word did, tokens
    /// that grow that word.
    fn drop_glued(&mut self, mask: &mut SimpleVob) {
        let (matcher, vocab, words) = (&mut self.matcher, &self.vocab, &self.words);
        let trailing = self.trailing_word_may_be_identifier;
        let glued = vocab.glue_candidates().glued(
            vocab.grammar_words(),
            words,
            trailing,
            |t| mask.is_allowed(t),
            |t| vocab.token_bytes(t),
            |prefix| identifier_may_start(matcher, vocab, prefix),
        );
        for token in glued {
            mask.disallow_token(token);
        }
        if !trailing && !words.trailing_word().is_empty() {
            // Tokens that grow the text's last word; words further inside
            // them were handled with the candidates above.
            mask.sub(&vocab.tokens_growing_into_glue(words.trailing_word()));
        }
    }

    /// llguidance's counters for the last mask (items, lexer cost, trie
    /// nodes walked), for profiling.
    pub fn last_mask_stats(&self) -> String {
        self.matcher.last_step_stats().map_or_else(|e| e.to_string(), |s| format!("{s:?}"))
    }

    /// Whether the text so far is a complete unit of the start mode.
    pub fn is_complete(&mut self) -> bool {
        self.matcher.is_accepting().unwrap_or(false)
    }

    pub fn text(&self) -> &[u8] {
        &self.text
    }

    fn rejection(&self, token: u32) -> ConstraintError {
        let (line, column) = line_and_column(&self.text);
        let token_text = if token == self.vocab.eos() {
            "end of text".to_string()
        } else {
            format!("{:?}", String::from_utf8_lossy(self.vocab.token_bytes(token)))
        };
        let tail_start = self.text.len().saturating_sub(40);
        ConstraintError::Rejected {
            mode: self.mode,
            line,
            column,
            token: token_text,
            after: String::from_utf8_lossy(&self.text[tail_start..]).into_owned(),
        }
    }

    fn internal(&self, e: impl std::fmt::Display) -> ConstraintError {
        ConstraintError::Parser(e.to_string())
    }
}

impl Undo {
    fn fork(&self) -> Undo {
        Undo {
            text_len: self.text_len,
            words: self.words.clone(),
            trailing_word_may_be_identifier: self.trailing_word_may_be_identifier,
            mask_before_whitespace: self.mask_before_whitespace.clone(),
            checks: self.checks.iter().map(|c| c.fork()).collect(),
            scope_tokens: self.scope_tokens,
        }
    }
}

/// Whether the parser lets an identifier start after `prefix` (bytes not
/// yet consumed): `z` begins no keyword, so it can only begin one. Without
/// single-byte tokens to ask with, assume it may.
fn identifier_may_start(matcher: &mut Matcher, vocab: &Vocabulary, prefix: &[u8]) -> bool {
    let probe: Option<Vec<u32>> = prefix.iter().chain(b"z").map(|&b| vocab.single_byte_token(b)).collect();
    match probe {
        Some(probe) => matcher.validate_tokens(&probe).is_ok_and(|n| n == probe.len()),
        None => true,
    }
}

/// 1-based line and column (in characters) of the position after `text`.
fn line_and_column(text: &[u8]) -> (usize, usize) {
    let line_start = text.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let line = 1 + text.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + String::from_utf8_lossy(&text[line_start..]).chars().count();
    (line, column)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{line_and_column, JavaConstraint};
    use crate::{StartMode, Vocabulary};

    /// Where the text ends in a lexeme that could still grow, llguidance
    /// takes the identifier-token slice as a block instead of walking
    /// every identifier token through the trie
    /// (third_party/llguidance/PATCHES.md, items 6 and 7):
    /// * after a keyword an identifier could extend (`public` ->
    ///   `publicKey`), where derivre's containment check used to fail;
    /// * after an operator or whitespace that could still grow (`+` ->
    ///   `++`, a line of indentation), at the start of the next lexeme,
    ///   where llguidance never looked.
    ///
    /// Without them these masks took a full trie walk. The masks
    /// themselves are checked by tests/mask_exact.rs.
    #[test]
    fn identifier_slice_applies_where_a_lexeme_could_still_grow() {
        let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        tokens.extend(["foo", "Bar", "Key", "value", "x1"].iter().map(|w| w.as_bytes().to_vec()));
        let eos = tokens.len() as u32;
        tokens.push(b"<|endoftext|>".to_vec());
        let key = tokens.iter().position(|t| t == b"Key").unwrap() as u32;
        let vocab = Arc::new(Vocabulary::new(tokens.clone(), tokens.len(), eos).unwrap());
        let body = StartMode::MethodBody(crate::BodyKind::Void);
        let cases = [
            (StartMode::ClassBody, "public"),
            (StartMode::ClassBody, "static"),
            (StartMode::ClassBody, "int"),
            (body, "int y = a +"),
            (body, "int y = a -"),
            (body, "f(a, b); // done\n  "),
            (body, "boolean b = c <"),
        ];
        for (mode, text) in cases {
            let mut constraint = JavaConstraint::new(vocab.clone(), mode).unwrap();
            constraint.feed(&text.bytes().map(u32::from).collect::<Vec<_>>()).unwrap();
            let mask = constraint.mask().unwrap();
            assert!(mask.is_allowed(key), "{text:?} + Key");
            let stats = constraint.matcher.last_step_stats().unwrap();
            assert!(stats.slices_applied >= 1, "after {text:?}: {stats:?}");
        }
    }

    #[test]
    fn positions_are_one_based_and_count_characters() {
        assert_eq!(line_and_column(b""), (1, 1));
        assert_eq!(line_and_column(b"ab\ncd"), (2, 3));
        assert_eq!(line_and_column("x\n\u{e9}\u{e9}".as_bytes()), (2, 3));
    }
}
