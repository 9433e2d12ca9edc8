//! An example logitloom plugin: `ban_words` removes every token whose text
//! contains one of the given strings, and observes how many it banned.
//!
//! The whole plugin is one `LogitProcessor` implementation and one
//! `export_plugin!` line; the same source builds as a native library and
//! as a WASM module (docs/plugins.md has the commands).

use logitloom_plugin_api::{
    export_plugin, LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Setup,
    StageKind, Step,
};

pub struct BanWords {
    /// Token ids to remove, found once at creation.
    banned: Vec<u32>,
}

impl LogitProcessor for BanWords {
    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "ban_words".into(),
            kind: StageKind::Processor,
            description: "removes every token whose text contains one of `words`".into(),
            params: vec![ParamSpec::new(
                "words",
                ParamKind::StringList,
                Some(ParamValue::StringList(vec!["TODO".into()])),
                "substrings to ban",
            )],
            needs_raw_logits: false,
            // Ask the host for every token's bytes at creation.
            needs_token_bytes: true,
            may_rewind: false,
        }
    }

    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError> {
        let vocab = setup.token_bytes.ok_or_else(|| PluginError::new("needs token bytes"))?;
        let words: Vec<&[u8]> = params.string_list("words").iter().map(|w| w.as_bytes()).collect();
        let banned = (0..vocab.len())
            .filter(|&id| {
                let text = vocab.get(id);
                words.iter().any(|w| !w.is_empty() && text.windows(w.len()).any(|window| window == *w))
            })
            .map(|id| id as u32)
            .collect();
        Ok(BanWords { banned })
    }

    fn process(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        for &id in &self.banned {
            if let Some(logit) = logits.get_mut(id as usize) {
                *logit = f32::NEG_INFINITY;
            }
        }
        step.observe(serde_json::json!({ "banned": self.banned.len() }));
        Ok(())
    }
}

export_plugin!(BanWords);

#[cfg(test)]
mod tests {
    use super::*;
    use logitloom_plugin_api::{create_validated, TokenBytes};
    use std::collections::BTreeMap;

    #[test]
    fn bans_tokens_containing_a_word() {
        let (data, offsets) = TokenBytes::flatten(&[b"foo".to_vec(), b"TODO:".to_vec(), b"bar".to_vec()]);
        let setup = Setup {
            vocab_size: 3,
            eos_token_id: 0,
            seed: 0,
            token_bytes: Some(TokenBytes { data: &data, offsets: &offsets }),
        };
        let mut p: BanWords = create_validated(&BTreeMap::new(), &setup).unwrap();
        let mut logits = vec![1.0, 2.0, 3.0];
        let mut step = Step::new(&[], 0, 0, 3, 0, None);
        p.process(&mut step, &mut logits).unwrap();
        assert_eq!(logits, [1.0, f32::NEG_INFINITY, 3.0]);
        assert_eq!(step.take_observations(), ["{\"banned\":1}"]);
    }
}
