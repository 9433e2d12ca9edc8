//! N-gram repetition and diversity.
//!
//! Three families, because the literature uses three different conventions
//! and readers compare against all of them:
//!
//! * **seq-rep-n** (Welleck et al. 2020, "Neural text generation with
//!   unlikelihood training"): `1 - unique n-grams / n-grams` of the
//!   continuation, over model tokens, as a fraction in `[0, 1]`.
//! * **SimCTG rep-n and diversity** (Su et al. 2022): the same ratio, but
//!   over whitespace-separated words and in percent; diversity is
//!   `prod_{n=2..4} (1 - rep-n / 100)`, a fraction in `[0, 1]`. SimCTG pools
//!   the counts over a whole test set; we compute both per generation so every
//!   metric gets a per-chain mean and confidence interval the same way.
//! * **distinct-n** (Li et al. 2016): unique n-grams divided by the number of
//!   tokens of the continuation (not by the number of n-grams), over model
//!   tokens.
//!
//! A text shorter than `n` has no n-grams: its repetition is 0 (nothing
//! repeats) and its distinct-n is 0.

use std::collections::HashSet;
use std::hash::Hash;

/// Number of distinct n-grams and total n-grams of `items`.
pub fn ngram_counts<T: Eq + Hash>(items: &[T], n: usize) -> (usize, usize) {
    assert!(n > 0, "n-gram order must be positive");
    if items.len() < n {
        return (0, 0);
    }
    let unique: HashSet<&[T]> = items.windows(n).collect();
    (unique.len(), items.len() - n + 1)
}

/// Welleck et al.'s seq-rep-n over `tokens`.
pub fn seq_rep_n<T: Eq + Hash>(tokens: &[T], n: usize) -> f64 {
    let (unique, total) = ngram_counts(tokens, n);
    if total == 0 {
        return 0.0;
    }
    1.0 - unique as f64 / total as f64
}

/// Li et al.'s distinct-n over `tokens`.
pub fn distinct_n<T: Eq + Hash>(tokens: &[T], n: usize) -> f64 {
    let (unique, _) = ngram_counts(tokens, n);
    if tokens.is_empty() {
        return 0.0;
    }
    unique as f64 / tokens.len() as f64
}

/// SimCTG's rep-n of one text, in percent, over whitespace-separated words.
pub fn simctg_rep_n(text: &str, n: usize) -> f64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    100.0 * seq_rep_n(&words, n)
}

/// SimCTG's diversity of one text: `prod_{n=2..4} (1 - rep-n / 100)`.
pub fn simctg_diversity(text: &str) -> f64 {
    (2..=4).map(|n| 1.0 - simctg_rep_n(text, n) / 100.0).product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_rep_counts_repeated_ngrams_over_tokens() {
        // a b a b a: bigrams ab ba ab ba -> 2 unique of 4.
        let t = [1, 2, 1, 2, 1];
        assert_eq!(seq_rep_n(&t, 1), 1.0 - 2.0 / 5.0);
        assert_eq!(seq_rep_n(&t, 2), 0.5);
        // trigrams aba bab aba -> 2 unique of 3.
        assert!((seq_rep_n(&t, 3) - 1.0 / 3.0).abs() < 1e-12);
        // 4-grams abab baba -> all unique.
        assert_eq!(seq_rep_n(&t, 4), 0.0);
        assert_eq!(seq_rep_n(&[7u32; 2], 4), 0.0);
    }

    #[test]
    fn distinct_divides_by_token_count() {
        let t = [1, 2, 1, 2, 1];
        assert_eq!(distinct_n(&t, 1), 2.0 / 5.0);
        assert_eq!(distinct_n(&t, 2), 2.0 / 5.0);
        assert_eq!(distinct_n(&t, 4), 2.0 / 5.0);
        assert_eq!(distinct_n::<u32>(&[], 1), 0.0);
    }

    #[test]
    fn simctg_uses_words_and_percent() {
        let text = "x = x + 1;\nx = x + 1;";
        // words: "x" "=" "x" "+" "1;" "x" "=" "x" "+" "1;" -> 10 words
        // bigrams: 9, unique: {x =, = x, x +, + 1;, 1; x} = 5 -> rep-2 = 100*(1-5/9)
        let rep2 = 100.0 * (1.0 - 5.0 / 9.0);
        assert!((simctg_rep_n(text, 2) - rep2).abs() < 1e-9);
        // trigrams: 8, unique: x=x, =x+, x+1;, +1;x, 1;x= = 5
        let rep3 = 100.0 * (1.0 - 5.0 / 8.0);
        // 4-grams: 7, unique: 5
        let rep4 = 100.0 * (1.0 - 5.0 / 7.0);
        let expected = (1.0 - rep2 / 100.0) * (1.0 - rep3 / 100.0) * (1.0 - rep4 / 100.0);
        assert!((simctg_diversity(text) - expected).abs() < 1e-12);
        assert_eq!(simctg_diversity("a b c d e"), 1.0);
    }
}
