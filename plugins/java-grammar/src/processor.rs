//! The `java_grammar` logit processor: the plugin-API face of
//! [`JavaConstraint`].

use std::sync::Arc;

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind,
    Step,
};

use crate::constraint::JavaConstraint;
use crate::grammar::{BodyKind, StartMode};
use crate::vocab::Vocabulary;

/// Masks every token that cannot continue a valid Java program.
pub struct JavaGrammar {
    constraint: JavaConstraint,
    /// The prompt is parsed on the first call that sees it.
    prompt_fed: bool,
    /// Tokens that open with `}` (after optional whitespace), whose
    /// probability moves to EOS once the body is complete; empty when
    /// `end_on_close` is off or in file mode.
    closing_tokens: Vec<u32>,
    eos: u32,
    /// Below this probability mass on the allowed tokens, the stage asks to
    /// rewind instead of forcing an improbable token (0: never).
    dead_end_mass: f64,
    /// Rewind over a bare name used as a value that nothing declared
    /// before it (java_scope's `declared_before_use`).
    declared_before_use: bool,
    /// Keep comments out of unfinished statements (java_scope's
    /// `comments_between_statements`): mask the tokens that would open one
    /// and rewind over one that began inside a token.
    comments_between_statements: bool,
    /// Tokens that open a comment after optional whitespace (`//`, ` /*`),
    /// and tokens that start with `/` or `*` (a comment after a pending
    /// `/`); empty unless `comments_between_statements`.
    comment_openers: Vec<u32>,
    comment_continuations: Vec<u32>,
    /// Rewinds asked for by the symbol table, as (length, banned token):
    /// each is asked once, so that a refusal by the host (budget, or a
    /// repeat) is not asked again at every step while the name or comment
    /// stays in the text.
    scope_rewinds_asked: Vec<(usize, u32)>,
}

fn grammar_params() -> Vec<ParamSpec> {
    vec![
        ParamSpec::new(
            "start",
            ParamKind::String { choices: Some(StartMode::NAMES.iter().map(|s| s.to_string()).collect()) },
            Some(ParamValue::String("file".into())),
            "where the prompt starts: a whole file, inside a class body, or inside a method body",
        ),
        ParamSpec::new(
            "method_return",
            ParamKind::String { choices: Some(BodyKind::NAMES.iter().map(|s| s.to_string()).collect()) },
            Some(ParamValue::String("infer".into())),
            "for start = \"method-body\": whether the method is void, returns a value, \
                     or is decided by the first return statement",
        ),
        ParamSpec::new(
            "dead_end_mass",
            ParamKind::float_in(0.0, 1.0),
            Some(ParamValue::Float(0.0)),
            "when the model puts less than this probability on every token the grammar allows, \
                     rewind one token and ban it instead of forcing an improbable continuation (0 = never; \
                     needs a caller that can rewind)",
        ),
        ParamSpec::new(
            "end_on_close",
            ParamKind::Bool,
            Some(ParamValue::Bool(true)),
            "in the body modes, once the body is complete, give EOS the probability of the `}` \
                     that would close it (a model ends a body by closing it, and that brace is not part \
                     of the text)",
        ),
    ]
}

fn scope_params() -> Vec<ParamSpec> {
    let mut params = grammar_params();
    params.push(ParamSpec::new(
        "declared_before_use",
        ParamKind::Bool,
        Some(ParamValue::Bool(false)),
        "assume fields are declared above their first use: a lowercase bare name used as a value that \
                 nothing declared before it (no local, parameter, field so far, inherited member, type, \
                 package or static import) makes the stage rewind to the token where the name began and ban \
                 it. Java allows a field to be used above its declaration, so this refuses such programs \
                 (off by default; needs a caller that can rewind)",
    ));
    params.push(ParamSpec::new(
        "comments_between_statements",
        ParamKind::Bool,
        Some(ParamValue::Bool(false)),
        "assume comments stand between statements and members: no comment may begin inside an unfinished \
                 statement, declaration or expression (tokens that would open one are masked; one that \
                 begins inside a token makes the stage rewind to it). Java allows comments anywhere, so this \
                 refuses such programs; it keeps a steered model from escaping into comments halfway through \
                 an expression (off by default)",
    ));
    params
}

impl LogitProcessor for JavaGrammar {
    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "java_grammar".into(),
            kind: StageKind::Processor,
            description: "Allows only tokens that continue valid Java 17 (with return statements that match \
                          their method's type); EOS only where the text is complete."
                .into(),
            params: grammar_params(),
            needs_raw_logits: false,
            needs_token_bytes: true,
            may_rewind: true,
        }
    }

    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError> {
        JavaGrammar::create_with(params, setup, false)
    }

    fn process(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        self.process_row(step, logits)
    }

    fn accept(&mut self, step: &mut Step<'_>, token: u32) -> Result<(), PluginError> {
        self.accept_token(step, token)
    }

    fn rollback(&mut self, len: usize) -> Result<Rollback, PluginError> {
        self.roll_back_to(len)
    }
}

/// `java_grammar` plus the symbol table (`scope/`): one parse, one mask,
/// and names the table proves wrong removed from it.
pub struct JavaScope(JavaGrammar);

impl JavaScope {
    /// The symbol table, for tests.
    pub fn scope(&self) -> Option<&crate::scope::Scope> {
        self.0.constraint.scope()
    }
}

impl LogitProcessor for JavaScope {
    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "java_scope".into(),
            kind: StageKind::Processor,
            description: "java_grammar, and also only names that can exist there: members the receiver's type \
                          has (JDK index and the file's own closed classes), no `.` after a primitive, no local \
                          declared twice. Whatever it cannot resolve stays allowed."
                .into(),
            params: scope_params(),
            needs_raw_logits: false,
            needs_token_bytes: true,
            may_rewind: true,
        }
    }

    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError> {
        JavaGrammar::create_with(params, setup, true).map(JavaScope)
    }

    fn process(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        self.0.process_row(step, logits)
    }

    fn accept(&mut self, step: &mut Step<'_>, token: u32) -> Result<(), PluginError> {
        self.0.accept_token(step, token)
    }

    fn rollback(&mut self, len: usize) -> Result<Rollback, PluginError> {
        self.0.roll_back_to(len)
    }
}

impl JavaGrammar {
    fn create_with(params: &Params, setup: &Setup<'_>, scope: bool) -> Result<Self, PluginError> {
        // Both values were validated against the declared choices.
        let body = BodyKind::from_name(params.string("method_return")).expect("validated choice");
        let mode = StartMode::from_names(params.string("start"), body).expect("validated choice");
        let token_bytes = setup
            .token_bytes
            .ok_or_else(|| PluginError::new("java_grammar needs the token byte strings, but the host passed none"))?;
        let tokens: Vec<Vec<u8>> = (0..token_bytes.len()).map(|i| token_bytes.get(i).to_vec()).collect();
        let vocab = Vocabulary::shared(&tokens, setup.vocab_size, setup.eos_token_id).map_err(to_plugin_error)?;
        let mut constraint = JavaConstraint::new(Arc::clone(&vocab), mode).map_err(to_plugin_error)?;
        if scope {
            constraint.enable_scope();
            vocab.scope_tables();
        }
        let closing_tokens = if params.bool("end_on_close") && mode != StartMode::File {
            (0..tokens.len() as u32)
                .filter(|&t| t != setup.eos_token_id && opens_with_closing_brace(&tokens[t as usize]))
                .collect()
        } else {
            Vec::new()
        };
        let comments_between_statements = scope && params.bool("comments_between_statements");
        let select = |keep: fn(&[u8]) -> bool| -> Vec<u32> {
            if !comments_between_statements {
                return Vec::new();
            }
            (0..tokens.len() as u32).filter(|&t| t != setup.eos_token_id && keep(&tokens[t as usize])).collect()
        };
        let comment_openers = select(opens_a_comment);
        let comment_continuations = select(|bytes| matches!(bytes.first(), Some(b'/' | b'*')));
        Ok(JavaGrammar {
            constraint,
            prompt_fed: false,
            closing_tokens,
            eos: setup.eos_token_id,
            dead_end_mass: params.float("dead_end_mass"),
            declared_before_use: scope && params.bool("declared_before_use"),
            comments_between_statements,
            comment_openers,
            comment_continuations,
            scope_rewinds_asked: Vec::new(),
        })
    }

    fn process_row(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        self.feed_prompt(step)?;
        let mut mask = self.constraint.mask().map_err(to_plugin_error)?;
        // Only a misplaced comment could come next (`[` then `/`, which the
        // grammar reads as a comment's start): the last token led here.
        let comment_dead_end = self.comments_between_statements && !self.ban_misplaced_comments(&mut mask);
        let eos = self.eos as usize;
        // Where EOS is allowed the body is complete, so every `}` would close
        // the body itself, which the mask forbids: its probability is the
        // model's wish to end here.
        let eos_logit = if !self.closing_tokens.is_empty() && eos < logits.len() && mask.is_allowed(self.eos) {
            let closing = self.closing_tokens.iter().filter_map(|&t| logits.get(t as usize).copied());
            Some(log_sum_exp(closing.chain([logits[eos]])))
        } else {
            None
        };
        let words = mask.as_slice();
        let mut rewinding = false;
        if let Some(scope) = self.constraint.scope() {
            let undeclared = if self.declared_before_use { scope.undeclared_use() } else { None };
            let comment = if self.comments_between_statements { scope.misplaced_comment() } else { None };
            // The earlier fault first: going back there removes the later one.
            let at = [undeclared, comment].into_iter().flatten().filter(|&at| at >= step.prompt_len).min();
            if let Some(at) = at.filter(|&at| at < step.tokens.len()) {
                let asked = (at, step.tokens[at]);
                if !self.scope_rewinds_asked.contains(&asked) {
                    self.scope_rewinds_asked.push(asked);
                    step.rewind(at, &[asked.1]);
                    rewinding = true;
                }
            }
        }
        if !rewinding && comment_dead_end && step.tokens.len() > step.prompt_len {
            let back = step.tokens.len() - 1;
            let asked = (back, step.tokens[back]);
            if !self.scope_rewinds_asked.contains(&asked) {
                self.scope_rewinds_asked.push(asked);
                step.rewind(back, &[asked.1]);
                rewinding = true;
            }
        }
        if !rewinding && self.dead_end_mass > 0.0 && step.tokens.len() > step.prompt_len {
            // A dead end of the symbol table's (the mask kept every grammar
            // token, all of which it knows to be wrong) counts as no mass.
            let allowed = if self.constraint.scope_dead_end() { 0.0 } else { allowed_mass(logits, words) };
            if allowed < self.dead_end_mass {
                // The last token led here: take it back and try another.
                let back = step.tokens.len() - 1;
                step.rewind(back, &[step.tokens[back]]);
            }
        }
        for (chunk_index, chunk) in logits.chunks_mut(32).enumerate() {
            let word = words.get(chunk_index).copied().unwrap_or(0);
            if word == u32::MAX {
                continue;
            }
            for (bit, logit) in chunk.iter_mut().enumerate() {
                if word & (1 << bit) == 0 {
                    *logit = f32::NEG_INFINITY;
                }
            }
        }
        if let Some(value) = eos_logit {
            logits[eos] = value;
        }
        Ok(())
    }

    /// Clears the mask bits of the tokens that would open a comment inside
    /// an unfinished statement, unless nothing else would be left: then it
    /// leaves the mask alone and returns false.
    fn ban_misplaced_comments(&self, mask: &mut toktrie::SimpleVob) -> bool {
        let Some(scope) = self.constraint.scope() else { return true };
        let bans = scope.comment_bans();
        let mut banned: Vec<u32> = Vec::new();
        if bans.openers {
            banned.extend(self.comment_openers.iter().filter(|&&t| mask.is_allowed(t)));
        }
        if bans.continuations {
            banned.extend(self.comment_continuations.iter().filter(|&&t| mask.is_allowed(t)));
        }
        if banned.is_empty() {
            return true;
        }
        let mut left = mask.clone();
        banned.iter().for_each(|&t| left.disallow_token(t));
        if left.num_set() == 0 {
            return false;
        }
        *mask = left;
        true
    }

    fn accept_token(&mut self, step: &mut Step<'_>, token: u32) -> Result<(), PluginError> {
        self.feed_prompt(step)?;
        self.constraint.accept(token).map_err(|e| PluginError::new(format!("generated token rejected: {e}")))
    }

    /// The parser rolls back through llguidance, the rest (symbol table
    /// included) through the constraint's undo log: a rewind costs no
    /// re-parse of the prompt.
    fn roll_back_to(&mut self, len: usize) -> Result<Rollback, PluginError> {
        if !self.prompt_fed {
            return Ok(Rollback::Done);
        }
        let consumed = self.constraint.consumed();
        if len > consumed {
            return Err(PluginError::new(format!("cannot roll back to {len} tokens: only {consumed} were consumed")));
        }
        // A parser that cannot roll back (an error state) is rebuilt by replay.
        Ok(match self.constraint.rollback(consumed - len) {
            Ok(()) => Rollback::Done,
            Err(_) => Rollback::Replay,
        })
    }
}

impl JavaGrammar {
    fn feed_prompt(&mut self, step: &Step<'_>) -> Result<(), PluginError> {
        if self.prompt_fed {
            return Ok(());
        }
        self.prompt_fed = true;
        let prompt = &step.tokens[..step.prompt_len.min(step.tokens.len())];
        self.constraint.feed(prompt).map_err(|e| PluginError::new(format!("prompt: {e}")))
    }
}

/// The softmax probability of the tokens whose mask bit is set.
fn allowed_mass(logits: &[f32], mask_words: &[u32]) -> f64 {
    let max = logits.iter().copied().filter(|l| l.is_finite()).fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return 0.0;
    }
    let (mut all, mut allowed) = (0.0f64, 0.0f64);
    for (i, &l) in logits.iter().enumerate() {
        if l.is_finite() {
            let w = ((l - max) as f64).exp();
            all += w;
            if mask_words.get(i / 32).is_some_and(|word| word & (1 << (i % 32)) != 0) {
                allowed += w;
            }
        }
    }
    allowed / all
}

/// Whether a token starts a comment after optional whitespace.
fn opens_a_comment(bytes: &[u8]) -> bool {
    let text = bytes.trim_ascii_start();
    text.starts_with(b"//") || text.starts_with(b"/*")
}

fn opens_with_closing_brace(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}')
}

/// log(Σ exp(x)), finite terms only; -inf when there are none.
fn log_sum_exp(values: impl Iterator<Item = f32> + Clone) -> f32 {
    let max = values.clone().filter(|v| v.is_finite()).fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    let sum: f32 = values.filter(|v| v.is_finite()).map(|v| (v - max).exp()).sum();
    max + sum.ln()
}

fn to_plugin_error(e: crate::ConstraintError) -> PluginError {
    PluginError::new(e.to_string())
}
