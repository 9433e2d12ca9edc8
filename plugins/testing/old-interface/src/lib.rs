//! A plugin whose root module claims interface 0.9, standing in for a
//! library built against an old release. The host must refuse it at load
//! with a message naming 0.9 and its own version.

use logitloom_plugin_api::{
    InterfaceVersion, LogitProcessor, Params, PluginError, ProcessorEntry, ProcessorInfo, Setup, StageKind,
};

pub struct Noop;

impl LogitProcessor for Noop {
    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "noop".into(),
            kind: StageKind::Processor,
            description: "does nothing".into(),
            params: vec![],
            needs_raw_logits: false,
            needs_token_bytes: false,
            may_rewind: false,
        }
    }
    fn create(_: &Params, _: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(Noop)
    }
}

logitloom_plugin_api::__export_plugin_with_version!(
    InterfaceVersion { major: 0, minor: 9 };
    || vec![ProcessorEntry::of::<Noop>()]
);
