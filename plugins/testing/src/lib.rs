//! Test processors for the plugin host. Built both as a native cdylib and
//! as a WASM module, so the host's test suite can show that every failure a
//! plugin can cause is caught and named, on both ABIs.
//!
//! The well-behaved ones (`bias`, `argmax`) make chains that run; the rest
//! each fail in one way, at the step given by their `at_step` parameter, so
//! tests can check that the reported step is the one that failed.

use logitloom_plugin_api::{
    export_plugin, LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Setup,
    StageKind, Step,
};

fn info(name: &str, kind: StageKind, description: &str, params: Vec<ParamSpec>) -> ProcessorInfo {
    ProcessorInfo {
        name: name.to_string(),
        kind,
        description: description.to_string(),
        params,
        needs_raw_logits: false,
        needs_token_bytes: false,
        may_rewind: false,
    }
}

fn at_step_param() -> ParamSpec {
    ParamSpec::new("at_step", ParamKind::int_at_least(0), Some(ParamValue::Int(0)), "the step at which to misbehave")
}

/// Adds `amount` to the logit of `token` and observes what it did.
pub struct Bias {
    token: usize,
    amount: f32,
}

impl LogitProcessor for Bias {
    fn info() -> ProcessorInfo {
        info(
            "bias",
            StageKind::Processor,
            "adds a constant to one token's logit",
            vec![
                ParamSpec::new("token", ParamKind::int_at_least(0), None, "token id"),
                ParamSpec::new("amount", ParamKind::float_in(-100.0, 100.0), Some(ParamValue::Float(1.0)), "added"),
            ],
        )
    }
    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError> {
        let token = params.int("token") as usize;
        if token >= setup.vocab_size {
            return Err(PluginError::new(format!("token {token} is outside the vocabulary of {}", setup.vocab_size)));
        }
        Ok(Bias { token, amount: params.float("amount") as f32 })
    }
    fn process(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        logits[self.token] += self.amount;
        step.observe(serde_json::json!({ "token": self.token, "logit": logits[self.token] }));
        Ok(())
    }
}

/// Greedy: the lowest id among the largest logits.
pub struct Argmax;

impl LogitProcessor for Argmax {
    fn info() -> ProcessorInfo {
        info("argmax", StageKind::Sampler, "picks the lowest id among the largest logits", vec![])
    }
    fn create(_: &Params, _: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(Argmax)
    }
    fn sample(&mut self, _: &mut Step<'_>, logits: &[f32]) -> Result<u32, PluginError> {
        let mut best = 0;
        for (i, &x) in logits.iter().enumerate() {
            if x > logits[best] {
                best = i;
            }
        }
        Ok(best as u32)
    }
}

/// Declares a processor that behaves (leaves logits alone) until step
/// `at_step` and then does `$misbehave` to the logits.
macro_rules! misbehaving {
    ($ty:ident, $name:literal, $description:literal, |$logits:ident| $misbehave:expr) => {
        pub struct $ty {
            at_step: usize,
        }
        impl LogitProcessor for $ty {
            fn info() -> ProcessorInfo {
                info($name, StageKind::Processor, $description, vec![at_step_param()])
            }
            fn create(params: &Params, _: &Setup<'_>) -> Result<Self, PluginError> {
                Ok($ty { at_step: params.int("at_step") as usize })
            }
            #[allow(unreachable_code)]
            fn process(&mut self, step: &mut Step<'_>, $logits: &mut [f32]) -> Result<(), PluginError> {
                if step.step == self.at_step {
                    $misbehave;
                }
                Ok(())
            }
        }
    };
}

misbehaving!(PanicAt, "panic_at", "panics", |_logits| panic!("deliberate test panic"));
misbehaving!(FailAt, "fail_at", "returns an error", |_logits| return Err(PluginError::new("deliberate test error")));
misbehaving!(WriteNan, "write_nan", "writes NaN into token 3's logit", |logits| logits[3] = f32::NAN);
misbehaving!(MaskAll, "mask_all", "sets every logit to -inf", |logits| logits.fill(f32::NEG_INFINITY));
// A native build of these two cannot be stopped or bounded: only the WASM
// host enforces deadlines and memory limits, so tests run them as WASM only.
misbehaving!(SpinForever, "spin_forever", "never returns", |_logits| loop {
    std::hint::black_box(());
});
misbehaving!(AllocateForever, "allocate_forever", "allocates memory without bound", |_logits| {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1; 1 << 20]);
        std::hint::black_box(&hoard);
    }
});

/// Asks for rewinds (interface 1.1), well or badly, from step `at_step` on:
/// `back_one` takes the last token back and bans it, `every_step` asks for
/// the same one-token rewind at every step without a ban, `before_prompt`
/// and `past_end` ask for lengths the host must refuse.
pub struct Rewinder {
    at_step: usize,
    mode: String,
}

impl LogitProcessor for Rewinder {
    fn info() -> ProcessorInfo {
        let mut info = info(
            "rewinder",
            StageKind::Processor,
            "asks for rewinds from step `at_step` on",
            vec![
                at_step_param(),
                ParamSpec::new(
                    "mode",
                    ParamKind::String {
                        choices: Some(
                            ["back_one", "every_step", "before_prompt", "past_end"].map(String::from).to_vec(),
                        ),
                    },
                    Some(ParamValue::String("back_one".into())),
                    "which rewind to ask for",
                ),
            ],
        );
        info.may_rewind = true;
        info
    }
    fn create(params: &Params, _: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(Rewinder { at_step: params.int("at_step") as usize, mode: params.string("mode").to_string() })
    }
    fn process(&mut self, step: &mut Step<'_>, _logits: &mut [f32]) -> Result<(), PluginError> {
        if step.step < self.at_step {
            return Ok(());
        }
        let len = step.tokens.len();
        match self.mode.as_str() {
            "back_one" if len > step.prompt_len => step.rewind(len - 1, &[step.tokens[len - 1]]),
            "every_step" => step.rewind(len.saturating_sub(1).max(step.prompt_len), &[]),
            "before_prompt" => step.rewind(step.prompt_len.saturating_sub(1), &[]),
            "past_end" => step.rewind(len + 1, &[]),
            _ => {}
        }
        Ok(())
    }
}

/// State that only a replay can restore: counts the tokens it accepted and
/// raises the logit of token `count % vocab` by 5. It has no `rollback`, so
/// after a rewind the host re-creates it and replays `accept`.
pub struct AcceptCounter {
    accepted: usize,
}

impl LogitProcessor for AcceptCounter {
    fn info() -> ProcessorInfo {
        info("accept_counter", StageKind::Processor, "raises the logit of token (tokens accepted) mod vocab", vec![])
    }
    fn create(_: &Params, _: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(AcceptCounter { accepted: 0 })
    }
    fn process(&mut self, _: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        let n = logits.len();
        logits[self.accepted % n] += 5.0;
        Ok(())
    }
    fn accept(&mut self, _: &mut Step<'_>, _: u32) -> Result<(), PluginError> {
        self.accepted += 1;
        Ok(())
    }
}

export_plugin!(Bias, Argmax, PanicAt, FailAt, WriteNan, MaskAll, SpinForever, AllocateForever, Rewinder, AcceptCounter);
