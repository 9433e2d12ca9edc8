// Builds src/../data/jdk17.index, the JDK index of the `java_scope` stage,
// from the running JDK (no network):
//
//   java plugins/java-grammar/scripts/JdkIndex.java > plugins/java-grammar/data/jdk17.index
//
// or run scripts/build_jdk_index.sh. One line per public type of the listed
// packages (nested public types included):
//
//   <canonical name>\t<package>\t<kind>\t<fields>\t<methods>\t<types>
//
// kind is c/i/e/r/a (class, interface, enum, record, annotation). Member
// lists are comma-separated and already flattened over every supertype,
// Object included: what `x.` may name on a receiver of that type from code
// outside the type's package. Public and protected members are listed
// (protected ones are reachable from subclasses); package-private and
// private ones are not, so the stage treats receivers from the file's own
// package as unknown. Methods are `name/arities` (arity `v` marks varargs
// with the minimum count before it, e.g. `of/0/1/v0`).
import java.lang.reflect.*;
import java.net.URI;
import java.nio.file.*;
import java.util.*;
import java.util.stream.*;

public class JdkIndex {
    static final String[] PACKAGES = {
        "java.lang", "java.util", "java.util.function", "java.util.stream", "java.io", "java.math",
        "java.util.concurrent", "java.util.concurrent.atomic", "java.util.concurrent.locks", "java.util.regex",
        "java.nio", "java.nio.file", "java.nio.charset", "java.text", "java.time", "java.net",
    };

    public static void main(String[] args) throws Exception {
        FileSystem jrt = FileSystems.getFileSystem(URI.create("jrt:/"));
        Path base = jrt.getPath("/modules/java.base");
        List<String> lines = new ArrayList<>();
        for (String pkg : PACKAGES) {
            Path dir = base.resolve(pkg.replace('.', '/'));
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(p -> p.toString().endsWith(".class")).sorted().collect(Collectors.toList());
            }
            for (Path f : files) {
                String simple = f.getFileName().toString().replace(".class", "");
                if (simple.equals("module-info") || simple.equals("package-info")) continue;
                Class<?> c;
                try {
                    c = Class.forName(pkg + "." + simple, false, ClassLoader.getSystemClassLoader());
                } catch (Throwable t) {
                    continue;
                }
                if (c.isAnonymousClass() || c.isLocalClass() || c.isSynthetic()) continue;
                if (!visible(c)) continue;
                lines.add(line(c, pkg));
            }
        }
        Collections.sort(lines);
        System.out.println("# JDK index for the java_scope stage; built by scripts/JdkIndex.java from "
                + System.getProperty("java.vendor") + " " + System.getProperty("java.version"));
        lines.forEach(System.out::println);
    }

    /** Public, and public all the way out for nested types. */
    static boolean visible(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
            if (!Modifier.isPublic(k.getModifiers())) return false;
        }
        return true;
    }

    static boolean reachable(int mods) {
        return Modifier.isPublic(mods) || Modifier.isProtected(mods);
    }

    static String line(Class<?> c, String pkg) {
        TreeSet<String> fields = new TreeSet<>();
        TreeMap<String, TreeSet<String>> methods = new TreeMap<>();
        TreeSet<String> types = new TreeSet<>();
        Deque<Class<?>> todo = new ArrayDeque<>(List.of(c, Object.class));
        Set<Class<?>> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            Class<?> k = todo.pop();
            if (!seen.add(k)) continue;
            for (Field f : k.getDeclaredFields()) if (reachable(f.getModifiers()) && !f.isSynthetic()) fields.add(f.getName());
            for (Method m : k.getDeclaredMethods()) {
                if (!reachable(m.getModifiers()) || m.isSynthetic()) continue;
                int n = m.getParameterCount();
                methods.computeIfAbsent(m.getName(), x -> new TreeSet<>()).add(m.isVarArgs() ? "v" + (n - 1) : "" + n);
            }
            for (Class<?> n : k.getDeclaredClasses()) if (reachable(n.getModifiers())) types.add(n.getSimpleName());
            if (k.getSuperclass() != null) todo.add(k.getSuperclass());
            todo.addAll(Arrays.asList(k.getInterfaces()));
        }
        String kind = c.isAnnotation() ? "a" : c.isInterface() ? "i" : c.isEnum() ? "e" : c.isRecord() ? "r" : "c";
        String ms = methods.entrySet().stream().map(e -> e.getKey() + "/" + String.join("/", e.getValue()))
                .collect(Collectors.joining(","));
        return c.getCanonicalName() + "\t" + pkg + "\t" + kind + "\t" + String.join(",", fields) + "\t" + ms + "\t"
                + String.join(",", types);
    }
}
