//! The model's vocabulary as llguidance sees it, built once per vocabulary.
//!
//! Building the token trie and compiling the grammar take tens to hundreds
//! of milliseconds, while a processor is created once per *sequence*. So the
//! compiled state is cached process-wide, keyed by a hash of the token
//! bytes, and every new sequence starts from a clone of a fresh matcher.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};
use toktrie::{ApproximateTokEnv, TokEnv, TokRxInfo, TokTrie};

use crate::grammar::{lark_source, StartMode};
use crate::ConstraintError;

/// A vocabulary ready for constraining: token trie plus parser factory,
/// and one pristine matcher per start mode compiled on first use.
pub struct Vocabulary {
    factory: ParserFactory,
    token_bytes: Vec<Vec<u8>>,
    eos: u32,
    fresh: Mutex<HashMap<StartMode, Matcher>>,
}

impl Vocabulary {
    /// `tokens[i]` is the byte string of token `i`; `vocab_size` may exceed
    /// `tokens.len()` (embedding rows without a token are never allowed).
    pub fn new(tokens: Vec<Vec<u8>>, vocab_size: usize, eos: u32) -> Result<Vocabulary, ConstraintError> {
        let vocab_size = vocab_size.max(tokens.len());
        if eos as usize >= vocab_size {
            return Err(ConstraintError::Vocabulary(format!(
                "EOS token id {eos} is outside the vocabulary of {vocab_size} tokens"
            )));
        }
        let mut words = tokens.clone();
        words.resize(vocab_size, Vec::new());
        // toktrie recognises special tokens by a 0xFF first byte; without it
        // the EOS token's text (`<|endoftext|>`) would be an ordinary string
        // the grammar could allow inside a Java string literal.
        let mut eos_word = vec![TokTrie::SPECIAL_TOKEN_MARKER];
        eos_word.extend_from_slice(b"<|eos|>");
        words[eos as usize] = eos_word;
        let info = TokRxInfo::new(vocab_size as u32, eos);
        let trie = TokTrie::from(&info, &words);
        let env: TokEnv = Arc::new(ApproximateTokEnv::new(trie));
        let mut factory = ParserFactory::new_simple(&env).map_err(|e| ConstraintError::Vocabulary(e.to_string()))?;
        factory.quiet();
        Ok(Vocabulary { factory, token_bytes: tokens, eos, fresh: Mutex::new(HashMap::new()) })
    }

    /// The shared vocabulary for these token bytes, built on first request.
    pub fn shared(tokens: &[Vec<u8>], vocab_size: usize, eos: u32) -> Result<Arc<Vocabulary>, ConstraintError> {
        static CACHE: OnceLock<Mutex<HashMap<u64, Arc<Vocabulary>>>> = OnceLock::new();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (tokens, vocab_size, eos).hash(&mut hasher);
        let key = hasher.finish();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        let mut cache = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(v) = cache.get(&key) {
            return Ok(v.clone());
        }
        let v = Arc::new(Vocabulary::new(tokens.to_vec(), vocab_size, eos)?);
        cache.insert(key, v.clone());
        Ok(v)
    }

    pub fn eos(&self) -> u32 {
        self.eos
    }

    pub fn vocab_size(&self) -> usize {
        self.factory.tok_env().tok_trie().vocab_size()
    }

    /// Bytes of token `id` as the model's tokenizer has them (EOS included).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.token_bytes.get(id as usize).map_or(&[], |b| b.as_slice())
    }

    /// A matcher at the start of `mode`, compiling the grammar on first use.
    pub(crate) fn fresh_matcher(&self, mode: StartMode) -> Result<Matcher, ConstraintError> {
        let mut fresh = self.fresh.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(m) = fresh.get(&mode) {
            return Ok(m.deep_clone());
        }
        let grammar = TopLevelGrammar::from_lark(lark_source(mode));
        let parser = self.factory.create_parser(grammar).map_err(|e| ConstraintError::Grammar(e.to_string()))?;
        let matcher = Matcher::new(Ok(parser));
        if let Some(e) = matcher.get_error() {
            return Err(ConstraintError::Grammar(e));
        }
        let copy = matcher.deep_clone();
        fresh.insert(mode, matcher);
        Ok(copy)
    }
}
