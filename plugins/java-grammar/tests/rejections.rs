//! Hand-written invalid programs are rejected at the token that breaks them,
//! and prompts that are not Java get an error naming where.

mod common;

use common::{check, rejects_at};
use logitloom_java_grammar::{BodyKind, StartMode};

const FILE: StartMode = StartMode::File;
const CLASS: StartMode = StartMode::ClassBody;
const BODY: StartMode = StartMode::MethodBody(BodyKind::Infer);

#[test]
fn syntax_errors_are_rejected_where_they_start() {
    rejects_at(FILE, "class A { void f() { int x = ; } }", 1, 30);
    rejects_at(FILE, "class A {\n  int f() {\n    return 1 +;\n  }\n}", 3, 15);
    // Not a statement expression; `a +` could still become `a ++`.
    rejects_at(BODY, "a + b;", 1, 4);
    rejects_at(BODY, "if x > 0 { }", 1, 4);
    // A keyword as a name: `int int` could still grow into `int integer`.
    rejects_at(BODY, "int int = 1;", 1, 8);
    rejects_at(CLASS, "void f() { } }", 1, 14); // unbalanced brace in class-body mode
    rejects_at(FILE, "class A { x.S.S.S.S }", 1, 21);
    rejects_at(FILE, "import java.util.*\nclass A {}", 2, 1);
    rejects_at(BODY, "String s = \"unterminated\n\";", 1, 25);
    rejects_at(BODY, "char c = 'ab';", 1, 12);
    // `09` is no integer, but could still become the float `09.5`.
    rejects_at(BODY, "int x = 09;", 1, 11);
    // Rules and groups mixed; `2:` could still become the method reference `2::m`.
    rejects_at(BODY, "switch (x) { case 1 -> f(); case 2: g(); }", 1, 36);
    // Only names, fields and array elements can be assigned (JLS 15.26);
    // `new T[0]` is a complete expression, so `=` is where it breaks.
    rejects_at(BODY, "new T[0] = x;", 1, 10);
    rejects_at(BODY, "f() = 1;", 1, 5);
    // A type annotation in an array creation needs the type after it.
    rejects_at(BODY, "Object[] a = new @A[3];", 1, 20);
    for ok in ["a = 1;", "a.b[i].c = 1;", "this.x += 2;", "f()[0] = 1;", "super.x = 1;", "A.super.x = 1;", "y = x = 3;"]
    {
        assert!(check(BODY, ok).is_ok(), "{ok}");
    }
}

/// The operand of a prefix `++`/`--` must be a variable, possibly
/// parenthesised (JLS 15.15.1-2, 15.8.5); javac's parser leaves this to
/// attribution. Postfix forms keep javac's parser's rule (any primary).
#[test]
fn prefix_increments_need_a_variable() {
    // `f` could still be the start of `f().x`; the `;` shows it is not.
    rejects_at(BODY, "int y = ++f();", 1, 14);
    // A second `--` cannot start a variable.
    rejects_at(BODY, "int y = -- --x;", 1, 12);
    rejects_at(BODY, "-- -x;", 1, 4);
    // `(x + 1)` could still be followed by `.f` or `[0]`.
    rejects_at(BODY, "int y = ++(x + 1);", 1, 18);
    for ok in [
        "--x;",
        "++(x);",
        "++((x));",
        "--a[i];",
        "++this.y;",
        "++A.this.n;",
        "--super.k;",
        "++f().x;",
        "int z = (x)++ + ++(x) - -(-x) + - --x;",
        "f(--i, ++j);",
        "for (;; ++i, --j) {}",
        "f()++;",
    ] {
        assert!(check(BODY, ok).is_ok(), "{ok}");
    }
}

#[test]
fn end_of_text_only_where_complete() {
    rejects_at(FILE, "class A {", 1, 10);
    rejects_at(BODY, "while (true) {", 1, 15);
    rejects_at(BODY, "/* open comment", 1, 16);
    assert!(check(BODY, "x = 1; // trailing comment").is_ok());
}

#[test]
fn error_message_names_mode_line_column_and_token() {
    let e = check(CLASS, "int f() {\n  return;\n}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "not valid Java (class-body mode) at line 2, column 9: \";\" cannot follow \"int f() {\\n  return\""
    );
}

/// Java reads a run of identifier characters as one token: where only a
/// keyword fits, `interfaces1000` is not `interface s1000` (the default
/// model wrote exactly this), and `classData` is not `class Data`.
#[test]
fn words_are_not_split_after_a_keyword() {
    rejects_at(BODY, "static final interfaces1000BITS {}", 1, 23);
    rejects_at(FILE, "class A {}\nclassData {}", 2, 6);
    rejects_at(FILE, "public classA {}", 1, 13);
    // The same words where an identifier fits, and keywords in names.
    for ok in [
        "int interfaces1000 = 1;",
        "Object newValue = forEach; newValue = null;",
        "int classData = 0, doubled = 2 * classData;",
        "for (int i = 0; i < n; i++) { format(i); }",
        "interfaces1000: while (true) { break interfaces1000; }",
    ] {
        assert!(check(BODY, ok).is_ok(), "{ok}: {:?}", check(BODY, ok));
    }
    assert!(check(CLASS, "public non-sealed class A {} void doIt() { returnValue(); }").is_ok());
}
