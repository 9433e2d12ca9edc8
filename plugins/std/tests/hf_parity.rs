//! The filters and penalties against Hugging Face transformers' own
//! implementations, on the random rows in `hf/vectors.json` (written by
//! `hf/make_vectors.py`; the versions used are recorded in the file).

use std::collections::BTreeMap;

use logitloom_plugin_api::{ParamValue, Setup, Step};
use serde_json::Value;

fn param(v: &Value) -> ParamValue {
    match v.as_i64() {
        Some(i) if !v.is_f64() => ParamValue::Int(i),
        _ => ParamValue::Float(v.as_f64().expect("numeric parameter")),
    }
}

#[test]
fn matches_transformers_on_random_rows() {
    let data: Value = serde_json::from_str(include_str!("hf/vectors.json")).unwrap();
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "vectors.json holds too few cases");
    let library = logitloom_std_plugins::library();
    let mut checked = BTreeMap::<String, usize>::new();
    for (n, case) in cases.iter().enumerate() {
        let name = case["processor"].as_str().unwrap();
        let entry = library.iter().find(|e| (e.info)().name == name).unwrap_or_else(|| panic!("no processor {name}"));
        let given: BTreeMap<String, ParamValue> =
            case["params"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), param(v))).collect();
        let logits: Vec<f32> = case["logits"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        let tokens: Vec<u32> = case["tokens"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        let setup = Setup { vocab_size: logits.len(), eos_token_id: 0, seed: 0, token_bytes: None };
        let mut processor = (entry.create)(&given, &setup).unwrap();
        let mut row = logits.clone();
        // HF sees prompt and output alike as input_ids.
        let mut step = Step::new(&tokens, tokens.len(), 0, row.len(), 0, None);
        processor.process(&mut step, &mut row).unwrap();
        let context = format!("case {n}: {name} {given:?}");
        if let Some(kept) = case.get("kept") {
            let want: Vec<usize> = kept.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
            let got: Vec<usize> = (0..row.len()).filter(|&i| row[i] != f32::NEG_INFINITY).collect();
            assert_eq!(got, want, "{context}");
            for &i in &got {
                assert_eq!(row[i], logits[i], "{context}: kept token {i} was changed");
            }
        } else {
            for (i, want) in case["out"].as_array().unwrap().iter().enumerate() {
                let want = want.as_f64().unwrap() as f32;
                assert!(
                    (row[i] - want).abs() <= 1e-6 * want.abs().max(1.0),
                    "{context}: token {i}: got {}, HF {want}",
                    row[i]
                );
            }
        }
        *checked.entry(name.to_string()).or_default() += 1;
    }
    for name in ["top_k", "top_p", "min_p", "repetition_penalty", "temperature", "no_repeat_ngram"] {
        assert!(checked.get(name).copied().unwrap_or(0) >= 4, "too few {name} cases: {checked:?}");
    }
}
