//! The symbol table: a shallow, lexeme-driven reading of Java that tracks
//! classes and their members, locals and parameters with their scopes, and
//! what the next name may be.
//!
//! It never needs to be right about everything, only never wrong about
//! what it claims: anything it does not fully understand resolves to
//! "unknown", and an unknown receiver or binding restricts nothing.

use std::collections::HashSet;

use super::lex::{Kind, Lexeme};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    Primitive,
    /// A type name as written, type arguments dropped (`java.util.List`).
    Named(Vec<Box<str>>),
    /// `var`, or a declaration read only in part.
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeRef {
    pub base: Base,
    pub dims: u32,
}

impl TypeRef {
    pub const UNKNOWN: TypeRef = TypeRef { base: Base::Unknown, dims: 0 };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassKind {
    Class,
    Interface,
    Enum,
    Record,
    /// Anonymous classes and enum-constant bodies: never a receiver type.
    Anonymous,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassInfo {
    pub name: Option<Box<str>>,
    pub kind: ClassKind,
    /// `extends` then `implements`, as written.
    pub supers: Vec<TypeRef>,
    pub has_extends: bool,
    pub fields: Vec<(Box<str>, TypeRef)>,
    pub methods: Vec<Box<str>>,
    /// Method and constructor signatures as written: name, type
    /// parameters and parameter types (names, `final` and annotations left out).
    pub signatures: Vec<String>,
    pub nested: Vec<Box<str>>,
    /// Its closing brace has been seen: the member lists are complete.
    pub closed: bool,
    in_enum_constants: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    File,
    Class(usize),
    /// A method, constructor, initialiser, lambda or statement block.
    Block,
    /// An array initialiser or anything not understood: nothing is declared in it.
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub kind: FrameKind,
    pub locals: Vec<(Box<str>, TypeRef)>,
    /// The lexemes of the statement or member header being read, at this
    /// brace level (inner brace blocks show as one `{}`).
    pub stmt: Vec<Lexeme>,
    depth: i32,
    /// The type of the declaration statement being read, once seen.
    decl_type: Option<TypeRef>,
    /// Names bound loosely (lambda and pattern variables, declarators
    /// read in passing) while this frame was innermost: visible until it
    /// closes, a scope at least as wide as Java's.
    pub loose: Vec<Box<str>>,
    /// The same for a `for` header: visible until its statement ends.
    pub stmt_loose: Vec<Box<str>>,
    /// After the closing brace, the enclosing statement goes on (array
    /// initialisers, anonymous classes, lambda bodies, switch expressions).
    continues_parent: bool,
}

impl Frame {
    /// Inside one open `(` or `[` of the statement.
    pub fn depth_is_one(&self) -> bool {
        self.depth == 1
    }

    /// Outside any `(` or `[` of the statement.
    pub fn depth_is_zero(&self) -> bool {
        self.depth == 0
    }

    fn new(kind: FrameKind, continues_parent: bool) -> Frame {
        Frame {
            kind,
            locals: Vec::new(),
            stmt: Vec::new(),
            depth: 0,
            decl_type: None,
            loose: Vec::new(),
            stmt_loose: Vec::new(),
            continues_parent,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analyzer {
    pub frames: Vec<Frame>,
    pub classes: Vec<ClassInfo>,
    pub package: Option<Box<str>>,
    /// `import a.b.C;` as (`C`, `a.b.C`).
    pub single_imports: Vec<(Box<str>, Box<str>)>,
    pub demand_imports: Vec<Box<str>>,
    /// Every name declared as a type parameter anywhere.
    pub type_params: HashSet<Box<str>>,
    /// Names that some construct read only loosely may bind (lambda and
    /// pattern variables, declarations in blocks): never resolved through
    /// a field.
    pub maybe_bound: HashSet<Box<str>>,
    /// First components of the package names the file mentions.
    pub package_roots: HashSet<Box<str>>,
    /// Members named by `import static a.B.name;`.
    pub static_names: Vec<Box<str>>,
    /// An `import static a.B.*;` was seen: any bare name may be one.
    pub static_on_demand: bool,
    /// A lowercase bare name just read where only a value can stand, as
    /// (byte offset, where it stands): the lexeme after it decides whether
    /// it was used as a value.
    pub pending_value_name: Option<(usize, ValuePosition)>,
    /// Byte offset of the latest bare name used as a value that nothing
    /// declared before it (see `Scope::undeclared_use`).
    pub undeclared_use: Option<usize>,
    /// Byte offset of the latest comment that began inside an unfinished
    /// statement, declaration or expression (see `Scope::misplaced_comment`).
    pub misplaced_comment: Option<usize>,
    recent: [Option<Lexeme>; 2],
}

pub const PRIMITIVES: [&str; 8] = ["boolean", "byte", "char", "short", "int", "long", "float", "double"];

pub const KEYWORDS: [&str; 53] = [
    "abstract",
    "assert",
    "boolean",
    "break",
    "byte",
    "case",
    "catch",
    "char",
    "class",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extends",
    "final",
    "finally",
    "float",
    "for",
    "goto",
    "if",
    "implements",
    "import",
    "instanceof",
    "int",
    "interface",
    "long",
    "native",
    "new",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "short",
    "static",
    "strictfp",
    "super",
    "switch",
    "synchronized",
    "this",
    "throw",
    "throws",
    "transient",
    "try",
    "void",
    "volatile",
    "while",
    "true",
    "false",
    "null",
];

const MODIFIERS: [&str; 13] = [
    "public",
    "protected",
    "private",
    "static",
    "final",
    "abstract",
    "native",
    "synchronized",
    "transient",
    "volatile",
    "strictfp",
    "default",
    "sealed",
];

pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s) || s == "_"
}

/// Contextual keywords that never name the type of a local declaration.
fn never_a_local_type(s: &str) -> bool {
    matches!(s, "yield" | "record" | "sealed" | "permits" | "non")
}

fn plain_word(l: &Lexeme) -> bool {
    l.kind == Kind::Word && !is_keyword(&l.text)
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer {
            frames: vec![Frame::new(FrameKind::File, false)],
            classes: Vec::new(),
            package: None,
            single_imports: Vec::new(),
            demand_imports: Vec::new(),
            type_params: HashSet::new(),
            maybe_bound: HashSet::new(),
            package_roots: ["java", "javax", "jdk", "sun", "com", "org", "net", "io"]
                .into_iter()
                .map(Box::from)
                .collect(),
            static_names: Vec::new(),
            static_on_demand: false,
            pending_value_name: None,
            undeclared_use: None,
            misplaced_comment: None,
            recent: [None, None],
        }
    }
}

/// Reads a type at `i`: primitive, `var` or a dotted name with type
/// arguments, then `[]` pairs. Returns it and the index after it.
pub fn parse_type(s: &[Lexeme], mut i: usize) -> Option<(TypeRef, usize)> {
    let first = s.get(i)?;
    if first.kind != Kind::Word {
        return None;
    }
    let base = if PRIMITIVES.contains(&&*first.text) {
        i += 1;
        Base::Primitive
    } else if is_keyword(&first.text) {
        return None;
    } else if first.is("var") {
        i += 1;
        Base::Unknown
    } else {
        let mut path = Vec::new();
        loop {
            let w = s.get(i).filter(|l| plain_word(l))?;
            path.push(w.text.clone());
            i += 1;
            if s.get(i).is_some_and(|l| l.is("<")) {
                i = skip_type_args(s, i)?;
            }
            if s.get(i).is_some_and(|l| l.is(".")) && s.get(i + 1).is_some_and(plain_word) {
                i += 1;
                continue;
            }
            break;
        }
        Base::Named(path)
    };
    let mut dims = 0;
    while s.get(i).is_some_and(|l| l.is("[")) && s.get(i + 1).is_some_and(|l| l.is("]")) {
        dims += 1;
        i += 2;
    }
    Some((TypeRef { base, dims }, i))
}

/// Skips `<...>` at `i` (which is `<`); only what may appear in type arguments.
fn skip_type_args(s: &[Lexeme], mut i: usize) -> Option<usize> {
    let mut depth = 0;
    while let Some(l) = s.get(i) {
        match &*l.text {
            "<" => depth += 1,
            ">" => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            "," | "?" | "." | "[" | "]" | "&" | "extends" | "super" => {}
            _ if plain_word(l) || PRIMITIVES.contains(&&*l.text) => {}
            _ => return None,
        }
        i += 1;
    }
    None
}

/// Skips modifiers and annotations (`@A`, `@a.B(…)`) at `i`.
fn skip_modifiers(s: &[Lexeme], mut i: usize) -> Option<usize> {
    loop {
        let l = match s.get(i) {
            Some(l) => l,
            None => return Some(i),
        };
        if MODIFIERS.contains(&&*l.text) {
            i += 1;
        } else if l.is("@") {
            if s.get(i + 1).is_some_and(|l| l.is("interface")) {
                return Some(i);
            }
            i += 1;
            while s.get(i).is_some_and(plain_word) {
                i += 1;
                if s.get(i).is_some_and(|l| l.is(".")) {
                    i += 1;
                } else {
                    break;
                }
            }
            if s.get(i).is_some_and(|l| l.is("(")) {
                i = matching_close(s, i)? + 1;
            }
        } else {
            return Some(i);
        }
    }
}

/// Index of the `)`/`]` that closes the `(`/`[` at `open`.
fn matching_close(s: &[Lexeme], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (j, l) in s.iter().enumerate().skip(open) {
        match &*l.text {
            "(" | "[" => depth += 1,
            ")" | "]" => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// Index of the `(`/`[` that the `)`/`]` at `close` closes.
pub fn matching_open(s: &[Lexeme], close: usize) -> Option<usize> {
    let mut depth = 0;
    for j in (0..=close).rev() {
        match &*s[j].text {
            ")" | "]" => depth += 1,
            "(" | "[" => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// `Mods Type Name` exactly spanning `s`: the declared name and type.
fn declaration(s: &[Lexeme]) -> Option<(Box<str>, TypeRef)> {
    let i = skip_modifiers(s, 0)?;
    if s.get(i).is_some_and(|l| never_a_local_type(&l.text)) {
        return None;
    }
    let (ty, j) = parse_type(s, i)?;
    let name = s.get(j).filter(|l| plain_word(l))?;
    (j + 1 == s.len()).then(|| (name.text.clone(), ty))
}

/// Splits `s[from..to]` at commas of bracket depth 0 and angle depth 0.
fn split_params(s: &[Lexeme], from: usize, to: usize) -> Vec<&[Lexeme]> {
    let (mut out, mut start, mut depth, mut angle) = (Vec::new(), from, 0, 0);
    for j in from..to {
        match &*s[j].text {
            "(" | "[" => depth += 1,
            ")" | "]" => depth -= 1,
            "<" => angle += 1,
            ">" => angle -= 1,
            "," if depth == 0 && angle == 0 => {
                out.push(&s[start..j]);
                start = j + 1;
            }
            _ => {}
        }
    }
    if start < to {
        out.push(&s[start..to]);
    }
    out
}

/// Where a method or constructor parameter's name is being written (`void
/// f(int a, int `, the statement so far): the names of the parameters
/// before it, which it may not repeat (javac's "already defined").
pub fn header_parameter_position(s: &[Lexeme]) -> Option<Vec<Box<str>>> {
    let open = s.iter().position(|l| l.is("("))?;
    header_signature(&s[..=open])?;
    if s.last().is_some_and(|l| l.is("(") || l.is(",")) {
        return None;
    }
    let pieces = split_params(s, open + 1, s.len());
    let (current, earlier) = pieces.split_last()?;
    let (_, mut end) = parse_type(current, skip_modifiers(current, 0)?)?;
    if current.get(end).is_some_and(|l| l.is("...")) {
        end += 1;
    }
    if end != current.len() {
        return None;
    }
    earlier.iter().map(|p| parameter(p).map(|(name, _)| name)).collect()
}

/// A formal parameter `Mods Type [...] Name [dims]`.
fn parameter(p: &[Lexeme]) -> Option<(Box<str>, TypeRef)> {
    let i = skip_modifiers(p, 0)?;
    let (mut ty, mut j) = parse_type(p, i)?;
    if p.get(j).is_some_and(|l| l.is("...")) {
        ty.dims += 1;
        j += 1;
    }
    let name = p.get(j).filter(|l| plain_word(l))?;
    match p.len() - j - 1 {
        0 => Some((name.text.clone(), ty)),
        _ => Some((name.text.clone(), TypeRef::UNKNOWN)), // `int a[]`, or not understood
    }
}

impl Analyzer {
    /// The table for text that starts inside a class body (`class_body`)
    /// or a method body (`method_body`) of a class we do not see.
    pub fn starting_inside(class_body: bool, method_body: bool) -> Analyzer {
        let mut a = Analyzer::default();
        if class_body || method_body {
            let id = a.anonymous_class(None);
            a.frames.push(Frame::new(FrameKind::Class(id), false));
        }
        if method_body {
            a.frames.push(Frame::new(FrameKind::Block, false));
        }
        a
    }

    pub fn frame(&self) -> &Frame {
        self.frames.last().expect("the file frame is never popped")
    }

    fn frame_mut(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("the file frame is never popped")
    }

    /// The innermost class frame's class, if any.
    pub fn innermost_class(&self) -> Option<usize> {
        self.frames.iter().rev().find_map(|f| match f.kind {
            FrameKind::Class(id) => Some(id),
            _ => None,
        })
    }

    pub fn push(&mut self, lexeme: Lexeme) {
        self.note_loose_bindings(&lexeme);
        let in_class_body = matches!(self.frame().kind, FrameKind::Class(_) | FrameKind::File);
        match &*lexeme.text {
            "{" if lexeme.kind == Kind::Punct => self.open_brace(),
            "}" if lexeme.kind == Kind::Punct => self.close_brace(),
            ";" if self.frame().depth == 0 => {
                self.declarator_end(false);
                self.end_statement();
            }
            ":" if self.frame().depth == 0 && self.frame().kind == FrameKind::Block && self.ends_a_label() => {
                // `case A:`, `default:` and `outer:` label the statement
                // that follows, which is read afresh (a declaration
                // `case A: int x = 1;` included).
                self.end_statement();
            }
            "=" | "," | ":" | "[" if self.frame().depth == 0 => {
                self.declarator_end(lexeme.is("["));
                self.append(lexeme);
            }
            "(" if self.frame().depth == 0 && in_class_body => {
                self.member_header();
                self.append(lexeme);
            }
            ")" if self.frame().depth == 1 && in_class_body => {
                if let (FrameKind::Class(id), Some(sig)) = (self.frame().kind, header_signature(&self.frame().stmt)) {
                    if !self.classes[id].in_enum_constants {
                        self.classes[id].signatures.push(sig);
                    }
                }
                self.append(lexeme);
            }
            _ => self.append(lexeme),
        }
        self.recent = [self.recent[1].take(), None];
    }

    fn append(&mut self, lexeme: Lexeme) {
        self.recent[1] = Some(lexeme.clone());
        let f = self.frame_mut();
        match &*lexeme.text {
            "(" | "[" if lexeme.kind == Kind::Punct => f.depth += 1,
            ")" | "]" if lexeme.kind == Kind::Punct => f.depth -= 1,
            _ => {}
        }
        f.stmt.push(lexeme);
    }

    /// Lambda parameters, pattern variables and anything that looks like a
    /// declarator inside code go to `maybe_bound`.
    fn note_loose_bindings(&mut self, next: &Lexeme) {
        let stmt = &self.frame().stmt;
        if next.is("->") {
            if let Some(last) = stmt.last() {
                if plain_word(last) {
                    let name = last.text.clone();
                    self.bind_loosely(vec![name]);
                } else if last.is(")") {
                    if let Some(open) = matching_open(stmt, stmt.len() - 1) {
                        let names: Vec<Box<str>> =
                            stmt[open..].iter().filter(|l| plain_word(l)).map(|l| l.text.clone()).collect();
                        self.bind_loosely(names);
                    }
                }
            }
            return;
        }
        let in_code = match self.frame().kind {
            FrameKind::Block | FrameKind::Other => true,
            FrameKind::Class(_) | FrameKind::File => assigns(stmt) || self.frame().depth > 0,
        };
        if !in_code || !matches!(&*next.text, "=" | ";" | "," | ":" | ")" | "&&" | "||" | "?" | "[" | "{") {
            return;
        }
        let n = stmt.len();
        if n >= 2 && plain_word(&stmt[n - 1]) {
            let before = &stmt[n - 2];
            let typeish = (before.kind == Kind::Word
                && (!is_keyword(&before.text) || PRIMITIVES.contains(&&*before.text)))
                || before.is(">")
                || before.is("]");
            // A later declarator of a `for` header: `for (int i = 0, j = n; …`,
            // `for (Node p = first(), q; …`.
            let for_declarator = before.is(",")
                && matches!(&*next.text, "=" | ";" | ",")
                && stmt.first().is_some_and(|l| l.is("for"))
                && !stmt.iter().any(|l| l.is(";"));
            if typeish || for_declarator {
                let name = stmt[n - 1].text.clone();
                self.bind_loosely(vec![name]);
            }
        }
    }

    /// Whether the innermost frame is an enum's constant list.
    pub fn in_enum_constants(&self) -> bool {
        matches!(self.frame().kind, FrameKind::Class(id) if self.classes[id].in_enum_constants)
    }

    /// Whether the name just read (the last lexeme) is being declared as a
    /// type parameter: inside the `<…>` right after a class, interface or
    /// record name, or at the start of a member header (`<T> T id(…)`).
    pub fn declaring_type_parameter(&self) -> bool {
        let s = &self.frame().stmt;
        let mut depth = 0;
        for k in (0..s.len().saturating_sub(1)).rev() {
            match &*s[k].text {
                ">" => depth += 1,
                "<" if depth > 0 => depth -= 1,
                "<" => {
                    let after_type_name =
                        k >= 2 && plain_word(&s[k - 1]) && matches!(&*s[k - 2].text, "class" | "interface" | "record");
                    return after_type_name || skip_modifiers(s, 0) == Some(k);
                }
                _ => {}
            }
        }
        false
    }

    /// Whether a `:` now ends a switch label or a statement label.
    fn ends_a_label(&self) -> bool {
        let s = &self.frame().stmt;
        match s.first() {
            Some(l) if l.is("case") => !s.iter().any(|l| l.is("->") || l.is("?")),
            Some(l) if l.is("default") => s.len() == 1,
            Some(l) => s.len() == 1 && plain_word(l),
            None => false,
        }
    }

    fn bind_loosely(&mut self, names: Vec<Box<str>>) {
        self.maybe_bound.extend(names.iter().cloned());
        let f = self.frame_mut();
        // In a class body the statement is the member: a header's
        // parameters (`void swap(int i, int j)`) stay visible through its
        // body and no further.
        let member = matches!(f.kind, FrameKind::Class(_) | FrameKind::File);
        if member || f.stmt.first().is_some_and(|l| l.is("for")) {
            f.stmt_loose.extend(names);
        } else {
            f.loose.extend(names);
        }
    }

    /// At `=`, `,`, `:`, `[` or `;` on depth 0: the statement so far may end a declarator.
    fn declarator_end(&mut self, array_after_name: bool) {
        let kind = self.frame().kind;
        if !matches!(kind, FrameKind::Block | FrameKind::Class(_)) {
            return;
        }
        let f = self.frame();
        let s = &f.stmt;
        let found = match &f.decl_type {
            None => declaration(s),
            Some(ty) => {
                let n = s.len();
                // A later declarator: `, name` at the end, the comma on depth 0.
                (n >= 2 && s[n - 2].is(",") && plain_word(&s[n - 1]) && comma_on_top(s, n - 2))
                    .then(|| (s[n - 1].text.clone(), ty.clone()))
            }
        };
        let Some((name, mut ty)) = found else { return };
        if array_after_name {
            ty = TypeRef::UNKNOWN; // `int a[]`: the brackets belong to the name
        }
        let f = self.frame_mut();
        if f.decl_type.is_none() {
            f.decl_type = Some(ty.clone());
        }
        match kind {
            FrameKind::Block => f.locals.push((name, ty)),
            FrameKind::Class(id) => self.classes[id].fields.push((name, ty)),
            _ => {}
        }
    }

    /// At `(` on depth 0 in a class body: a method or constructor header.
    fn member_header(&mut self) {
        let FrameKind::Class(id) = self.frame().kind else { return };
        let s = self.frame().stmt.clone();
        let s = &s[..];
        let Some(mut i) = skip_modifiers(s, 0) else { return };
        if s.get(i).is_some_and(|l| l.is("<")) {
            let Some(end) = skip_type_args(s, i) else { return };
            let names: Vec<Box<str>> = s[i..end].iter().filter(|l| plain_word(l)).map(|l| l.text.clone()).collect();
            self.type_params.extend(names);
            i = end;
        }
        let name = if s.len() == i + 1 && plain_word(&s[i]) {
            Some(s[i].text.clone()) // a constructor
        } else if s.get(i).is_some_and(|l| l.is("void")) {
            (s.len() == i + 2 && plain_word(&s[i + 1])).then(|| s[i + 1].text.clone())
        } else {
            parse_type(s, i).and_then(|(_, j)| (j + 1 == s.len() && plain_word(&s[j])).then(|| s[j].text.clone()))
        };
        if let Some(name) = name {
            if !self.classes[id].in_enum_constants {
                self.classes[id].methods.push(name);
            }
        }
    }

    fn end_statement(&mut self) {
        if self.frame().kind == FrameKind::File {
            self.file_statement();
        }
        self.end_enum_constants();
        let f = self.frame_mut();
        f.stmt.clear();
        f.stmt_loose.clear();
        f.depth = 0;
        f.decl_type = None;
    }

    /// `package a.b;` and the imports.
    fn file_statement(&mut self) {
        let s = &self.frame().stmt;
        let dotted = |from: usize| -> (String, bool) {
            let mut name = String::new();
            let mut star = false;
            for l in &s[from..] {
                if l.is("*") {
                    star = true;
                } else if l.kind == Kind::Word || l.is(".") {
                    name.push_str(&l.text);
                }
            }
            (name.trim_end_matches('.').to_string(), star)
        };
        let Some(i) = skip_modifiers(s, 0) else { return };
        let root = |name: &str| Box::from(name.split('.').next().unwrap_or(name));
        if s.get(i).is_some_and(|l| l.is("package")) {
            let (name, _) = dotted(i + 1);
            self.package_roots.insert(root(&name));
            self.package = Some(name.into());
        } else if s.first().is_some_and(|l| l.is("import")) {
            if s.get(1).is_some_and(|l| l.is("static")) {
                let (name, star) = dotted(2);
                self.package_roots.insert(root(&name));
                if star {
                    self.static_on_demand = true;
                } else if let Some((_, member)) = name.rsplit_once('.') {
                    self.static_names.push(member.into());
                }
                return;
            }
            let (name, star) = dotted(1);
            self.package_roots.insert(root(&name));
            if star {
                self.demand_imports.push(name.into());
            } else if let Some((_, simple)) = name.rsplit_once('.') {
                self.single_imports.push((simple.into(), name.as_str().into()));
            }
        }
    }

    fn open_brace(&mut self) {
        let (kind, continues, locals) = self.classify_brace();
        self.recent[1] = Some(Lexeme { kind: Kind::Punct, text: "{".into() });
        let mut frame = Frame::new(kind, continues);
        frame.locals = locals;
        self.frames.push(frame);
    }

    /// What the `{` about to open is, from the statement before it.
    fn classify_brace(&mut self) -> (FrameKind, bool, Vec<(Box<str>, TypeRef)>) {
        let outer = self.frame().kind;
        let s = self.frame().stmt.clone();
        let n = s.len();
        // A class, interface, enum, record or annotation type declaration.
        for (i, l) in s.iter().enumerate() {
            if l.kind == Kind::Word
                && matches!(&*l.text, "class" | "interface" | "enum" | "record")
                && !(i > 0 && (s[i - 1].is(".") || s[i - 1].is("::")))
                && s.get(i + 1).is_some_and(plain_word)
            {
                if l.is("record") && !s.get(i + 2).is_some_and(|x| x.is("(") || x.is("<")) {
                    continue;
                }
                let id = self.declare_class(&s, i);
                return (FrameKind::Class(id), false, Vec::new());
            }
        }
        let last = s.last().map(|l| &*l.text).unwrap_or("");
        if last == "->" {
            return (FrameKind::Block, true, Vec::new());
        }
        // An enum constant with a body.
        if let FrameKind::Class(id) = outer {
            if self.classes[id].in_enum_constants {
                let id = self.anonymous_class(None);
                return (FrameKind::Class(id), true, Vec::new());
            }
        }
        if last == ")" {
            let open = matching_open(&s, n - 1);
            // `new T(…) {`: an anonymous class.
            if let Some(open) = open {
                if let Some(ty) = created_type(&s, open) {
                    let id = self.anonymous_class(Some(ty));
                    return (FrameKind::Class(id), true, Vec::new());
                }
                let before = open.checked_sub(1).map(|k| &*s[k].text).unwrap_or("");
                match before {
                    "for" | "catch" | "try" => {
                        let locals = header_declarations(&s[open + 1..n - 1], before);
                        return (FrameKind::Block, false, locals);
                    }
                    "switch" => return (FrameKind::Block, !s.first().is_some_and(|f| f.is("switch")), Vec::new()),
                    "if" | "while" | "synchronized" => return (FrameKind::Block, false, Vec::new()),
                    _ => {}
                }
                if matches!(outer, FrameKind::Class(_)) && !assigns(&s[..open]) {
                    let params = split_params(&s, open + 1, n - 1).into_iter().filter_map(parameter).collect();
                    return (FrameKind::Block, false, params);
                }
            }
        }
        match outer {
            FrameKind::Class(_) | FrameKind::File => {
                if assigns(&s) || matches!(last, "(" | "," | "=") || self.frame().depth > 0 {
                    (FrameKind::Other, true, Vec::new())
                } else if s.iter().any(|l| l.is("(")) {
                    // `void f() throws E {`: a method whose header did not end in `)`.
                    let open = s.iter().position(|l| l.is("(")).expect("checked");
                    let close = matching_close(&s, open).unwrap_or(open);
                    let params = split_params(&s, open + 1, close).into_iter().filter_map(parameter).collect();
                    (FrameKind::Block, false, params)
                } else if s.is_empty() || (n == 1 && s[0].is("static")) {
                    (FrameKind::Block, false, Vec::new())
                } else {
                    // A compact record constructor `R {`, or not understood.
                    let compact = skip_modifiers(&s, 0).is_some_and(|i| i + 1 == n && plain_word(&s[i]));
                    (if compact { FrameKind::Block } else { FrameKind::Other }, false, Vec::new())
                }
            }
            FrameKind::Other => (FrameKind::Other, true, Vec::new()),
            FrameKind::Block => {
                if s.is_empty() || matches!(last, "else" | "try" | "finally" | "do" | ":" | "static") {
                    (FrameKind::Block, false, Vec::new())
                } else if matches!(last, "=" | "," | "(" | "]" | "{}" | "return" | "?") {
                    (FrameKind::Other, true, Vec::new())
                } else if last == ")" {
                    (FrameKind::Block, false, Vec::new())
                } else {
                    (FrameKind::Other, true, Vec::new())
                }
            }
        }
    }

    fn anonymous_class(&mut self, ty: Option<TypeRef>) -> usize {
        self.classes.push(ClassInfo {
            name: None,
            kind: ClassKind::Anonymous,
            supers: ty.into_iter().collect(),
            has_extends: true,
            fields: Vec::new(),
            methods: Vec::new(),
            signatures: Vec::new(),
            nested: Vec::new(),
            closed: false,
            in_enum_constants: false,
        });
        self.classes.len() - 1
    }

    /// A class header `… class Name <T> extends A implements B, C` with the keyword at `i`.
    fn declare_class(&mut self, s: &[Lexeme], i: usize) -> usize {
        let kind = match &*s[i].text {
            "class" => ClassKind::Class,
            "enum" => ClassKind::Enum,
            "record" => ClassKind::Record,
            _ => ClassKind::Interface,
        };
        let name = s[i + 1].text.clone();
        let mut j = i + 2;
        if s.get(j).is_some_and(|l| l.is("<")) {
            let end = skip_type_args(s, j).unwrap_or(s.len());
            self.type_params.extend(s[j..end].iter().filter(|l| plain_word(l)).map(|l| l.text.clone()));
            j = end;
        }
        let mut fields = Vec::new();
        let mut methods = Vec::new();
        if kind == ClassKind::Record && s.get(j).is_some_and(|l| l.is("(")) {
            let close = matching_close(s, j).unwrap_or(s.len() - 1);
            for (name, ty) in split_params(s, j + 1, close).into_iter().filter_map(parameter) {
                methods.push(name.clone());
                fields.push((name, ty));
            }
            j = close + 1;
        }
        let mut supers = Vec::new();
        let mut has_extends = false;
        let mut in_list = false;
        while j < s.len() {
            let l = &s[j];
            if l.is("extends") || l.is("implements") {
                has_extends |= l.is("extends") && kind == ClassKind::Class;
                in_list = true;
                j += 1;
                continue;
            }
            if l.is("permits") {
                in_list = false;
            }
            if in_list && plain_word(l) {
                match parse_type(s, j) {
                    Some((ty, end)) => {
                        supers.push(ty);
                        j = end;
                        continue;
                    }
                    None => supers.push(TypeRef::UNKNOWN),
                }
            }
            j += 1;
        }
        if let FrameKind::Class(outer) = self.frame().kind {
            self.classes[outer].nested.push(name.clone());
        }
        self.classes.push(ClassInfo {
            name: Some(name),
            kind,
            supers,
            has_extends,
            fields,
            methods,
            signatures: Vec::new(),
            nested: Vec::new(),
            closed: false,
            in_enum_constants: kind == ClassKind::Enum,
        });
        self.classes.len() - 1
    }

    /// At the `;` or `}` that ends an enum's constants: every name on
    /// depth 0 of the list becomes a field (annotation names too, which
    /// costs nothing but a missed ban).
    fn end_enum_constants(&mut self) {
        let FrameKind::Class(id) = self.frame().kind else { return };
        if !self.classes[id].in_enum_constants {
            return;
        }
        self.classes[id].in_enum_constants = false;
        let mut depth = 0;
        let mut names = Vec::new();
        for l in &self.frame().stmt {
            match &*l.text {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                _ if depth == 0 && plain_word(l) => names.push((l.text.clone(), TypeRef::UNKNOWN)),
                _ => {}
            }
        }
        self.classes[id].fields.extend(names);
    }

    fn close_brace(&mut self) {
        self.end_enum_constants();
        if self.frames.len() == 1 {
            self.frame_mut().stmt.clear();
            self.frame_mut().stmt_loose.clear();
            return; // unbalanced; the grammar refuses it anyway
        }
        let frame = self.frames.pop().expect("checked");
        if let FrameKind::Class(id) = frame.kind {
            self.classes[id].closed = true;
        }
        let parent = self.frame_mut();
        if frame.continues_parent {
            parent.stmt.push(Lexeme { kind: Kind::Punct, text: "{}".into() });
            self.recent[1] = parent.stmt.last().cloned();
        } else {
            parent.stmt.clear();
            parent.stmt_loose.clear();
            parent.depth = 0;
            parent.decl_type = None;
            self.recent[1] = None;
        }
    }

    /// The locals visible here, innermost first, up to the innermost class.
    pub fn visible_locals(&self) -> impl Iterator<Item = &(Box<str>, TypeRef)> {
        self.frames
            .iter()
            .rev()
            .take_while(|f| !matches!(f.kind, FrameKind::Class(_) | FrameKind::File))
            .flat_map(|f| f.locals.iter().rev())
    }

    /// Whether the name just read (the last lexeme of the statement) is a
    /// lowercase bare name standing where only an expression can: after an
    /// operator, `return`, `throw`, `[`, `:`, inside the parentheses of a
    /// call or of `if`/`while`/`switch`, first in a parenthesised
    /// expression, or at the start of a statement in a block. Conservative:
    /// a position that could hold a type or a declared name (`<`/`>` of type
    /// arguments, a method header, an annotation) is never one, and the
    /// lexeme after the name still decides (see [`ValuePosition`]).
    pub fn value_position_name(&self) -> Option<ValuePosition> {
        let f = self.frame();
        let s = &f.stmt;
        let w = s.last()?;
        let first = w.text.as_bytes().first()?;
        // A constant's name in a member header is more likely a type
        // variable of a list still being read (`<E_IN, E_OUT, S extends
        // Base<E_OUT>>`): only code is judged.
        let in_code = f.kind == FrameKind::Block || assigns(&f.stmt);
        let value_shaped = first.is_ascii_lowercase() || (in_code && constant_shaped(&w.text));
        if w.kind != Kind::Word || !value_shaped || is_keyword(&w.text) || is_contextual(&w.text) {
            return None;
        }
        if self.declaring_type_parameter() {
            return None;
        }
        let n = s.len();
        if n == 1 {
            return (f.kind == FrameKind::Block).then_some(ValuePosition::StatementStart);
        }
        let before = &s[n - 2];
        if before.kind == Kind::Word {
            return matches!(&*before.text, "return" | "throw" | "else" | "assert")
                .then_some(ValuePosition::Expression);
        }
        if before.kind != Kind::Punct {
            return None;
        }
        if is_value_operator(&before.text) || (before.is(">") && compares(&s[..n - 2])) {
            return Some(ValuePosition::Expression);
        }
        if before.is(")") {
            // After a cast (`(long) hi`) or a condition (`if (c) x = 1;`),
            // where a following `(` or name still makes it a call or a type.
            let open = matching_open(s, n - 2)?;
            let condition = open > 0 && matches!(&*s[open - 1].text, "if" | "while" | "for");
            return Some(if condition { ValuePosition::StatementStart } else { ValuePosition::Expression });
        }
        let open = match &*before.text {
            "(" => n - 2,
            "," => innermost_open(s, n - 2)?,
            _ => return None,
        };
        if !s[open].is("(") {
            None
        } else if self.call_paren(s, open) {
            Some(ValuePosition::Expression)
        } else if self.group_paren(s, open) {
            Some(ValuePosition::GroupStart)
        } else {
            None
        }
    }

    /// Whether the `(` at `open` opens a parenthesised expression, a cast or
    /// a lambda's parameters: it stands where a value must (after an
    /// operator, `return`, or inside parentheses that hold values), not
    /// after a name (a call or a header) or a keyword like `for`.
    fn group_paren(&self, s: &[Lexeme], open: usize) -> bool {
        let Some(before) = open.checked_sub(1).map(|k| &s[k]) else {
            return self.frame().kind == FrameKind::Block;
        };
        if before.kind == Kind::Word {
            return matches!(&*before.text, "return" | "throw" | "else" | "assert");
        }
        if before.kind != Kind::Punct {
            return false;
        }
        if is_value_operator(&before.text) {
            return true;
        }
        let outer = match &*before.text {
            "(" => open - 1,
            "," => match innermost_open(s, open - 1) {
                Some(k) => k,
                None => return false,
            },
            _ => return false,
        };
        s[outer].is("(") && (self.call_paren(s, outer) || self.group_paren(s, outer))
    }

    /// Whether the `(` at `open` holds arguments: of a call, `new T(…)`,
    /// `this(…)`/`super(…)`, or the condition of `if`/`while`/`switch`/
    /// `synchronized`, and not a method or record header or an annotation.
    fn call_paren(&self, s: &[Lexeme], open: usize) -> bool {
        let Some(callee) = open.checked_sub(1).map(|k| &s[k]) else { return false };
        if callee.kind != Kind::Word {
            return false;
        }
        if is_keyword(&callee.text) {
            return matches!(&*callee.text, "if" | "while" | "switch" | "synchronized" | "this" | "super");
        }
        // An annotation `@a.b.Name(`: walk back over the dotted name.
        let mut k = open - 1;
        while k >= 2 && s[k - 1].is(".") && s[k - 2].kind == Kind::Word {
            k -= 2;
        }
        if k >= 1 && (s[k - 1].is("@") || s[k - 1].is("record")) {
            return false;
        }
        // At depth 0 of a class body, a `(` is a member header unless an
        // initialiser (`=`) came first.
        let in_class_body = matches!(self.frame().kind, FrameKind::Class(_) | FrameKind::File);
        !(in_class_body && comma_on_top(s, open) && !assigns(&s[..open]))
    }
}

/// Operators after which an expression, never a type or a declared name,
/// follows (`<` too: in a statement that reaches here it compares).
fn is_value_operator(op: &str) -> bool {
    matches!(
        op,
        "=" | "+="
            | "-="
            | "*="
            | "/="
            | "%="
            | "&="
            | "|="
            | "^="
            | "<<="
            | ">>="
            | ">>>="
            | "=="
            | "!="
            | "<="
            | ">="
            | "&&"
            | "||"
            | "!"
            | "~"
            | "+"
            | "-"
            | "*"
            | "/"
            | "%"
            | "?"
            | ":"
            | "["
            | "++"
            | "--"
            | "->"
            | "&"
            | "|"
            | "^"
            | "<"
            | "<<"
    )
}

/// A name spelled like a constant (`MIN_VALUE`, `LONG_MASK`, `P_IN`):
/// capitals, digits and at least one underscore. Such a name is a value
/// (or a type variable like `P_IN`, which a declaration must introduce just
/// the same), never a class.
fn constant_shaped(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_uppercase()
        && b.contains(&b'_')
        && b.iter().all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
}

/// Whether a `>` after `s` compares rather than closes type arguments: no
/// `<` before it could open type arguments, that is every `<` follows a
/// lowercase name, a literal, `)` or `]` (`i < n && j > m`, not `List<T>`,
/// `Map.<K, V>of`, `<T> void`).
fn compares(s: &[Lexeme]) -> bool {
    s.iter().enumerate().filter(|(_, l)| l.is("<")).all(|(k, _)| {
        k > 0 && {
            let b = &s[k - 1];
            (b.kind == Kind::Word && b.text.as_bytes()[0].is_ascii_lowercase() && !is_keyword(&b.text))
                || b.kind == Kind::Literal
                || b.is(")")
                || b.is("]")
        }
    })
}

/// Where a lowercase bare name stands, for the lexeme after it to judge
/// (`Scope::undeclared_use`): a call `(`, a following name (then it was a
/// type), `->` or `::` always leave it alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValuePosition {
    /// First in a block statement: `:` after it makes it a label.
    StatementStart,
    /// Where only an expression stands.
    Expression,
    /// First in parentheses that may be a lambda's (`(a, b) -> …`,
    /// `(a) -> …`): `,` or `)` after it leave it alone.
    GroupStart,
}

/// Contextual keywords and restricted identifiers, which may stand where a
/// value's name would.
fn is_contextual(s: &str) -> bool {
    matches!(s, "var" | "yield" | "record" | "sealed" | "permits" | "non" | "when" | "module" | "open")
}

/// The innermost `(` or `[` still open before `at`.
fn innermost_open(s: &[Lexeme], at: usize) -> Option<usize> {
    let mut depth = 0;
    for k in (0..at).rev() {
        match &*s[k].text {
            ")" | "]" => depth += 1,
            "(" | "[" if depth == 0 => return Some(k),
            "(" | "[" => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Whether a class-level statement has an initialiser: an `=` outside
/// parentheses (`@Deprecated(since = "9")` in a method header is none).
fn assigns(s: &[Lexeme]) -> bool {
    let mut depth = 0;
    for l in s {
        match &*l.text {
            "(" | "[" => depth += 1,
            ")" | "]" => depth -= 1,
            "=" if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

fn comma_on_top(s: &[Lexeme], at: usize) -> bool {
    let mut depth = 0;
    for l in &s[..at] {
        match &*l.text {
            "(" | "[" => depth += 1,
            ")" | "]" => depth -= 1,
            _ => {}
        }
    }
    depth == 0
}

/// `new T(` with `(` at `open`: the type created.
fn created_type(s: &[Lexeme], open: usize) -> Option<TypeRef> {
    let mut k = open;
    // Walk back over the type (words, dots, type arguments) to `new`.
    let mut angle = 0;
    while k > 0 {
        k -= 1;
        let l = &s[k];
        match &*l.text {
            ">" => angle += 1,
            "<" => angle -= 1,
            "new" if angle == 0 => {
                return parse_type(s, k + 1).filter(|(_, end)| *end == open).map(|(t, _)| t).or(Some(TypeRef::UNKNOWN));
            }
            _ if angle > 0 || plain_word(l) || l.is(".") || l.is("@") => {}
            _ => return None,
        }
    }
    None
}

/// The variables a `for`, `catch` or `try` header declares for its block.
fn header_declarations(h: &[Lexeme], keyword: &str) -> Vec<(Box<str>, TypeRef)> {
    let mut out = Vec::new();
    match keyword {
        "for" => {
            let init_end = h.iter().position(|l| l.is(";") || l.is(":")).unwrap_or(h.len());
            let enhanced = h.get(init_end).is_some_and(|l| l.is(":"));
            let init = &h[..init_end];
            let Some(i) = skip_modifiers(init, 0) else { return out };
            let Some((ty, j)) = parse_type(init, i) else { return out };
            if enhanced {
                if j + 1 == init.len() && plain_word(&init[j]) {
                    out.push((init[j].text.clone(), ty));
                }
                return out;
            }
            // `T a = …, b = …`: names after the type and after depth-0 commas.
            if !init.get(j).is_some_and(plain_word) {
                return out;
            }
            for (k, part) in split_params(init, j, init.len()).into_iter().enumerate() {
                let Some(first) = part.first().filter(|l| plain_word(l)) else { continue };
                if part.len() == 1 || part[1].is("=") {
                    out.push((first.text.clone(), ty.clone()));
                } else if k == 0 || part[1].is("[") {
                    out.push((first.text.clone(), TypeRef::UNKNOWN));
                }
            }
        }
        "catch" => {
            let Some(i) = skip_modifiers(h, 0) else { return out };
            if let Some(name) = h.last().filter(|l| plain_word(l)) {
                let single = parse_type(h, i).filter(|(_, j)| j + 1 == h.len()).map(|(t, _)| t);
                if h.len() > i + 1 {
                    out.push((name.text.clone(), single.unwrap_or(TypeRef::UNKNOWN)));
                }
            }
        }
        _ => {
            for part in h.split(|l| l.is(";")) {
                let eq = part.iter().position(|l| l.is("=")).unwrap_or(part.len());
                if let Some((name, ty)) = declaration(&part[..eq]) {
                    out.push((name, ty));
                }
            }
        }
    }
    out
}

/// The signature of a method or constructor header whose parameter list is
/// still open and complete so far (`Mods [<T>] Type name(Type a, Type b`):
/// what a `)` now would declare. `None` if the header is not that.
pub fn header_signature(s: &[Lexeme]) -> Option<String> {
    let mut i = skip_modifiers(s, 0)?;
    let mut sig = String::new();
    if s.get(i).is_some_and(|l| l.is("<")) {
        let end = skip_type_args(s, i)?;
        s[i..end].iter().for_each(|l| sig.push_str(&l.text));
        i = end;
    }
    let open = s[i..].iter().position(|l| l.is("("))? + i;
    if open == i {
        return None;
    }
    let name = s.get(open - 1).filter(|l| plain_word(l))?;
    let returns = &s[i..open - 1];
    if returns.iter().any(|l| matches!(&*l.text, "record" | "class" | "interface" | "enum" | "new" | "=")) {
        return None;
    }
    let header_ok = returns.is_empty()
        || returns.len() == 1 && returns[0].is("void")
        || parse_type(returns, 0).is_some_and(|(_, end)| end == returns.len());
    if !header_ok || s[open + 1..].iter().any(|l| l.is("(") || l.is("@")) {
        return None;
    }
    if returns.is_empty() {
        // A constructor: a method may carry the class's name too.
        sig.push_str("new ");
    }
    sig.push_str(&name.text);
    sig.push('(');
    if open + 1 < s.len() {
        for p in split_params(s, open + 1, s.len()) {
            let mut j = 0;
            while p.get(j).is_some_and(|l| l.is("final")) {
                j += 1;
            }
            let (_, end) = parse_type(p, j)?;
            let dots = p.get(end).is_some_and(|l| l.is("..."));
            let name_at = end + usize::from(dots);
            if !(name_at + 1 == p.len() && plain_word(&p[name_at])) {
                return None;
            }
            p[j..end].iter().for_each(|l| sig.push_str(&l.text));
            if dots {
                sig.push_str("...");
            }
            sig.push(',');
        }
    }
    Some(sig)
}
