//! Turning a restriction into a mask over the whole vocabulary at once.
//!
//! A token matters to a restriction only through the name it starts or
//! continues: its leading run of identifier characters (after leading
//! whitespace when a new name starts), and whether that run ends inside the
//! token (the name is then complete) or at its end (it may still grow).
//! Tokens are grouped by that run once per vocabulary, so a restriction
//! with a few hundred allowed names costs a few thousand hash look-ups and
//! some bitset arithmetic, not a pass over 50,000 tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use toktrie::SimpleVob;

use super::lex::{is_ident_byte, is_ident_start};

/// What the symbol table forbids at the current position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restriction {
    None,
    /// The name being written (it begins with `prefix`) must be one of
    /// `names` (sorted); `key` identifies the set, for caching.
    Only {
        prefix: Box<[u8]>,
        key: u64,
        names: Arc<[Box<str>]>,
    },
    /// The name being written must not be exactly one of `names`.
    Forbid {
        prefix: Box<[u8]>,
        names: Vec<Box<str>>,
    },
    /// No `.` may follow.
    NoDot,
    /// No `)` may follow (it would declare a method twice).
    NoClose,
    /// No `()` may follow (the method name just written would declare a
    /// method without parameters twice).
    NoEmptyParams,
}

#[derive(Default)]
struct Group {
    /// The run reaches the token's end: the name may go on.
    open: Vec<u32>,
    /// The run ends inside the token: the name is complete.
    closed: Vec<u32>,
}

/// Per-vocabulary tables, built once.
pub struct ScopeTables {
    size: usize,
    /// Tokens `ws* identstart identchar*…`, by run: where a new name starts.
    start_groups: HashMap<Box<[u8]>, Group>,
    start_set: SimpleVob,
    /// Tokens that begin with an identifier character (digits included):
    /// those that continue a name being written, by run.
    cont_groups: HashMap<Box<[u8]>, Group>,
    cont_set: SimpleVob,
    /// Tokens `ws* .` (not `...`).
    dot_set: SimpleVob,
    /// Tokens `ws* )`.
    close_set: SimpleVob,
    empty_params_set: SimpleVob,
    /// Ban sets of `Only` restrictions with an empty prefix, by key.
    only_cache: Mutex<HashMap<u64, Arc<SimpleVob>>>,
}

fn run_of(bytes: &[u8]) -> (&[u8], bool) {
    let n = bytes.iter().position(|&b| !is_ident_byte(b)).unwrap_or(bytes.len());
    (&bytes[..n], n == bytes.len())
}

/// Where a new name starts in the token: after leading whitespace.
fn name_start(bytes: &[u8]) -> Option<&[u8]> {
    let k = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    is_ident_start(bytes[k]).then(|| &bytes[k..])
}

fn is_dot(bytes: &[u8]) -> bool {
    let rest = match bytes.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(k) => &bytes[k..],
        None => return false,
    };
    rest.first() == Some(&b'.') && !rest.starts_with(b"..") && !rest.get(1).is_some_and(u8::is_ascii_digit)
}

fn is_close(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b')')
}

/// `(` and `)` with nothing but whitespace around and between them, then
/// anything: a token that closes an empty parameter list.
fn is_empty_params(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().strip_prefix(b"(").is_some_and(is_close)
}

impl ScopeTables {
    /// `tokens[i]` are token i's bytes; `eos` is never grouped.
    pub fn new(tokens: &[Vec<u8>], vocab_size: usize, eos: u32) -> ScopeTables {
        let size = vocab_size.max(tokens.len());
        let mut t = ScopeTables {
            size,
            start_groups: HashMap::new(),
            start_set: SimpleVob::alloc(size),
            cont_groups: HashMap::new(),
            cont_set: SimpleVob::alloc(size),
            dot_set: SimpleVob::alloc(size),
            close_set: SimpleVob::alloc(size),
            empty_params_set: SimpleVob::alloc(size),
            only_cache: Mutex::new(HashMap::new()),
        };
        for (id, bytes) in tokens.iter().enumerate() {
            let id = id as u32;
            if id == eos || bytes.is_empty() {
                continue;
            }
            if let Some(start) = name_start(bytes) {
                let (run, open) = run_of(start);
                let g = t.start_groups.entry(run.into()).or_default();
                if open {
                    g.open.push(id)
                } else {
                    g.closed.push(id)
                }
                t.start_set.allow_token(id);
            }
            if is_ident_byte(bytes[0]) {
                let (run, open) = run_of(bytes);
                let g = t.cont_groups.entry(run.into()).or_default();
                if open {
                    g.open.push(id)
                } else {
                    g.closed.push(id)
                }
                t.cont_set.allow_token(id);
            }
            if is_dot(bytes) {
                t.dot_set.allow_token(id);
            }
            if is_close(bytes) {
                t.close_set.allow_token(id);
            }
            if is_empty_params(bytes) {
                t.empty_params_set.allow_token(id);
            }
        }
        t
    }

    /// Removes the forbidden tokens from `mask`, unless that leaves nothing;
    /// returns whether it had to leave the mask alone for that reason (the
    /// text is then a dead end as far as the table knows: see
    /// [`crate::JavaConstraint::scope_dead_end`]).
    pub fn apply(&self, restriction: &Restriction, mask: &mut SimpleVob) -> bool {
        let before = mask.clone();
        match restriction {
            Restriction::None => return false,
            Restriction::NoDot => mask.sub(&self.dot_set),
            Restriction::NoClose => mask.sub(&self.close_set),
            Restriction::NoEmptyParams => mask.sub(&self.empty_params_set),
            Restriction::Only { prefix, key, names } if prefix.is_empty() => {
                let cached = self.only_cache.lock().expect("not poisoned").get(key).cloned();
                let ban = match cached {
                    Some(ban) => ban,
                    None => {
                        let mut ban = self.start_set.clone();
                        for name in names.iter() {
                            let n = name.as_bytes();
                            for k in 1..=n.len() {
                                if let Some(g) = self.start_groups.get(&n[..k]) {
                                    g.open.iter().for_each(|&t| ban.disallow_token(t));
                                    if k == n.len() {
                                        g.closed.iter().for_each(|&t| ban.disallow_token(t));
                                    }
                                }
                            }
                        }
                        let ban = Arc::new(ban);
                        self.only_cache.lock().expect("not poisoned").insert(*key, Arc::clone(&ban));
                        ban
                    }
                };
                mask.sub(&ban);
            }
            Restriction::Only { prefix, names, .. } => {
                let mut allowed = SimpleVob::alloc(self.size);
                let mut complete = false;
                for name in names.iter() {
                    let n = name.as_bytes();
                    if !n.starts_with(prefix) {
                        continue;
                    }
                    complete |= n.len() == prefix.len();
                    for k in prefix.len() + 1..=n.len() {
                        if let Some(g) = self.cont_groups.get(&n[prefix.len()..k]) {
                            g.open.iter().for_each(|&t| allowed.allow_token(t));
                            if k == n.len() {
                                g.closed.iter().for_each(|&t| allowed.allow_token(t));
                            }
                        }
                    }
                }
                if complete {
                    // Tokens that end the name here are fine; continuing ones must reach a name.
                    let mut ban = self.cont_set.clone();
                    ban.sub(&allowed);
                    mask.sub(&ban);
                } else {
                    mask.and(&allowed);
                }
            }
            Restriction::Forbid { prefix, names } => {
                for name in names {
                    let n = name.as_bytes();
                    if prefix.is_empty() {
                        if let Some(g) = self.start_groups.get(n) {
                            g.closed.iter().for_each(|&t| mask.disallow_token(t));
                        }
                    } else if n.len() > prefix.len() && n.starts_with(prefix) {
                        if let Some(g) = self.cont_groups.get(&n[prefix.len()..]) {
                            g.closed.iter().for_each(|&t| mask.disallow_token(t));
                        }
                    } else if **prefix == *n {
                        mask.and(&self.cont_set);
                    }
                }
            }
        }
        if mask.is_zero() && !before.is_zero() {
            *mask = before;
            return true;
        }
        false
    }
}

/// One token against a restriction, straight from the definitions (the
/// reference [`ScopeTables::apply`] is tested against). EOS is never
/// judged here.
pub fn allows(restriction: &Restriction, bytes: &[u8]) -> bool {
    // The name the token completes (`Some(name, complete)`), if any.
    let name = |prefix: &[u8]| -> Option<(Vec<u8>, bool)> {
        if prefix.is_empty() {
            let start = name_start(bytes)?;
            let (run, open) = run_of(start);
            Some((run.to_vec(), !open))
        } else {
            let (run, open) = run_of(bytes);
            let mut full = prefix.to_vec();
            full.extend_from_slice(run);
            Some((full, !open))
        }
    };
    match restriction {
        Restriction::None => true,
        Restriction::NoDot => !is_dot(bytes),
        Restriction::NoClose => !is_close(bytes),
        Restriction::NoEmptyParams => !is_empty_params(bytes),
        Restriction::Only { prefix, names, .. } => match name(prefix) {
            None => true,
            Some((full, true)) => names.iter().any(|n| n.as_bytes() == full),
            Some((full, false)) => names.iter().any(|n| n.as_bytes().starts_with(&full)),
        },
        Restriction::Forbid { prefix, names } => match name(prefix) {
            Some((full, true)) => !names.iter().any(|n| n.as_bytes() == full),
            _ => true,
        },
    }
}
