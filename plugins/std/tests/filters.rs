//! temperature, top_k, top_p and min_p against hand-computed rows.

mod common;

use common::*;
use logitloom_std_plugins::{MinP, Temperature, TopK, TopP};

#[test]
fn temperature_divides_and_keeps_removed_tokens_removed() {
    let row = apply::<Temperature>(&[("temperature", float(0.5))], &[], 0, &[2.0, -1.0, NEG]);
    assert_eq!(row, vec![4.0, -2.0, NEG]);
}

#[test]
fn top_k_keeps_the_k_largest_and_everything_tied_with_the_kth() {
    let row = [1.0, 3.0, 2.0, 0.5, 2.5];
    // Sorted: 3.0 (1), 2.5 (4), 2.0 (2), 1.0 (0), 0.5 (3).
    assert_eq!(kept(&apply::<TopK>(&[("k", int(2))], &[], 0, &row)), vec![1, 4]);
    assert_eq!(kept(&apply::<TopK>(&[("k", int(3))], &[], 0, &row)), vec![1, 2, 4]);
    // The 2nd largest of [3, 2, 2, 0] is 2: HF keeps every logit >= 2, three tokens.
    assert_eq!(kept(&apply::<TopK>(&[("k", int(2))], &[], 0, &[3.0, 2.0, 2.0, 0.0])), vec![0, 1, 2]);
    // Removed tokens do not count toward k: only two are live, both stay.
    assert_eq!(kept(&apply::<TopK>(&[("k", int(2))], &[], 0, &[NEG, 1.0, NEG, 0.5])), vec![1, 3]);
    // Surviving logits are untouched.
    assert_eq!(apply::<TopK>(&[("k", int(1))], &[], 0, &row)[1], 3.0);
}

#[test]
fn top_p_keeps_the_token_that_crosses_p() {
    // Probabilities by token: 0.15, 0.5, 0.05, 0.3. Best first: t1 0.5, t3 0.3, t0 0.15, t2 0.05,
    // cumulative 0.5, 0.8, 0.95, 1.0.
    let row = logits_of(&[0.15, 0.5, 0.05, 0.3]);
    let top_p =
        |p: f64, min_keep: i64| kept(&apply::<TopP>(&[("p", float(p)), ("min_keep", int(min_keep))], &[], 0, &row));
    assert_eq!(top_p(0.45, 1), vec![1]); // 0.5 >= 0.45 already
    assert_eq!(top_p(0.55, 1), vec![1, 3]); // 0.5 < 0.55, 0.8 crosses
    assert_eq!(top_p(0.85, 1), vec![0, 1, 3]); // 0.8 < 0.85, 0.95 crosses
    assert_eq!(top_p(0.96, 1), vec![0, 1, 2, 3]);
    assert_eq!(top_p(1.0, 1), vec![0, 1, 2, 3]);
    // min_keep overrides a small p.
    assert_eq!(top_p(0.45, 3), vec![0, 1, 3]);
    // More to keep than there are tokens: all of them.
    assert_eq!(top_p(0.45, 9), vec![0, 1, 2, 3]);
}

#[test]
fn top_p_keeps_ties_with_the_last_kept_token() {
    // 0.4, 0.2, 0.2, 0.2 with p = 0.5: the second-ranked token crosses (0.6), and the two
    // tokens tied with it are kept as well, whatever order a sort puts them in.
    let row = logits_of(&[0.2, 0.4, 0.2, 0.2]);
    assert_eq!(kept(&apply::<TopP>(&[("p", float(0.5))], &[], 0, &row)), vec![0, 1, 2, 3]);
}

#[test]
fn top_p_ignores_removed_tokens() {
    // Live: t1 0.5 and t3 0.3 of an unnormalised row; renormalised 0.625, 0.375.
    // p = 0.6 is reached by t1 alone.
    let row = [NEG, 0.5f32.ln(), NEG, 0.3f32.ln()];
    assert_eq!(kept(&apply::<TopP>(&[("p", float(0.6))], &[], 0, &row)), vec![1]);
    assert_eq!(kept(&apply::<TopP>(&[("p", float(0.7))], &[], 0, &row)), vec![1, 3]);
}

#[test]
fn top_p_matches_a_full_sort_on_a_wide_row() {
    // 3000 distinct logits in a scrambled order, so the cut needs several
    // selection rounds (beyond the first 64-token chunk).
    let row: Vec<f32> = (0..3000u32).map(|i| -(((i * 7919) % 3000) as f32) * 0.002).collect();
    for &p in &[0.1, 0.5, 0.9, 0.99] {
        let got = kept(&apply::<TopP>(&[("p", float(p))], &[], 0, &row));
        // Reference: sort everything, accumulate until the mass reaches p.
        let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let total: f64 = row.iter().map(|l| ((l - max) as f64).exp()).sum();
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        let (mut mass, mut want) = (0.0, Vec::new());
        for &i in &order {
            want.push(i);
            mass += ((row[i] - max) as f64).exp() / total;
            if mass >= p {
                break;
            }
        }
        want.sort();
        assert_eq!(got, want, "p = {p}");
    }
}

#[test]
fn min_p_scales_with_the_top_probability() {
    // Probabilities 0.5, 0.3, 0.15, 0.05.
    let row = logits_of(&[0.5, 0.3, 0.15, 0.05]);
    let min_p =
        |p: f64, min_keep: i64| kept(&apply::<MinP>(&[("p", float(p)), ("min_keep", int(min_keep))], &[], 0, &row));
    assert_eq!(min_p(0.35, 1), vec![0, 1]); // threshold 0.175: 0.15 falls
    assert_eq!(min_p(0.25, 1), vec![0, 1, 2]); // threshold 0.125
    assert_eq!(min_p(0.0, 1), vec![0, 1, 2, 3]);
    assert_eq!(min_p(1.0, 1), vec![0]);
    assert_eq!(min_p(0.9, 3), vec![0, 1, 2]); // threshold 0.45 keeps one; min_keep three
}

#[test]
fn min_p_decides_tokens_next_to_the_threshold_by_their_probability() {
    // 40 tokens: two full 16-token blocks and a remainder of 8, with the
    // interesting tokens spread over all three. Probability ratios to the
    // top token (at id 35, logit 0) straddle p = 0.25 by 0.05% (inside the
    // exact band around ln p) and by 1% (decided by the vector pass).
    let mut row = vec![-30.0f32; 40];
    row[35] = 0.0;
    let ratio = |r: f64| r.ln() as f32;
    row[3] = ratio(0.25 * 1.0005); // kept: just above p
    row[20] = ratio(0.25 * 0.9995); // removed: just below p
    row[37] = ratio(0.25 * 1.0005); // the same two in the remainder
    row[38] = ratio(0.25 * 0.9995);
    row[10] = ratio(0.25 * 1.01);
    row[26] = ratio(0.25 * 0.99);
    row[12] = NEG; // already removed, stays removed
    let out = apply::<MinP>(&[("p", float(0.25))], &[], 0, &row);
    assert_eq!(kept(&out), vec![3, 10, 35, 37]);
    for i in kept(&out) {
        assert_eq!(out[i], row[i], "a kept token's logit is untouched");
    }
}

#[test]
fn out_of_range_parameters_are_refused_with_their_name() {
    let texts = ["a", "b"];
    let err = |r: Result<TopP, logitloom_plugin_api::PluginError>| r.err().unwrap().to_string();
    assert_eq!(err(create::<TopP>(&[("p", float(0.0))], &texts, 0)), "parameter `p` = 0 is out of range (0, 1]");
    assert!(create::<TopK>(&[("k", int(0))], &texts, 0).err().unwrap().to_string().contains("`k`"));
    assert!(create::<Temperature>(&[("temperature", float(0.0))], &texts, 0).is_err());
}
