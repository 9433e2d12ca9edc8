//! Which past tokens a penalty looks at.

use logitloom_plugin_api::{ParamKind, ParamSpec, ParamValue, Params, Step};

/// The `window` and `include_prompt` parameters shared by the penalties.
#[derive(Clone, Copy, Debug)]
pub struct History {
    /// 0 = the whole history.
    window: usize,
    include_prompt: bool,
}

impl History {
    pub fn specs() -> Vec<ParamSpec> {
        vec![
            ParamSpec::new(
                "window",
                ParamKind::int_at_least(0),
                Some(ParamValue::Int(0)),
                "only the last N tokens count; 0 = all",
            ),
            ParamSpec::new(
                "include_prompt",
                ParamKind::Bool,
                Some(ParamValue::Bool(true)),
                "whether prompt tokens count",
            ),
        ]
    }

    pub fn from_params(params: &Params) -> Self {
        History {
            window: usize::try_from(params.int("window")).unwrap_or(usize::MAX),
            include_prompt: params.bool("include_prompt"),
        }
    }

    /// The tokens that count at this step: prompt (if included) and
    /// generated tokens, then only the last `window` of those.
    pub fn tokens<'a>(&self, step: &Step<'a>) -> &'a [u32] {
        let all = if self.include_prompt { step.tokens } else { step.generated() };
        if self.window == 0 {
            all
        } else {
            &all[all.len().saturating_sub(self.window)..]
        }
    }
}
