//! Training behaviour on the tiny model: learning, overfitting, exact
//! resumption, and refusals.

mod common;

use std::path::Path;
use std::sync::Mutex;

use logitloom_trainer::checkpoint::{self, TrainerState, LAST};
use logitloom_trainer::prepare::TRAIN_FILE;
use logitloom_trainer::tokens::{read_tokens, write_tokens};
use logitloom_trainer::{train, TrainConfig, TrainOptions, TrainerError};

/// libtorch's random generator (weight init, dropout) is process-wide and
/// tests run on parallel threads, so tests that train take turns: otherwise
/// one test's `manual_seed` interleaves with another's draws and "the same
/// run twice" is not the same run.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn options(config: TrainConfig) -> TrainOptions {
    TrainOptions::new(config, "tiny.toml".into(), String::new())
}

#[test]
fn loss_falls_well_below_its_start_on_the_java_corpus() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    common::prepare_corpus(&dir.path().join("data"));
    let config = common::tiny_config(&dir.path().join("data"), &dir.path().join("run"), 300);
    let summary = train(&options(config)).unwrap();
    let losses = &summary.train_losses;
    assert_eq!(losses.len(), 300);
    // A fresh model predicts roughly uniformly: loss near ln(512) = 6.24.
    assert!((losses[0] - (common::TEST_VOCAB as f64).ln()).abs() < 0.3, "first loss {}", losses[0]);
    let last_20 = losses[280..].iter().sum::<f64>() / 20.0;
    assert!(last_20 < 0.6 * losses[0], "train loss only fell from {} to {last_20}", losses[0]);
    let val = summary.best_val_loss.unwrap();
    assert!(val < 0.75 * losses[0], "validation loss {val}");
    // plot-loss draws both formats from the run's log.
    for name in ["loss.svg", "loss.png"] {
        let image = dir.path().join(name);
        let verdict = logitloom_trainer::plot::plot_loss(&summary.run_dir, &image, 0.25).unwrap();
        assert!(!matches!(verdict, logitloom_trainer::plot::Verdict::TooFewEvaluations { .. }), "{verdict}");
        let bytes = std::fs::read(&image).unwrap();
        assert!(bytes.starts_with(b"<svg") || bytes.starts_with(b"\x89PNG"), "{name} is neither SVG nor PNG");
    }
    // The checkpoint is a model directory the engine loads.
    let model =
        logitloom_engine::Model::load(&summary.run_dir.join("best"), tch::Device::Cpu, tch::Kind::Float).unwrap();
    assert_eq!(model.config().vocab_size, common::TEST_VOCAB);
}

#[test]
fn a_single_batch_is_overfit_to_near_zero() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let meta = common::prepare_corpus(&data);
    // A training split of exactly one window: every batch is that window.
    let train_path = data.join(TRAIN_FILE);
    let tokens = read_tokens(&train_path, meta.vocab_size).unwrap();
    write_tokens(&train_path, &tokens[..33], meta.vocab_size).unwrap();
    let mut config = common::tiny_config(&data, &dir.path().join("run"), 200);
    config.optim.weight_decay = 0.0;
    config.optim.min_lr = config.optim.lr;
    let summary = train(&options(config)).unwrap();
    let last = *summary.train_losses.last().unwrap();
    assert!(last < 0.05, "loss on the one batch is still {last}");
}

#[test]
fn an_interrupted_and_resumed_run_matches_an_uninterrupted_one_bit_for_bit() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::prepare_corpus(&data);
    let mut straight = common::tiny_config(&data, &dir.path().join("straight"), 60);
    // Dropout on, so the test also covers the reseeded dropout masks.
    straight.model.dropout = 0.1;
    let expected = train(&options(straight.clone())).unwrap().train_losses;

    let mut resumed_config = straight.clone();
    resumed_config.out.dir = dir.path().join("resumed");
    // Stop mid-way between evaluations, as Ctrl-C would.
    let mut first = options(resumed_config.clone());
    first.stop_after_steps = Some(37);
    let part1 = train(&first).unwrap();
    assert!(part1.interrupted);
    assert_eq!(part1.end_step, 37);
    let mut second = options(resumed_config);
    second.resume = true;
    let part2 = train(&second).unwrap();
    assert_eq!(part2.start_step, 37);

    let joined: Vec<f64> = part1.train_losses.iter().chain(&part2.train_losses).copied().collect();
    assert_eq!(joined.len(), expected.len());
    for (step, (a, b)) in joined.iter().zip(&expected).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "step {step}: resumed {a} vs uninterrupted {b}");
    }
    // The log of the resumed run has each step once.
    let log = logitloom_trainer::log::read_log(&dir.path().join("resumed/log.jsonl")).unwrap();
    let steps: Vec<usize> =
        log.iter().filter(|r| matches!(r, logitloom_trainer::log::LogRecord::Train { .. })).map(|r| r.step()).collect();
    assert_eq!(steps, (1..=60).collect::<Vec<_>>());
}

#[test]
fn resuming_with_another_model_shape_is_refused() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::prepare_corpus(&data);
    let config = common::tiny_config(&data, &dir.path().join("run"), 5);
    train(&options(config.clone())).unwrap();
    let mut wider = config;
    wider.model.n_embd = Some(64);
    let mut resume = options(wider);
    resume.resume = true;
    let err = train(&resume).unwrap_err();
    assert!(matches!(err, TrainerError::ShapeMismatch { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "checkpoint {} holds a model of shape 2 layers x 32 wide x 2 heads, vocabulary 512, context 32, \
             but the config asks for 2 layers x 64 wide x 2 heads, vocabulary 512, context 32 (tiny.toml)",
            dir.path().join("run/last").display()
        )
    );
}

#[test]
fn an_unwritable_run_directory_is_refused_before_training() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::prepare_corpus(&data);
    // A regular file where the run directory should be: not writable as a directory, even for root.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let config = common::tiny_config(&data, &blocker.join("run"), 5);
    let err = train(&options(config)).unwrap_err();
    assert!(matches!(err, TrainerError::NotWritable { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("checkpoint directory {} is not writable: ", blocker.join("run").display())),
        "{err}"
    );
}

#[test]
fn a_failed_checkpoint_write_leaves_the_previous_one_intact() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path();
    let state = |step| TrainerState {
        step,
        tokens_seen: 0,
        best_val_loss: None,
        last_val_loss: None,
        seed: 1,
        config_toml: String::new(),
    };
    let write_state = |step: usize| {
        move |tmp: &Path| {
            std::fs::write(tmp.join("trainer_state.json"), serde_json::to_string(&state(step)).unwrap()).unwrap();
            Ok(())
        }
    };
    checkpoint::write_atomically(parent, LAST, write_state(10)).unwrap();

    // The writer dies half-way: one file written, then an error.
    let err = checkpoint::write_atomically(parent, LAST, |tmp| {
        std::fs::write(tmp.join("model.safetensors"), b"half a file").unwrap();
        Err(TrainerError::Checkpoint { path: tmp.to_owned(), reason: "disk full (simulated)".into() })
    })
    .unwrap_err();
    assert!(err.to_string().contains("disk full (simulated)"));
    let last = parent.join(LAST);
    assert_eq!(std::fs::read_dir(&last).unwrap().count(), 1, "no partial file leaked into the old checkpoint");
    let kept: TrainerState =
        serde_json::from_str(&std::fs::read_to_string(last.join("trainer_state.json")).unwrap()).unwrap();
    assert_eq!(kept.step, 10);
    assert!(!parent.join(".last.tmp").exists());

    // A crash between the two renames leaves only `.last.old`; resolving puts it back.
    std::fs::rename(&last, parent.join(".last.old")).unwrap();
    assert_eq!(checkpoint::resolve(parent, LAST).unwrap(), Some(last.clone()));
    assert!(last.join("trainer_state.json").exists());

    // And a successful write replaces it.
    checkpoint::write_atomically(parent, LAST, write_state(20)).unwrap();
    let replaced: TrainerState =
        serde_json::from_str(&std::fs::read_to_string(last.join("trainer_state.json")).unwrap()).unwrap();
    assert_eq!(replaced.step, 20);
    assert!(!parent.join(".last.old").exists());
}
