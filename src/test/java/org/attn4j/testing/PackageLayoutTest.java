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
 * so there is no import circle. A use is an import or a qualified name in code (comments are skipped).
 */
class PackageLayoutTest {
    private static final Path MAIN = Path.of("src/main/java/org/attn4j");
    private static final Pattern USE = Pattern.compile("\\borg\\.attn4j\\.([a-z0-9]+)\\.");
    private static final Pattern COMMENTS = Pattern.compile("//[^\\n]*|/\\*[\\s\\S]*?\\*/");

    /** Lowest first; a package may use those listed before it. */
    private static final List<String> ORDER = List.of("config", "text", "kernels", "nn", "data", "formats", "model",
            "decode", "train", "io", "interop", "samediff", "viz", "dl4j", "spark");

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
