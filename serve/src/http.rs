//! Routes, authentication and the OpenAI response shapes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use logitloom_plugin_host::{HostOptions, LoadedChain, PluginLibrary};
use serde_json::{json, Value};
use tokio::sync::mpsc::unbounded_channel;

use crate::metrics::Metrics;
use crate::request::{self, ApiError, ChainChoice, Prompt};
use crate::scheduler::{Event, Job, SchedulerHandle, TokenLogprob};
use crate::ServeConfig;

/// Loaded chains kept for reuse, by what the request said; bounded so that
/// a stream of distinct inline chains cannot grow it without end.
const CHAIN_CACHE: usize = 256;

pub struct AppState {
    config: ServeConfig,
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
    model: crate::scheduler::ModelInfo,
    metrics: Arc<Metrics>,
    chains: Mutex<HashMap<String, Arc<LoadedChain>>>,
    /// The built-in stages that chains' `plugin = "..."` names resolve to.
    builtins: PluginLibrary,
    next_id: std::sync::atomic::AtomicU64,
}

impl AppState {
    pub fn new(config: ServeConfig, scheduler: SchedulerHandle, metrics: Arc<Metrics>) -> AppState {
        AppState {
            config,
            jobs: Mutex::new(scheduler.jobs),
            model: scheduler.model,
            metrics,
            chains: Mutex::new(HashMap::new()),
            builtins: logitloom_runtime::builtins(),
            next_id: std::sync::atomic::AtomicU64::new(1),
        }
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/completions", post(completions))
        .route("/v1/models", get(models))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .with_state(state)
}

fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(e.json())).into_response()
}

async fn auth(State(state): State<Arc<AppState>>, headers: HeaderMap, request: Request, next: Next) -> Response {
    if let Some(key) = &state.config.api_key {
        let given =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(key.as_str()) {
            state.metrics.request(401);
            let e = ApiError {
                status: 401,
                message: "missing or wrong API key: send `Authorization: Bearer KEY`".into(),
                param: None,
                kind: "invalid_request_error",
            };
            return error_response(&e);
        }
    }
    next.run(request).await
}

async fn models(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(
        json!({"object": "list", "data": [{"id": state.model.id, "object": "model", "created": 0, "owned_by": "logitloom"}]}),
    )
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

/// Where an SSE response is: sending chunks, owing the final `[DONE]`, or over.
enum Phase {
    Open,
    DoneNext,
    Closed,
}

struct StreamState {
    rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
    done: usize,
    phase: Phase,
    /// Text offset of each choice so far (for `logprobs.text_offset`).
    offsets: Vec<usize>,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Loads (or reuses) the request's chain, off the async threads: loading a
/// WASM plugin compiles it.
async fn load_chain(state: &Arc<AppState>, choice: ChainChoice) -> Result<(String, Arc<LoadedChain>), ApiError> {
    let key = match &choice {
        ChainChoice::Fields(stages) => format!("fields:{stages:?}"),
        ChainChoice::Preset(name) => format!("preset:{name}"),
        ChainChoice::Inline(text) => format!("inline:{text}"),
    };
    let name = match &choice {
        ChainChoice::Preset(name) => name.clone(),
        ChainChoice::Fields(_) => "fields".into(),
        ChainChoice::Inline(_) => "inline".into(),
    };
    if let Some(chain) = state.chains.lock().expect("chain cache").get(&key) {
        return Ok((name, chain.clone()));
    }
    let dir = state.config.chains_dir.clone();
    let builtins = state.builtins.clone();
    let options = HostOptions { wasm_deadline: state.config.wasm_deadline, ..HostOptions::default() };
    let chain = tokio::task::spawn_blocking(move || {
        let spec = request::chain_spec(&choice, &dir, &builtins)?;
        spec.load(&options).map_err(|e| {
            ApiError::bad(
                Some("chain"),
                format!("the chain failed to load: {}", request::without_dir(&e.to_string(), &dir)),
            )
        })
    })
    .await
    .map_err(|e| ApiError::bad(Some("chain"), format!("the chain failed to load: {e}")))??;
    let chain = Arc::new(chain);
    let mut cache = state.chains.lock().expect("chain cache");
    if cache.len() < CHAIN_CACHE {
        cache.insert(key, chain.clone());
    }
    Ok((name, chain))
}

fn logprobs_json(state: &AppState, records: &[TokenLogprob], start_offset: usize) -> Value {
    let tok = |t: u32| String::from_utf8_lossy(state.model.tokenizer.token_bytes(t)).into_owned();
    let mut offset = start_offset;
    let mut offsets = Vec::new();
    for r in records {
        offsets.push(offset);
        offset += tok(r.token).len();
    }
    json!({
        "tokens": records.iter().map(|r| tok(r.token)).collect::<Vec<_>>(),
        "token_logprobs": records.iter().map(|r| r.logprob).collect::<Vec<_>>(),
        "top_logprobs": records.iter().map(|r| r.top.iter().map(|&(t, lp)| (tok(t), json!(lp))).collect::<serde_json::Map<_, _>>()).collect::<Vec<_>>(),
        "text_offset": offsets,
        "entropy": records.iter().map(|r| r.entropy).collect::<Vec<_>>(),
    })
}

async fn completions(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    match start_completion(&state, &body).await {
        Ok(response) => {
            state.metrics.request(200);
            response
        }
        Err(e) => {
            state.metrics.request(e.status);
            error_response(&e)
        }
    }
}

async fn start_completion(state: &Arc<AppState>, body: &[u8]) -> Result<Response, ApiError> {
    let info = &state.model;
    let req = request::parse(body, state.config.max_batch, info.vocab)?;
    let prompt = match &req.prompt {
        Prompt::Tokens(ids) => ids.clone(),
        Prompt::Text(text) => {
            let mut ids = info.tokenizer.encode(text).map_err(|e| ApiError::bad(Some("prompt"), e.to_string()))?;
            if ids.is_empty() {
                // GPT-2 convention: an empty prompt starts from end-of-text.
                ids.push(info.eos);
            }
            ids
        }
    };
    if prompt.len() >= info.context {
        return Err(ApiError::bad(
            Some("prompt"),
            format!(
                "the prompt is {} tokens; the model's context holds {} and one position must stay free",
                prompt.len(),
                info.context
            ),
        ));
    }
    let (chain_name, chain) = load_chain(state, req.chain).await?;
    let stages = chain.stage_labels();
    let seed = req.seed.unwrap_or_else(|| {
        now() ^ state.next_id.load(std::sync::atomic::Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    });
    let id = format!("cmpl-{}", state.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let (tx, mut rx) = unbounded_channel();
    let job = Job {
        prompt: prompt.clone(),
        chain,
        seeds: (0..req.n as u64).map(|i| seed.wrapping_add(i)).collect(),
        max_tokens: req.max_tokens,
        stop: req.stop,
        logprobs: req.logprobs,
        logit_bias: req.logit_bias,
        events: tx,
    };
    state.jobs.lock().expect("job sender").send(job).map_err(|_| ApiError {
        status: 503,
        message: "the scheduler has stopped".into(),
        param: None,
        kind: "server_error",
    })?;
    let chain_json = json!({"name": chain_name, "stages": stages});
    let created = now();
    let model_id = info.id.clone();
    let n = req.n;
    let want_logprobs = req.logprobs.is_some();

    if req.stream {
        let state = state.clone();
        // Each SSE event carries one JSON chunk; `[DONE]` is an event of its
        // own (a newline inside an event's data would split it into lines).
        let initial = StreamState { rx, done: 0, phase: Phase::Open, offsets: vec![0usize; n] };
        let stream = futures_util::stream::unfold(initial, move |mut st| {
            let (state, id, model_id, chain_json) = (state.clone(), id.clone(), model_id.clone(), chain_json.clone());
            async move {
                let chunk = |choice: Value| json!({"id": id, "object": "text_completion", "created": created, "model": model_id, "chain": chain_json, "choices": [choice]});
                let data = match st.phase {
                    Phase::Closed => return None,
                    Phase::DoneNext => {
                        st.phase = Phase::Closed;
                        "[DONE]".to_string()
                    }
                    Phase::Open => match st.rx.recv().await {
                        Some(Event::Text { index, text, logprobs }) => {
                            let lp = if want_logprobs {
                                logprobs_json(&state, &logprobs, st.offsets[index])
                            } else {
                                Value::Null
                            };
                            st.offsets[index] += text.len();
                            chunk(json!({"text": text, "index": index, "logprobs": lp, "finish_reason": null}))
                                .to_string()
                        }
                        Some(Event::Done { index, finish, .. }) => {
                            st.done += 1;
                            if st.done == n {
                                st.phase = Phase::DoneNext;
                            }
                            chunk(json!({"text": "", "index": index, "logprobs": null, "finish_reason": finish}))
                                .to_string()
                        }
                        Some(Event::Error { message }) => {
                            st.phase = Phase::Closed;
                            let message = request::without_dir(&message, &state.config.chains_dir);
                            ApiError { status: 500, message, param: None, kind: "server_error" }.json().to_string()
                        }
                        None => return None,
                    },
                };
                Some((Ok::<_, Infallible>(SseEvent::default().data(data)), st))
            }
        });
        return Ok(Sse::new(stream).into_response());
    }

    let mut texts = vec![String::new(); n];
    let mut records: Vec<Vec<TokenLogprob>> = vec![Vec::new(); n];
    let mut finishes: Vec<Option<&'static str>> = vec![None; n];
    let mut completion_tokens = 0;
    while finishes.iter().any(Option::is_none) {
        match rx.recv().await {
            Some(Event::Text { index, text, logprobs }) => {
                texts[index].push_str(&text);
                records[index].extend(logprobs);
            }
            Some(Event::Done { index, finish, tokens }) => {
                finishes[index] = Some(finish);
                completion_tokens += tokens;
            }
            Some(Event::Error { message }) => {
                let message = request::without_dir(&message, &state.config.chains_dir);
                return Err(ApiError { status: 500, message, param: None, kind: "server_error" });
            }
            None => {
                return Err(ApiError {
                    status: 500,
                    message: "the scheduler dropped the request".into(),
                    param: None,
                    kind: "server_error",
                })
            }
        }
    }
    let choices: Vec<Value> = (0..n)
        .map(|i| {
            let lp = if want_logprobs { logprobs_json(state, &records[i], 0) } else { Value::Null };
            json!({"text": texts[i], "index": i, "logprobs": lp, "finish_reason": finishes[i]})
        })
        .collect();
    Ok(Json(json!({
        "id": id,
        "object": "text_completion",
        "created": created,
        "model": model_id,
        "choices": choices,
        "usage": {"prompt_tokens": prompt.len(), "completion_tokens": completion_tokens, "total_tokens": prompt.len() + completion_tokens},
        "chain": chain_json,
    }))
    .into_response())
}
