//! The return rule, beyond syntax: `return;` only where there is no value to
//! return, `return expr;` only where there is, lambdas judged on their own.

mod common;

use common::{accepts, rejects_at};
use logitloom_java_grammar::{BodyKind, StartMode};

const FILE: StartMode = StartMode::File;
const CLASS: StartMode = StartMode::ClassBody;

#[test]
fn the_reported_bug_is_rejected_at_the_semicolon() {
    // Column 33 is the `;` right after `return`.
    rejects_at(CLASS, "boolean search(int key) { return; }", 1, 33);
    accepts(CLASS, "boolean search(int key) { return key > 0; }");
}

#[test]
fn methods() {
    rejects_at(CLASS, "void f() { return 1; }", 1, 19);
    accepts(CLASS, "void f() { if (x) return; g(); }");
    accepts(CLASS, "int[] f() { return new int[0]; } <T> T g() { return null; } String h() { throw new E(); }");
    rejects_at(CLASS, "<T> List<T> g() {\n  while (true) {\n    return;", 3, 11);
}

#[test]
fn constructors_and_initialisers() {
    accepts(CLASS, "A() { return; } static { if (x) return; } { return; }");
    rejects_at(CLASS, "A() { return 1; }", 1, 14);
    rejects_at(CLASS, "static { return 1; }", 1, 17);
    rejects_at(FILE, "record R(int x) { R { return x; } }", 1, 30);
}

#[test]
fn nested_classes_have_their_own_methods() {
    accepts(FILE, "class A { void f() { class L { int g() { return 1; } } return; } }");
    accepts(FILE, "class A { int f() { class L { void g() { return; } } return 2; } }");
    accepts(FILE, "class A { int f() { return 1; } static class N { void g() { return; } } }");
    rejects_at(FILE, "class A { int f() { class L { void g() { return; } } return; } }", 1, 60);
}

#[test]
fn anonymous_classes_have_their_own_methods() {
    accepts(CLASS, "int f() { Runnable r = new Runnable() { public void run() { return; } }; return 0; }");
    accepts(CLASS, "void f() { Object o = new Object() { public int hashCode() { return 1; } }; return; }");
    rejects_at(CLASS, "void f() { Object o = new Object() { public int hashCode() { return; } }; }", 1, 68);
}

#[test]
fn lambdas_judge_their_own_returns() {
    accepts(CLASS, "void f() { Supplier<Integer> s = () -> { return 1; }; return; }");
    accepts(CLASS, "int f() { Runnable r = () -> { return; }; return 1; }");
    accepts(
        CLASS,
        "int f() { Runnable r = () -> { if (x) return; g(); }; Function<A, B> h = a -> { return a.b; }; return 1; }",
    );
    // One lambda body cannot be both void- and value-compatible.
    rejects_at(CLASS, "void f() { Supplier<Integer> s = () -> { if (x) return 1; return; }; }", 1, 65);
    // Returns after the lambda belong to the method again.
    rejects_at(CLASS, "void f() { Supplier<Integer> s = () -> { return 1; }; return 2; }", 1, 62);
}

#[test]
fn switch_expressions_yield_and_never_return() {
    accepts(CLASS, "int f(int x) { return switch (x) { case 1 -> { yield 2; } default -> 3; }; }");
    // `return` could still be the start of a name like `returned`; the space ends it.
    rejects_at(CLASS, "int f(int x) { return switch (x) { case 1 -> { return 2; } default -> 3; }; }", 1, 54);
    rejects_at(CLASS, "void f(int x) { int y = switch (x) { default: return; }; }", 1, 53);
    // `yield` outside a switch expression is no statement.
    rejects_at(CLASS, "int f() { yield 1; }", 1, 17);
}

#[test]
fn method_body_mode_follows_the_chosen_kind() {
    let void = StartMode::MethodBody(BodyKind::Void);
    let value = StartMode::MethodBody(BodyKind::Value);
    let infer = StartMode::MethodBody(BodyKind::Infer);
    accepts(void, "int x = 1; return;");
    rejects_at(void, "return 1;", 1, 8);
    accepts(value, "return 1;");
    rejects_at(value, "return;", 1, 7);
    accepts(infer, "if (a) return; f();");
    accepts(infer, "if (a) return 1; return 2;");
    rejects_at(infer, "if (a) return 1; return;", 1, 24);
}
