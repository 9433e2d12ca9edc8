//! A completions request: the JSON body checked field by field (every
//! error names the field), and the chain it runs.
//!
//! Standard fields become built-in stages in one fixed order
//! ([`FIELD_ORDER`]); `chain` instead names a preset or carries an inline
//! chain. A request can only reach built-ins and files already in the
//! server's chain directory: presets are plain names, and inline stages
//! name plugin files by bare file name, never by path.

use std::path::Path;

use logitloom_plugin_host::{ChainSpec, ParamValue, PluginLibrary, StageSpec};
use serde_json::{Map, Value};

/// The order in which the sampling fields become stages (documented in
/// `docs/serve.md`); `logit_bias` is added to the model's logits before
/// the first stage.
pub const FIELD_ORDER: [&str; 8] = [
    "logit_bias",
    "repetition_penalty",
    "frequency_penalty/presence_penalty",
    "temperature",
    "top_k",
    "top_p",
    "min_p",
    "sampler",
];

/// An OpenAI-style error: HTTP status, message, and the field at fault.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    pub param: Option<String>,
    pub kind: &'static str,
}

impl ApiError {
    pub fn bad(param: Option<&str>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            message: message.into(),
            param: param.map(str::to_string),
            kind: "invalid_request_error",
        }
    }
    pub fn json(&self) -> Value {
        serde_json::json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": null}})
    }
}

/// The prompt as sent: text, or token ids.
pub enum Prompt {
    Text(String),
    Tokens(Vec<u32>),
}

/// Where the chain comes from.
pub enum ChainChoice {
    /// Built from the standard fields.
    Fields(Vec<StageSpec>),
    /// `NAME.toml` in the chain directory.
    Preset(String),
    /// Inline stages, as a TOML text resolved against the chain directory.
    Inline(String),
}

pub struct CompletionRequest {
    pub prompt: Prompt,
    pub max_tokens: usize,
    pub stop: Vec<String>,
    pub seed: Option<u64>,
    pub n: usize,
    pub logprobs: Option<usize>,
    pub logit_bias: Vec<(u32, f32)>,
    pub stream: bool,
    pub chain: ChainChoice,
}

fn num(body: &Map<String, Value>, key: &str) -> Result<Option<f64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(ApiError::bad(Some(key), format!("`{key}` must be a number, got {other}"))),
    }
}

fn int(body: &Map<String, Value>, key: &str) -> Result<Option<i64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| ApiError::bad(Some(key), format!("`{key}` must be an integer, got {n}")))
        }
        Some(other) => Err(ApiError::bad(Some(key), format!("`{key}` must be an integer, got {other}"))),
    }
}

fn in_range(key: &str, value: Option<f64>, lo: f64, hi: f64) -> Result<Option<f64>, ApiError> {
    match value {
        Some(v) if !(lo..=hi).contains(&v) => {
            Err(ApiError::bad(Some(key), format!("`{key}` must be in [{lo}, {hi}], got {v}")))
        }
        other => Ok(other),
    }
}

/// Parses and checks a body. `max_n` bounds `n` (the batch size).
pub fn parse(body: &[u8], max_n: usize, vocab: usize) -> Result<CompletionRequest, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad(None, format!("the body is not valid JSON: {e}")))?;
    let Value::Object(body) = value else {
        return Err(ApiError::bad(None, "the body must be a JSON object"));
    };
    for (key, unsupported_unless) in
        [("echo", Value::Bool(false)), ("best_of", Value::from(1)), ("suffix", Value::Null)]
    {
        if let Some(v) = body.get(key) {
            if !v.is_null() && *v != unsupported_unless {
                return Err(ApiError::bad(Some(key), format!("`{key}` is not supported (got {v})")));
            }
        }
    }
    let prompt = match body.get("prompt") {
        Some(Value::String(s)) => Prompt::Text(s.clone()),
        Some(Value::Array(items)) if items.len() == 1 && items[0].is_string() => {
            Prompt::Text(items[0].as_str().unwrap_or_default().to_string())
        }
        Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_u64) => {
            let ids: Vec<u32> = items.iter().filter_map(Value::as_u64).map(|t| t as u32).collect();
            if let Some(bad) = ids.iter().find(|&&t| t as usize >= vocab) {
                return Err(ApiError::bad(Some("prompt"), format!("token {bad} is outside the vocabulary of {vocab}")));
            }
            Prompt::Tokens(ids)
        }
        Some(Value::Array(_)) => {
            return Err(ApiError::bad(
                Some("prompt"),
                "`prompt` must be a string, one string in a list, or a list of token ids",
            ))
        }
        None | Some(Value::Null) => return Err(ApiError::bad(Some("prompt"), "`prompt` is required")),
        Some(other) => return Err(ApiError::bad(Some("prompt"), format!("`prompt` must be a string, got {other}"))),
    };
    let max_tokens = match int(&body, "max_tokens")? {
        None => 16,
        Some(m) if m <= 0 => {
            return Err(ApiError::bad(Some("max_tokens"), format!("`max_tokens` must be at least 1, got {m}")))
        }
        Some(m) => m as usize,
    };
    let stop = match body.get("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if items.len() <= 4 && items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).map(str::to_string).collect()
        }
        Some(other) => {
            return Err(ApiError::bad(
                Some("stop"),
                format!("`stop` must be a string or a list of up to 4 strings, got {other}"),
            ))
        }
    };
    if stop.iter().any(String::is_empty) {
        return Err(ApiError::bad(Some("stop"), "`stop` strings must not be empty"));
    }
    let seed = match body.get("seed") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.is_u64() => n.as_u64(),
        Some(Value::Number(n)) if n.is_i64() => n.as_i64().map(|s| s as u64),
        Some(other) => return Err(ApiError::bad(Some("seed"), format!("`seed` must be an integer, got {other}"))),
    };
    let n = match int(&body, "n")? {
        None => 1,
        Some(n) if n < 1 || n as usize > max_n => {
            return Err(ApiError::bad(
                Some("n"),
                format!("`n` must be between 1 and {max_n} (the server's batch), got {n}"),
            ))
        }
        Some(n) => n as usize,
    };
    let logprobs = match int(&body, "logprobs")? {
        None => None,
        Some(l) if !(0..=5).contains(&l) => {
            return Err(ApiError::bad(Some("logprobs"), format!("`logprobs` must be between 0 and 5, got {l}")))
        }
        Some(l) => Some(l as usize),
    };
    let logit_bias = match body.get("logit_bias") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => {
            let mut out = Vec::new();
            for (k, v) in map {
                let token: u32 = k.parse().ok().filter(|&t: &u32| (t as usize) < vocab).ok_or_else(|| {
                    ApiError::bad(Some("logit_bias"), format!("`logit_bias` key `{k}` is not a token id below {vocab}"))
                })?;
                let bias = v.as_f64().filter(|b| (-100.0..=100.0).contains(b)).ok_or_else(|| {
                    ApiError::bad(
                        Some("logit_bias"),
                        format!("`logit_bias` value for {k} must be a number in [-100, 100], got {v}"),
                    )
                })?;
                out.push((token, bias as f32));
            }
            out
        }
        Some(other) => {
            return Err(ApiError::bad(Some("logit_bias"), format!("`logit_bias` must be an object, got {other}")))
        }
    };
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(ApiError::bad(Some("stream"), format!("`stream` must be true or false, got {other}")))
        }
    };
    let temperature = in_range("temperature", num(&body, "temperature")?, 0.0, 2.0)?;
    let top_p = in_range("top_p", num(&body, "top_p")?, 0.0, 1.0)?;
    if top_p == Some(0.0) {
        return Err(ApiError::bad(Some("top_p"), "`top_p` must be above 0"));
    }
    let top_k = int(&body, "top_k")?;
    if let Some(k) = top_k.filter(|&k| k < 0) {
        return Err(ApiError::bad(Some("top_k"), format!("`top_k` must be 0 (off) or more, got {k}")));
    }
    let min_p = in_range("min_p", num(&body, "min_p")?, 0.0, 1.0)?;
    let repetition_penalty = num(&body, "repetition_penalty")?;
    if let Some(r) = repetition_penalty.filter(|&r| r <= 0.0) {
        return Err(ApiError::bad(
            Some("repetition_penalty"),
            format!("`repetition_penalty` must be above 0, got {r}"),
        ));
    }
    let frequency = in_range("frequency_penalty", num(&body, "frequency_penalty")?, -2.0, 2.0)?;
    let presence = in_range("presence_penalty", num(&body, "presence_penalty")?, -2.0, 2.0)?;

    let chain = match body.get("chain") {
        None | Some(Value::Null) => {
            let mut stages = Vec::new();
            if let Some(r) = repetition_penalty.filter(|&r| r != 1.0) {
                stages.push(StageSpec::builtin("repetition_penalty", [("penalty", ParamValue::Float(r))]));
            }
            let (f, p) = (frequency.unwrap_or(0.0), presence.unwrap_or(0.0));
            if f != 0.0 || p != 0.0 {
                stages.push(StageSpec::builtin(
                    "frequency_presence_penalty",
                    [("frequency", ParamValue::Float(f)), ("presence", ParamValue::Float(p))],
                ));
            }
            let t = temperature.unwrap_or(1.0);
            if t > 0.0 {
                if t != 1.0 {
                    stages.push(StageSpec::builtin("temperature", [("temperature", ParamValue::Float(t))]));
                }
                if let Some(k) = top_k.filter(|&k| k > 0) {
                    stages.push(StageSpec::builtin("top_k", [("k", ParamValue::Int(k))]));
                }
                if let Some(p) = top_p.filter(|&p| p < 1.0) {
                    stages.push(StageSpec::builtin("top_p", [("p", ParamValue::Float(p))]));
                }
                if let Some(p) = min_p.filter(|&p| p > 0.0) {
                    stages.push(StageSpec::builtin("min_p", [("p", ParamValue::Float(p))]));
                }
                stages.push(StageSpec::builtin("multinomial", []));
            } else {
                stages.push(StageSpec::builtin("greedy", []));
            }
            ChainChoice::Fields(stages)
        }
        Some(chain) => {
            for key in [
                "temperature",
                "top_p",
                "top_k",
                "min_p",
                "repetition_penalty",
                "frequency_penalty",
                "presence_penalty",
            ] {
                if body.get(key).is_some_and(|v| !v.is_null()) {
                    return Err(ApiError::bad(
                        Some(key),
                        format!("`{key}` cannot be combined with `chain`: put the stage in the chain instead"),
                    ));
                }
            }
            match chain {
                Value::String(name) => {
                    let plain =
                        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    if !plain {
                        return Err(ApiError::bad(
                            Some("chain"),
                            format!("chain preset `{name}` is not a plain name (letters, digits, - and _)"),
                        ));
                    }
                    ChainChoice::Preset(name.clone())
                }
                Value::Object(_) | Value::Array(_) => ChainChoice::Inline(inline_toml(chain)?),
                other => {
                    return Err(ApiError::bad(
                        Some("chain"),
                        format!("`chain` must be a preset name or an object with `stage`, got {other}"),
                    ))
                }
            }
        }
    };
    Ok(CompletionRequest { prompt, max_tokens, stop, seed, n, logprobs, logit_bias, stream, chain })
}

/// An inline chain (`{"stage": [{"plugin": "top_k", "k": 40}, ...],
/// "rewind": {...}}`, or just the list of stages) as chain TOML. Plugin
/// files are named by bare file name, resolved in the chain directory.
fn inline_toml(chain: &Value) -> Result<String, ApiError> {
    let bad = |m: String| ApiError::bad(Some("chain"), m);
    let object = match chain {
        Value::Array(stages) => serde_json::json!({ "stage": stages }),
        other => other.clone(),
    };
    let Value::Object(map) = &object else { unreachable!() };
    for key in map.keys() {
        if key != "stage" && key != "rewind" {
            return Err(bad(format!("inline chain: unknown key `{key}` (expected `stage` and optionally `rewind`)")));
        }
    }
    let Some(Value::Array(stages)) = map.get("stage") else {
        return Err(bad("inline chain: `stage` must be a list of stages".into()));
    };
    for (i, stage) in stages.iter().enumerate() {
        let Value::Object(stage) = stage else {
            return Err(bad(format!("inline chain: stage {} must be an object", i + 1)));
        };
        if let Some(plugin) = stage.get("plugin") {
            let name = plugin.as_str().unwrap_or_default();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(bad(format!("inline chain: stage {}: `plugin` must name a built-in, got {plugin}", i + 1)));
            }
        }
        if let Some(path) = stage.get("path") {
            let file = path.as_str().unwrap_or_default();
            let bare = !file.is_empty()
                && !file.starts_with('.')
                && !file.contains(['/', '\\', ':'])
                && Path::new(file).file_name().is_some_and(|f| f == file);
            if !bare {
                return Err(bad(format!(
                    "inline chain: stage {}: `path` must be the bare name of a plugin file in the server's chain directory, got {path}",
                    i + 1
                )));
            }
        }
    }
    let toml_value: toml::Value = serde_json::from_value(object.clone())
        .map_err(|e| bad(format!("inline chain: cannot be written as a chain config: {e}")))?;
    toml::to_string(&toml_value).map_err(|e| bad(format!("inline chain: cannot be written as a chain config: {e}")))
}

/// Error text with the server's chain directory taken out. Clients name
/// plugin files by bare name and get them back that way; where the server
/// keeps its files is none of their business.
pub fn without_dir(message: &str, dir: &Path) -> String {
    let dir = dir.display().to_string();
    message.replace(&format!("{dir}{}", std::path::MAIN_SEPARATOR), "").replace(&dir, "<chain directory>")
}

/// Resolves a chain choice against the chain directory into a spec.
pub fn chain_spec(choice: &ChainChoice, dir: &Path, builtins: &PluginLibrary) -> Result<ChainSpec, ApiError> {
    let as_bad = |e: &dyn std::fmt::Display| ApiError::bad(Some("chain"), without_dir(&e.to_string(), dir));
    match choice {
        ChainChoice::Fields(stages) => ChainSpec::from_stages(stages.clone(), builtins).map_err(|e| as_bad(&e)),
        ChainChoice::Preset(name) => {
            let path = dir.join(format!("{name}.toml"));
            if !path.is_file() {
                return Err(ApiError::bad(
                    Some("chain"),
                    format!("unknown chain preset `{name}` (no {name}.toml in the server's chain directory)"),
                ));
            }
            ChainSpec::from_file(&path, builtins).map_err(|e| as_bad(&e))
        }
        ChainChoice::Inline(text) => {
            ChainSpec::from_toml_str(text, "inline chain", dir, builtins).map_err(|e| as_bad(&e))
        }
    }
}
