//! Soundness of the `java_grammar` plugin with a real model: generate under
//! the constraint in all three start modes until EOS, then check every
//! finished text with tree-sitter-java, javac's parser, and a full javac
//! compile for return statements that disagree with their method.
//!
//! ```text
//! ./dev.sh cargo run --release -p logitloom-bench --example grammar_soundness -- \
//!     [--model DIR] [--seeds N] [--body-seeds N] [--max-new-tokens N] [--out DIR]
//! ```
//!
//! Prompts: `bench/prompts/*.java` (file mode) and
//! `bench/prompts-body/{class-body,method-body}/*.java` (see the README
//! there). Chain: `java_grammar` → temperature 0.8 → top-k 200 →
//! multinomial, the collapse suite's grammar chain. Generations that do not
//! reach EOS within the token limit are counted, not checked: only a
//! finished text is claimed to be valid Java. `--body-seeds` (default: the
//! same as `--seeds`) gives the body modes more seeds: their generations
//! are short and end far more often than whole files do.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

use indicatif::ProgressBar;
use logitloom_bench::java::syntax::JavaSyntax;
use logitloom_engine::generate::{ContextOverflow, Finish, GenerateOptions};
use logitloom_engine::Model;
use logitloom_plugin_host::{ChainSpec, HostOptions, ParamValue, StageSpec};
use logitloom_runtime::generate_with_chain;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const BODY_MARK: &str = "//@body\n";

struct Prompt {
    mode: &'static str,
    name: String,
    /// The enclosing declaration the model does not see (empty in file mode).
    head: String,
    text: String,
    method_return: &'static str,
}

impl Prompt {
    /// The prompt and generation as one compilable file.
    fn wrap(&self, generated: &str) -> String {
        let tail = match self.mode {
            "class-body" => "\n}\n",
            "method-body" => "\n    }\n}\n",
            _ => "",
        };
        format!("{}{}{generated}{tail}", self.head, self.text)
    }
}

struct Finished {
    prompt: usize,
    seed: u64,
    source: String,
    /// Generated tokens before EOS (0: the model ended at once).
    tokens: usize,
    /// The generation holds a `;` or a `{`: at least one statement,
    /// declaration or block, not just closing braces.
    has_code: bool,
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn load_prompts(repo: &Path) -> Result<Vec<Prompt>> {
    let mut prompts = Vec::new();
    for (mode, dir) in [
        ("file", "bench/prompts"),
        ("class-body", "bench/prompts-body/class-body"),
        ("method-body", "bench/prompts-body/method-body"),
    ] {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(repo.join(dir))?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
        files.retain(|p| p.extension().is_some_and(|e| e == "java"));
        files.sort();
        for path in files {
            let source = std::fs::read_to_string(&path)?;
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("prompt").to_string();
            let (head, text) = if mode == "file" {
                (String::new(), source.trim_end().to_string())
            } else {
                let at = source.find(BODY_MARK).ok_or_else(|| format!("{}: no `//@body` line", path.display()))?;
                (source[..at].to_string(), source[at + BODY_MARK.len()..].trim_end().to_string())
            };
            let signature = head.lines().last().unwrap_or("");
            let method_return = if signature.split_whitespace().any(|w| w == "void") { "void" } else { "value" };
            prompts.push(Prompt { mode, name, head, text, method_return });
        }
    }
    Ok(prompts)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let model_dir = arg(&args, "--model").map(PathBuf::from).unwrap_or_else(Model::default_dir);
    let seeds: u64 = arg(&args, "--seeds").map_or(Ok(4), |s| s.parse())?;
    let body_seeds: u64 = arg(&args, "--body-seeds").map_or(Ok(seeds), |s| s.parse())?;
    let max_new_tokens: usize = arg(&args, "--max-new-tokens").map_or(Ok(400), |s| s.parse())?;
    let out = arg(&args, "--out").map(PathBuf::from).unwrap_or_else(|| repo.join("target/grammar-soundness"));
    let _ = std::fs::remove_dir_all(&out);

    let model = Model::load(&model_dir, tch::Device::Cpu, tch::Kind::Float)?;
    let eos = model.tokenizer.eos_token_id().ok_or("the model's tokenizer has no <|endoftext|>")?;
    let prompts = load_prompts(&repo)?;
    let seeds_for = |p: usize| if prompts[p].mode == "file" { seeds } else { body_seeds };
    let jobs: Vec<(usize, u64)> = (0..prompts.len()).flat_map(|p| (1..=seeds_for(p)).map(move |s| (p, s))).collect();
    let bar = ProgressBar::new(jobs.len() as u64);
    let mut finished = Vec::new();
    let mut unfinished = [0usize; 3];
    let mode_index = |mode: &str| ["file", "class-body", "method-body"].iter().position(|m| *m == mode).unwrap_or(0);
    // One chain per (mode, return kind); a batch holds prompts of one chain.
    type Jobs = Vec<(usize, u64)>; // (prompt index, seed)
    let mut groups: Vec<((&str, &str), Jobs)> = Vec::new();
    for &(p, s) in &jobs {
        let key = (prompts[p].mode, prompts[p].method_return);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push((p, s)),
            None => groups.push((key, vec![(p, s)])),
        }
    }
    for ((mode, method_return), group) in groups {
        let mut grammar = vec![("start", ParamValue::String(mode.into()))];
        if mode == "method-body" {
            grammar.push(("method_return", ParamValue::String(method_return.into())));
        }
        let chain = ChainSpec::from_stages(
            vec![
                StageSpec::builtin("java_grammar", grammar),
                StageSpec::builtin("temperature", [("temperature", ParamValue::Float(0.8))]),
                StageSpec::builtin("top_k", [("k", ParamValue::Int(200))]),
                StageSpec::builtin("multinomial", []),
            ],
            &logitloom_runtime::builtins(),
        )?
        .load(&HostOptions::default())?;
        for batch in group.chunks(8) {
            let encoded: Vec<Vec<u32>> = batch
                .iter()
                .map(|&(p, _)| model.tokenizer.encode(&prompts[p].text))
                .collect::<std::result::Result<_, _>>()?;
            let context = model.config().n_positions;
            let longest = encoded.iter().map(Vec::len).max().unwrap_or(0);
            let options = GenerateOptions {
                max_new_tokens: max_new_tokens.min(context.saturating_sub(longest)),
                eos_token_id: eos,
                stop_at_eos: true,
                overflow: ContextOverflow::Stop,
            };
            let batch_seeds: Vec<u64> = batch.iter().map(|&(_, s)| s).collect();
            let (outputs, _) = generate_with_chain(&model, &chain, &encoded, &batch_seeds, &options, &mut |_, _| {})?;
            for (&(p, seed), sequence) in batch.iter().zip(outputs) {
                let mut tokens = sequence.output.tokens;
                if sequence.output.finish != Finish::Eos {
                    unfinished[mode_index(prompts[p].mode)] += 1;
                    continue;
                }
                tokens.pop();
                let generated = model.tokenizer.decode(&tokens);
                let has_code = generated.contains(';') || generated.contains('{');
                finished.push(Finished {
                    prompt: p,
                    seed,
                    source: prompts[p].wrap(&generated),
                    tokens: tokens.len(),
                    has_code,
                });
            }
            bar.inc(batch.len() as u64);
        }
    }
    bar.finish_and_clear();

    // Each file in its own folder, named after its public type as javac asks.
    let mut paths = Vec::new();
    for f in &finished {
        let p = &prompts[f.prompt];
        let dir = out.join(format!("{}-{}-s{}", p.mode, p.name, f.seed));
        std::fs::create_dir_all(&dir)?;
        let class = logitloom_bench::java::javac::public_type_name(&f.source).unwrap_or("Snippet");
        let path = dir.join(format!("{class}.java"));
        std::fs::write(&path, &f.source)?;
        paths.push(path);
    }

    let mut syntax = JavaSyntax::new();
    let mut tree_sitter_errors = 0;
    let mut bare_returns = 0;
    for (f, path) in finished.iter().zip(&paths) {
        let report = syntax.check(&f.source);
        if let Some(at) = report.first_error_byte {
            tree_sitter_errors += 1;
            println!("tree-sitter error in {} at byte {at}", path.display());
        }
        if report.bare_return_in_non_void {
            bare_returns += 1;
            println!("bare return in a non-void method: {}", path.display());
        }
    }
    let classes = out.join("classes");
    let mut javac_syntax_errors = 0;
    let mut return_errors = 0;
    for path in &paths {
        let parse = Command::new("javac")
            .args(["-XDshould-stop.ifError=PARSE", "-XDshould-stop.ifNoError=PARSE", "-d"])
            .arg(&classes)
            .arg(path)
            .output()?;
        if !parse.status.success() {
            javac_syntax_errors += 1;
            println!("javac syntax error in {}:\n{}", path.display(), String::from_utf8_lossy(&parse.stderr));
        }
        // A small model's code rarely compiles (unknown names and types);
        // only errors about return statements matter here.
        let full = Command::new("javac").args(["-Xmaxerrs", "100000", "-d"]).arg(&classes).arg(path).output()?;
        for line in String::from_utf8_lossy(&full.stderr).lines() {
            if line.contains("missing return value") || line.contains("unexpected return value") {
                return_errors += 1;
                println!("{}: {line}", path.display());
            }
        }
    }
    println!();
    println!("| mode | prompts | generations | ended in EOS | of them with code (`;` or `{{`) | median tokens before EOS | hit the token limit |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (i, mode) in ["file", "class-body", "method-body"].iter().enumerate() {
        let n_prompts = prompts.iter().filter(|p| p.mode == *mode).count();
        let ended: Vec<&Finished> = finished.iter().filter(|f| prompts[f.prompt].mode == *mode).collect();
        let with_code = ended.iter().filter(|f| f.has_code).count();
        let mut lengths: Vec<usize> = ended.iter().map(|f| f.tokens).collect();
        lengths.sort_unstable();
        let median = lengths.get(lengths.len() / 2).copied().unwrap_or(0);
        let mode_seeds = if *mode == "file" { seeds } else { body_seeds };
        println!(
            "| {mode} | {n_prompts} | {} | {} | {with_code} | {median} | {} |",
            n_prompts as u64 * mode_seeds,
            ended.len(),
            unfinished[i]
        );
    }
    let n = finished.len();
    println!();
    println!("{n} generations ended in EOS (model {}, seeds 1..={seeds} for files and 1..={body_seeds} for bodies, at most {max_new_tokens} new tokens); of them:", model_dir.display());
    println!("- parse with tree-sitter-java without error nodes: {}/{n}", n - tree_sitter_errors);
    println!("- pass javac's parser: {}/{n}", n - javac_syntax_errors);
    println!("- return statements disagreeing with their method (javac): {return_errors}; bare `return;` in a non-void method (tree-sitter): {bare_returns}");
    println!("texts: {}", out.display());
    Ok(())
}
