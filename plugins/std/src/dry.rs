//! `dry` ("Don't Repeat Yourself", p-e-w, 2024): penalises tokens that would
//! extend a verbatim repeat of earlier text, more steeply the longer the
//! repeat.
//!
//! Semantics and algorithm of llama.cpp's `llama_sampler_dry` (the port of
//! text-generation-webui's original):
//!
//! 1. The repeat may not reach back past the most recent *sequence breaker*
//!    (a token whose text contains one of `sequence_breakers`): that caps
//!    every match length at `rep_limit`, the distance to it.
//! 2. For every position of the context, a reverse Z-algorithm finds the
//!    length of the longest suffix of the context that also ends there
//!    (linear time).
//! 3. A match of length `len >= allowed_length` ending at position `i` means
//!    emitting the token at `i + 1` would extend it; each such token keeps
//!    its longest `len`.
//! 4. That token's logit drops by `multiplier * base^(len - allowed_length)`
//!    (exponent clamped so the power stays finite). Breaker tokens
//!    themselves are never penalised.
//!
//! llama.cpp tokenises each breaker string and also handles breakers spanning
//! several tokens; here a breaker is any token whose bytes *contain* one of
//! the strings, which is what the single-token case amounts to for BPE
//! vocabularies (`":\n"` is a token and contains `":"`). `range` counts the
//! prompt, as llama.cpp's `last_tokens` does; `0` means the whole context.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind,
    Step,
};

/// `ln(f32::MAX)`: llama.cpp's bound on `base^exponent`.
const FLOAT_MAX_LOG: f64 = 88.722_839_1;

pub struct Dry {
    multiplier: f64,
    base: f64,
    allowed_length: usize,
    range: usize,
    max_exponent: Option<usize>,
    is_breaker: Vec<bool>,
    /// Per context position: length of the context suffix ending there.
    repeat_count: Vec<usize>,
    /// Per token: longest repeat it would extend (0 = none); zeroed after use.
    longest: Vec<u32>,
    touched: Vec<u32>,
}

impl LogitProcessor for Dry {
    /// Nothing to undo: every step works from the tokens it is shown
    /// (scratch buffers aside).
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Done)
    }

    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "dry".into(),
            kind: StageKind::Processor,
            description:
                "DRY repeat penalty: multiplier * base^(len - allowed_length) on tokens extending a repeat (llama.cpp)."
                    .into(),
            params: vec![
                ParamSpec::new(
                    "multiplier",
                    ParamKind::Float { min: Some(0.0), max: None, min_exclusive: false, max_exclusive: false },
                    Some(ParamValue::Float(0.8)),
                    "penalty scale; 0 disables",
                ),
                ParamSpec::new(
                    "base",
                    ParamKind::Float { min: Some(1.0), max: None, min_exclusive: true, max_exclusive: false },
                    Some(ParamValue::Float(1.75)),
                    "growth per extra repeated token",
                ),
                ParamSpec::new(
                    "allowed_length",
                    ParamKind::int_at_least(1),
                    Some(ParamValue::Int(2)),
                    "repeats this long go unpunished",
                ),
                ParamSpec::new(
                    "sequence_breakers",
                    ParamKind::StringList,
                    Some(ParamValue::StringList(["\n", ":", "\"", "*"].map(String::from).to_vec())),
                    "a token containing one of these ends any repeat",
                ),
                ParamSpec::new(
                    "range",
                    ParamKind::int_at_least(0),
                    Some(ParamValue::Int(0)),
                    "how many recent tokens to search; 0 = all",
                ),
            ],
            needs_raw_logits: false,
            needs_token_bytes: true,
            may_rewind: false,
        }
    }

    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError> {
        let breakers = params.string_list("sequence_breakers");
        if let Some(i) = breakers.iter().position(|b| b.is_empty()) {
            return Err(PluginError::new(format!(
                "sequence_breakers[{i}] is empty; an empty breaker would match every token"
            )));
        }
        let bytes =
            setup.token_bytes.ok_or_else(|| PluginError::new("dry needs the token texts, but the host passed none"))?;
        let is_breaker = (0..setup.vocab_size)
            .map(|id| {
                let text = bytes.get(id);
                breakers.iter().any(|b| contains(text, b.as_bytes()))
            })
            .collect();
        let base = params.float("base");
        // Past this exponent base^e overflows f32; llama.cpp clamps there.
        let max_exponent = (base > 1.000_001).then(|| (FLOAT_MAX_LOG / libm::log(base)) as usize);
        Ok(Dry {
            multiplier: params.float("multiplier"),
            base,
            allowed_length: usize::try_from(params.int("allowed_length")).unwrap_or(usize::MAX),
            range: usize::try_from(params.int("range")).unwrap_or(usize::MAX),
            max_exponent,
            is_breaker,
            repeat_count: Vec::new(),
            longest: vec![0; setup.vocab_size],
            touched: Vec::new(),
        })
    }

    fn process(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        if self.multiplier == 0.0 {
            return Ok(());
        }
        let all = step.tokens;
        let ctx = if self.range == 0 { all } else { &all[all.len().saturating_sub(self.range)..] };
        let n = ctx.len();
        if n <= self.allowed_length {
            return Ok(());
        }
        // `back(i)` is the i-th token from the end, as llama.cpp's `rat(i)`.
        let back = |i: usize| ctx[n - 1 - i];
        let is_breaker = |t: u32| self.is_breaker.get(t as usize).copied().unwrap_or(false);

        let rep_limit = (0..n).find(|&i| is_breaker(back(i))).unwrap_or(n);
        if rep_limit < self.allowed_length {
            return Ok(());
        }

        // Reverse Z-algorithm (llama.cpp step 2): `repeat_count[last - k]`
        // is how far the context read backwards from the end agrees with it
        // read backwards from `k` tokens earlier.
        self.repeat_count.clear();
        self.repeat_count.resize(n, 0);
        let last = n - 1;
        let (mut lt, mut rt) = (0usize, 0usize);
        for k in 1..n {
            if k > rt {
                let mut len = 0;
                while len + k < n && back(len) == back(len + k) {
                    len += 1;
                }
                self.repeat_count[last - k] = len.min(rep_limit);
                if len > 0 {
                    lt = k;
                    rt = k + len - 1;
                }
            } else {
                let pair = k - lt;
                let right_part_len = rt - k + 1;
                if self.repeat_count[last - pair] < right_part_len {
                    self.repeat_count[last - k] = self.repeat_count[last - pair].min(rep_limit);
                } else {
                    let mut i = rt + 1;
                    while i < n && back(i) == back(i - k) {
                        i += 1;
                    }
                    self.repeat_count[last - k] = (i - k).min(rep_limit);
                    lt = k;
                    rt = i - 1;
                }
            }
        }

        // Step 3: the token after each long-enough match would extend it.
        if self.longest.len() < logits.len() {
            self.longest.resize(logits.len(), 0);
        }
        self.touched.clear();
        for i in 0..last {
            let len = self.repeat_count[i];
            if len >= self.allowed_length {
                let next = ctx[i + 1] as usize;
                if next < self.longest.len() {
                    if self.longest[next] == 0 {
                        self.touched.push(next as u32);
                    }
                    self.longest[next] = self.longest[next].max(len as u32);
                }
            }
        }

        // Step 4, in the order tokens were found (deterministic).
        for &t in &self.touched {
            let t = t as usize;
            let len = self.longest[t] as usize;
            self.longest[t] = 0;
            if is_breaker(t as u32) || t >= logits.len() {
                continue;
            }
            let mut exponent = len - self.allowed_length;
            if let Some(max) = self.max_exponent {
                exponent = exponent.min(max);
            }
            let penalty = self.multiplier * libm::pow(self.base, exponent as f64);
            logits[t] = (logits[t] as f64 - penalty) as f32;
        }
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}
