//! Scope-aware decoding: a symbol table of the prompt plus the generated
//! text, and the names it proves cannot come next.
//!
//! The grammar says where a name may stand; this module says which names
//! may stand there, but only where it is sure. It restricts four places:
//!
//! * **after `.`** on a receiver whose type is known (a local, parameter or
//!   field with a declared type, `super`, a string literal, an array
//!   element, a JDK or closed own type named for static access): only that
//!   type's members, inherited ones included;
//! * **after a name of primitive type** (`int i`): no `.`;
//! * **a new local's name** (locals, for, catch and resource variables):
//!   not one already declared in the enclosing blocks of the same method
//!   (javac's "already defined");
//!
//! Everything else — names of the class being written (it may still
//! declare them further down), generics, results of calls, lambda and
//! pattern variables, names from unindexed packages — is left free.
//! `docs/java-grammar.md` lists the cases.
//!
//! State is a function of the text: [`Scope::rollback_to`] restores the
//! table the sequence had at a shorter token length from a checkpoint and
//! the bytes after it.

mod analyze;
pub mod index;
mod lex;
mod mask;

use std::sync::Arc;

pub use analyze::{Analyzer, Base, ClassInfo, ClassKind, TypeRef};
pub use index::JdkIndex;
pub use mask::{Restriction, ScopeTables};

use crate::grammar::StartMode;
use analyze::{is_keyword, matching_open, FrameKind, ValuePosition, KEYWORDS};
use lex::{is_ident_byte, is_ident_start, Kind, Lexeme, Step};

/// How many lexemes between checkpoints.
const CHECKPOINT_EVERY: usize = 32;

#[derive(Clone, Debug, PartialEq)]
struct Checkpoint {
    /// Where lexing resumes: every byte before it is lexed for good.
    lex_pos: usize,
    lexemes: usize,
    analyzer: Analyzer,
}

/// The symbol table of one sequence.
#[derive(Clone)]
pub struct Scope {
    index: Arc<JdkIndex>,
    text: Vec<u8>,
    lex_pos: usize,
    lexemes: usize,
    analyzer: Analyzer,
    /// The text length after each observed token.
    token_ends: Vec<usize>,
    checkpoints: Vec<Checkpoint>,
    /// The table before any text (depends on the start mode).
    initial: Analyzer,
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").field("lex_pos", &self.lex_pos).field("analyzer", &self.analyzer).finish()
    }
}

impl PartialEq for Scope {
    /// Same text and same table (checkpoints are a cache and not compared).
    fn eq(&self, other: &Scope) -> bool {
        self.text == other.text && self.lex_pos == other.lex_pos && self.analyzer == other.analyzer
    }
}

impl Default for Scope {
    fn default() -> Self {
        Scope::new()
    }
}

/// What a receiver expression before `.` denotes.
enum Receiver {
    Value(TypeRef),
    /// A type named for static access.
    Type(Vec<Box<str>>),
    Unknown,
}

enum Lookup {
    Found(TypeRef),
    /// Something read only loosely may bind it.
    Maybe,
    NotFound,
}

impl Scope {
    /// The table of a whole file.
    pub fn new() -> Scope {
        Scope::for_mode(StartMode::File)
    }

    /// The table for a text that starts where `mode` says: in a class body
    /// or a method body, the enclosing class is one we cannot see (its
    /// members stay unknown).
    pub fn for_mode(mode: StartMode) -> Scope {
        let initial = match mode {
            StartMode::File => Analyzer::default(),
            StartMode::ClassBody => Analyzer::starting_inside(true, false),
            StartMode::MethodBody(_) => Analyzer::starting_inside(true, true),
        };
        Scope {
            index: JdkIndex::shared(),
            text: Vec::new(),
            lex_pos: 0,
            lexemes: 0,
            analyzer: initial.clone(),
            token_ends: Vec::new(),
            checkpoints: Vec::new(),
            initial,
        }
    }

    /// Sees one accepted token's bytes.
    pub fn observe(&mut self, bytes: &[u8]) {
        self.text.extend_from_slice(bytes);
        self.token_ends.push(self.text.len());
        self.lex();
    }

    /// How many tokens have been observed.
    pub fn len_tokens(&self) -> usize {
        self.token_ends.len()
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Restores the state the table had when `len_tokens` tokens had been
    /// observed (no-op if that many or fewer were).
    pub fn rollback_to(&mut self, len_tokens: usize) {
        if len_tokens >= self.token_ends.len() {
            return;
        }
        let len = if len_tokens == 0 { 0 } else { self.token_ends[len_tokens - 1] };
        self.token_ends.truncate(len_tokens);
        self.text.truncate(len);
        // A checkpoint stays valid if lexing had not looked at the cut
        // bytes when it was taken: the lexeme before its position ended
        // before the cut, so the byte that completed it survives.
        while self.checkpoints.last().is_some_and(|c| c.lex_pos >= len) {
            self.checkpoints.pop();
        }
        match self.checkpoints.last() {
            Some(c) => {
                self.lex_pos = c.lex_pos;
                self.lexemes = c.lexemes;
                self.analyzer = c.analyzer.clone();
            }
            None => {
                self.lex_pos = 0;
                self.lexemes = 0;
                self.analyzer = self.initial.clone();
            }
        }
        self.lex();
    }

    fn lex(&mut self) {
        while self.lex_pos < self.text.len() {
            match lex::step(&self.text, self.lex_pos) {
                Step::Incomplete => break,
                Step::Done { lexeme, end } => {
                    let start = self.lex_pos;
                    self.lex_pos = end;
                    if lexeme.is_none() && self.text[start] == b'/' && !self.analyzer.frame().stmt.is_empty() {
                        self.analyzer.misplaced_comment = Some(start);
                    }
                    if let Some(lexeme) = lexeme {
                        self.judge_pending_value_name(&lexeme);
                        self.analyzer.push(lexeme);
                        if let Some(position) = self.analyzer.value_position_name() {
                            self.analyzer.pending_value_name = Some((start, position));
                        } else if self.names_an_unimported_type() {
                            self.analyzer.undeclared_use = Some(start);
                        }
                        self.lexemes += 1;
                        if self.lexemes.is_multiple_of(CHECKPOINT_EVERY) {
                            // Whitespace after the lexeme is not yet skipped: the
                            // checkpoint resumes right after the lexeme.
                            self.checkpoints.push(Checkpoint {
                                lex_pos: self.lex_pos,
                                lexemes: self.lexemes,
                                analyzer: self.analyzer.clone(),
                            });
                        }
                    }
                }
            }
        }
    }

    /// The index of the token where the latest name used before any
    /// declaration begins: a bare name used as a value that is not a
    /// local, parameter, loosely bound name, field of an enclosing class
    /// declared so far, member inherited from a known supertype, type,
    /// package or static import; or a JDK type never imported, or a type
    /// variable never declared. Java allows a field (or a nested class) to
    /// be used above its declaration, so this is only an error under the
    /// assumption that names are declared before use
    /// (`declared_before_use`); the stage rewinds to that token when asked to.
    pub fn undeclared_use(&self) -> Option<usize> {
        let at = self.analyzer.undeclared_use?;
        Some(self.token_ends.partition_point(|&end| end <= at))
    }

    /// The index of the token where the latest comment begins that stands
    /// inside an unfinished statement, declaration or expression (`a +
    /// // why`, `Node<Node> // x`), the one being written included. Java
    /// allows comments anywhere, so this is only a fault under the
    /// assumption that comments stand between statements and members
    /// (`comments_between_statements`): a model steered away from the
    /// names it wanted tends to escape into comments halfway through an
    /// expression and never come back to finish it.
    pub fn misplaced_comment(&self) -> Option<usize> {
        let tail = &self.text[self.lex_pos..];
        let opening = (tail.starts_with(b"//") || tail.starts_with(b"/*")) && !self.analyzer.frame().stmt.is_empty();
        let at = if opening { Some(self.lex_pos) } else { self.analyzer.misplaced_comment }?;
        Some(self.token_ends.partition_point(|&end| end <= at))
    }

    /// Which tokens would open a misplaced comment (see
    /// [`Scope::misplaced_comment`]) if they came next: `openers` are
    /// tokens that start with `//` or `/*` after optional whitespace,
    /// `continuations` tokens that start with `/` or `*` (after a pending
    /// `/`). Inside a comment or a string nothing is.
    pub fn comment_bans(&self) -> CommentBans {
        let tail = &self.text[self.lex_pos..];
        let in_statement = !self.analyzer.frame().stmt.is_empty();
        match tail.first() {
            None => CommentBans { openers: in_statement, continuations: false },
            Some(b'/') if tail.len() == 1 => CommentBans { openers: in_statement, continuations: in_statement },
            Some(b'/') if tail[1] == b'/' || tail[1] == b'*' => CommentBans::default(),
            Some(b'"' | b'\'') => CommentBans::default(),
            // A pending word, number or operator belongs to the statement.
            Some(_) => CommentBans { openers: true, continuations: false },
        }
    }

    /// The lexeme after a pending bare name says how the name was used: a
    /// call, a type of a declaration, a lambda parameter, a method
    /// reference or a label leave it alone; anything else uses it as a
    /// value, which needs a declaration.
    fn judge_pending_value_name(&mut self, next: &Lexeme) {
        let Some((at, position)) = self.analyzer.pending_value_name.take() else { return };
        let not_a_value = next.is("(")
            || (next.kind == Kind::Word && !next.is("instanceof"))
            || next.is("->")
            || next.is("::")
            || (position == ValuePosition::StatementStart && next.is(":"))
            || (position == ValuePosition::GroupStart && (next.is(",") || next.is(")")));
        if not_a_value {
            return;
        }
        let Some(name) = self.analyzer.frame().stmt.last().map(|l| l.text.clone()) else { return };
        if !self.may_be_declared(&name) {
            self.analyzer.undeclared_use = Some(at);
        }
    }

    /// Whether the name just read is a type that was never imported or
    /// declared: the simple name of a top-level JDK type that no import,
    /// `java.lang` or own class provides (`BigInteger` without `import
    /// java.math.*`), or a type variable's name (`K`, `T2`) that nothing
    /// declared. Only in a whole file without a package clause, whose
    /// imports and types we see; and never where a name is declared
    /// (`class K`), qualified (`a.K`, `@K`), a case label or an enum
    /// constant.
    fn names_an_unimported_type(&self) -> bool {
        let a = &self.analyzer;
        if self.initial.frames.len() > 1 || a.package.is_some() || a.in_enum_constants() || a.declaring_type_parameter()
        {
            return false;
        }
        let s = &a.frame().stmt;
        let Some(w) = s.last() else { return false };
        let name = &*w.text;
        if w.kind != Kind::Word || !name.as_bytes()[0].is_ascii_uppercase() || is_keyword(name) {
            return false;
        }
        let n = s.len();
        if n >= 2 && matches!(&*s[n - 2].text, "." | "::" | "@" | "class" | "interface" | "enum" | "record" | "case") {
            return false;
        }
        let type_variable = name.len() == 1 || name[1..].bytes().all(|b| b.is_ascii_digit());
        if !(type_variable || self.index.is_top_level_name(name)) {
            return false;
        }
        let declared_in = |names: &[Box<str>]| names.iter().any(|n| &**n == name);
        let seen = a.type_params.contains(name)
            || a.single_imports.iter().any(|(simple, _)| &**simple == name)
            || a.demand_imports.iter().any(|p| !self.index.has_package(p))
            || a.static_on_demand
            || declared_in(&a.static_names)
            || a.classes.iter().any(|c| c.name.as_deref() == Some(name) || declared_in(&c.nested))
            || s[..n - 1].iter().any(|l| &*l.text == name)
            || self.bound_in_frames(name)
            || self.resolve_type(&[name.into()]).is_some();
        !seen && !self.enclosing_classes_may_have(name)
    }

    /// Whether anything visible here could declare the bare name `name`
    /// (answering yes when unsure).
    fn may_be_declared(&self, name: &str) -> bool {
        let a = &self.analyzer;
        a.static_on_demand
            || a.static_names.iter().any(|n| &**n == name)
            || self.names_type_or_package(name)
            || self.bound_in_frames(name)
            || self.enclosing_classes_may_have(name)
    }

    /// Whether an open frame binds `name`: a local or parameter, or a name
    /// bound loosely (lambda, pattern or `for` variable).
    fn bound_in_frames(&self, name: &str) -> bool {
        let declared_in = |names: &[Box<str>]| names.iter().any(|n| &**n == name);
        self.analyzer
            .frames
            .iter()
            .any(|f| f.locals.iter().any(|(n, _)| &**n == name) || declared_in(&f.loose) || declared_in(&f.stmt_loose))
    }

    /// Whether an enclosing class may have a field or member type `name`:
    /// one declared so far, or one inherited from a supertype we cannot
    /// list (an anonymous class's, an unknown or still open one).
    fn enclosing_classes_may_have(&self, name: &str) -> bool {
        let a = &self.analyzer;
        for frame in a.frames.iter().rev() {
            let FrameKind::Class(id) = frame.kind else { continue };
            let class = &a.classes[id];
            if class.kind == ClassKind::Anonymous || class.fields.iter().any(|(n, _)| &**n == name) {
                return true;
            }
            for sup in &class.supers {
                let TypeRef { base: Base::Named(path), dims: 0 } = sup else { return true };
                match self.type_members(path, &mut Vec::new()) {
                    Some(members) if !members.iter().any(|m| &**m == name) => {}
                    _ => return true,
                }
            }
        }
        false
    }

    /// What the text so far forbids next.
    pub fn restriction(&self) -> Restriction {
        let tail = &self.text[self.lex_pos..];
        let stmt = &self.analyzer.frame().stmt;
        let (prefix, dot_pending) = if tail.is_empty() {
            (&[][..], false)
        } else if tail == b"." {
            (&[][..], true)
        } else if is_ident_start(tail[0]) && tail.iter().all(|&b| is_ident_byte(b)) {
            (tail, false)
        } else {
            return Restriction::None;
        };
        // A member after `.`.
        let receiver_end = if dot_pending {
            Some(stmt.len())
        } else if stmt.last().is_some_and(|l| l.is(".") && l.kind == Kind::Punct) {
            Some(stmt.len() - 1)
        } else {
            None
        };
        if let Some(end) = receiver_end {
            if let Some((key, names)) = self.members(&stmt[..end]) {
                return Restriction::Only { prefix: prefix.into(), key, names };
            }
            if prefix.is_empty() {
                return Restriction::None;
            }
            // The member being written may itself be of primitive type (`this.n`).
        }
        // A `)` that would declare a method or constructor twice.
        if let FrameKind::Class(id) = self.analyzer.frame().kind {
            if stmt.last().is_some_and(|l| l.is("(") || l.kind == Kind::Word) || !prefix.is_empty() {
                let mut header: Vec<Lexeme> = stmt.clone();
                if !prefix.is_empty() {
                    header.push(Lexeme { kind: Kind::Word, text: String::from_utf8_lossy(prefix).into() });
                }
                let signatures = &self.analyzer.classes[id].signatures;
                if self.analyzer.frame().depth_is_one() {
                    if let Some(sig) = analyze::header_signature(&header) {
                        if signatures.contains(&sig) {
                            return Restriction::NoClose;
                        }
                    }
                } else if self.analyzer.frame().depth_is_zero() {
                    // The name just written, then `()` in one token.
                    if header.last().is_some_and(|l| l.kind == Kind::Word) {
                        header.push(Lexeme { kind: Kind::Punct, text: "(".into() });
                        if analyze::header_signature(&header).is_some_and(|sig| signatures.contains(&sig)) {
                            return Restriction::NoEmptyParams;
                        }
                    }
                }
            }
        }
        if receiver_end.is_some() {
        } else if let Some(names) = self.declaration_position() {
            return if names.is_empty() {
                Restriction::None
            } else {
                Restriction::Forbid { prefix: prefix.into(), names }
            };
        }
        // `.` after a name or array element of primitive type.
        let receiver: Vec<Lexeme>;
        let receiver = if prefix.is_empty() {
            &stmt[..]
        } else {
            receiver = stmt
                .iter()
                .cloned()
                .chain([Lexeme { kind: Kind::Word, text: String::from_utf8_lossy(prefix).into() }])
                .collect();
            &receiver[..]
        };
        if receiver.last().is_some_and(|l| l.kind == Kind::Word && !is_keyword(&l.text) || l.is("]")) {
            if let Receiver::Value(TypeRef { base: Base::Primitive, dims: 0 }) = self.receiver(receiver) {
                return Restriction::NoDot;
            }
        }
        Restriction::None
    }

    /// Where a new local's or parameter's name is being written: the names
    /// it may not take.
    fn declaration_position(&self) -> Option<Vec<Box<str>>> {
        let frame = self.analyzer.frame();
        if let FrameKind::Class(_) = frame.kind {
            return frame.depth_is_one().then(|| analyze::header_parameter_position(&frame.stmt)).flatten();
        }
        if frame.kind != FrameKind::Block {
            return None;
        }
        let s = &frame.stmt;
        let start = match s.first() {
            Some(l) if (l.is("for") || l.is("catch") || l.is("try")) && s.get(1).is_some_and(|l| l.is("(")) => {
                if s.iter().any(|l| l.is(";") || l.is(":") || l.is("=") || l.is(",")) && !l.is("try") {
                    return None;
                }
                2
            }
            Some(_) => 0,
            None => return None,
        };
        if start == 2 && s[0].is("try") && s[2..].iter().any(|l| l.is(";") || l.is("=")) {
            return None; // a later resource: not worth the care
        }
        let body = &s[start..];
        let mut i = 0;
        while body.get(i).is_some_and(|l| l.is("final")) {
            i += 1;
        }
        if body
            .get(i)
            .is_some_and(|l| l.is("@") || matches!(&*l.text, "yield" | "record" | "sealed" | "permits" | "non"))
        {
            return None;
        }
        let (_, end) = analyze::parse_type(body, i)?;
        if end != body.len() || (s[0].is("catch") && body.len() > end) {
            return None;
        }
        let names: Vec<Box<str>> = self.analyzer.visible_locals().map(|(n, _)| n.clone()).collect();
        Some(names)
    }

    /// Resolves a simple variable name.
    fn lookup(&self, name: &str) -> Lookup {
        if let Some((_, ty)) = self.analyzer.visible_locals().find(|(n, _)| &**n == name) {
            return Lookup::Found(ty.clone());
        }
        if self.analyzer.maybe_bound.contains(name) {
            return Lookup::Maybe;
        }
        // A field of the innermost class hides inherited and outer ones.
        if let Some(id) = self.analyzer.innermost_class() {
            if let Some((_, ty)) = self.analyzer.classes[id].fields.iter().find(|(n, _)| &**n == name) {
                return Lookup::Found(ty.clone());
            }
        }
        Lookup::NotFound
    }

    /// Whether a type or package could be named `name` as far as we know;
    /// a variable of that name may then stand for it in a qualified type.
    fn names_type_or_package(&self, name: &str) -> bool {
        let a = &self.analyzer;
        a.package_roots.contains(name)
            || self.index.is_type_name(name)
            || a.type_params.contains(name)
            || a.classes.iter().any(|c| c.name.as_deref() == Some(name))
            || a.single_imports.iter().any(|(s, _)| &**s == name)
    }

    /// The expression that ends `s`, as a receiver of `.`.
    fn receiver(&self, s: &[Lexeme]) -> Receiver {
        let Some(last) = s.last() else { return Receiver::Unknown };
        let before = s.len().checked_sub(2).map(|k| &s[k]);
        let qualified = before.is_some_and(|b| b.is(".") || b.is("::") || b.is("@"));
        match last.kind {
            Kind::Literal if last.text.starts_with('"') && !qualified => {
                Receiver::Value(TypeRef { base: Base::Named(vec!["String".into()]), dims: 0 })
            }
            Kind::Word if last.is("super") && !qualified => {
                let Some(id) = self.analyzer.innermost_class() else { return Receiver::Unknown };
                let class = &self.analyzer.classes[id];
                match class.kind {
                    ClassKind::Class if !class.has_extends => Receiver::Type(vec!["Object".into()]),
                    ClassKind::Class | ClassKind::Anonymous => match class.supers.first() {
                        Some(TypeRef { base: Base::Named(path), dims: 0 }) => Receiver::Type(path.clone()),
                        _ => Receiver::Unknown,
                    },
                    _ => Receiver::Unknown,
                }
            }
            Kind::Word if !is_keyword(&last.text) => {
                if before.is_some_and(|b| b.is(".")) {
                    // `this.name`: a field of the innermost class.
                    let this = s.len() >= 3 && s[s.len() - 3].is("this") && !(s.len() >= 4 && s[s.len() - 4].is("."));
                    if !this {
                        return Receiver::Unknown;
                    }
                    let Some(id) = self.analyzer.innermost_class() else { return Receiver::Unknown };
                    return match self.analyzer.classes[id].fields.iter().find(|(n, _)| *n == last.text) {
                        Some((_, ty)) => Receiver::Value(ty.clone()),
                        None => Receiver::Unknown,
                    };
                }
                if qualified {
                    return Receiver::Unknown;
                }
                match self.lookup(&last.text) {
                    Lookup::Found(ty) if !self.names_type_or_package(&last.text) => Receiver::Value(ty),
                    Lookup::NotFound => Receiver::Type(vec![last.text.clone()]),
                    _ => Receiver::Unknown,
                }
            }
            Kind::Punct if last.is("]") => {
                let Some(open) = matching_open(s, s.len() - 1) else { return Receiver::Unknown };
                if open == 0 {
                    return Receiver::Unknown;
                }
                match self.receiver(&s[..open]) {
                    Receiver::Value(TypeRef { base, dims }) if dims > 0 && base != Base::Unknown => {
                        Receiver::Value(TypeRef { base, dims: dims - 1 })
                    }
                    _ => Receiver::Unknown,
                }
            }
            _ => Receiver::Unknown,
        }
    }

    /// The member names after `s.`, with a key naming the set, or `None`
    /// when the receiver's type is not fully known.
    fn members(&self, s: &[Lexeme]) -> Option<(u64, Arc<[Box<str>]>)> {
        let mut names: Vec<Box<str>> = match self.receiver(s) {
            Receiver::Unknown => return None,
            Receiver::Value(TypeRef { base: Base::Primitive, dims: 0 }) => return None,
            Receiver::Value(TypeRef { base: Base::Unknown, .. }) => return None,
            Receiver::Value(TypeRef { base: Base::Primitive, .. }) => {
                let mut names = self.jdk_members("java.lang.Object")?;
                names.extend(["length".into(), "clone".into()]);
                names
            }
            Receiver::Value(TypeRef { dims, .. }) if dims > 0 => {
                let mut names = self.jdk_members("java.lang.Object")?;
                names.extend(["length".into(), "clone".into()]);
                names
            }
            Receiver::Value(TypeRef { base: Base::Named(path), .. }) | Receiver::Type(path) => {
                let mut seen = Vec::new();
                self.type_members(&path, &mut seen)?
            }
        };
        names.extend(KEYWORDS.iter().map(|&k| Box::from(k)));
        names.sort();
        names.dedup();
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            names.hash(&mut h);
            h.finish()
        };
        Some((key, names.into()))
    }

    fn jdk_members(&self, canonical: &str) -> Option<Vec<Box<str>>> {
        let ty = self.index.get(canonical)?;
        // Package-private members are reachable from the type's own package.
        if self.analyzer.package.as_deref() == Some(&*ty.package) {
            return None;
        }
        Some(ty.members.clone())
    }

    /// Members of the type a path names, or `None` if not fully known.
    fn type_members(&self, path: &[Box<str>], seen: &mut Vec<usize>) -> Option<Vec<Box<str>>> {
        match self.resolve_type(path)? {
            Resolved::Jdk(canonical) => self.jdk_members(&canonical),
            Resolved::Own(id) => {
                if seen.contains(&id) {
                    return None;
                }
                seen.push(id);
                let class = &self.analyzer.classes[id];
                if !class.closed {
                    return None;
                }
                let mut names: Vec<Box<str>> = class.fields.iter().map(|(n, _)| n.clone()).collect();
                names.extend(class.methods.iter().cloned());
                names.extend(class.nested.iter().cloned());
                names.extend(self.jdk_members("java.lang.Object")?);
                match class.kind {
                    ClassKind::Enum => {
                        names.extend(self.jdk_members("java.lang.Enum")?);
                        names.extend(["values".into(), "valueOf".into()]);
                    }
                    ClassKind::Record => names.extend(self.jdk_members("java.lang.Record")?),
                    _ => {}
                }
                for sup in &class.supers {
                    let TypeRef { base: Base::Named(p), dims: 0 } = sup else { return None };
                    names.extend(self.type_members(p, seen)?);
                }
                Some(names)
            }
        }
    }

    /// Which type a name written in this file denotes, where sure.
    fn resolve_type(&self, path: &[Box<str>]) -> Option<Resolved> {
        let a = &self.analyzer;
        let first = path.first()?;
        if a.type_params.contains(first) {
            return None;
        }
        if path.len() > 1 {
            let full = path.join(".");
            if self.index.get(&full).is_some() {
                return Some(Resolved::Jdk(full));
            }
            let Resolved::Jdk(outer) = self.resolve_type(&path[..1])? else { return None };
            let nested = format!("{outer}.{}", path[1..].join("."));
            return self.index.get(&nested).is_some().then_some(Resolved::Jdk(nested));
        }
        let own: Vec<usize> =
            (0..a.classes.len()).filter(|&i| a.classes[i].name.as_deref() == Some(&**first)).collect();
        match own.len() {
            0 => {}
            1 => return Some(Resolved::Own(own[0])),
            _ => return None,
        }
        if let Some((_, canonical)) = a.single_imports.iter().find(|(s, _)| s == first) {
            return self.index.get(canonical).is_some().then(|| Resolved::Jdk(canonical.to_string()));
        }
        if let Some(package) = &a.package {
            if !self.index.has_package(package) {
                // A type of the file's own package, which we cannot see,
                // would hide `java.lang` and on-demand imports.
                return None;
            }
            if let Some(c) = self.index.in_package(package, first) {
                return Some(Resolved::Jdk(c.to_string()));
            }
        }
        let mut found = None;
        for package in std::iter::once("java.lang").chain(a.demand_imports.iter().map(|p| &**p)) {
            if let Some(c) = self.index.in_package(package, first) {
                if found.as_deref().is_some_and(|f: &str| f != c) {
                    return None;
                }
                found = Some(c.to_string());
            }
        }
        found.map(Resolved::Jdk)
    }

    /// Reference check of one token against the restriction, byte by byte:
    /// what [`Scope::apply`] computes for the whole vocabulary at once.
    pub fn allows(&self, bytes: &[u8]) -> bool {
        mask::allows(&self.restriction(), bytes)
    }

    /// Removes from `mask` the tokens the restriction forbids; leaves the
    /// mask alone if that would forbid everything, and then returns true.
    pub fn apply(&self, tables: &ScopeTables, mask: &mut toktrie::SimpleVob) -> bool {
        tables.apply(&self.restriction(), mask)
    }
}

/// See [`Scope::comment_bans`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommentBans {
    pub openers: bool,
    pub continuations: bool,
}

enum Resolved {
    Jdk(String),
    Own(usize),
}
