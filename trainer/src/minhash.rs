//! Near-duplicate detection: MinHash signatures over shingles of lexical
//! tokens, with a banded LSH index.
//!
//! Java files that differ in whitespace, comments of a line or two, a renamed
//! package or a version bump (the same library vendored into two projects, a
//! class copied between modules) share most of their 5-token shingles; the
//! fraction of equal signature slots estimates that Jaccard similarity.
//! Signatures are over lexical tokens rather than BPE tokens so that dedup
//! runs before (and independently of) tokenizer training.
//!
//! Written here rather than taken from a crate: the index must answer "is this
//! file close to one kept *earlier*" in a fixed order and keep only kept
//! files, which is a few lines on top of the hashing; the crates that exist
//! (gaoya, probminhash) bring an index built for batch queries and their own
//! dependency trees.

use std::collections::HashMap;

/// Signature slots: 16 bands of 7. A pair at Jaccard 0.8 shares a band with
/// probability 1 - (1 - 0.8^7)^16 = 0.977; at 0.5, 0.12 (then rejected by the
/// estimate over all slots).
pub const BANDS: usize = 16;
pub const ROWS: usize = 7;
pub const SLOTS: usize = BANDS * ROWS;
/// Tokens per shingle.
pub const SHINGLE: usize = 5;

pub type Signature = [u32; SLOTS];

use logitloom_numerics::{mix64 as mix, splitmix64, Fnv1a};

/// Hashes of the lexical tokens of `text`: identifier/number runs and single
/// punctuation characters; whitespace separates and is dropped.
pub fn token_hashes(text: &str) -> Vec<u64> {
    let mut out = Vec::with_capacity(text.len() / 4);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$' || bytes[i] >= 0x80)
            {
                i += 1;
            }
        } else {
            i += 1;
        }
        out.push(Fnv1a::default().write_bytes(&bytes[start..i]).finish());
    }
    out
}

/// The MinHash signature of a file; `None` when it has no token at all.
pub fn signature(text: &str) -> Option<Signature> {
    let tokens = token_hashes(text);
    if tokens.is_empty() {
        return None;
    }
    let mut sig = [u32::MAX; SLOTS];
    let width = SHINGLE.min(tokens.len());
    for window in tokens.windows(width) {
        let shingle = mix(window.iter().fold(0u64, |acc, &t| mix(acc.rotate_left(17) ^ t)));
        // One hash per slot from the well-mixed shingle hash: the high half of
        // a * h + b with odd a (a multiply-shift family), one multiply-add per
        // slot, which the compiler vectorises; a full mix per slot was most of
        // `prepare`'s time.
        for ((value, &a), &b) in sig.iter_mut().zip(&SEEDS_A).zip(&SEEDS_B) {
            let h = (shingle.wrapping_mul(a).wrapping_add(b) >> 32) as u32;
            *value = (*value).min(h);
        }
    }
    Some(sig)
}

/// Fraction of equal slots: an unbiased estimate of the Jaccard similarity of the shingle sets.
pub fn similarity(a: &Signature, b: &Signature) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / SLOTS as f64
}

const fn seeds(start: u64, odd: bool) -> [u64; SLOTS] {
    let mut seeds = [0u64; SLOTS];
    let mut state = start;
    let mut i = 0;
    while i < SLOTS {
        seeds[i] = splitmix64(&mut state) | odd as u64;
        i += 1;
    }
    seeds
}
const SEEDS_A: [u64; SLOTS] = seeds(0x6c6f_6769_746c_6f6f, true);
const SEEDS_B: [u64; SLOTS] = seeds(0x6d69_6e68_6173_6821, false);

/// The kept files' signatures, banded for lookup.
#[derive(Default)]
pub struct LshIndex {
    signatures: Vec<Signature>,
    /// Caller's id of each stored signature.
    ids: Vec<u32>,
    buckets: HashMap<u64, Vec<u32>>,
}

impl LshIndex {
    pub fn new() -> Self {
        Self::default()
    }

    fn band_keys(sig: &Signature) -> impl Iterator<Item = u64> + '_ {
        (0..BANDS).map(move |band| {
            let rows = &sig[band * ROWS..(band + 1) * ROWS];
            rows.iter().fold(mix(band as u64 + 1), |acc, &v| mix(acc ^ v as u64))
        })
    }

    /// The most similar stored file at or above `threshold`, as (its id, similarity).
    pub fn query(&self, sig: &Signature, threshold: f64) -> Option<(u32, f64)> {
        let mut best: Option<(u32, f64)> = None;
        for key in Self::band_keys(sig) {
            for &slot in self.buckets.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                let s = similarity(sig, &self.signatures[slot as usize]);
                if s >= threshold && best.is_none_or(|(_, b)| s > b) {
                    best = Some((self.ids[slot as usize], s));
                }
            }
        }
        best
    }

    pub fn insert(&mut self, id: u32, sig: Signature) {
        let slot = self.signatures.len() as u32;
        for key in Self::band_keys(&sig) {
            self.buckets.entry(key).or_default().push(slot);
        }
        self.signatures.push(sig);
        self.ids.push(id);
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASS: &str = "package a.b;\n\nimport java.util.List;\n\npublic class Stack<T> {\n    private final List<T> items = new java.util.ArrayList<>();\n\n    public void push(T item) {\n        items.add(item);\n    }\n\n    public T pop() {\n        if (items.isEmpty()) {\n            throw new IllegalStateException(\"empty\");\n        }\n        return items.remove(items.size() - 1);\n    }\n\n    public int size() {\n        return items.size();\n    }\n}\n";

    #[test]
    fn reformatted_copy_is_identical_and_edited_copy_is_close() {
        let a = signature(CLASS).unwrap();
        let reformatted = signature(&CLASS.replace("    ", "\t").replace(" {\n", "\n{\n")).unwrap();
        assert_eq!(similarity(&a, &reformatted), 1.0);
        let edited = signature(
            &CLASS.replace("package a.b;", "package org.vendored.a.b;").replace("\"empty\"", "\"stack is empty\""),
        )
        .unwrap();
        let s = similarity(&a, &edited);
        assert!(s > 0.7 && s < 1.0, "similarity {s}");
    }

    #[test]
    fn unrelated_files_are_far_apart() {
        let other = "public enum Colour { RED, GREEN, BLUE; Colour next() { return values()[(ordinal() + 1) % values().length]; } }";
        let s = similarity(&signature(CLASS).unwrap(), &signature(other).unwrap());
        assert!(s < 0.2, "similarity {s}");
    }

    #[test]
    fn index_finds_the_near_copy_and_not_the_stranger() {
        let mut index = LshIndex::new();
        index.insert(7, signature(CLASS).unwrap());
        let copy = signature(&CLASS.replace("size()", "count()")).unwrap();
        let (id, s) = index.query(&copy, 0.5).expect("near copy found");
        assert_eq!(id, 7);
        assert!(s < 1.0);
        let stranger = signature("interface Shape { double area(); double perimeter(); default String name() { return getClass().getSimpleName(); } }").unwrap();
        assert_eq!(index.query(&stranger, 0.5), None);
    }

    #[test]
    fn empty_text_has_no_signature() {
        assert!(signature(" \n\t").is_none());
        assert!(signature("x").is_some());
    }
}
