//! Declared parameters and their validation.
//!
//! Validation lives here, next to the declarations, so the host (checking a
//! chain config) and the plugin (checking what it is handed at creation)
//! apply exactly the same rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The type and allowed range of one parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamKind {
    /// A real number. Integers given by the user are accepted.
    Float {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        /// When true the bounds themselves are not allowed.
        #[serde(default)]
        min_exclusive: bool,
        #[serde(default)]
        max_exclusive: bool,
    },
    Int {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    Bool,
    String {
        /// When present, the only values allowed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        choices: Option<Vec<String>>,
    },
    StringList,
}

impl ParamKind {
    pub fn float_in(min: f64, max: f64) -> Self {
        ParamKind::Float { min: Some(min), max: Some(max), min_exclusive: false, max_exclusive: false }
    }
    pub fn positive_float() -> Self {
        ParamKind::Float { min: Some(0.0), max: None, min_exclusive: true, max_exclusive: false }
    }
    pub fn int_at_least(min: i64) -> Self {
        ParamKind::Int { min: Some(min), max: None }
    }
    pub fn int_in(min: i64, max: i64) -> Self {
        ParamKind::Int { min: Some(min), max: Some(max) }
    }

    fn type_name(&self) -> &'static str {
        match self {
            ParamKind::Float { .. } => "a number",
            ParamKind::Int { .. } => "an integer",
            ParamKind::Bool => "a boolean",
            ParamKind::String { .. } => "a string",
            ParamKind::StringList => "a list of strings",
        }
    }

    fn range_text(&self) -> String {
        match self {
            ParamKind::Float { min, max, min_exclusive, max_exclusive } => {
                let lo = match min {
                    Some(m) => format!("{}{}", if *min_exclusive { "(" } else { "[" }, m),
                    None => "(-inf".to_string(),
                };
                let hi = match max {
                    Some(m) => format!("{}{}", m, if *max_exclusive { ")" } else { "]" }),
                    None => "inf)".to_string(),
                };
                format!("{lo}, {hi}")
            }
            ParamKind::Int { min, max } => format!(
                "{}, {}",
                min.map_or("(-inf".to_string(), |m| format!("[{m}")),
                max.map_or("inf)".to_string(), |m| format!("{m}]"))
            ),
            ParamKind::String { choices: Some(c) } => format!("one of {}", c.join(", ")),
            _ => String::new(),
        }
    }
}

/// A parameter value as given by the user (TOML) or carried over the ABI (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    StringList(Vec<String>),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::String(s) => write!(f, "{s:?}"),
            ParamValue::StringList(l) => write!(f, "{l:?}"),
        }
    }
}

/// One declared parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub name: String,
    #[serde(flatten)]
    pub kind: ParamKind,
    /// `None` makes the parameter required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<ParamValue>,
    #[serde(default)]
    pub help: String,
}

impl ParamSpec {
    pub fn new(name: &str, kind: ParamKind, default: Option<ParamValue>, help: &str) -> Self {
        ParamSpec { name: name.to_string(), kind, default, help: help.to_string() }
    }
}

/// Why a set of parameters was refused. Each variant names the parameter, so
/// the host can add the file, line and stage.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("unknown parameter `{name}` (known: {known})")]
    Unknown { name: String, known: String },
    #[error("missing required parameter `{name}`")]
    Missing { name: String },
    #[error("parameter `{name}` must be {expected}, got {got}")]
    WrongType { name: String, expected: &'static str, got: String },
    #[error("parameter `{name}` = {got} is out of range {range}")]
    OutOfRange { name: String, got: String, range: String },
}

impl ParamError {
    /// The parameter the error is about.
    pub fn param_name(&self) -> &str {
        match self {
            ParamError::Unknown { name, .. }
            | ParamError::Missing { name }
            | ParamError::WrongType { name, .. }
            | ParamError::OutOfRange { name, .. } => name,
        }
    }
}

/// Validated parameters: every declared parameter present (defaults filled
/// in), every value of its declared type and inside its range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    values: BTreeMap<String, ParamValue>,
}

impl Params {
    /// Checks `given` against `specs`, fills defaults, and normalises
    /// integers given for float parameters.
    pub fn validate(specs: &[ParamSpec], given: &BTreeMap<String, ParamValue>) -> Result<Params, ParamError> {
        for name in given.keys() {
            if !specs.iter().any(|s| &s.name == name) {
                let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
                return Err(ParamError::Unknown {
                    name: name.clone(),
                    known: if known.is_empty() { "none".into() } else { known.join(", ") },
                });
            }
        }
        let mut values = BTreeMap::new();
        for spec in specs {
            let value = match (given.get(&spec.name), &spec.default) {
                (Some(v), _) => check_value(spec, v)?,
                (None, Some(d)) => d.clone(),
                (None, None) => return Err(ParamError::Missing { name: spec.name.clone() }),
            };
            values.insert(spec.name.clone(), value);
        }
        Ok(Params { values })
    }

    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.values.get(name)
    }

    /// The raw map, e.g. to send over an ABI as JSON.
    pub fn as_map(&self) -> &BTreeMap<String, ParamValue> {
        &self.values
    }

    /// A float parameter. Panics only on a programming error in the plugin
    /// (asking for an undeclared name or the wrong type), never on user input,
    /// because validation already checked the user's values.
    pub fn float(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(ParamValue::Float(x)) => *x,
            Some(ParamValue::Int(i)) => *i as f64,
            other => panic!("plugin bug: float parameter `{name}` is {other:?}"),
        }
    }
    pub fn int(&self, name: &str) -> i64 {
        match self.values.get(name) {
            Some(ParamValue::Int(i)) => *i,
            other => panic!("plugin bug: int parameter `{name}` is {other:?}"),
        }
    }
    pub fn bool(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(ParamValue::Bool(b)) => *b,
            other => panic!("plugin bug: bool parameter `{name}` is {other:?}"),
        }
    }
    pub fn string(&self, name: &str) -> &str {
        match self.values.get(name) {
            Some(ParamValue::String(s)) => s,
            other => panic!("plugin bug: string parameter `{name}` is {other:?}"),
        }
    }
    pub fn string_list(&self, name: &str) -> &[String] {
        match self.values.get(name) {
            Some(ParamValue::StringList(l)) => l,
            other => panic!("plugin bug: string-list parameter `{name}` is {other:?}"),
        }
    }
}

fn check_value(spec: &ParamSpec, value: &ParamValue) -> Result<ParamValue, ParamError> {
    let wrong =
        || ParamError::WrongType { name: spec.name.clone(), expected: spec.kind.type_name(), got: value.to_string() };
    let out_of_range =
        || ParamError::OutOfRange { name: spec.name.clone(), got: value.to_string(), range: spec.kind.range_text() };
    match (&spec.kind, value) {
        (ParamKind::Float { min, max, min_exclusive, max_exclusive }, ParamValue::Float(_) | ParamValue::Int(_)) => {
            let x = match value {
                ParamValue::Float(x) => *x,
                ParamValue::Int(i) => *i as f64,
                _ => unreachable!(),
            };
            if x.is_nan() {
                return Err(out_of_range());
            }
            if let Some(m) = min {
                if x < *m || (*min_exclusive && x == *m) {
                    return Err(out_of_range());
                }
            }
            if let Some(m) = max {
                if x > *m || (*max_exclusive && x == *m) {
                    return Err(out_of_range());
                }
            }
            Ok(ParamValue::Float(x))
        }
        (ParamKind::Int { min, max }, ParamValue::Int(i)) => {
            if min.is_some_and(|m| *i < m) || max.is_some_and(|m| *i > m) {
                return Err(out_of_range());
            }
            Ok(value.clone())
        }
        (ParamKind::Bool, ParamValue::Bool(_)) => Ok(value.clone()),
        (ParamKind::String { choices }, ParamValue::String(s)) => {
            if let Some(c) = choices {
                if !c.contains(s) {
                    return Err(out_of_range());
                }
            }
            Ok(value.clone())
        }
        (ParamKind::StringList, ParamValue::StringList(_)) => Ok(value.clone()),
        _ => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<ParamSpec> {
        vec![
            ParamSpec::new(
                "p",
                ParamKind::Float { min: Some(0.0), max: Some(1.0), min_exclusive: true, max_exclusive: false },
                Some(ParamValue::Float(0.9)),
                "",
            ),
            ParamSpec::new("k", ParamKind::int_at_least(1), None, ""),
        ]
    }

    #[test]
    fn fills_defaults_and_accepts_ints_for_floats() {
        let mut given = BTreeMap::new();
        given.insert("k".to_string(), ParamValue::Int(40));
        let p = Params::validate(&specs(), &given).unwrap();
        assert_eq!(p.float("p"), 0.9);
        assert_eq!(p.int("k"), 40);
        given.insert("p".to_string(), ParamValue::Int(1));
        assert_eq!(Params::validate(&specs(), &given).unwrap().float("p"), 1.0);
    }

    #[test]
    fn names_the_parameter_in_every_error() {
        let mut given = BTreeMap::new();
        assert_eq!(Params::validate(&specs(), &given).unwrap_err(), ParamError::Missing { name: "k".into() });
        given.insert("k".to_string(), ParamValue::Float(2.5));
        assert!(
            matches!(Params::validate(&specs(), &given).unwrap_err(), ParamError::WrongType { ref name, .. } if name == "k")
        );
        given.insert("k".to_string(), ParamValue::Int(0));
        assert!(
            matches!(Params::validate(&specs(), &given).unwrap_err(), ParamError::OutOfRange { ref name, .. } if name == "k")
        );
        given.insert("k".to_string(), ParamValue::Int(3));
        given.insert("p".to_string(), ParamValue::Float(0.0));
        let e = Params::validate(&specs(), &given).unwrap_err();
        assert_eq!(e.to_string(), "parameter `p` = 0 is out of range (0, 1]");
        given.remove("p");
        given.insert("q".to_string(), ParamValue::Bool(true));
        assert_eq!(Params::validate(&specs(), &given).unwrap_err().param_name(), "q");
    }
}
