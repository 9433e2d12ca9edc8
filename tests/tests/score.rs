//! `logitloom score` end to end.

use logitloom_e2e_tests::*;

#[test]
fn one_json_object_per_predicted_token_then_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("Node.java");
    std::fs::write(&text, "public class Node {\n    int key;\n    Node left, right;\n}\n").unwrap();
    let model = tiny_model();
    let o =
        run(&["score", "--model", model.to_str().unwrap(), "--device", "cpu", "--text-file", text.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (summary, tokens) = lines.split_last().unwrap();
    assert!(tokens.len() > 5);
    let vocab_ln = 300f64.ln();
    let mut loss = 0.0;
    for (i, t) in tokens.iter().enumerate() {
        assert_eq!(t["pos"], i + 1, "positions start at the first predicted token");
        let lp = t["logprob"].as_f64().unwrap();
        let h = t["entropy"].as_f64().unwrap();
        assert!(lp <= 0.0 && h >= 0.0 && h <= vocab_ln + 1e-6, "{t}");
        loss -= lp;
    }
    let mean = loss / tokens.len() as f64;
    let s = &summary["summary"];
    assert_eq!(s["tokens"], tokens.len());
    assert!((s["mean_loss"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert!((s["perplexity"].as_f64().unwrap() - mean.exp()).abs() < 1e-6);
}
