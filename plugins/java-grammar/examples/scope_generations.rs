//! Where would `java_scope` have stepped in on a benchmark run's
//! generations? Feeds each generation of one chain (prompt, then the
//! generated text byte by byte) to the symbol table and reports the first
//! byte it refuses, next to javac's first error for that generation.
//!
//! ```text
//! target/debug/examples/scope_generations bench/results/collapse/results.jsonl java_grammar
//! ```

use std::collections::BTreeMap;

use logitloom_java_grammar::scope::Scope;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).map_or("bench/results/collapse/results.jsonl", |s| s.as_str());
    let chain = args.get(2).map_or("java_grammar", |s| s.as_str());
    let mut by_error: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for line in std::fs::read_to_string(path)?.lines() {
        let r: serde_json::Value = serde_json::from_str(line)?;
        if r["chain"] != chain || r["status"] != "ok" {
            continue;
        }
        let prompt = std::fs::read_to_string(format!("bench/prompts/{}.java", r["prompt"].as_str().unwrap_or("")))?;
        let text = r["generated"]["text"].as_str().unwrap_or("");
        let error =
            r["java"]["compile_error"].as_str().unwrap_or(if r["java"]["compiles"] == true { "compiles" } else { "-" });
        let mut scope = Scope::new();
        scope.observe(prompt.as_bytes());
        let mut refused = None;
        for (i, b) in text.bytes().enumerate() {
            if !scope.allows(&[b]) {
                refused = Some(i);
                break;
            }
            scope.observe(&[b]);
        }
        let kind = error.split(" in ").next().unwrap_or(error);
        let kind = if kind.contains("already defined") {
            "already defined".to_string()
        } else {
            kind.chars().take(40).collect()
        };
        let entry = by_error.entry(kind).or_default();
        entry.0 += 1;
        if let Some(at) = refused {
            entry.1 += 1;
            let start = text[..at].char_indices().rev().nth(40).map_or(0, |(k, _)| k);
            println!(
                "{} seed {}: refuses {:?} after {:?}  (javac: {error})",
                r["prompt"],
                r["seed"],
                &text[at..(at + 1).min(text.len())],
                &text[start..at]
            );
        }
    }
    println!("\nfirst javac error: generations, of which the symbol table refuses a byte");
    for (kind, (n, refused)) in by_error {
        println!("  {kind}: {n}, {refused}");
    }
    Ok(())
}
