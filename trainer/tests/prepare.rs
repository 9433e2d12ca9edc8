//! `prepare`: corpus filtering, the split, token files and their damage checks.

mod common;

use std::path::Path;

use logitloom_trainer::corpus::{read_corpus, strip_license_header, CorpusOptions};
use logitloom_trainer::prepare::{TRAIN_FILE, VAL_FILE};
use logitloom_trainer::tokens::{read_tokens, write_tokens, HEADER_LEN};
use logitloom_trainer::TrainerError;

#[test]
fn corpus_reading_dedupes_strips_and_skips_non_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("pkg")).unwrap();
    std::fs::write(src.join("A.java"), "class A {}\n").unwrap();
    std::fs::write(src.join("pkg/B.java"), "class A {}\n").unwrap(); // exact duplicate of A
    std::fs::write(src.join("C.java"), "/*\n * Copyright 2024 X\n */\n\npackage p;\nclass C {}\n").unwrap();
    std::fs::write(src.join("D.java"), b"class D { String s = \"caf\xe9\"; }\n").unwrap(); // Latin-1
    std::fs::write(src.join("notes.txt"), "not java").unwrap();

    let options = CorpusOptions { include_prefixes: vec![], strip_license_headers: true };
    let (files, stats) = read_corpus(&src, &options, |_| {}).unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    // Sorted order: "A.java" < "C.java" < "D.java" < "pkg/B.java"; B is the second copy, so it goes.
    assert_eq!(paths, ["A.java", "C.java"]);
    assert_eq!(files[1].text, "package p;\nclass C {}\n");
    assert_eq!(
        (
            stats.files_seen,
            stats.files_kept,
            stats.duplicates_removed,
            stats.non_utf8_skipped,
            stats.license_headers_stripped
        ),
        (4, 2, 1, 1, 1)
    );
    assert_eq!(stats.skipped_examples, ["D.java"]);

    let only_pkg = CorpusOptions { include_prefixes: vec!["pkg/".into()], strip_license_headers: false };
    let (files, _) = read_corpus(&src, &only_pkg, |_| {}).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "pkg/B.java");
}

#[test]
fn license_header_stripping_keeps_javadoc_and_ordinary_comments() {
    assert_eq!(strip_license_header("/* Licensed under MIT */\nclass A {}"), Some("class A {}"));
    assert_eq!(strip_license_header("/** Copyright notice in Javadoc */\nclass A {}"), None);
    assert_eq!(strip_license_header("/* just a comment */\nclass A {}"), None);
    assert_eq!(strip_license_header("class A {}"), None);
}

#[test]
fn empty_corpus_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "no java here").unwrap();
    let err = read_corpus(dir.path(), &CorpusOptions::default(), |_| {}).unwrap_err();
    assert!(matches!(err, TrainerError::EmptyCorpus { skipped: 0, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("corpus {}: no usable .java files (found 0 unreadable or non-UTF-8 ones)", dir.path().display())
    );
}

#[test]
fn prepare_writes_a_split_that_covers_every_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let meta = common::prepare_corpus(dir.path());
    let java_files = walk_java(&common::corpus_dir());
    // util/GcdCopy.java duplicates Gcd.java.
    assert_eq!(meta.corpus.files_seen, java_files);
    assert_eq!(meta.corpus.duplicates_removed, 1);
    assert_eq!(meta.corpus.license_headers_stripped, 1);
    assert_eq!(meta.train.files + meta.val.files, java_files - 1);
    assert!(meta.val.files >= 1 && meta.train.files > meta.val.files);
    assert_eq!(meta.vocab_size, common::TEST_VOCAB);

    let train = read_tokens(&dir.path().join(TRAIN_FILE), meta.vocab_size).unwrap();
    let val = read_tokens(&dir.path().join(VAL_FILE), meta.vocab_size).unwrap();
    assert_eq!((train.len(), val.len()), (meta.train.tokens, meta.val.tokens));
    // Every file ends with <|endoftext|>.
    let eot = meta.end_of_text_id;
    assert_eq!(train.iter().filter(|&&t| t == eot).count(), meta.train.files);
    assert_eq!(*val.last().unwrap(), eot);

    // The tokenizer decodes the stream back to the source text.
    let tokenizer = tokenizers::Tokenizer::from_file(dir.path().join("tokenizer.json")).unwrap();
    let first_file: Vec<u32> = train.iter().copied().take_while(|&t| t != eot).collect();
    let text = tokenizer.decode(&first_file, false).unwrap();
    assert!(text.starts_with("package corpus"), "{text:?}");

    // Deterministic: preparing again gives the same bytes.
    let again = tempfile::tempdir().unwrap();
    common::prepare_corpus(again.path());
    for name in [TRAIN_FILE, VAL_FILE, "tokenizer.json"] {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            std::fs::read(again.path().join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn token_files_round_trip_and_reject_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.bin");
    let tokens = [0u32, 1, 65535, 42];
    write_tokens(&path, &tokens, 65536).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        (HEADER_LEN + 4 * 2) as u64,
        "u16 tokens for a 65536 vocabulary"
    );
    assert_eq!(read_tokens(&path, 65536).unwrap(), tokens);
    write_tokens(&path, &[70000, 3], 70001).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), (HEADER_LEN + 2 * 4) as u64, "u32 tokens beyond 65536");
    assert_eq!(read_tokens(&path, 70001).unwrap(), [70000, 3]);

    let message = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        read_tokens(&path, 70001).unwrap_err().to_string()
    };
    write_tokens(&path, &tokens, 65536).unwrap();
    let good = std::fs::read(&path).unwrap();
    let shown = path.display();
    assert_eq!(
        message(&good[..good.len() - 1]),
        format!("token file {shown}: truncated or padded: header says 4 tokens (8 bytes), file holds 7 bytes")
    );
    let mut flipped = good.clone();
    flipped[HEADER_LEN + 3] ^= 0x10;
    assert_eq!(message(&flipped), format!("token file {shown}: checksum mismatch: the file is corrupt"));
    assert_eq!(
        message(b"PK\x03\x04 a zip, not tokens"),
        format!("token file {shown}: not a logitloom token file (bad magic or shorter than its header)")
    );
    std::fs::write(&path, &good).unwrap();
    assert_eq!(
        read_tokens(&path, 1000).unwrap_err().to_string(),
        format!("token file {shown}: token 65535 at position 2 is outside the vocabulary of 1000")
    );
}

fn walk_java(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { walk_java(&p) } else { usize::from(p.extension().is_some_and(|e| e == "java")) })
        .sum()
}
