//! The model's vocabulary as llguidance sees it, built once per vocabulary.
//!
//! Building the token trie and compiling the grammar take tens to hundreds
//! of milliseconds, while a processor is created once per *sequence*. So the
//! compiled state is cached process-wide, keyed by a hash of the token
//! bytes, and every new sequence starts from a clone of a fresh matcher.
//!
//! ## Making a mask cheap
//!
//! llguidance computes a mask by walking the trie of the vocabulary's bytes
//! through its lexer and parser. Where an identifier may start, nearly every
//! word-like token is alive, and the walk visits most of the ~170,000 trie
//! nodes of a 50k vocabulary: milliseconds per mask. Two things cut it down,
//! both exact:
//!
//! * **Slices** ([`java_slices`]): llguidance allows a whole precomputed set
//!   of tokens without walking it when it can prove that every token of the
//!   set stays inside one lexeme the lexer is in: identifier characters
//!   inside or at the start of an identifier, text without `*` or a line
//!   break inside a comment, string characters inside a string. The
//!   identifier slice is the grammar's own `IDENT_CHARS` regex, the form
//!   llguidance's proof handles.
//! * **Word classes** ([`WordClasses`]): tokens made of the same whitespace
//!   followed by an ASCII identifier that no grammar word (`class`,
//!   `return`, `non-sealed`, …) is a prefix of and that is no prefix of a
//!   grammar word (` size`, ` buffer`, ` x`) behave identically in every
//!   parser state: the whitespace is the same, and what follows starts or
//!   continues a plain identifier, whose lexer state and parse do not depend
//!   on which identifier it is. llguidance sees only one representative per
//!   class (the others get no bytes, so its trie leaves them out); the
//!   mask gives every member the representative's verdict, and consuming a
//!   member consumes its representative. `tests/mask_exact.rs` checks the
//!   result against a byte-by-byte oracle, and `bench/examples/java_replay.rs
//!   --verify-masks` against the unaccelerated masks on real files.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};
use toktrie::{ApproximateTokEnv, InferenceCapabilities, SimpleVob, TokEnv, TokRxInfo, TokTrie};

use crate::grammar::{ident_chars_regex, lark_source, StartMode};
use crate::maximal_munch::{is_word_byte, GlueCandidates, GrammarWords, Growth};
use crate::ConstraintError;

/// A vocabulary ready for constraining: token trie plus parser factory,
/// and one pristine matcher per start mode compiled on first use.
pub struct Vocabulary {
    factory: ParserFactory,
    token_bytes: Vec<Vec<u8>>,
    eos: u32,
    fresh: Mutex<HashMap<StartMode, Matcher>>,
    classes: WordClasses,
    /// The token that is just byte `b`, for probing the parser byte by byte.
    single_byte: [Option<u32>; 256],
    /// Tokens with a run of identifier characters that has a grammar word
    /// as a proper prefix (` interfaces`, `(newValue`): the only ones a
    /// mask may have to drop for gluing a word onto a keyword (`maximal_munch.rs`),
    /// besides those that grow the text's own last word.
    glue_candidates: GlueCandidates,
    grammar_words: GrammarWords,
    /// Per word a text may end with where no identifier may start (a
    /// keyword or part of one): the tokens that grow it into a glued word.
    /// The answer depends on the word alone, and only a few hundred such
    /// words exist, so each is worked out once over the whole vocabulary
    /// instead of over the ~20,000 tokens a mask allows there.
    growth_glued: Mutex<HashMap<Vec<u8>, Arc<SimpleVob>>>,
    whitespace_reuse: bool,
    /// The scope stage's token groups, built on first use.
    scope_tables: OnceLock<Arc<crate::scope::ScopeTables>>,
}

/// How a [`Vocabulary`] speeds up masks; both are exact, and `plain()`
/// exists so that tests and the replay can compare against llguidance
/// unaided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Acceleration {
    pub slices: bool,
    pub word_classes: bool,
    /// Reuse the grammar's mask across whitespace tokens where whitespace
    /// cannot change what may follow (see `JavaConstraint::mask`).
    pub whitespace_reuse: bool,
}

impl Acceleration {
    pub fn full() -> Acceleration {
        Acceleration { slices: true, word_classes: true, whitespace_reuse: true }
    }
    pub fn plain() -> Acceleration {
        Acceleration { slices: false, word_classes: false, whitespace_reuse: false }
    }
}

/// Token sets llguidance may allow wholesale when it proves them inside
/// the current lexeme (see the module docs). Containment between them is
/// worked out by llguidance.
pub fn java_slices() -> Vec<String> {
    let ident = ident_chars_regex();
    // The continuation class of IDENT_CHARS, repeated: `rest+`.
    let rest = &ident[ident.find("][").expect("IDENT_CHARS is [start][rest]*") + 1..ident.len() - 1];
    // llguidance arranges slices in a tree by containment and walks a slice
    // that does not apply separately from its siblings, so overlapping
    // siblings cost double. These nest: IDENT_CHARS ⊂ rest+ ⊂ comment text
    // (no `*`, no line break: inside both comment forms); string text
    // overlaps comment text only where both apply.
    vec![r"[^*\r\n]+".to_string(), r#"[^"\\\r\n]+"#.to_string(), format!("{rest}+"), ident.to_string()]
}

/// Tokens that behave identically in every parser state, grouped, with one
/// representative each (see the module docs).
#[derive(Default)]
struct WordClasses {
    /// The id llguidance knows each token by: itself, or its class's
    /// representative.
    parser_id: Vec<u32>,
    /// Representative and the other members of each class.
    classes: Vec<(u32, SimpleVob)>,
}

impl WordClasses {
    fn build(tokens: &[Vec<u8>], vocab_size: usize, eos: u32, words: &GrammarWords) -> WordClasses {
        let mut groups: HashMap<&[u8], Vec<u32>> = HashMap::new();
        for (id, bytes) in tokens.iter().enumerate() {
            let ws_len = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
            if id as u32 != eos && ws_len > 0 && words.is_plain_unrelated_word(&bytes[ws_len..]) {
                groups.entry(&bytes[..ws_len]).or_default().push(id as u32);
            }
        }
        let mut parser_id: Vec<u32> = (0..vocab_size as u32).collect();
        let mut classes = Vec::new();
        let mut groups: Vec<Vec<u32>> = groups.into_values().filter(|members| members.len() > 1).collect();
        groups.sort();
        for members in groups {
            let representative = *members.iter().min_by_key(|&&id| (tokens[id as usize].len(), id)).unwrap();
            let mut others = SimpleVob::alloc(vocab_size);
            for &id in &members {
                if id != representative {
                    others.allow_token(id);
                    parser_id[id as usize] = representative;
                }
            }
            classes.push((representative, others));
        }
        WordClasses { parser_id, classes }
    }
}

impl Vocabulary {
    /// `tokens[i]` is the byte string of token `i`; `vocab_size` may exceed
    /// `tokens.len()` (embedding rows without a token are never allowed).
    pub fn new(tokens: Vec<Vec<u8>>, vocab_size: usize, eos: u32) -> Result<Vocabulary, ConstraintError> {
        Vocabulary::with_acceleration(tokens, vocab_size, eos, Acceleration::full())
    }

    /// [`Vocabulary::new`] with a choice of mask accelerations.
    pub fn with_acceleration(
        tokens: Vec<Vec<u8>>,
        vocab_size: usize,
        eos: u32,
        acceleration: Acceleration,
    ) -> Result<Vocabulary, ConstraintError> {
        let vocab_size = vocab_size.max(tokens.len());
        if eos as usize >= vocab_size {
            return Err(ConstraintError::Vocabulary(format!(
                "EOS token id {eos} is outside the vocabulary of {vocab_size} tokens"
            )));
        }
        let grammar_words = GrammarWords::new();
        let classes = if acceleration.word_classes {
            WordClasses::build(&tokens, vocab_size, eos, &grammar_words)
        } else {
            WordClasses { parser_id: (0..vocab_size as u32).collect(), classes: Vec::new() }
        };
        let mut words = tokens.clone();
        words.resize(vocab_size, Vec::new());
        // A class member without bytes is not in llguidance's trie; its
        // representative stands for it.
        for (id, word) in words.iter_mut().enumerate() {
            if classes.parser_id[id] != id as u32 {
                word.clear();
            }
        }
        // toktrie recognises special tokens by a 0xFF first byte; without it
        // the EOS token's text (`<|endoftext|>`) would be an ordinary string
        // the grammar could allow inside a Java string literal.
        let mut eos_word = vec![TokTrie::SPECIAL_TOKEN_MARKER];
        eos_word.extend_from_slice(b"<|eos|>");
        words[eos as usize] = eos_word;
        let info = TokRxInfo::new(vocab_size as u32, eos);
        let trie = TokTrie::from(&info, &words);
        let env: TokEnv = Arc::new(ApproximateTokEnv::new(trie));
        let slices = if acceleration.slices { java_slices() } else { Vec::new() };
        let mut factory = ParserFactory::new(&env, InferenceCapabilities::default(), &slices)
            .map_err(|e| ConstraintError::Vocabulary(e.to_string()))?;
        factory.quiet();
        let mut single_byte = [None; 256];
        for (id, bytes) in tokens.iter().enumerate() {
            if let [b] = bytes.as_slice() {
                if id as u32 != eos {
                    single_byte[*b as usize].get_or_insert(id as u32);
                }
            }
        }
        let glue_candidates = GlueCandidates::new(&tokens, eos, &grammar_words);
        let vocabulary = Vocabulary {
            factory,
            token_bytes: tokens,
            eos,
            fresh: Mutex::new(HashMap::new()),
            classes,
            single_byte,
            glue_candidates,
            grammar_words,
            growth_glued: Mutex::new(HashMap::new()),
            whitespace_reuse: acceleration.whitespace_reuse,
            scope_tables: OnceLock::new(),
        };
        // Every mask right after a keyword needs its growth set, and each
        // takes a pass over the whole vocabulary (~1 ms at 50k tokens):
        // pay for them here, once, rather than at the first `import`,
        // `class`, `extends` or `throws` of a generation.
        for word in vocabulary.grammar_words.words() {
            vocabulary.tokens_growing_into_glue(word);
        }
        Ok(vocabulary)
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

    /// The scope stage's per-vocabulary tables (`scope/mask.rs`).
    pub fn scope_tables(&self) -> Arc<crate::scope::ScopeTables> {
        Arc::clone(
            self.scope_tables.get_or_init(|| {
                Arc::new(crate::scope::ScopeTables::new(&self.token_bytes, self.vocab_size(), self.eos))
            }),
        )
    }

    pub fn vocab_size(&self) -> usize {
        self.factory.tok_env().tok_trie().vocab_size()
    }

    /// Bytes of token `id` as the model's tokenizer has them (EOS included).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.token_bytes.get(id as usize).map_or(&[], |b| b.as_slice())
    }

    /// The id llguidance knows `token` by (its word class's representative).
    pub(crate) fn parser_id(&self, token: u32) -> u32 {
        self.classes.parser_id.get(token as usize).copied().unwrap_or(token)
    }

    /// Gives every word-class member its representative's verdict.
    pub(crate) fn expand_classes(&self, mask: &mut SimpleVob) {
        for (representative, others) in &self.classes.classes {
            if mask.is_allowed(*representative) {
                mask.or(others);
            }
        }
    }

    pub(crate) fn single_byte_token(&self, byte: u8) -> Option<u32> {
        self.single_byte[byte as usize]
    }

    pub(crate) fn glue_candidates(&self) -> &GlueCandidates {
        &self.glue_candidates
    }

    pub(crate) fn whitespace_reuse(&self) -> bool {
        self.whitespace_reuse
    }

    pub(crate) fn grammar_words(&self) -> &GrammarWords {
        &self.grammar_words
    }

    /// The tokens that glue when they grow `trailing_word`, a word that
    /// started where no identifier may (see [`Growth`]).
    pub(crate) fn tokens_growing_into_glue(&self, trailing_word: &[u8]) -> Arc<SimpleVob> {
        let mut cache = self.growth_glued.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(glued) = cache.get(trailing_word) {
            return Arc::clone(glued);
        }
        let growth = Growth::new(&self.grammar_words, trailing_word);
        let mut glued = SimpleVob::alloc(self.vocab_size());
        for (id, bytes) in self.token_bytes.iter().enumerate() {
            let grows_word = bytes.first().is_some_and(|&b| is_word_byte(b));
            if id as u32 != self.eos && grows_word && growth.glues(bytes) {
                glued.allow_token(id as u32);
            }
        }
        // Bounded in practice by the grammar's words and their prefixes;
        // the cap only guards against surprises.
        if cache.len() >= 4096 {
            cache.clear();
        }
        let glued = Arc::new(glued);
        cache.insert(trailing_word.to_vec(), Arc::clone(&glued));
        glued
    }

    /// How many tokens llguidance does not see because a representative
    /// stands for them.
    pub fn tokens_in_word_classes(&self) -> usize {
        self.classes.classes.iter().map(|(_, others)| others.num_set()).sum()
    }

    /// llguidance's description of its token slices (which contains which,
    /// trie sizes), for profiling.
    pub fn slice_stats(&self) -> String {
        self.factory.slicer().stats(false)
    }

    /// A matcher at the start of `mode`, compiling the grammar on first use.
    /// Every matcher of a mode is a shallow clone of one: they share
    /// llguidance's lexer and, with it, the patched llguidance's masks
    /// cached by parser structure (third_party/llguidance/PATCHES.md), so
    /// a state seen in one sequence is answered at once in the next.
    pub(crate) fn fresh_matcher(&self, mode: StartMode) -> Result<Matcher, ConstraintError> {
        let mut fresh = self.fresh.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(m) = fresh.get(&mode) {
            return Ok(m.clone());
        }
        let grammar = TopLevelGrammar::from_lark(lark_source(mode));
        let parser = self.factory.create_parser(grammar).map_err(|e| ConstraintError::Grammar(e.to_string()))?;
        let matcher = Matcher::new(Ok(parser));
        if let Some(e) = matcher.get_error() {
            return Err(ConstraintError::Grammar(e));
        }
        let copy = matcher.clone();
        fresh.insert(mode, matcher);
        Ok(copy)
    }
}
