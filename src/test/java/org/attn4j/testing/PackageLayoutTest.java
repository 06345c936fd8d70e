package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packages of {@code src/main} read one way: each uses only packages below it (README, "Architecture"),
 * so there is no import circle. A use is an import or a qualified name in code (comments are skipped). Inside a
 * package no classes use each other in a circle either, and the engine stays internal: no public signature of the
 * API packages names one of its types.
 */
public class PackageLayoutTest {
    private static final Path MAIN = Path.of("src/main/java/org/attn4j");
    private static final Pattern USE = Pattern.compile("\\borg\\.attn4j\\.([a-z0-9]+)\\.");
    private static final Pattern COMMENTS = Pattern.compile("//[^\\n]*|/\\*[\\s\\S]*?\\*/");
    private static final Pattern STRINGS = Pattern.compile("\"(?:\\\\.|[^\"\\\\])*\"");

    /** Lowest first; a package may use those listed before it. */
    private static final List<String> ORDER = List.of("config", "text", "kernels", "engine", "nn", "data", "formats",
            "model", "decode", "train", "io", "interop", "samediff", "viz", "dl4j", "spark");

    @Test
    void everyPackageUsesOnlyPackagesBelowIt() throws IOException {
        Map<String, Set<String>> uses = uses();
        assertEquals(new TreeSet<>(ORDER), uses.keySet(), "the packages of src/main; add a new one to ORDER");
        List<String> wrong = new ArrayList<>();
        uses.forEach((from, to) -> to.stream().filter(p -> ORDER.indexOf(p) > ORDER.indexOf(from))
                .forEach(p -> wrong.add(from + " -> " + p)));
        assertTrue(wrong.isEmpty(), "uses of higher packages: " + wrong + "; all uses: " + uses);
    }

    @Test
    void theCheckSeesUsesInCodeOnly() {
        assertEquals(Set.of("nn"), usesIn("import org.attn4j.nn.Linear;\n/** {@link org.attn4j.model.X} */\n"
                + "// org.attn4j.train.Trainer\nclass A { org.attn4j.nn.Linear l; }"));
    }

    /**
     * No class cycle inside a package: the strongly connected components (Tarjan) of the graph "class A names
     * class B of its own package in code" (comments and string literals skipped; nested classes count as their
     * file's class) have one class each.
     */
    @Test
    void noPackageHasAClassCycle() throws IOException {
        List<String> cycles = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(MAIN)) {
            for (Path dir : dirs.filter(Files::isDirectory).sorted().toList()) {
                cycles.addAll(cycles(dir.getFileName().toString(), classUses(dir)));
            }
        }
        assertTrue(cycles.isEmpty(), "classes that use each other in a circle inside a package: " + cycles);
    }

    @Test
    void theCycleCheckFindsACircleOfThree() {
        Map<String, Set<String>> uses = new TreeMap<>(Map.of("A", Set.of("B"), "B", Set.of("C"), "C", Set.of("A", "D"),
                "D", Set.of()));
        assertEquals(List.of("p [A, B, C]"), cycles("p", uses));
    }

    /**
     * No public or protected signature (method, constructor, field, supertype) of a public class of the API
     * packages names an {@code org.attn4j.engine} type: the engine can change without changing the API.
     */
    @Test
    void noApiSignatureNamesAnEngineType() throws Exception {
        List<String> leaks = new ArrayList<>();
        for (String pkg : List.of("nn", "model", "decode", "train")) {
            try (Stream<Path> files = Files.list(CLASSES.resolve(pkg))) {
                for (Path f : files.filter(p -> p.toString().endsWith(".class")).sorted().toList()) {
                    String name = "org.attn4j." + pkg + "." + f.getFileName().toString().replace(".class", "");
                    leaks.addAll(engineTypesIn(Class.forName(name, false, getClass().getClassLoader())));
                }
            }
        }
        assertTrue(leaks.isEmpty(), "public signatures naming an engine type: " + leaks);
    }

    @Test
    void theSignatureCheckSeesAnEngineTypeInAPublicMethod() {
        assertEquals(List.of("org.attn4j.testing.PackageLayoutTest$Leaky.engine() returns org.attn4j.engine.Ids"),
                engineTypesIn(Leaky.class));
    }

    /** A public class with one public method that names an engine type, and a private one that may. */
    public static final class Leaky {
        public org.attn4j.engine.Ids engine() {
            return null;
        }

        private org.attn4j.engine.Ids hidden() {
            return null;
        }
    }

    private static final Path CLASSES = Path.of("target/classes/org/attn4j");

    private static List<String> engineTypesIn(Class<?> c) {
        List<String> leaks = new ArrayList<>();
        if (!visible(c)) {
            return leaks;
        }
        java.util.function.BiConsumer<String, java.lang.reflect.Type> check = (where, type) -> {
            if (type.getTypeName().contains("org.attn4j.engine.")) {
                leaks.add(where + " " + type.getTypeName());
            }
        };
        if (c.getGenericSuperclass() != null) {
            check.accept(c.getName() + " extends", c.getGenericSuperclass());
        }
        for (java.lang.reflect.Type i : c.getGenericInterfaces()) {
            check.accept(c.getName() + " implements", i);
        }
        for (java.lang.reflect.Field f : c.getDeclaredFields()) {
            if (api(f.getModifiers())) {
                check.accept(c.getName() + "." + f.getName() + " is", f.getGenericType());
            }
        }
        for (java.lang.reflect.Executable e : concat(c.getDeclaredConstructors(), c.getDeclaredMethods())) {
            if (!api(e.getModifiers()) || e.isSynthetic()) {
                continue;
            }
            String where = c.getName() + "." + (e instanceof java.lang.reflect.Constructor ? "<init>" : e.getName()) + "()";
            if (e instanceof java.lang.reflect.Method m) {
                check.accept(where + " returns", m.getGenericReturnType());
            }
            for (java.lang.reflect.Type p : e.getGenericParameterTypes()) {
                check.accept(where + " takes", p);
            }
            for (java.lang.reflect.Type x : e.getGenericExceptionTypes()) {
                check.accept(where + " throws", x);
            }
        }
        return leaks;
    }

    /** Whether c can be named from outside its package: public, and so is every class it is nested in. */
    private static boolean visible(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            if (!java.lang.reflect.Modifier.isPublic(k.getModifiers()) || k.isAnonymousClass() || k.isLocalClass()) {
                return false;
            }
        }
        return true;
    }

    private static boolean api(int modifiers) {
        return java.lang.reflect.Modifier.isPublic(modifiers) || java.lang.reflect.Modifier.isProtected(modifiers);
    }

    private static List<java.lang.reflect.Executable> concat(java.lang.reflect.Executable[] a,
            java.lang.reflect.Executable[] b) {
        List<java.lang.reflect.Executable> all = new ArrayList<>(List.of(a));
        all.addAll(List.of(b));
        return all;
    }

    /** Each class (file) of a package directory and the classes of that package its code names. */
    private static Map<String, Set<String>> classUses(Path dir) throws IOException {
        Map<String, String> code = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String name = f.getFileName().toString().replace(".java", "");
                if (!name.equals("package-info")) {
                    code.put(name, STRINGS.matcher(COMMENTS.matcher(Files.readString(f)).replaceAll(""))
                            .replaceAll("\"\""));
                }
            }
        }
        Map<String, Set<String>> uses = new TreeMap<>();
        code.forEach((name, text) -> uses.put(name, new TreeSet<>(code.keySet().stream()
                .filter(other -> !other.equals(name) && Pattern.compile("\\b" + other + "\\b").matcher(text).find())
                .toList())));
        return uses;
    }

    /** The strongly connected components of more than one class, as "package [A, B, ...]" (Tarjan). */
    private static List<String> cycles(String pkg, Map<String, Set<String>> uses) {
        Map<String, Integer> index = new TreeMap<>(), low = new TreeMap<>();
        java.util.Deque<String> stack = new java.util.ArrayDeque<>();
        List<String> found = new ArrayList<>();
        for (String v : uses.keySet()) {
            if (!index.containsKey(v)) {
                connect(v, uses, index, low, stack, found, pkg);
            }
        }
        return found;
    }

    private static void connect(String v, Map<String, Set<String>> uses, Map<String, Integer> index,
            Map<String, Integer> low, java.util.Deque<String> stack, List<String> found, String pkg) {
        index.put(v, index.size());
        low.put(v, index.get(v));
        stack.push(v);
        for (String w : uses.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                connect(w, uses, index, low, stack, found, pkg);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (stack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<String> component = new TreeSet<>();
            String w;
            do {
                w = stack.pop();
                component.add(w);
            } while (!w.equals(v));
            if (component.size() > 1) {
                found.add(pkg + " " + component.toString());
            }
        }
    }

    private static Map<String, Set<String>> uses() throws IOException {
        Map<String, Set<String>> uses = new TreeMap<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = MAIN.relativize(f).getName(0).toString();
                Set<String> to = uses.computeIfAbsent(pkg, k -> new TreeSet<>());
                to.addAll(usesIn(Files.readString(f)));
                to.remove(pkg);
            }
        }
        return uses;
    }

    private static Set<String> usesIn(String source) {
        Set<String> to = new TreeSet<>();
        Matcher m = USE.matcher(COMMENTS.matcher(source).replaceAll(""));
        while (m.find()) {
            to.add(m.group(1));
        }
        return to;
    }
}
