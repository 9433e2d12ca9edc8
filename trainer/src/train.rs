//! `logitloom train`: the training loop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use logitloom_engine::{parse_device, Gpt2, Gpt2Config};
use tch::nn::VarStore;
use tch::{Device, Kind, Reduction, Tensor};

use crate::adamw::{AdamW, AdamWSettings};
use crate::checkpoint::{self, TrainerState, BEST, LAST};
use crate::config::TrainConfig;
use crate::data::{derive_seed, eval_batch, train_batch, Dataset};
use crate::error::{IoContext, Result, TrainerError};
use crate::log::{LogRecord, RunLog};
use crate::prepare::TOKENIZER_FILE;
use crate::schedule::learning_rate;

/// Separates the dropout seed from the batch seeds derived from the same (seed, step).
const DROPOUT_STREAM: u64 = 3;

pub struct TrainOptions {
    pub config: TrainConfig,
    /// Names the config in errors.
    pub config_path: PathBuf,
    /// Stored in every checkpoint, for the record.
    pub config_text: String,
    /// Continue from `OUT/last` instead of starting afresh.
    pub resume: bool,
    pub show_progress: bool,
    /// Set (by a Ctrl-C handler) to stop after the current step with a checkpoint.
    pub stop: Arc<AtomicBool>,
    /// Stop like Ctrl-C once this many steps have run in this call (tests
    /// use it to interrupt a run at a chosen point).
    pub stop_after_steps: Option<usize>,
}

impl TrainOptions {
    pub fn new(config: TrainConfig, config_path: PathBuf, config_text: String) -> TrainOptions {
        TrainOptions {
            config,
            config_path,
            config_text,
            resume: false,
            show_progress: false,
            stop: Arc::new(AtomicBool::new(false)),
            stop_after_steps: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TrainSummary {
    pub run_dir: PathBuf,
    /// The step this call started from (0 unless resumed).
    pub start_step: usize,
    /// Steps completed in total.
    pub end_step: usize,
    /// Training loss of every step this call ran, in order.
    pub train_losses: Vec<f64>,
    pub last_val_loss: Option<f64>,
    pub best_val_loss: Option<f64>,
    /// Stopped early by the stop flag or `stop_after_steps`.
    pub interrupted: bool,
    pub tokens_per_sec: f64,
}

struct Session {
    config: TrainConfig,
    model_config: Gpt2Config,
    vs: VarStore,
    model: Gpt2,
    optimizer: AdamW,
    data: Dataset,
    device: Device,
    autocast: bool,
    tokenizer_json: Vec<u8>,
    run_dir: PathBuf,
}

pub fn train(options: &TrainOptions) -> Result<TrainSummary> {
    let config = &options.config;
    let path = &options.config_path;
    config.validate(path)?;
    let run_dir = config.out.dir.clone();
    checkpoint::ensure_writable(&run_dir)?;
    if let Some(threads) = config.train.threads {
        tch::set_num_threads(threads as i32);
    }
    let device = parse_device(&config.train.device)?;
    let data = Dataset::load(&config.data.dir, config.model.block_size)?;
    let model_config = config.model_config(data.meta.vocab_size, data.meta.end_of_text_id, path)?;
    let tokenizer_path = config.data.dir.join(TOKENIZER_FILE);
    let tokenizer_json = std::fs::read(&tokenizer_path).at(&tokenizer_path)?;

    // Initial weights are a function of the seed alone.
    tch::manual_seed(derive_seed(&[config.train.seed, 0]) as i64);
    let autocast = config.train.dtype == "bf16" && device.is_cuda();
    if autocast {
        // libtorch's CUDA autocast default is f16, which needs loss scaling;
        // see logitloom_engine::set_cuda_autocast_kind.
        logitloom_engine::set_cuda_autocast_kind(Kind::BFloat16);
    }
    let vs = VarStore::new(device);
    let model = Gpt2::new(&vs.root(), &model_config);
    let settings = AdamWSettings {
        beta1: config.optim.beta1,
        beta2: config.optim.beta2,
        eps: config.optim.eps,
        weight_decay: config.optim.weight_decay,
    };
    let optimizer = AdamW::new(vs.variables(), settings);
    let mut session = Session {
        config: config.clone(),
        model_config,
        vs,
        model,
        optimizer,
        data,
        device,
        autocast,
        tokenizer_json,
        run_dir: run_dir.clone(),
    };

    let mut state = TrainerState {
        step: 0,
        tokens_seen: 0,
        best_val_loss: None,
        last_val_loss: None,
        seed: config.train.seed,
        config_toml: options.config_text.clone(),
    };
    if options.resume {
        state = session.resume(path)?;
    }
    let mut log = RunLog::open(&run_dir, options.resume.then_some(state.step))?;
    session.run(options, &mut state, &mut log)
}

impl Session {
    fn resume(&mut self, config_path: &Path) -> Result<TrainerState> {
        let dir = checkpoint::resolve(&self.run_dir, LAST)?.ok_or_else(|| TrainerError::Checkpoint {
            path: self.run_dir.join(LAST),
            reason: "no checkpoint to resume from (train without --resume to start afresh)".into(),
        })?;
        let found = checkpoint::read_model_config(&dir)?;
        let expected = &self.model_config;
        let shape = |c: &Gpt2Config| {
            format!(
                "{} layers x {} wide x {} heads, vocabulary {}, context {}",
                c.n_layer, c.n_embd, c.n_head, c.vocab_size, c.n_positions
            )
        };
        if (found.n_layer, found.n_embd, found.n_head, found.vocab_size, found.n_positions)
            != (expected.n_layer, expected.n_embd, expected.n_head, expected.vocab_size, expected.n_positions)
        {
            return Err(TrainerError::ShapeMismatch {
                path: dir,
                found: shape(&found),
                expected: format!("{} ({})", shape(expected), config_path.display()),
            });
        }
        let state = checkpoint::load(&dir, &self.vs, &mut self.optimizer)?;
        if state.seed != self.config.train.seed {
            return Err(TrainerError::Checkpoint {
                path: dir,
                reason: format!(
                    "was trained with train.seed = {}, the config says {}; resuming would change the batch order",
                    state.seed, self.config.train.seed
                ),
            });
        }
        Ok(state)
    }

    fn run(&mut self, options: &TrainOptions, state: &mut TrainerState, log: &mut RunLog) -> Result<TrainSummary> {
        let c = self.config.clone();
        let max_steps = c.train.max_steps;
        let start_step = state.step;
        let tokens_per_step = c.tokens_per_step() as u64;
        let flops_per_token = self.flops_per_token();
        let bar = progress_bar(options.show_progress, max_steps as u64, start_step as u64);
        let mut train_losses = Vec::new();
        let mut interrupted = false;
        let started = Instant::now();
        let mut tokens_per_sec = 0.0;

        while state.step < max_steps {
            if options.stop.load(Ordering::SeqCst) || options.stop_after_steps.is_some_and(|n| train_losses.len() >= n)
            {
                interrupted = true;
                break;
            }
            let step = state.step;
            let lr = learning_rate(step, c.optim.lr, c.optim.min_lr, c.optim.warmup_steps, c.decay_steps());
            let step_started = Instant::now();
            let (loss, grad_norm) = self.train_step(step, lr)?;
            let seconds = step_started.elapsed().as_secs_f64();
            tokens_per_sec = tokens_per_step as f64 / seconds;
            state.step += 1;
            state.tokens_seen += tokens_per_step;
            train_losses.push(loss);
            if !loss.is_finite() {
                return Err(TrainerError::Checkpoint {
                    path: self.run_dir.clone(),
                    reason: format!("training diverged: loss {loss} at step {step}; lower optim.lr"),
                });
            }
            log.write(&LogRecord::Train {
                step: state.step,
                tokens: state.tokens_seen,
                loss,
                lr,
                grad_norm,
                tokens_per_sec,
                elapsed_s: started.elapsed().as_secs_f64(),
            })?;
            let mfu = match self.device {
                Device::Cuda(_) => {
                    format!(" | MFU {:.1}%", 100.0 * flops_per_token * tokens_per_sec / c.train.peak_flops)
                }
                _ => String::new(),
            };
            let val = state.last_val_loss.map(|v| format!(" | val {v:.3}")).unwrap_or_default();
            bar.set_position(state.step as u64);
            bar.set_message(format!("loss {loss:.3}{val} | lr {lr:.2e} | {tokens_per_sec:.0} tok/s{mfu}"));

            if state.step.is_multiple_of(c.eval.interval) || state.step == max_steps {
                let val_loss = self.evaluate()?;
                log.write(&LogRecord::Eval { step: state.step, tokens: state.tokens_seen, val_loss })?;
                state.last_val_loss = Some(val_loss);
                let improved = state.best_val_loss.is_none_or(|best| val_loss < best);
                if improved {
                    state.best_val_loss = Some(val_loss);
                }
                self.save(LAST, state)?;
                if improved {
                    self.save(BEST, state)?;
                }
            }
        }
        if interrupted {
            bar.println(format!("stopping at step {}: writing {}", state.step, self.run_dir.join(LAST).display()));
            self.save(LAST, state)?;
        }
        bar.finish();
        Ok(TrainSummary {
            run_dir: self.run_dir.clone(),
            start_step,
            end_step: state.step,
            train_losses,
            last_val_loss: state.last_val_loss,
            best_val_loss: state.best_val_loss,
            interrupted,
            tokens_per_sec,
        })
    }

    /// One optimizer step over `grad_accum` micro-batches; returns the mean
    /// loss and the gradient norm before clipping.
    fn train_step(&mut self, step: usize, lr: f64) -> Result<(f64, f64)> {
        let c = &self.config;
        let accum = c.train.grad_accum;
        // Dropout masks depend only on (seed, step): see the crate docs.
        tch::manual_seed((derive_seed(&[c.train.seed, DROPOUT_STREAM, step as u64]) >> 1) as i64);
        self.optimizer.zero_grad();
        let mut total = 0.0;
        for micro in 0..accum {
            let (inputs, targets) = train_batch(
                &self.data.train,
                c.model.block_size,
                c.train.batch_size,
                c.train.seed,
                step,
                micro,
                self.device,
            );
            let loss = self.loss(&inputs, &targets, true);
            (&loss / accum as f64).backward();
            total += loss.double_value(&[]);
        }
        let grad_norm = self.optimizer.clip_grad_norm(c.optim.grad_clip);
        self.optimizer.step(lr);
        Ok((total / accum as f64, grad_norm))
    }

    fn loss(&self, inputs: &Tensor, targets: &Tensor, train: bool) -> Tensor {
        let logits = tch::autocast(self.autocast, || self.model.forward_train(inputs, train));
        let vocab = self.model_config.vocab_size as i64;
        logits.to_kind(Kind::Float).view([-1, vocab]).cross_entropy_loss::<Tensor>(
            &targets.view([-1]),
            None,
            Reduction::Mean,
            -100,
            0.0,
        )
    }

    /// Mean loss over the run's fixed validation batches.
    fn evaluate(&self) -> Result<f64> {
        let c = &self.config;
        let total: f64 = tch::no_grad(|| {
            (0..c.eval.iters)
                .map(|i| {
                    let (inputs, targets) = eval_batch(
                        &self.data.val,
                        c.model.block_size,
                        c.train.batch_size,
                        c.train.seed,
                        i,
                        self.device,
                    );
                    self.loss(&inputs, &targets, false).double_value(&[])
                })
                .sum()
        });
        Ok(total / c.eval.iters as f64)
    }

    fn save(&self, name: &str, state: &TrainerState) -> Result<PathBuf> {
        checkpoint::save(
            &self.run_dir,
            name,
            &self.model_config,
            &self.vs,
            &self.tokenizer_json,
            &self.optimizer,
            state,
        )
    }

    /// Training FLOPs per token (PaLM appendix B, as in nanoGPT): 6 per
    /// weight plus attention; position embeddings do no multiplications.
    fn flops_per_token(&self) -> f64 {
        let m = &self.model_config;
        let params: i64 = self
            .vs
            .variables()
            .iter()
            .filter(|(name, _)| name.as_str() != "wpe.weight")
            .map(|(_, t)| t.numel() as i64)
            .sum();
        6.0 * params as f64 + 12.0 * (m.n_layer * m.n_embd * m.n_positions) as f64
    }
}

fn progress_bar(show: bool, len: u64, position: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("step {pos}/{len} {bar:25} [{elapsed}<{eta}] {msg}").expect("valid template"),
    );
    bar.set_position(position);
    bar
}
