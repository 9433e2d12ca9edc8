//! Mask timing of `java_grammar` against `java_scope` at a 50k vocabulary.
//!
//! ```text
//! taskset -c 1 target/release/examples/scope_speed [/usr/lib/jvm/openjdk-17/lib/src.zip]
//! ```
//!
//! The vocabulary is every byte plus the 50,000 most frequent BPE-like
//! tokens of java.base (the pseudo-tokenisation of `scope_replay`), so it
//! needs no trained tokenizer; set-up (grammar, then JDK index and scope
//! tables) and the mask at every token of 12 java.base files are timed,
//! with and without the symbol table. Not a test.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use logitloom_java_grammar::{JavaConstraint, StartMode, Vocabulary};

#[path = "common/jdk_sources.rs"]
#[allow(dead_code)] // the progress bar is for the replays
mod jdk_sources;
use jdk_sources::read_modules;

#[path = "common/pseudo_bpe.rs"]
mod pseudo_bpe;
use pseudo_bpe::tokenize;

fn java_base(zip_path: &str) -> Vec<String> {
    let files = read_modules(std::path::Path::new(zip_path), &["java.base".to_string()]).expect("the JDK's src.zip");
    files.into_iter().map(|(_, text)| text).collect()
}

fn quantiles(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    format!(
        "{} masks: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, max {:.0} us, mean {:.1} us, over 1 ms {}",
        v.len(),
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0),
        v.iter().sum::<f64>() / v.len() as f64,
        v.iter().filter(|&&x| x > 1000.0).count()
    )
}

fn main() {
    let zip = std::env::args().nth(1).unwrap_or_else(|| "/usr/lib/jvm/openjdk-17/lib/src.zip".into());
    let texts = java_base(&zip);
    let mut counts: HashMap<&[u8], usize> = HashMap::new();
    for t in &texts {
        for tok in tokenize(t) {
            *counts.entry(tok).or_default() += 1;
        }
    }
    let mut vocab: Vec<(&[u8], usize)> = counts.into_iter().filter(|(t, _)| t.len() > 1).collect();
    vocab.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    vocab.truncate(50_000);
    let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    tokens.extend(vocab.iter().map(|(t, _)| t.to_vec()));
    let eos = tokens.len() as u32;
    tokens.push(b"<|endoftext|>".to_vec());
    let ids: HashMap<&[u8], u32> = tokens.iter().enumerate().map(|(i, t)| (t.as_slice(), i as u32)).collect();
    let encode = |text: &str| -> Vec<u32> {
        let mut out = Vec::new();
        for t in tokenize(text) {
            match ids.get(t) {
                Some(&id) => out.push(id),
                None => out.extend(t.iter().map(|&b| b as u32)),
            }
        }
        out
    };
    let t0 = Instant::now();
    let v = Arc::new(Vocabulary::new(tokens.clone(), tokens.len(), eos).unwrap());
    let grammar_ms = t0.elapsed().as_secs_f64() * 1e3;
    let mut c = JavaConstraint::new(v.clone(), StartMode::File).unwrap();
    let t1 = Instant::now();
    c.enable_scope();
    v.scope_tables();
    let scope_ms = t1.elapsed().as_secs_f64() * 1e3;
    println!("vocabulary {} tokens; set-up: grammar {grammar_ms:.0} ms (trie, classes, glue, compile), scope {scope_ms:.1} ms (JDK index + tables), total {:.0} ms", tokens.len(), grammar_ms + scope_ms);
    let files: Vec<&String> = texts.iter().step_by(texts.len() / 12).take(12).collect();
    for scope in [false, true] {
        let mut micros = Vec::new();
        let mut scope_only = Vec::new();
        let mut refused = 0;
        for text in &files {
            let mut c = JavaConstraint::new(v.clone(), StartMode::File).unwrap();
            if scope {
                c.enable_scope();
            }
            for t in encode(text) {
                let s = Instant::now();
                let m = c.mask().unwrap();
                micros.push(s.elapsed().as_secs_f64() * 1e6);
                if let Some(sc) = c.scope() {
                    let tables = v.scope_tables();
                    let mut all = m.clone();
                    let s = Instant::now();
                    sc.apply(&tables, &mut all);
                    scope_only.push(s.elapsed().as_secs_f64() * 1e6);
                }
                if !m.is_allowed(t) {
                    refused += 1;
                    break;
                }
                if c.accept(t).is_err() {
                    refused += 1;
                    break;
                }
            }
        }
        println!(
            "{}: {} ({} files refused a token)",
            if scope { "java_scope (grammar + scope)" } else { "java_grammar" },
            quantiles(micros),
            refused
        );
        if scope {
            println!(
                "  the scope step alone (restriction + bitsets, on the final mask again): {}",
                quantiles(scope_only)
            );
        }
    }
}
