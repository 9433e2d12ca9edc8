//! Chain config errors: each names the file, the line, the stage and (when
//! it is about one) the parameter, before any token is generated.

mod common;

use std::path::Path;

use logitloom_plugin_host::{ChainError, ChainSpec, HostError, HostOptions};

fn parse(text: &str) -> Result<ChainSpec, ChainError> {
    ChainSpec::from_toml_str(text, "chain.toml", Path::new("/nonexistent-base"), &common::builtins())
}

fn error(text: &str) -> String {
    parse(text).expect_err("config must be refused").to_string()
}

#[test]
fn every_shipped_preset_parses_and_loads() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&configs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            let spec = ChainSpec::from_file(&path, &common::builtins()).unwrap_or_else(|e| panic!("{e}"));
            spec.load(&HostOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert!(seen >= 8, "expected the presets in {}, found {seen}", configs.display());
}

#[test]
fn conservative_preset_has_its_stages_in_order() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/conservative.toml");
    let chain = ChainSpec::from_file(&path, &common::builtins()).unwrap().load(&HostOptions::default()).unwrap();
    assert_eq!(chain.stage_labels(), ["repetition_penalty", "top_k", "top_p", "multinomial"]);
}

#[test]
fn a_stage_may_repeat_and_gets_a_distinct_label() {
    let text = "[[stage]]\nplugin = \"top_k\"\nk = 40\n\n[[stage]]\nplugin = \"top_k\"\nk = 10\n\n[[stage]]\nplugin = \"greedy\"\n";
    let chain = parse(text).unwrap().load(&HostOptions::default()).unwrap();
    assert_eq!(chain.stage_labels(), ["top_k", "top_k#2", "greedy"]);
}

#[test]
fn unknown_plugin_names_file_line_and_stage() {
    let text = "[[stage]]\nplugin = \"top_k\"\nk = 5\n\n[[stage]]\nplugin = \"top_q\"\n";
    let err = error(text);
    assert!(
        err.starts_with("chain.toml:6: stage 2 (top_q): unknown plugin `top_q` (built-ins: temperature, top_k,"),
        "{err}"
    );
}

#[test]
fn out_of_range_parameter_points_at_its_line() {
    let text = "[[stage]]\nplugin = \"top_k\"\nk = 0\n\n[[stage]]\nplugin = \"greedy\"\n";
    assert_eq!(error(text), "chain.toml:3: stage 1 (top_k): parameter `k` = 0 is out of range [1, inf)");
}

#[test]
fn wrongly_typed_parameter_points_at_its_line() {
    let text = "[[stage]]\nplugin = \"top_p\"\n\n\np = \"most\"\n[[stage]]\nplugin = \"greedy\"\n";
    assert_eq!(error(text), "chain.toml:5: stage 1 (top_p): parameter `p` must be a number, got \"most\"");
}

#[test]
fn unknown_and_missing_parameters_are_named() {
    let unknown = "[[stage]]\nplugin = \"top_k\"\nk = 3\nkk = 4\n[[stage]]\nplugin = \"greedy\"\n";
    assert_eq!(error(unknown), "chain.toml:4: stage 1 (top_k): unknown parameter `kk` (known: k)");
    // A missing parameter has no line of its own: the stage's table is named.
    let missing = "\n[[stage]]\nplugin = \"top_k\"\n[[stage]]\nplugin = \"greedy\"\n";
    assert_eq!(error(missing), "chain.toml:2: stage 1 (top_k): missing required parameter `k`");
}

#[test]
fn missing_plugin_file_is_resolved_against_the_config_directory() {
    let text = "[[stage]]\npath = \"plugins/gone.wasm\"\n[[stage]]\nplugin = \"greedy\"\n";
    assert_eq!(
        error(text),
        "chain.toml:2: stage 1 (plugins/gone.wasm): plugin file /nonexistent-base/plugins/gone.wasm does not exist"
    );
}

#[test]
fn sampler_must_be_last_and_present() {
    let misplaced = "[[stage]]\nplugin = \"greedy\"\n[[stage]]\nplugin = \"top_k\"\nk = 2\n";
    assert_eq!(
        error(misplaced),
        "chain.toml:2: stage 1 (greedy): a sampler chooses the token, so it must be the last stage"
    );
    let none = "[[stage]]\nplugin = \"top_k\"\nk = 2\n";
    assert!(
        error(none).starts_with("chain.toml: the chain must end with exactly one sampler stage"),
        "{}",
        error(none)
    );
    assert_eq!(error("description = \"nothing\"\n"), "chain.toml: the chain has no stages (add [[stage]] tables)");
}

#[test]
fn toml_syntax_errors_carry_the_line() {
    let err = error("[[stage]]\nplugin = \"top_k\"\nk = = 3\n");
    assert!(err.starts_with("chain.toml:3: "), "{err}");
    let err = error("[[stage]]\nplugin = \"greedy\"\n[sampler]\nx = 1\n");
    assert!(err.starts_with("chain.toml:3: unknown field `sampler`"), "{err}");
}

#[test]
fn plugin_and_path_together_are_refused() {
    let err = error("[[stage]]\nplugin = \"greedy\"\npath = \"x.so\"\n");
    assert_eq!(err, "chain.toml:1: stage 1 (?): give either `plugin` (a built-in) or `path` (a plugin file), not both");
}

#[test]
fn plugin_file_parameters_are_checked_at_load_with_their_line() {
    let lib = common::native_plugin("logitloom-test-plugins");
    let dir = lib.parent().unwrap();
    let name = lib.file_name().unwrap().to_str().unwrap();
    let text = format!(
        "[[stage]]\npath = \"{name}\"\nprocessor = \"bias\"\ntoken = 3\namount = 1000.0\n\n[[stage]]\npath = \"{name}\"\nprocessor = \"argmax\"\n"
    );
    let spec = ChainSpec::from_toml_str(&text, "plugins.toml", dir, &common::builtins()).expect("structure is fine");
    let Err(err) = spec.load(&HostOptions::default()) else { panic!("amount is out of range") };
    assert!(matches!(err, HostError::Chain(ChainError::Param { .. })));
    assert_eq!(
        err.to_string(),
        "plugins.toml:5: stage 1 (".to_string() + name + "): parameter `amount` = 1000 is out of range [-100, 100]"
    );
}

#[test]
fn library_with_several_processors_needs_a_processor_key() {
    let lib = common::native_plugin("logitloom-test-plugins");
    let dir = lib.parent().unwrap();
    let name = lib.file_name().unwrap().to_str().unwrap();
    let text = format!("[[stage]]\npath = \"{name}\"\n[[stage]]\nplugin = \"greedy\"\n");
    let Err(err) =
        ChainSpec::from_toml_str(&text, "c.toml", dir, &common::builtins()).unwrap().load(&HostOptions::default())
    else {
        panic!("ambiguous processor")
    };
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("c.toml:2: stage 1 ({name}): the library exports several processors (bias, argmax,")),
        "{text}"
    );
}

#[test]
fn a_file_that_is_not_a_plugin_is_named_with_its_stage_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.so"), "text").unwrap();
    let text = "[[stage]]\nplugin = \"top_k\"\nk = 3\n[[stage]]\npath = \"notes.so\"\n";
    let Err(err) = ChainSpec::from_toml_str(text, "c.toml", dir.path(), &common::builtins())
        .unwrap()
        .load(&HostOptions::default())
    else {
        panic!("not a plugin")
    };
    let text = err.to_string();
    assert!(text.starts_with("c.toml:5: stage 2 (notes.so): "), "{text}");
    assert!(text.contains("not a loadable native library"), "{text}");
}
