//! Every construct the issue lists is accepted, in small snippets.

mod common;

use common::accepts;
use logitloom_java_grammar::{BodyKind, StartMode};

const FILE: StartMode = StartMode::File;
const CLASS: StartMode = StartMode::ClassBody;
const BODY: StartMode = StartMode::MethodBody(BodyKind::Infer);

#[test]
fn package_and_imports() {
    accepts(
        FILE,
        "package a.b.c;\nimport java.util.*;\nimport static java.lang.Math.max;\nimport java.util.List;\nclass A {}\n",
    );
    accepts(FILE, "@Deprecated package p;");
    accepts(FILE, "");
}

#[test]
fn module_declarations() {
    accepts(
        FILE,
        "open module java.foo {\n requires transitive java.bar;\n requires static x.y;\n exports a.b to c.d, e;\n opens p;\n uses a.B;\n provides a.B with c.D, e.F;\n}",
    );
}

#[test]
fn classes_interfaces_enums_records_annotation_types() {
    accepts(FILE, "public abstract class A<T> extends B implements C, D<T> { }");
    accepts(
        FILE,
        "sealed interface S permits A, B {} final class A implements S {} non-sealed class B implements S {}",
    );
    accepts(FILE, "interface I extends J, K { int X = 1; void f(); default int g() { return 1; } static void h() {} private void p() {} }");
    accepts(FILE, "enum Color { RED, GREEN(1) { void f() {} }, BLUE; Color() {} Color(int x) {} }");
    accepts(FILE, "enum E { A, B, }");
    accepts(FILE, "enum E implements I { ; int x; }");
    accepts(FILE, "record Point(int x, int y) implements I { Point { if (x < 0) throw new IllegalArgumentException(); } static int z; }");
    accepts(FILE, "record R<T>(@Ann T t, int... rest) {}");
    accepts(
        FILE,
        "public @interface Ann { String value() default \"\"; int[] xs() default {1, 2}; Class<?> c(); int N = 3; }",
    );
    accepts(CLASS, "class Inner {} static class Nested<K, V> {} interface I {} enum E { X } record R() {}");
}

#[test]
fn members() {
    accepts(CLASS, "private static final int A = 1, B[] = {1, 2}, C;");
    accepts(CLASS, "static { x = 1; } { y = 2; }");
    accepts(CLASS, "public <T extends Comparable<? super T>> T max(T a, T b) throws IOException, E { return a; }");
    accepts(CLASS, "abstract int f(int a, final String... rest); native void g();");
    accepts(CLASS, "A() { this(1); } A(int x) { super(); } A(String s) { outer.super(s); }");
    accepts(CLASS, "int[] arr() [] { return null; }");
    accepts(CLASS, "void m(A this, int x) {}");
    accepts(CLASS, ";;");
}

#[test]
fn generics_and_wildcards() {
    accepts(CLASS, "Map<String, List<Integer>> m = new HashMap<>();");
    accepts(CLASS, "List<List<List<String>>> deep; Map<A, Map<B, List<C>>> m3;");
    accepts(
        CLASS,
        "List<? extends Number> a; List<? super Integer> b; List<?> c; Map<String, ? extends List<String>> d;",
    );
    accepts(CLASS, "Class<? extends Enum<?>> k; List<int[]> arrays; List<String>[] arrOfLists;");
    accepts(CLASS, "<T extends Comparable<T>> void sort(List<T> l) {} <K, V extends List<K>> void f() {}");
    accepts(CLASS, "class Node<T extends Comparable<T>> {} class X<A, B extends Map<A, List<A>>> {}");
    accepts(BODY, "List<String> s = Collections.<String>emptyList(); var x = this.<Map<K, V>>get();");
    accepts(BODY, "Map.Entry<String, Integer> e = null; java.util.List<java.lang.String> l = null;");
    accepts(BODY, "boolean b = a < b && c > d; int s = x >> 2 >>> 3 << 1; x >>= 1; x >>>= 2;");
    accepts(BODY, "Object o = (List<List<String>>) x; Object p = (Comparable<Integer> & Serializable) y;");
}

#[test]
fn annotations() {
    accepts(CLASS, "@Override public String toString() { return \"\"; }");
    accepts(CLASS, "@SuppressWarnings({\"unchecked\", \"rawtypes\"}) @A(x = 1, y = @B) @C() int f;");
    accepts(CLASS, "void f(@NonNull String s, java.lang.@Ann Object o) { List<@Ann String> l; String @A [] a; }");
    // Type annotations on the element type of an array creation (JLS
    // 15.10.1), as guava writes them.
    accepts(
        BODY,
        "Object[] a = new @Nullable Object[n]; int[][] b = new @A int @B [2][]; String[] c = new @A String[] {\"x\"}; \
         Object[] d = new @javax.annotation.Nullable Object[] {};",
    );
}

#[test]
fn lambdas_and_method_references() {
    accepts(
        BODY,
        "Runnable r = () -> {}; Function<A, B> f = a -> a.b(); BiFunction<A, B, C> g = (a, b) -> { return a; };",
    );
    accepts(
        BODY,
        "Comparator<String> c = (String a, String b) -> a.length() - b.length(); Op o = (var x, var y) -> x;",
    );
    accepts(BODY, "f(String::valueOf, this::g, super::h, int[]::new, ArrayList<String>::new, Outer.this::k, System.out::println);");
    accepts(BODY, "list.forEach(x -> System.out.println(x)); Supplier<Runnable> s = () -> () -> {};");
    accepts(BODY, "Object o = b ? x -> x : (Function<A, A>) y -> y;");
}

#[test]
fn switch_statements_and_expressions() {
    accepts(BODY, "switch (x) { case 1: case 2: f(); break; default: g(); }");
    accepts(BODY, "switch (s) { case \"a\", \"b\" -> f(); case \"c\" -> { g(); } default -> throw new E(); }");
    accepts(
        BODY,
        "int y = switch (x) { case 1 -> 10; case 2 -> { int z = 3; yield z * 2; } default -> throw new E(); };",
    );
    accepts(BODY, "int y = switch (x) { case A: yield 1; default: { yield 2; } };");
    accepts(BODY, "switch (x) {}");
}

#[test]
fn every_statement_form() {
    accepts(
        BODY,
        "int a = 1, b[] = {1}; final var c = a; ; a++; --a; a += 2; f(); new A(); o.new B();
         assert a > 0; assert a > 0 : \"msg\";
         if (a) b(); else if (c) d(); else { e(); }
         while (a < 10) a++; do { a--; } while (a > 0);
         for (int i = 0, j = 1; i < n; i++, j--) {} for (;;) break; for (String s : list) continue;
         for (final @A var e : es) {}
         outer: for (;;) { inner: while (true) { break outer; } continue outer; }
         try { f(); } catch (IOException | RuntimeException e) { g(); } finally { h(); }
         try (var in = open(); Reader r = new R(in); existing) { } catch (final Exception e) {}
         try (this.res) {}
         synchronized (lock) { f(); }
         throw new IllegalStateException(\"x\");
         class Local {} record LR(int q) {} enum LE { A } interface LI {}
         { int nested = 0; }
         x = y = z; arr[i] = v; this.f = 1; a.b.c = d;",
    );
}

#[test]
fn expressions() {
    accepts(
        BODY,
        "int a = -x + ~y * !z ? 1 : 2; boolean b = o instanceof String s && s.isEmpty() || o instanceof final Integer;
         Object c = (int) 3.5 + (double) a; int[] d = new int[3]; int[][] e = new int[3][]; int[] g = new int[] {1, 2};
         String h = String.class.getName() + int.class + void.class + String[].class;
         Object i = new Object() { public String toString() { return \"\"; } };
         int j = arr[0][1] + m()[2] + (a) + (a + b) * c / d % e - f << g;
         boolean k = a == b != c & d ^ e | f; long l = a.b().c[1].d;
         Outer.Inner in = outer.new Inner(); Object t = Outer.this; Object su = Outer.super.toString();",
    );
}

#[test]
fn literals_and_comments() {
    accepts(
        BODY,
        "int a = 0, b = 123_456, c = 0x1F_ff, d = 017, e = 0b1010_1010; long f = 1L, g = 0xFFL;
         double h = 1.5, i = .5, j = 1e10, k = 1.5e-3d, l = 2f, m = 0x1.8p3, n = 1., o = 3D;
         char p = 'a', q = '\\n', r = '\\'', s = '\\u0041', t = '\\077', u = '\"';
         String v = \"plain \\\"quoted\\\" \\t \\\\ \\u00e9\", w = \"\", x = \"caf\u{e9}\";
         String tb = \"\"\"
             Hello, \"world\" and \"\"quotes\"\"
             \\\"\"\" escaped end \\
             continued
             \"\"\";
         // line comment with \"quotes\" and */
         /* block comment ** with * stars */ /** javadoc
          * @param x
          */ int y = 1; /**/ int z; // last",
    );
}

#[test]
fn unicode_identifiers() {
    accepts(BODY, "int caf\u{e9} = 1; String \u{3b1}\u{3b2} = \"x\"; int $x_1 = 2;");
}

#[test]
fn contextual_keywords_are_identifiers() {
    accepts(BODY, "int record = 1, var = 2, yield = 3, sealed = 4, permits = 5, module = 6, open = 7;");
    accepts(CLASS, "void record() {} int module() { return module; } void exports(int to) {}");
}
