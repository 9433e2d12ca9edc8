//! Byte-level BPE must reproduce any Java source exactly, including
//! non-ASCII identifiers and string literals, both through `decode` and
//! through the per-token byte strings that processors see.

use std::path::Path;

use logitloom_engine::Tokenizer;

const JAVA: &str = r#"package café.util;

/** Größenberechnung — naïve approach. */
public class Straße {
    private final String grüß = "Grüß Gott, 世界! ✓ \u00e9 🙂";
    private char ñ = 'ñ';
    int größe(int länge) { return länge * 2; } // ½
    String textBlock = """
        日本語のテキスト
        """;
}
"#;

fn tokenizer() -> Tokenizer {
    Tokenizer::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tiny-gpt2/tokenizer.json")).unwrap()
}

#[test]
fn java_with_non_ascii_round_trips() {
    let tok = tokenizer();
    let ids = tok.encode(JAVA).unwrap();
    assert!(ids.len() > 50);
    assert_eq!(tok.decode(&ids), JAVA);
    assert_eq!(tok.bytes_of(&ids), JAVA.as_bytes());
    // A multi-byte character split across tokens is still exact in bytes.
    let with_emoji = tok.encode("🙂").unwrap();
    assert_eq!(tok.bytes_of(&with_emoji), "🙂".as_bytes());
}

#[test]
fn end_of_text_is_one_special_token() {
    let tok = tokenizer();
    let eos = tok.eos_token_id().unwrap();
    let ids = tok.encode("}<|endoftext|>class").unwrap();
    assert_eq!(ids.iter().filter(|&&t| t == eos).count(), 1);
    assert_eq!(tok.token_bytes(eos), b"<|endoftext|>");
}
