//! What a validated stage is, shared by the config parser (which makes
//! them) and the chain runner (which runs them), so that neither module
//! needs the other's internals.

use logitloom_plugin_api::{Params, StageKind};
use serde::{Deserialize, Serialize};

/// One stage after validation: which processor of its library, what it
/// does, and its checked parameters.
pub(crate) struct ResolvedStage {
    pub index: usize,
    pub kind: StageKind,
    pub params: Params,
}

/// How far each sequence may go back (chain file, `[rewind]`). Past either
/// limit, rewind requests are refused and decoding goes on forward; with
/// the rule that a rewind must add a ban to its place, this bounds every
/// generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewindBudget {
    /// Most rewinds granted per sequence.
    #[serde(default = "RewindBudget::default_max_rewinds")]
    pub max_rewinds: usize,
    /// Most tokens all of a sequence's rewinds may discard together.
    #[serde(default = "RewindBudget::default_max_discarded_tokens")]
    pub max_discarded_tokens: usize,
}

impl RewindBudget {
    fn default_max_rewinds() -> usize {
        8
    }
    fn default_max_discarded_tokens() -> usize {
        48
    }
}

impl Default for RewindBudget {
    fn default() -> Self {
        RewindBudget {
            max_rewinds: RewindBudget::default_max_rewinds(),
            max_discarded_tokens: RewindBudget::default_max_discarded_tokens(),
        }
    }
}
