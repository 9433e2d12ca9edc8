//! One running stage, whatever it is built from.
//!
//! Built-ins, native libraries and WASM modules each implement
//! [`StageRunner`]; the chain sees only this trait, so all three run through
//! the same [`ChainInstance`](crate::ChainInstance) code path.

use std::panic::{catch_unwind, AssertUnwindSafe};

use logitloom_plugin_api::{LogitProcessor, PluginError, RewindRequest, Rollback, Step};

use crate::error::StageFailure;

/// What every stage sees at one step.
pub(crate) struct StepContext<'a> {
    pub tokens: &'a [u32],
    pub prompt_len: usize,
    pub step: usize,
    pub vocab_size: usize,
    pub eos_token_id: u32,
    /// The model's logits before the chain, for stages that asked for them.
    pub raw_logits: Option<&'a [f32]>,
}

/// What a call produced besides its result: observation records (JSON
/// text) and, from 1.1 stages, a rewind request.
#[derive(Default)]
pub(crate) struct Records {
    pub observations: Vec<String>,
    pub rewind: Option<RewindRequest>,
}

pub(crate) trait StageRunner: Send {
    fn process(&mut self, ctx: &StepContext<'_>, logits: &mut [f32], out: &mut Records) -> Result<(), StageFailure>;
    fn sample(&mut self, ctx: &StepContext<'_>, logits: &[f32], out: &mut Records) -> Result<u32, StageFailure>;
    fn accept(&mut self, ctx: &StepContext<'_>, token: u32, out: &mut Records) -> Result<(), StageFailure>;

    /// [`LogitProcessor::rollback`]; stages that cannot (1.0 plugins) answer
    /// [`Rollback::Replay`].
    fn rollback(&mut self, _len: usize) -> Result<Rollback, StageFailure> {
        Ok(Rollback::Replay)
    }

    /// The runner's own logits buffer, for runners that can read nothing
    /// but their own memory (WASM modules). The chain moves the row into it
    /// before [`process_own_row`](Self::process_own_row) or
    /// [`sample_own_row`](Self::sample_own_row), and stages that can read
    /// host memory then work on it where it is, so a row crosses into a
    /// module once and never comes back out just to be read.
    fn own_row(&mut self) -> Option<&mut [f32]> {
        None
    }
    /// `process` on the row already in [`own_row`](Self::own_row).
    fn process_own_row(&mut self, _ctx: &StepContext<'_>, _out: &mut Records) -> Result<(), StageFailure> {
        Err(StageFailure::Error("this stage keeps no row of its own".into()))
    }
    /// `sample` on the row already in [`own_row`](Self::own_row).
    fn sample_own_row(&mut self, _ctx: &StepContext<'_>, _out: &mut Records) -> Result<u32, StageFailure> {
        Err(StageFailure::Error("this stage keeps no row of its own".into()))
    }
}

/// A processor linked into the host (the built-in registry). Panics are
/// caught here as for native plugins, so a buggy built-in cannot take the
/// engine down either.
pub(crate) struct InProcessRunner {
    pub processor: Box<dyn LogitProcessor>,
}

fn in_process<R>(
    ctx: &StepContext<'_>,
    out: &mut Records,
    raw_logits: Option<&[f32]>,
    body: impl FnOnce(&mut Step<'_>) -> Result<R, PluginError>,
) -> Result<R, StageFailure> {
    let mut step = Step::new(ctx.tokens, ctx.prompt_len, ctx.step, ctx.vocab_size, ctx.eos_token_id, raw_logits);
    let result = catch_unwind(AssertUnwindSafe(|| body(&mut step)));
    out.observations.extend(step.take_observations());
    if let Some(rewind) = step.take_rewind() {
        out.rewind = Some(rewind);
    }
    match result {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(StageFailure::Error(e.message)),
        Err(payload) => Err(StageFailure::Panic(logitloom_plugin_api::ffi::panic_message(&*payload))),
    }
}

impl StageRunner for InProcessRunner {
    fn process(&mut self, ctx: &StepContext<'_>, logits: &mut [f32], out: &mut Records) -> Result<(), StageFailure> {
        in_process(ctx, out, ctx.raw_logits, |step| self.processor.process(step, logits))
    }
    fn sample(&mut self, ctx: &StepContext<'_>, logits: &[f32], out: &mut Records) -> Result<u32, StageFailure> {
        in_process(ctx, out, ctx.raw_logits, |step| self.processor.sample(step, logits))
    }
    fn accept(&mut self, ctx: &StepContext<'_>, token: u32, out: &mut Records) -> Result<(), StageFailure> {
        in_process(ctx, out, None, |step| self.processor.accept(step, token))
    }
    fn rollback(&mut self, len: usize) -> Result<Rollback, StageFailure> {
        match catch_unwind(AssertUnwindSafe(|| self.processor.rollback(len))) {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(StageFailure::Error(e.message)),
            Err(payload) => Err(StageFailure::Panic(logitloom_plugin_api::ffi::panic_message(&*payload))),
        }
    }
}
