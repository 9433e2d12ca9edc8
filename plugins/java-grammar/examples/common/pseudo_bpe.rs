//! BPE-like tokens without a trained BPE, shared by the `java_scope`
//! examples: GPT-2's pre-tokenisation (whitespace joins the word after it;
//! letters, digits and punctuation runs apart), neighbouring pieces merged
//! and long words split at positions from a fixed hash, so that tokens
//! cross lexemes (`();`, `) {`) and end inside names (`siz`, `e()`).

fn class(b: u8) -> u8 {
    if b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b >= 0x80 {
        0
    } else if b.is_ascii_digit() {
        1
    } else if b.is_ascii_whitespace() {
        2
    } else {
        3
    }
}

fn mix(x: usize) -> usize {
    let mut h = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    h.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 7
}

/// BPE-like tokens of `text` (see the module docs).
pub fn tokenize(text: &str) -> Vec<&[u8]> {
    let b = text.as_bytes();
    // Pieces: a run of one class; whitespace (but the last space before a
    // word) stands alone, that space joins the word.
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = class(b[i]);
        let mut j = i + 1;
        while j < b.len() && class(b[j]) == c && (c != 3 || j - i < 3) {
            j += 1;
        }
        if c == 2 && j < b.len() && class(b[j]) != 2 && b[j - 1] == b' ' {
            if j - 1 > i {
                pieces.push((i, j - 1));
            }
            let mut k = j + 1;
            while k < b.len() && class(b[k]) == class(b[j]) && (class(b[j]) != 3 || k - j < 3) {
                k += 1;
            }
            pieces.push((j - 1, k));
            i = k;
            continue;
        }
        pieces.push((i, j));
        i = j;
    }
    let mut tokens = Vec::new();
    let mut p = 0;
    while p < pieces.len() {
        let (start, mut end) = pieces[p];
        let r = mix(start);
        // Split long words; merge short neighbours.
        if end - start > 4 && r.is_multiple_of(3) {
            let cut = start + 1 + r / 3 % (end - start - 1);
            tokens.push(&b[start..cut]);
            tokens.push(&b[cut..end]);
            p += 1;
            continue;
        }
        let mut q = p + 1;
        while q < pieces.len() && q - p < 3 && mix(end).is_multiple_of(2) && pieces[q].1 - start < 8 {
            end = pieces[q].1;
            q += 1;
        }
        tokens.push(&b[start..end]);
        p = q;
    }
    tokens
}
