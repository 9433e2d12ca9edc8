//! `logitloom serve` end to end: a server started in-process on an
//! ephemeral loopback port with the default model, driven over real HTTP.
//!
//! Generations are kept short (a few dozen tokens) so that the suite runs
//! in seconds on two cores.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use logitloom_engine::Model;
use logitloom_serve::{start, Running, ServeConfig};
use serde_json::{json, Value};

fn config(chains_dir: &Path, max_batch: usize, api_key: Option<&str>) -> ServeConfig {
    ServeConfig {
        model_dir: Model::default_dir(),
        device: tch::Device::Cpu,
        kind: tch::Kind::Float,
        chains_dir: chains_dir.to_path_buf(),
        max_batch,
        api_key: api_key.map(str::to_string),
        wasm_deadline: Duration::from_millis(100),
    }
}

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs")
}

/// One server over the shipped presets, shared by the tests that do not
/// need a server of their own (their requests then share its batch, too).
fn shared() -> &'static Running {
    static SERVER: OnceLock<Running> = OnceLock::new();
    SERVER.get_or_init(|| start(config(&configs_dir(), 8, None), "127.0.0.1", 0).expect("server starts"))
}

fn url(server: &Running, path: &str) -> String {
    format!("http://{}{path}", server.addr)
}

/// Status and body of a request; error statuses are answers here, not errors.
fn call(request: ureq::Request, body: Option<&str>) -> (u16, String) {
    let result = match body {
        Some(b) => request.set("Content-Type", "application/json").send_string(b),
        None => request.call(),
    };
    match result {
        Ok(r) => (r.status(), r.into_string().expect("body")),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().expect("body")),
        Err(e) => panic!("transport error: {e}"),
    }
}

fn post(server: &Running, body: &str) -> (u16, Value) {
    let (status, text) = call(ureq::post(&url(server, "/v1/completions")), Some(body));
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

fn complete(server: &Running, body: Value) -> Value {
    let (status, value) = post(server, &body.to_string());
    assert_eq!(status, 200, "{value}");
    value
}

fn text_of(response: &Value) -> String {
    response["choices"][0]["text"].as_str().expect("choice text").to_string()
}

/// Token 0 is the default model's end-of-text: banning it makes every
/// generation run to `max_tokens`, so lengths are known.
fn no_eos() -> Value {
    json!({"0": -100})
}

/// The `data:` payloads of an SSE response, in order.
fn stream(server: &Running, body: Value) -> Vec<String> {
    let response = ureq::post(&url(server, "/v1/completions"))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string())
        .expect("stream starts");
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    BufReader::new(response.into_reader())
        .lines()
        .map(|l| l.expect("line"))
        .filter_map(|l| l.strip_prefix("data: ").map(str::to_string))
        .collect()
}

#[test]
fn completion_reports_text_usage_and_chain() {
    let server = shared();
    let r = complete(server, json!({"prompt": "public class", "max_tokens": 12, "seed": 5, "logit_bias": no_eos()}));
    assert_eq!(r["object"], "text_completion");
    assert_eq!(r["usage"]["completion_tokens"], 12);
    assert_eq!(r["choices"][0]["finish_reason"], "length");
    assert!(!text_of(&r).is_empty());
    assert_eq!(r["chain"]["name"], "fields");
    assert_eq!(r["chain"]["stages"].as_array().map(Vec::len), Some(1), "{}", r["chain"]);
    // The same seed gives the same text; another seed (almost surely) not.
    let again =
        complete(server, json!({"prompt": "public class", "max_tokens": 12, "seed": 5, "logit_bias": no_eos()}));
    assert_eq!(text_of(&r), text_of(&again));
}

#[test]
fn sampling_fields_become_stages_in_the_documented_order() {
    let server = shared();
    let r = complete(
        server,
        json!({"prompt": "int x", "max_tokens": 4, "seed": 1, "min_p": 0.05, "top_p": 0.9, "top_k": 40, "temperature": 0.7,
               "presence_penalty": 0.5, "repetition_penalty": 1.2}),
    );
    let stages: Vec<String> = r["chain"]["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect();
    let order =
        ["repetition_penalty", "frequency_presence_penalty", "temperature", "top_k", "top_p", "min_p", "multinomial"];
    assert_eq!(stages.len(), order.len(), "{stages:?}");
    for (stage, name) in stages.iter().zip(order) {
        assert!(stage.contains(name), "{stages:?} is not in the order {order:?}");
    }
}

#[test]
fn logprobs_come_with_entropy() {
    let server = shared();
    let r = complete(
        server,
        json!({"prompt": "class A", "max_tokens": 5, "seed": 2, "logprobs": 2, "logit_bias": no_eos()}),
    );
    let lp = &r["choices"][0]["logprobs"];
    assert_eq!(lp["tokens"].as_array().map(Vec::len), Some(5), "{lp}");
    for (logprob, entropy) in lp["token_logprobs"].as_array().unwrap().iter().zip(lp["entropy"].as_array().unwrap()) {
        assert!(logprob.as_f64().unwrap() <= 0.0);
        assert!(entropy.as_f64().unwrap() >= 0.0);
    }
    assert_eq!(lp["top_logprobs"][0].as_object().map(|m| m.len()), Some(2));
    assert_eq!(lp["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect::<String>(), text_of(&r));
}

#[test]
fn streaming_sends_the_same_text_as_one_response() {
    let server = shared();
    let body = json!({"prompt": "public static void", "max_tokens": 16, "seed": 9, "temperature": 0.8, "logit_bias": no_eos()});
    let whole = text_of(&complete(server, body.clone()));
    let mut streamed_body = body;
    streamed_body["stream"] = json!(true);
    let events = stream(server, streamed_body);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> =
        events[..events.len() - 1].iter().map(|e| serde_json::from_str(e).expect("chunk JSON")).collect();
    let text: String = chunks.iter().map(|c| c["choices"][0]["text"].as_str().unwrap_or_default()).collect();
    assert_eq!(text, whole);
    assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], "length");
    assert!(chunks.len() > 2, "text arrives in pieces, not all at the end: {} chunks", chunks.len());
}

#[test]
fn stop_strings_end_the_text_before_them() {
    let server = shared();
    let body = json!({"prompt": "public class Main {", "max_tokens": 40, "seed": 3, "logit_bias": no_eos()});
    let full = text_of(&complete(server, body.clone()));
    // Stop at the first character that occurs a little way into the text.
    let (at, ch) = full.char_indices().find(|&(i, c)| i >= 3 && !c.is_whitespace()).expect("a long enough text");
    let at = full.find(ch).filter(|&i| i >= 1).unwrap_or(at);
    let mut stopped = body;
    stopped["stop"] = json!(ch.to_string());
    let r = complete(server, stopped);
    assert_eq!(text_of(&r), full[..at], "full text: {full:?}");
    assert_eq!(r["choices"][0]["finish_reason"], "stop");
}

#[test]
fn a_request_picks_a_preset_or_an_inline_chain() {
    let server = shared();
    let prompt = "for (int i = 0;";
    let run = |chain: Value, seed: u64| {
        complete(
            server,
            json!({"prompt": prompt, "max_tokens": 10, "seed": seed, "chain": chain, "logit_bias": no_eos()}),
        )
    };
    // `greedy.toml` ignores the seed; so do greedy fields and an inline top_k 1.
    let preset = run(json!("greedy"), 1);
    assert_eq!(preset["chain"]["name"], "greedy");
    assert_eq!(text_of(&run(json!("greedy"), 2)), text_of(&preset));
    let fields =
        complete(server, json!({"prompt": prompt, "max_tokens": 10, "temperature": 0, "logit_bias": no_eos()}));
    assert_eq!(text_of(&fields), text_of(&preset));
    let inline = run(json!({"stage": [{"plugin": "top_k", "k": 1}, {"plugin": "multinomial"}]}), 7);
    assert_eq!(inline["chain"]["name"], "inline");
    assert_eq!(text_of(&inline), text_of(&preset));
    // A sampling preset follows its seed: the same seed gives the same
    // text, and different seeds do not all give one text.
    let sampled: Vec<String> = (1..=4).map(|seed| text_of(&run(json!("top_k40"), seed))).collect();
    assert_eq!(text_of(&run(json!("top_k40"), 1)), sampled[0]);
    assert!(sampled.iter().any(|t| *t != sampled[0]), "four seeds, one text: {sampled:?}");
}

fn assert_bad(server: &Running, body: &str, param: Option<&str>, says: &str) {
    let (status, value) = post(server, body);
    assert_eq!(status, 400, "{body} -> {value}");
    let error = &value["error"];
    assert_eq!(error["type"], "invalid_request_error", "{value}");
    let message = error["message"].as_str().expect("message");
    assert!(message.contains(says), "{body}: {message:?} does not say {says:?}");
    assert!(!message.contains('\n'), "one line: {message:?}");
    let chains = configs_dir().canonicalize().expect("configs dir");
    assert!(!message.contains(&*chains.to_string_lossy()), "the server's chain directory leaked: {message:?}");
    if let Some(param) = param {
        assert_eq!(error["param"], param, "{value}");
    }
}

#[test]
fn malformed_requests_get_400_with_an_openai_error() {
    let server = shared();
    assert_bad(server, "{\"prompt\": \"x\",", None, "not valid JSON");
    assert_bad(server, "[1, 2]", None, "JSON object");
    assert_bad(server, r#"{"max_tokens": 3}"#, Some("prompt"), "required");
    assert_bad(
        server,
        r#"{"prompt": "x", "chain": "no_such_chain"}"#,
        Some("chain"),
        "unknown chain preset `no_such_chain`",
    );
    assert_bad(server, r#"{"prompt": "x", "chain": "../configs/greedy"}"#, Some("chain"), "not a plain name");
    assert_bad(
        server,
        r#"{"prompt": "x", "chain": {"stage": [{"plugin": "no_such_stage"}]}}"#,
        Some("chain"),
        "no_such_stage",
    );
    assert_bad(
        server,
        r#"{"prompt": "x", "chain": {"stage": [{"plugin": "top_k", "k": -3}, {"plugin": "greedy"}]}}"#,
        Some("chain"),
        "k",
    );
    assert_bad(
        server,
        r#"{"prompt": "x", "chain": {"stage": [{"path": "../../etc/passwd"}]}}"#,
        Some("chain"),
        "bare name",
    );
    assert_bad(
        server,
        r#"{"prompt": "x", "chain": {"stage": [{"path": "/tmp/evil.wasm"}]}}"#,
        Some("chain"),
        "bare name",
    );
    assert_bad(
        server,
        r#"{"prompt": "x", "chain": {"stage": [{"path": "missing.wasm"}]}}"#,
        Some("chain"),
        "missing.wasm does not exist",
    );
    assert_bad(
        server,
        r#"{"prompt": "x", "chain": "greedy", "temperature": 0.5}"#,
        Some("temperature"),
        "cannot be combined",
    );
    assert_bad(server, r#"{"prompt": "x", "max_tokens": 0}"#, Some("max_tokens"), "at least 1");
    assert_bad(server, r#"{"prompt": "x", "max_tokens": -5}"#, Some("max_tokens"), "at least 1");
    assert_bad(server, r#"{"prompt": "x", "max_tokens": "many"}"#, Some("max_tokens"), "integer");
    assert_bad(server, r#"{"prompt": "x", "temperature": "hot"}"#, Some("temperature"), "number");
    assert_bad(server, r#"{"prompt": "x", "temperature": 3.5}"#, Some("temperature"), "[0, 2]");
    assert_bad(server, r#"{"prompt": "x", "stream": "yes"}"#, Some("stream"), "true or false");
    assert_bad(server, r#"{"prompt": "x", "logit_bias": {"999999": 1}}"#, Some("logit_bias"), "token id");
    assert_bad(server, r#"{"prompt": [1, 2, 99999]}"#, Some("prompt"), "outside the vocabulary");
    assert_bad(server, r#"{"prompt": "x", "n": 1000}"#, Some("n"), "between 1 and");
    let long = json!({"prompt": "class A { int x; } ".repeat(400), "max_tokens": 4}).to_string();
    assert_bad(server, &long, Some("prompt"), "context");
    // The server still answers normally.
    complete(server, json!({"prompt": "x", "max_tokens": 2}));
}

#[test]
fn models_health_and_metrics_answer() {
    let server = shared();
    let (status, body) = call(ureq::get(&url(server, "/health")), None);
    assert_eq!((status, body.contains("ok")), (200, true), "{body}");
    let (status, body) = call(ureq::get(&url(server, "/v1/models")), None);
    assert_eq!(status, 200);
    let models: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(models["data"][0]["id"], "default");
    complete(server, json!({"prompt": "x", "max_tokens": 3, "logit_bias": no_eos()}));
    let (status, text) = call(ureq::get(&url(server, "/metrics")), None);
    assert_eq!(status, 200);
    for name in [
        "logitloom_requests_total{status=\"200\"}",
        "logitloom_generated_tokens_total",
        "logitloom_queue_depth",
        "logitloom_batch_size",
        "logitloom_stage_seconds_total{stage=",
    ] {
        assert!(text.contains(name), "metrics lack {name}:\n{text}");
    }
    let generated = metric(&text, "logitloom_generated_tokens_total");
    assert!(generated >= 3.0, "{generated}");
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[test]
fn an_api_key_guards_the_api_but_not_health() {
    let dir = configs_dir();
    let server = start(config(&dir, 2, Some("s3cret")), "127.0.0.1", 0).expect("server starts");
    assert!(server.addr.ip().is_loopback());
    let body = json!({"prompt": "x", "max_tokens": 2}).to_string();
    let (status, text) = call(ureq::post(&url(&server, "/v1/completions")), Some(&body));
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("API key"), "{text}");
    let (status, _) =
        call(ureq::post(&url(&server, "/v1/completions")).set("Authorization", "Bearer wrong"), Some(&body));
    assert_eq!(status, 401);
    let (status, _) = call(ureq::get(&url(&server, "/metrics")), None);
    assert_eq!(status, 401);
    let (status, text) =
        call(ureq::post(&url(&server, "/v1/completions")).set("Authorization", "Bearer s3cret"), Some(&body));
    assert_eq!(status, 200, "{text}");
    let (status, _) = call(ureq::get(&url(&server, "/health")), None);
    assert_eq!(status, 200);
}

/// The native build of the test plugins (built with the workspace).
fn native_test_plugins() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe.parent().and_then(Path::parent).expect("<target>/<profile>/deps");
    let file = format!("{}logitloom_test_plugins{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let path = profile.join(file);
    assert!(
        path.is_file(),
        "missing {}: build it with `./dev.sh cargo build -p logitloom-test-plugins` or `cargo build --workspace --all-targets`",
        path.display()
    );
    path
}

/// A WASM processor that never returns from `process`: only the deadline
/// stops it.
const SPIN_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 1024) "[{\"name\":\"spin\",\"kind\":\"processor\",\"description\":\"spins\",\"params\":[]}]")
  (func (export "logitloom_interface_version") (result i32) (i32.const 65536))
  (func (export "logitloom_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 70)))
  (func (export "logitloom_last_error") (result i64) (i64.const 0))
  (func (export "logitloom_alloc") (param $size i32) (param $align i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (local.get $ptr))
  (func (export "logitloom_create")
    (param i32 i32 i32 i32 i32 i64 i32 i32 i32 i32) (result i32) (i32.const 0))
  (func (export "logitloom_process") (param i32 i32 i32 i32 i32 i32 i32) (result i32) (loop $forever (br $forever)) (i32.const 0))
  (func (export "logitloom_accept") (param i32 i32 i32 i32 i32 i32) (result i32) (i32.const 0)))"#;

#[test]
fn a_plugin_failing_mid_generation_ends_only_its_request() {
    let chains = tempfile::tempdir().expect("temp dir");
    let plugins = native_test_plugins();
    let native_name = plugins.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::copy(&plugins, chains.path().join(&native_name)).expect("copy plugin");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/testing/wat/trap.wat"),
        chains.path().join("trap.wat"),
    )
    .expect("copy trap.wat");
    std::fs::write(chains.path().join("spin.wat"), SPIN_WAT).expect("write spin.wat");
    let server = start(config(chains.path(), 8, None), "127.0.0.1", 0).expect("server starts");
    let chains_dir = chains.path().canonicalize().expect("temp dir");
    let chains_dir = &chains_dir;

    let good = json!({"prompt": "public int size()", "max_tokens": 24, "seed": 11, "temperature": 0.9, "logit_bias": no_eos()});
    let alone = text_of(&complete(&server, good.clone()));
    let failing = [
        ("NaN", json!([{"path": native_name, "processor": "write_nan", "at_step": 3}, {"plugin": "greedy"}]), "NaN"),
        (
            "error",
            json!([{"path": native_name, "processor": "fail_at", "at_step": 2}, {"plugin": "greedy"}]),
            "deliberate test error",
        ),
        ("trap", json!([{"path": "trap.wat"}, {"plugin": "greedy"}]), "trap"),
        ("deadline", json!([{"path": "spin.wat"}, {"plugin": "greedy"}]), "deadline"),
    ];
    std::thread::scope(|scope| {
        let goods: Vec<_> = (0..3).map(|_| scope.spawn(|| text_of(&complete(&server, good.clone())))).collect();
        let bads: Vec<_> = failing
            .iter()
            .map(|(label, chain, says)| {
                let server = &server;
                scope.spawn(move || {
                    let body = json!({"prompt": "class B {", "max_tokens": 24, "chain": chain, "logit_bias": no_eos()});
                    let (status, value) = post(server, &body.to_string());
                    assert_eq!(status, 500, "{label}: {value}");
                    let message = value["error"]["message"].as_str().unwrap_or_default().to_lowercase();
                    assert!(message.contains(&says.to_lowercase()), "{label}: {message}");
                    let dir = chains_dir.to_string_lossy().to_lowercase();
                    assert!(!message.contains(&dir), "{label}: the chain directory leaked: {message}");
                })
            })
            .collect();
        for b in bads {
            b.join().expect("failing request checked");
        }
        for g in goods {
            assert_eq!(g.join().expect("good request"), alone, "a good request's text changed next to failing ones");
        }
    });
    // Nothing is left in the batch.
    let (_, text) = call(ureq::get(&url(&server, "/metrics")), None);
    assert_eq!(metric(&text, "logitloom_batch_size"), 0.0, "{text}");
}

#[test]
fn a_client_that_disconnects_mid_stream_frees_its_row() {
    let server = start(config(&configs_dir(), 2, None), "127.0.0.1", 0).expect("server starts");
    let body = json!({"prompt": "class C {", "max_tokens": 400, "stream": true, "logit_bias": no_eos()}).to_string();
    let mut socket = TcpStream::connect(server.addr).expect("connect");
    write!(
        socket,
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    // Wait for the first chunk of text, then hang up.
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("data: {") {
        let n = socket.read(&mut buf).expect("read");
        assert!(n > 0, "closed before any data");
        seen.extend_from_slice(&buf[..n]);
    }
    drop(socket);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, text) = call(ureq::get(&url(&server, "/metrics")), None);
        if metric(&text, "logitloom_batch_size") == 0.0 {
            let generated = metric(&text, "logitloom_generated_tokens_total");
            assert!(generated < 400.0, "the row ran to its end ({generated} tokens) instead of leaving");
            break;
        }
        assert!(Instant::now() < deadline, "the row was not freed:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Its slot is usable again.
    complete(&server, json!({"prompt": "x", "max_tokens": 2}));
}

#[test]
fn a_requests_tokens_do_not_depend_on_the_rest_of_the_batch() {
    let server = start(config(&configs_dir(), 8, None), "127.0.0.1", 0).expect("server starts");
    let prompts = [
        "public class A {",
        "int main() {",
        "import java.util.List;",
        "// sort the list",
        "for (",
        "x",
        "private static final",
        "return",
    ];
    let bodies: Vec<Value> = prompts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut body = json!({"prompt": p, "max_tokens": 12 + 3 * i, "seed": 100 + i, "logit_bias": no_eos()});
            match i % 3 {
                0 => body["temperature"] = json!(0.9),
                1 => body["top_p"] = json!(0.9),
                _ => body["chain"] = json!("top_k40"),
            }
            body
        })
        .collect();
    // One at a time: each request alone in the batch.
    let alone: Vec<String> = bodies.iter().map(|b| text_of(&complete(&server, b.clone()))).collect();
    // All at once, twice (arrivals interleave differently each time).
    for _ in 0..2 {
        let together: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                bodies.iter().map(|b| scope.spawn(|| text_of(&complete(&server, b.clone())))).collect();
            handles.into_iter().map(|h| h.join().expect("request")).collect()
        });
        assert_eq!(together, alone);
    }
    let (_, text) = call(ureq::get(&url(&server, "/metrics")), None);
    let rows = metric(&text, "logitloom_decode_step_rows_total");
    let steps = metric(&text, "logitloom_decode_steps_total");
    assert!(rows / steps > 1.5, "requests did not share decode steps: {rows} rows over {steps} steps");
}

#[test]
fn a_rewind_touches_only_its_own_row() {
    let server = start(config(&configs_dir(), 8, None), "127.0.0.1", 0).expect("server starts");
    let rewinds = |server: &Running| {
        let (_, text) = call(ureq::get(&url(server, "/metrics")), None);
        metric(&text, "logitloom_rewinds_total")
    };
    // Greedy on this prompt falls into a loop that the preset's loop_breaker
    // rewinds out of: the row is cut back while its neighbours decode on.
    let looping =
        json!({"prompt": LOOPING_PROMPT, "max_tokens": 96, "chain": "greedy-loop-breaker", "logit_bias": no_eos()});
    let neighbours: Vec<Value> = (0..5)
        .map(|i| {
            let prompt = ["class Point {", "int sum = 0;", "// parse the header"][i % 3];
            let mut body = json!({"prompt": prompt,
                                  "max_tokens": 40 + 8 * i, "seed": 7 + i, "logit_bias": no_eos()});
            if i % 2 == 0 {
                body["temperature"] = json!(0.9);
            } else {
                body["chain"] = json!("greedy");
            }
            body
        })
        .collect();

    let looping_alone = text_of(&complete(&server, looping.clone()));
    let rewinds_alone = rewinds(&server);
    assert!(rewinds_alone > 0.0, "the preset never rewound on this prompt: the test would show nothing");
    let mut greedy_only = looping.clone();
    greedy_only["chain"] = json!("greedy");
    assert_ne!(text_of(&complete(&server, greedy_only)), looping_alone, "the rewinds changed nothing");
    let neighbours_alone: Vec<String> = neighbours.iter().map(|b| text_of(&complete(&server, b.clone()))).collect();
    assert_eq!(rewinds(&server), rewinds_alone, "a plain chain rewound");

    // The rewinding request in the middle of the arrivals, so rows both
    // before and after its slot share its steps.
    let (looping_together, neighbours_together) = std::thread::scope(|scope| {
        let (first, rest) = neighbours.split_at(2);
        let mut handles: Vec<_> =
            first.iter().map(|b| scope.spawn(|| text_of(&complete(&server, b.clone())))).collect();
        let looping_handle = scope.spawn(|| text_of(&complete(&server, looping.clone())));
        handles.extend(rest.iter().map(|b| scope.spawn(|| text_of(&complete(&server, b.clone())))));
        let looping_text = looping_handle.join().expect("looping request");
        (looping_text, handles.into_iter().map(|h| h.join().expect("neighbour")).collect::<Vec<_>>())
    });
    assert_eq!(rewinds(&server), 2.0 * rewinds_alone, "the batched run rewound differently");
    assert_eq!(looping_together, looping_alone);
    assert_eq!(neighbours_together, neighbours_alone);
}

/// A prompt on which the default model, decoding greedily, repeats itself
/// within 96 tokens.
const LOOPING_PROMPT: &str = "public class Stack<T> {\n    private int size;\n";
