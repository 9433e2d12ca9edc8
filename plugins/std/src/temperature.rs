//! `temperature`: divides every logit by `T`.
//!
//! `T < 1` sharpens the distribution, `T > 1` flattens it. Same as Hugging
//! Face `TemperatureLogitsWarper` (`scores / temperature`); removed tokens
//! stay removed because `-inf / T = -inf`.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind, Step,
};

pub struct Temperature {
    temperature: f32,
}

impl LogitProcessor for Temperature {
    /// Nothing to undo: every step works from the tokens it is shown
    /// (scratch buffers aside).
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Done)
    }

    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "temperature".into(),
            kind: StageKind::Processor,
            description: "Divide logits by T (HF TemperatureLogitsWarper).".into(),
            params: vec![ParamSpec::new(
                "temperature",
                ParamKind::positive_float(),
                None,
                "T > 0; below 1 sharpens, above 1 flattens",
            )],
            needs_raw_logits: false,
            needs_token_bytes: false,
            may_rewind: false,
        }
    }

    fn create(params: &Params, _setup: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(Temperature { temperature: params.float("temperature") as f32 })
    }

    fn process(&mut self, _step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        crate::row::divide(logits, self.temperature);
        Ok(())
    }
}
