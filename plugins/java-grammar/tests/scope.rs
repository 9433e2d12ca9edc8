//! Scope-aware decoding (`java_scope`): what the symbol table allows,
//! refuses (at the exact byte), and how it rolls back.

mod common;

use std::sync::Arc;

use common::{byte_vocab, BYTE_EOS};
use logitloom_java_grammar::scope::{Restriction, Scope, ScopeTables};
use logitloom_java_grammar::{BodyKind, ConstraintError, JavaConstraint, StartMode, Vocabulary};

const FILE: StartMode = StartMode::File;
const BODY: StartMode = StartMode::MethodBody(BodyKind::Infer);

fn check(mode: StartMode, src: &str) -> Result<(), ConstraintError> {
    let mut c = JavaConstraint::new(byte_vocab(), mode)?;
    c.enable_scope();
    c.feed(&src.bytes().map(u32::from).collect::<Vec<_>>())?;
    c.feed(&[BYTE_EOS])
}

#[track_caller]
fn accepts(mode: StartMode, src: &str) {
    if let Err(e) = check(mode, src) {
        panic!("refused a valid program: {e}\n---\n{src}");
    }
}

/// `src` has one `⟪` just before the byte that must be refused; the
/// grammar alone accepts the program without the marker up to there.
#[track_caller]
fn refuses_at(mode: StartMode, marked: &str) {
    let at = marked.find('⟪').expect("marker");
    let src = marked.replace('⟪', "");
    let before = &src[..at];
    let line = 1 + before.matches('\n').count();
    let column = 1 + before.rsplit('\n').next().unwrap_or("").chars().count();
    match check(mode, &src) {
        Ok(()) => panic!("accepted:\n{src}"),
        Err(ConstraintError::Rejected { line: l, column: c, .. }) => {
            assert_eq!((l, c), (line, column), "refused at the wrong place:\n{src}")
        }
        Err(e) => panic!("unexpected error {e}"),
    }
    // Without the symbol table the same text is fine up to the marker.
    let mut plain = JavaConstraint::new(byte_vocab(), mode).unwrap();
    plain.feed(&src.as_bytes()[..=at].iter().map(|&b| u32::from(b)).collect::<Vec<_>>()).expect("grammar accepts");
}

#[test]
fn rejections_at_the_exact_byte() {
    // A method the JDK type does not have (`len` leads to `length`).
    refuses_at(BODY, "String s = \"x\";\nint n = s.len⟪x();");
    // `.` after an `int`.
    refuses_at(BODY, "int n = 1;\nString t = n⟪.toString();");
    refuses_at(BODY, "int[] a = new int[3];\nint m = a[0]⟪.length;");
    // A duplicate local: the name ends at the space.
    refuses_at(BODY, "int x = 1;\nif (x > 0) {\n  int x⟪ = 2;\n}");
    refuses_at(BODY, "for (int i = 0; i < 3; i++) {\n  String i⟪ = \"\";\n}");
    // A duplicate parameter, of a method and of a constructor.
    refuses_at(FILE, "class A {\n  int f(Object a, int a⟪) { return 0; }\n}");
    refuses_at(FILE, "class A {\n  A(int n, java.util.List<String> xs, int... n⟪) { }\n}");
    // A name the receiver's class does not declare: a closed class of this file.
    refuses_at(
        FILE,
        "class A {\n  static class Node { int value; Node next; }\n  void f(Node n) {\n    n.next = null;\n    n.pr⟪ev = null;\n  }\n}",
    );
    // Static access on a JDK type.
    refuses_at(BODY, "double d = Math.sqr⟪oot(2.0);");
    // `super.` in a class without `extends` names only Object's members.
    refuses_at(FILE, "class A {\n  public String toString() { return super.fo⟪o(); }\n}");
    // A method declared twice: the `)` that would repeat the signature.
    refuses_at(
        FILE,
        "class A {\n  int get(int i) { return i; }\n  void put(String s) { }\n  int get(int j⟪) { return j; }\n}",
    );
    refuses_at(FILE, "class A {\n  boolean isEmpty() { return true; }\n  boolean isEmpty(⟪) { return false; }\n}");
    // A method may carry its class's name next to a constructor of the same parameters.
    accepts(FILE, "class A {\n  A() { }\n  void A() { }\n  A(int i) { }\n  int A(int j) { return j; }\n}");
    accepts(FILE, "class A {\n  int get(int i) { return i; }\n  int get(long i) { return 0; }\n  int get(int i, int k) { return k; }\n  A() { }\n  A(int get) { }\n  class B { int get(int i) { return 1; } }\n}");
    // An array has `length`, not `size`.
    refuses_at(BODY, "int[] a = {1};\nint k = a.s⟪ize;");
}

#[test]
fn shadowing_and_nested_classes() {
    accepts(
        FILE,
        "class A {
  String name;
  int[] data;
  void f() { name.length(); }
  void g(int name) { int k = name + 1; }
  void h() { for (String name : java.util.List.of(\"a\")) { name.isEmpty(); } }
  class Inner {
    int g() { return data.length + name.length(); }
    String name() { return name.trim(); }
  }
  static class Nested { long name; long f() { return name + 1; } }
  void i() { java.util.function.Function<Integer, Integer> fn = name -> name.intValue(); }
}",
    );
    // A local hides the field: `.` after it is judged by the local's type.
    refuses_at(FILE, "class A {\n  String s;\n  void f() {\n    int s = 1;\n    s⟪.length();\n  }\n}");
}

#[test]
fn static_and_instance_access() {
    accepts(
        BODY,
        "int m = Math.max(1, 2);
int p = Integer.parseInt(\"1\") + Integer.MAX_VALUE;
String v = String.valueOf(m).trim().toUpperCase();
StringBuilder sb = new StringBuilder();
sb.append(v).append(p);
java.util.List<String> list = new java.util.ArrayList<>();
list.add(v);
list.stream().map(String::length).count();
java.util.Map.Entry<String, Integer> e = java.util.Map.entry(\"a\", 1);
e.getKey();",
    );
}

#[test]
fn generics_and_unknowns_stay_open() {
    accepts(
        FILE,
        "import java.util.*;
class Box<T extends Comparable<T>> {
  T v;
  List<T> items = new ArrayList<>();
  int f() { return v.compareTo(v) + v.anythingAtAll(); }
  <U> U g(U u) { u.whatever(); return u; }
  void h(Foo foo) { foo.bar().baz(); items.get(0).qux(); unknownField.x(); later.y(); }
  Later later;
}",
    );
}

#[test]
fn lambdas_and_pattern_variables() {
    accepts(
        BODY,
        "Runnable r = () -> { int q = 1; };
int q = 2;
Object o = \"s\";
if (o instanceof String s) { s.length(); }
java.util.function.BiFunction<String, String, Integer> f = (a, b) -> a.length() + b.length();
switch (q) { case 1: int z = 1; break; case 2: z = 2; break; default: }",
    );
    // A lambda body's locals clash with the method's.
    refuses_at(BODY, "int q = 1;\nRunnable r = () -> { int q⟪ = 2; };");
}

#[test]
fn a_for_variable_goes_out_of_scope_after_the_loop() {
    accepts(
        BODY,
        "for (int i = 0; i < 3; i++) { }\nint i = 5;\nfor (int j : new int[] {1}) { int k = j; }\nint k = 1, j = 2;",
    );
    accepts(BODY, "try { int e = 1; } catch (RuntimeException e) { e.getMessage(); } finally { }\nint e = 0;");
    refuses_at(BODY, "for (int i = 0; i < 3; i++) {\n  for (int i⟪ = 0; ; ) { }\n}");
}

#[test]
fn this_and_super_access() {
    accepts(
        FILE,
        "class A extends java.util.ArrayList<String> {
  String label;
  int n;
  A() { super(); this.label = \"a\"; this.label.length(); super.add(\"x\"); super.modCount++; }
  public String toString() { return super.toString() + this.n; }
}
class B { public int hashCode() { return super.hashCode(); } }
class C extends Unknown { void f() { super.anything(); } }",
    );
    refuses_at(FILE, "class A {\n  int n;\n  void f() { this.n⟪.x(); }\n}");
}

#[test]
fn records_enums_and_own_classes() {
    accepts(
        FILE,
        "record P(int x, String name) {
  P { if (x < 0) throw new IllegalArgumentException(); }
  int twice() { return name.length() * 2; }
}
enum Color { RED, GREEN; Color next() { return values()[(ordinal() + 1) % 2]; } }
class Use {
  void f(P p, Color c) { p.x(); p.name().trim(); c.ordinal(); c.name(); c.next(); Color.valueOf(\"RED\"); }
}",
    );
    refuses_at(FILE, "record P(int x) {}\nclass Use {\n  void f(P p) { p.⟪y(); }\n}");
}

/// Tokens of a BPE-like vocabulary: every byte plus words and fragments
/// with and without leading whitespace and trailing punctuation.
fn bpe_vocab() -> Vec<Vec<u8>> {
    let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    let words = [
        "length", "len", "gth", "size", "s", "x", "i", "int", "String", "toString", "to", "St", "equals", "value",
        "next", "n", "name", "charAt", "trim", "max", "Math", "sqrt", "append", "a", "q", "k", "e", "getKey", "foo",
        "bar",
    ];
    for w in words {
        for pre in ["", " ", ".", "\n    "] {
            for post in ["", "(", "()", ";", " =", ".", ")"] {
                tokens.push(format!("{pre}{w}{post}").into_bytes());
            }
        }
    }
    tokens.push(b"<|endoftext|>".to_vec());
    tokens
}

const PROGRAMS: [&str; 3] = [
    "class A {\n  static class Node { int value; Node next; }\n  String name;\n  void f(Node n, int[] a) {\n    int x = a.length + n.value;\n    n.next.value = x;\n    String s = name.trim().toString();\n    for (int i = 0; i < x; i++) { s.charAt(i); }\n    double d = Math.sqrt(x) + Math.max(1, 2);\n  }\n}\n",
    "import java.util.*;\nclass B {\n  Map<String, Integer> m = new HashMap<>();\n  int size() { int k = m.size(); StringBuilder sb = new StringBuilder(); sb.append(k).append(\"x\"); return k; }\n  public boolean equals(Object o) { return super.equals(o); }\n}\n",
    "class C { int q; void g() { int e = q; q = e + this.q; String t = \"ab\".trim(); t.length(); } }\n",
];

/// The vocabulary mask of the symbol table equals the token-by-token
/// reference at every byte of several programs.
#[test]
fn scope_masks_equal_the_reference() {
    let tokens = bpe_vocab();
    let eos = (tokens.len() - 1) as u32;
    let tables = ScopeTables::new(&tokens, tokens.len(), eos);
    let mut restricted = 0;
    for program in PROGRAMS {
        let mut scope = Scope::new();
        for (at, b) in program.bytes().enumerate() {
            let restriction = scope.restriction();
            if restriction != Restriction::None {
                restricted += 1;
                let mut mask = toktrie::SimpleVob::alloc(tokens.len());
                mask.set_all(true);
                tables.apply(&restriction, &mut mask);
                for (id, bytes) in tokens.iter().enumerate().filter(|&(id, _)| id as u32 != eos) {
                    assert_eq!(
                        mask.is_allowed(id as u32),
                        scope.allows(bytes),
                        "token {:?} after {:?} ({restriction:?})",
                        String::from_utf8_lossy(bytes),
                        &program[..at]
                    );
                }
            }
            scope.observe(&[b]);
        }
    }
    assert!(restricted > 50, "only {restricted} restricted positions");
}

/// After a rewind, the table equals the one built from the kept text, at
/// every cut of several programs fed as multi-byte tokens.
#[test]
fn rollback_equals_rebuilding_from_the_kept_text() {
    for program in PROGRAMS {
        // Tokens of 1 to 4 bytes, so cuts fall inside and between lexemes.
        let mut chunks = Vec::new();
        let bytes = program.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let len = 1 + (i * 7 + 3) % 4;
            chunks.push(&bytes[i..(i + len).min(bytes.len())]);
            i += len;
        }
        let mut full = Scope::new();
        chunks.iter().for_each(|c| full.observe(c));
        for keep in (0..chunks.len()).rev().step_by(3) {
            let mut rewound = full.clone();
            rewound.rollback_to(keep);
            let mut rebuilt = Scope::new();
            chunks[..keep].iter().for_each(|c| rebuilt.observe(c));
            assert_eq!(rewound, rebuilt, "after rolling back to {keep} tokens");
            assert_eq!(rewound.restriction(), rebuilt.restriction());
            // And it goes on identically.
            chunks[keep..].iter().for_each(|c| rewound.observe(c));
            assert_eq!(rewound, full);
        }
    }
}

/// Through the constraint, with multi-byte tokens: after `s.` for a
/// `String s`, the grammar allows any name and the scope only String's.
#[test]
fn the_constraint_masks_members_with_the_scope_on() {
    let mut tokens = bpe_vocab();
    let eos = (tokens.len() - 1) as u32;
    tokens.truncate(eos as usize);
    let vocab = Arc::new(
        Vocabulary::new(tokens.iter().cloned().chain([b"<|endoftext|>".to_vec()]).collect(), tokens.len() + 1, eos)
            .unwrap(),
    );
    let mut c = JavaConstraint::new(vocab.clone(), BODY).unwrap();
    c.enable_scope();
    let text: Vec<u32> = "int n = 1; String s = \"a\"; s.".bytes().map(u32::from).collect();
    c.feed(&text).unwrap();
    let mask = c.mask().unwrap();
    let grammar = c.grammar_mask().unwrap();
    let id = |t: &str| tokens.iter().position(|x| x == t.as_bytes()).unwrap() as u32;
    assert!(mask.is_allowed(id("length()")) && mask.is_allowed(id("trim")) && mask.is_allowed(id("len")));
    assert!(grammar.is_allowed(id("size()")) && !mask.is_allowed(id("size()")));
    assert!(!mask.is_allowed(id("foo")));
}

/// The byte offset of the first bare name `Scope::undeclared_use` points at
/// when `src` is observed one byte per token (`None` if none is).
fn first_undeclared(src: &str) -> Option<usize> {
    let mut scope = Scope::new();
    for (i, b) in src.bytes().enumerate() {
        scope.observe(&[b]);
        if let Some(at) = scope.undeclared_use() {
            assert!(at <= i, "points past the text");
            return Some(at);
        }
    }
    None
}

/// Each `flagged` program (one `⟪` before the name's first byte) is
/// reported exactly there; each `clean` one not at all.
#[track_caller]
fn assert_undeclared_reports(flagged: &[&str], clean: &[&str]) {
    for marked in flagged {
        let at = marked.find('⟪').expect("marker");
        let src = marked.replace('⟪', "");
        assert_eq!(first_undeclared(&src), Some(at), "{src}");
    }
    for src in clean {
        assert_eq!(first_undeclared(src), None, "{src}");
    }
}

/// Under `declared_before_use`: a lowercase bare name used as a value with
/// no declaration above it is reported at its first byte, once the byte
/// after it shows it is a value; every way a name can be declared or used
/// without being a value is left alone.
#[test]
fn undeclared_values_are_found_at_their_first_byte() {
    let flagged = [
        "class A { int f(int[] a) { return ⟪toIndex - 1; } }",
        "class A { int f(int n) { int s = 0; s += ⟪count; return s; } }",
        "class A { void f() { ⟪sources.add(1); } }",
        "class A { int f(int[] a) { return a[⟪i]; } }",
        "class A { void f(int x) { if (⟪ready) { } } }",
        "class A { void g(int a, int b) { g(1, ⟪low); } }",
        "class A { void f() { for (int i = 0; i < 3; i++) { } int j = ⟪i; } }",
        "class A { int x = 1; static class B { int f() { return x + ⟪y; } } }",
        "import java.util.*; class A extends ArrayList<String> { int f() { return ⟪sizes; } }",
        // First in a parenthesised expression.
        "class A { int f(int hi) { int mid = (⟪low + hi) >>> 1; return mid; } }",
        "class A { int f() { return (⟪nib == 0 ? 1 : 2); } }",
        "class A { void f(int[] a, int n) { int q; while ((⟪r = a[n]) == 0) { } } }",
        "class A { void f(int n) { g(n, (⟪k - 1)); } void g(int a, int b) { } }",
        // Constants, and a type variable spelled like one, must be declared.
        "class A { long f(long a) { return a & ⟪LONG_MASK; } }",
        "class A { boolean f(int h, int l) { return h - l > ⟪MIN_MERGE; } }",
        "class A<E> { void f() { java.util.List<⟪P_IN> xs = null; } }",
        // A parameter of another method is not in scope.
        "class A { void swap(int[] a, int i, int j) { } void sort(int[] a) { int t = a[⟪i]; } }",
        // After a comparing `>`, a cast, a condition; before `instanceof`.
        "class A { boolean f(int i) { return i > ⟪hi; } }",
        "class A { boolean f(int i, int n) { return i < n && i > ⟪lo; } }",
        "class A { long f() { return (long) ⟪hi; } }",
        "class A { void f(boolean c) { if (c) ⟪x = 1; } }",
        "class A { boolean f() { return ⟪o instanceof String; } }",
    ];
    let clean = [
        // Declared before use: locals, parameters, fields, outer fields, for variables.
        "class A { int n; int f(int[] a) { int k = 2; for (int i = 0; i < k; i++) { n += a[i]; } return n; } }",
        "class A { int x; class B { int f() { return x; } } }",
        "class A { void f(int n) { for (int a = 0, b = n; a < b; a++, b--) { } } }",
        "class A { int g() { return 1; } void f(int n) { for (int p = g(), q; ; p = q) { q = p; } } }",
        "class A { int get() { return 1; } boolean w(int a, int b) { return true; } int f(int x) { int prev = get(), next = 0; for (boolean have = false;;) { if (!have) next = x; if (w(prev, next)) return next; have = (prev == (prev = get())); } } }",
        "class A { int f(int k) { switch (k) { case 1: int b1, b2; b1 = 2; b2 = b1; return b2; default: return 0; } } }",
        "class A { @Deprecated(since = \"9\") int g() { return 1; } int f() { int prev = g(), next = 0; return next; } }",
        "class A { int g() { return 1; } int f() { int prev = g(), next = 0; for (;;) { next = prev; return next; } } }",
        // Calls (methods may come later), types, lambdas, method references, labels.
        "class A { int f() { return g() + h(1); } int g() { return 1; } int h(int v) { return v; } }",
        "import java.util.function.*; class A { void f() { IntUnaryOperator u = v -> v + 1; Runnable r = this::f; } }",
        "class A { void f() { outer: for (;;) { break outer; } } }",
        "class A { void f() { myType t = null; } }",
        // Lambda parameters and casts in parentheses.
        "import java.util.*; class A { void f(List<Integer> l) { l.sort((a, b) -> a - b); Runnable r = () -> { }; } }",
        "import java.util.function.*; class A { IntUnaryOperator u = (v) -> v + 1; Object f(Object o) { return (myType) o; } }",
        // Inherited from a known JDK supertype, from an unknown one, from an anonymous class.
        "import java.util.*; class A extends AbstractList<String> { public String get(int i) { return null; } public int size() { modCount++; return modCount; } }",
        "class A extends Unknown { int f() { return inherited; } }",
        "class A { Object o = new Object() { int f() { return anything; } }; }",
        // Packages, static imports, pattern and lambda variables, enum constants, record components.
        "class A { Object o = java.util.List.of(); }",
        "import static java.lang.Math.max; class A { int f() { return max; } }",
        "import static java.lang.Math.*; class A { double f() { return hypot; } }",
        "class A { boolean f(Object o) { return o instanceof String s && s.isEmpty(); } }",
        "enum E { red, green; E next() { return red; } }",
        "record P(int x, int y) { int sum() { return x + y; } }",
        // The enclosing method's locals inside a local class.
        "class A { void f() { int k = 1; class L { int g() { return k; } } } }",
        // Constants declared above, inherited from a JDK type, imported; type variables declared.
        "class A { static final long LONG_MASK = 0xffffffffL; long f(long a) { return a & LONG_MASK; } }",
        "class A extends Thread { int f() { return MAX_PRIORITY - 1; } }",
        "import static java.lang.Integer.MAX_VALUE; class A { int f() { return MAX_VALUE; } }",
        "class A<P_IN, E_OUT> { java.util.List<P_IN> xs; E_OUT f(P_IN p) { return null; } }",
        "enum E { NOT_SET, SET_ONCE; E next() { return NOT_SET; } }",
        // `>` closing type arguments, a cast to a type, `instanceof` after a declared name.
        "import java.util.*; class A { void f() { List<String> names = new ArrayList<>(); Map<String, List<Integer>> byName = null; } }",
        "import java.util.*; class A { <T> List<T> f() { return Collections.<T>emptyList(); } }",
        "class A { Object f(Object o) { return (String) o; } boolean g(Object o) { return o instanceof String; } }",
        "class A { void f(boolean c, int x) { if (c) x = 1; while (c) c = false; } }",
        // Annotation elements and headers are not values.
        "class A { @SuppressWarnings(value = \"x\") void f(int a) { } }",
    ];
    assert_undeclared_reports(&flagged, &clean);
}

/// The report follows the text through rewinds like the rest of the table.
#[test]
fn an_undeclared_use_goes_away_with_the_rewind_that_removes_it() {
    let src = "class A { int f() { return missing; } }";
    let mut scope = Scope::new();
    src.bytes().for_each(|b| scope.observe(&[b]));
    let at = scope.undeclared_use().expect("found");
    assert_eq!(at, src.find("missing").unwrap());
    scope.rollback_to(at);
    assert_eq!(scope.undeclared_use(), None);
    b"0; } }".iter().for_each(|&b| scope.observe(&[b]));
    assert_eq!(scope.undeclared_use(), None);
    let mut again = scope.clone();
    again.rollback_to(at);
    b"other; } }".iter().for_each(|&b| again.observe(&[b]));
    assert_eq!(again.undeclared_use(), Some(at));
}

/// Types under `declared_before_use`: a JDK type must be imported before
/// it is used, and a type variable declared; other type names (a nested
/// class declared further down) stay free.
#[test]
fn unimported_jdk_types_and_undeclared_type_variables_are_found() {
    let flagged = [
        "class A { ⟪BigInteger f() { return null; } }",
        "import java.util.*; class A { void f(⟪Consumer<String> c) { } }",
        "class A<E> { Node<⟪K, V> head; }",
        "class A { void f() { Object o = new ⟪ArrayList<String>(); } }",
    ];
    let clean = [
        "import java.math.BigInteger; class A { BigInteger f() { return BigInteger.ONE; } }",
        "import java.util.*; import java.util.function.*; class A { List<String> l; void f(Consumer<String> c) { } }",
        "class A<K, V> { Node<K, V> head; static class Node<K, V> { } }",
        "class A { <T> T id(T t) { return t; } static <K extends Comparable<K>> K max(K a, K b) { return a; } }",
        "class A { String s = String.valueOf(Math.PI); Integer i = Integer.MAX_VALUE; Object o = Math.E; }",
        "class A { static class List { } List l; }",
        "enum Letter { A, B; Letter next() { switch (this) { case A: return B; default: return A; } } }",
        "import org.example.*; class A { Stack s; }",
        "package p; class A { Stack s; }",
        "import java.util.*; class A extends AbstractMap<String, String> { SimpleEntry<String, String> e; public Set<Entry<String, String>> entrySet() { return null; } }",
    ];
    assert_undeclared_reports(&flagged, &clean);
}

/// Where every token the grammar allows names something the table knows is
/// not there (`s.short…` on a `String`: the grammar reads `short` as the
/// start of a longer identifier, the type has no member `short…`), the mask
/// gives them all back and says so, and accepting one of them is not then
/// refused: a mask and its check on accept never disagree. Found in a
/// benchmark run, where such a token ended the generation with an error.
#[test]
fn a_scope_dead_end_keeps_the_mask_and_the_accept_check_in_agreement() {
    let text = "class A { void f(String s) { String t = s.short";
    let mut c = JavaConstraint::new(byte_vocab(), FILE).unwrap();
    c.enable_scope();
    let bytes: Vec<u32> = text.bytes().map(u32::from).collect();
    c.feed(&bytes[..bytes.len() - 1]).unwrap();
    let mask = c.mask().unwrap();
    // `s.shor` may still become the keyword `short`, which the table allows.
    assert!(!c.scope_dead_end());
    assert!(mask.is_allowed(u32::from(b't')));
    c.accept(u32::from(b't')).unwrap();
    let mask = c.mask().unwrap();
    assert!(c.scope_dead_end());
    let offered: Vec<u32> = mask.iter().filter(|&t| t != BYTE_EOS).collect();
    assert!(!offered.is_empty());
    for t in offered {
        let mut probe = c.fork();
        probe.accept(t).unwrap_or_else(|e| panic!("the mask offered {:?} but accept refused it: {e}", t as u8 as char));
    }
    // Past it, the table waives nothing it did not have to; rewound, it
    // judges as before.
    c.accept(u32::from(b'L')).unwrap();
    assert!(!c.scope_dead_end(), "no mask has been computed here yet");
    c.rollback(2).unwrap();
    c.mask().unwrap();
    assert!(!c.scope_dead_end());
}

/// The byte offset of the first comment `Scope::misplaced_comment` points
/// at when `src` is observed one byte per token (`None` if none is).
fn first_misplaced_comment(src: &str) -> Option<usize> {
    let mut scope = Scope::new();
    for b in src.bytes() {
        scope.observe(&[b]);
        if let Some(at) = scope.misplaced_comment() {
            return Some(at);
        }
    }
    None
}

/// Under `comments_between_statements`: a comment that begins inside an
/// unfinished statement, declaration or expression is reported at its
/// first byte as soon as its second byte is written; comments between
/// statements, between members, at the start of a block and inside string
/// literals are not.
#[test]
fn comments_inside_unfinished_statements_are_found_where_they_begin() {
    let flagged = [
        "class A { int f(int a) { return a + ⟪// why\n 1; } }",
        "class A { int f(int a) { return a ⟪/* why */ + 1; } }",
        "class A { java.util.List<String> ⟪// a list\n names; }",
        "class A { void f(int[] a) { for (int i = 0; i < a.⟪// x\nlength; i++) { } } }",
        "class A { void f(int[] a) { for (int i = 0; i < a[⟪// x\n0]; i++) { } } }",
        "class A { void f() { g(1, ⟪// second\n 2); } void g(int a, int b) { } }",
        "class A { int x = 1 ⟪// no semicolon yet\n; }",
    ];
    let clean = [
        "class A { // a class\n int x; // a field\n /** doc */ int f() { // body\n return x; // done\n } // end\n }",
        "class A { void f() { if (true) { // then\n } else { /* else */ } } }",
        "class A { String s = \"a // not a comment /* either\"; char c = '/'; int d = 4 / 2; }",
        "// header\nimport java.util.*; /* between */ class A { }",
    ];
    for marked in flagged {
        let at = marked.find('⟪').expect("marker");
        let src = marked.replace('⟪', "");
        assert_eq!(first_misplaced_comment(&src), Some(at), "{src}");
    }
    for src in clean {
        assert_eq!(first_misplaced_comment(src), None, "{src}");
    }
}

/// What the mask bans follows the same rule: after `a +` a comment opener
/// is banned, after `;` it is not; after a pending `/` in an expression a
/// `/` or `*` would make a comment, at a statement's start it may.
#[test]
fn comment_bans_follow_the_statement_state() {
    let bans = |src: &str| {
        let mut scope = Scope::new();
        src.bytes().for_each(|b| scope.observe(&[b]));
        let b = scope.comment_bans();
        (b.openers, b.continuations)
    };
    assert_eq!(bans("class A { int f(int a) { return a +"), (true, false));
    assert_eq!(bans("class A { int f(int a) { return a"), (true, false));
    assert_eq!(bans("class A { int f(int a) { return a /"), (true, true));
    assert_eq!(bans("class A { int f(int a) { a++;"), (false, false));
    assert_eq!(bans("class A { int f(int a) { a++; /"), (false, false));
    assert_eq!(bans("class A { int f(int a) {"), (false, false));
    assert_eq!(bans("class A { int f(int a) { return a + // x"), (false, false));
    assert_eq!(bans("class A { String s = \"a"), (false, false));
    assert_eq!(bans("class A {"), (false, false));
}

/// A method without parameters declared again, with `()` arriving in the
/// same token as the bracket that opens it (`toArray` + `() {`): the mask
/// bans the tokens that close an empty list right after the name, and only
/// those; the per-token reference agrees.
#[test]
fn a_second_parameterless_method_is_refused_when_its_brackets_come_in_one_token() {
    let tokens: Vec<Vec<u8>> =
        ["()", " ()", "() {", "(", "(int", "s()", ")", " ", "x"].iter().map(|t| t.as_bytes().to_vec()).collect();
    let tables = ScopeTables::new(&tokens, tokens.len(), tokens.len() as u32);
    let mut scope = Scope::new();
    scope.observe(b"class A {\n  Object[] toArray() { return null; }\n  public Object[] toArray");
    assert_eq!(scope.restriction(), Restriction::NoEmptyParams);
    let mut mask = toktrie::SimpleVob::alloc(tokens.len());
    mask.set_all(true);
    scope.apply(&tables, &mut mask);
    let allowed: Vec<&str> = (0..tokens.len())
        .filter(|&i| mask.is_allowed(i as u32))
        .map(|i| std::str::from_utf8(&tokens[i]).unwrap())
        .collect();
    assert_eq!(allowed, ["(", "(int", "s()", ")", " ", "x"]);
    for (i, t) in tokens.iter().enumerate() {
        assert_eq!(scope.allows(t), mask.is_allowed(i as u32), "{:?}", String::from_utf8_lossy(t));
    }
    // A method named like the class, after its constructor, is no duplicate.
    let mut named_like_class = Scope::new();
    named_like_class.observe(b"class A {\n  A() { }\n  void A");
    assert_eq!(named_like_class.restriction(), Restriction::None);
    // Another name, or parameters, stay free.
    let mut other = Scope::new();
    other.observe(b"class A {\n  Object[] toArray() { return null; }\n  public Object[] toList");
    assert_eq!(other.restriction(), Restriction::None);
}
