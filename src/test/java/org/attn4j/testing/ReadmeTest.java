package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The front page and the manual cannot rot: every Java code block in {@code README.md} and
 * {@code src/site/markdown/**} compiles against the current API and runs (sizes scaled down) doing what its
 * page says of it, every relative link and image in them
 * (and in {@code BENCHMARKS.md}) names a file that exists, every manual page is reachable from the
 * README, and the README stays a front page (at most 12 KiB).
 *
 * <p>How a {@code ```java} block is compiled:
 * <ul>
 *   <li>A block whose first code line starts with {@code package}, {@code import} or a class, interface,
 *       record or enum declaration is a whole compilation unit, compiled as written.</li>
 *   <li>Any other block is a method body: it becomes {@code void snippet() throws Exception { BLOCK }}
 *       in an abstract class with a fixed import set: every {@code org.attn4j} package
 *       ({@code config, text, kernels, nn, data, formats, model, decode, train, io, interop, samediff, viz, dl4j,
 *       spark}) on demand,
 *       {@code java.util.*}, {@code java.util.function.*}, {@code java.nio.file.*}, and the ND4J types
 *       {@code INDArray}, {@code DataType}, {@code Nd4j}, {@code SameDiff}, {@code SDVariable},
 *       {@code TrainingConfig}, {@code Adam}, {@code DataSet}, {@code NDArrayIndex}'s static methods, and
 *       Spark's {@code JavaRDD} and {@code JavaSparkContext}.</li>
 *   <li>What a body uses but does not declare (your data, a directory, a Spark context) is declared in an
 *       HTML comment right above the fence, invisible on the rendered page:
 *       {@code <!-- given: INDArray x, y; abstract Batch batchFor(int step); -->}. Its text is pasted
 *       into the class as member declarations (fields, or abstract methods for what the reader supplies).</li>
 * </ul>
 * All blocks go to one compiler invocation on the test classpath, together with a canary block that calls a
 * method that does not exist: the test requires the canary's error (so a broken block would be seen) and no
 * other. Errors are reported as {@code FILE:LINE} of the Markdown.
 *
 * <p>How a block runs: the same comment above the fence may go on with notes for the run, each starting a line:
 * <ul>
 *   <li>{@code run:} members of a subclass of the block's class that the run instantiates: bodies for the
 *       abstract givens, an instance initializer <code>{ x = ...; }</code> that sets the given fields, made-up
 *       data from {@link DocChecks};</li>
 *   <li>{@code scaled:} substitutions {@code old => new}, separated by {@code ;}, each of text that must occur in
 *       the block (a training loop's steps, a path to a committed fixture);</li>
 *   <li>{@code then:} statements run after the block, in its scope, that check what the page says of its results
 *       ({@link DocChecks#shape}, {@link DocChecks#check}, ...).</li>
 * </ul>
 * Then {@code snippet()} is called on the subclass; whatever it throws fails the test, reported at the
 * Markdown line that threw. A whole compilation unit runs through its {@code then:} statements (in a class of
 * their own, with the fixed imports). A canary block that throws at {@code canary.md:2} must be reported there.
 *
 * <p>Links: {@code [text](target)} and {@code ![alt](target)} outside code; targets with a scheme
 * ({@code https:}, {@code mailto:}) and pure anchors are skipped, an anchor after a path is ignored, and the
 * path resolves against the Markdown file's folder.
 */
class ReadmeTest {
    private static final Path README = Path.of("README.md");
    private static final Path MANUAL = Path.of("src/site/markdown");
    private static final long FRONT_PAGE_BYTES = 12 * 1024;

    private static final Pattern FENCE = Pattern.compile("^\\s*```\\s*([A-Za-z0-9_+-]*).*$");
    private static final Pattern GIVEN = Pattern.compile("<!--\\s*((?:given|run|scaled|then):.*?)-->\\s*$", Pattern.DOTALL);
    private static final Pattern UNIT = Pattern.compile(
            "^(package|import|(public\\s+|final\\s+|abstract\\s+)*(class|interface|record|enum))\\b");
    private static final Pattern LINK = Pattern.compile("!?\\[[^\\]]*\\]\\(\\s*<?([^)\\s>]+)>?(\\s+\"[^\"]*\")?\\s*\\)");
    private static final Pattern INLINE_CODE = Pattern.compile("`[^`\\n]*`");
    private static final Pattern SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*:");

    private static final String IMPORTS = String.join("\n",
            "import org.attn4j.config.*;", "import org.attn4j.text.*;", "import org.attn4j.kernels.*;", "import org.attn4j.nn.*;",
            "import org.attn4j.data.*;", "import org.attn4j.formats.*;", "import org.attn4j.model.*;", "import org.attn4j.decode.*;",
            "import org.attn4j.train.*;", "import org.attn4j.io.*;", "import org.attn4j.interop.*;", "import org.attn4j.samediff.*;",
            "import org.attn4j.viz.*;", "import org.attn4j.dl4j.*;", "import org.attn4j.spark.*;",
            "import java.util.*;", "import java.util.function.*;", "import java.nio.file.*;",
            "import org.nd4j.linalg.api.ndarray.INDArray;", "import org.nd4j.linalg.api.buffer.DataType;",
            "import org.nd4j.linalg.factory.Nd4j;", "import org.nd4j.autodiff.samediff.SameDiff;",
            "import org.nd4j.autodiff.samediff.SDVariable;", "import org.nd4j.autodiff.samediff.TrainingConfig;",
            "import org.nd4j.linalg.learning.config.Adam;", "import org.nd4j.linalg.dataset.DataSet;",
            "import org.apache.spark.api.java.JavaRDD;", "import org.apache.spark.api.java.JavaSparkContext;",
            "import static org.nd4j.linalg.indexing.NDArrayIndex.*;", "");

    /** A fenced code block: where it starts (the line after the fence, 1-based), its language and text. */
    record Block(Path file, int firstLine, String language, String code, Notes notes) {
        String given() {
            return notes.given();
        }
    }

    /** The comment above a block: its given declarations and the notes for running it (see the class comment). */
    record Notes(String given, String run, String scaled, String then) {
        static final Notes NONE = new Notes("", "", "", "");
        private static final Pattern KEY = Pattern.compile("(?m)^\\s*(given|run|scaled|then):");

        /** The notes of a comment's text (what follows {@code <!--}, up to {@code -->}). */
        static Notes parse(String comment) {
            Map<String, String> parts = new java.util.HashMap<>();
            Matcher m = KEY.matcher(comment.strip());
            String body = comment.strip();
            List<int[]> at = new ArrayList<>();
            while (m.find()) {
                at.add(new int[] {m.start(), m.end()});
            }
            for (int i = 0; i < at.size(); i++) {
                String key = body.substring(at.get(i)[0], at.get(i)[1]).strip().replace(":", "");
                parts.put(key, body.substring(at.get(i)[1], i + 1 < at.size() ? at.get(i + 1)[0] : body.length()));
            }
            return new Notes(parts.getOrDefault("given", ""), parts.getOrDefault("run", "").strip(),
                    parts.getOrDefault("scaled", "").strip(), parts.getOrDefault("then", "").strip());
        }

        /** The block's code with the {@code scaled:} substitutions made; each must find its text. */
        String scale(String code, String where) {
            for (String pair : scaled.isEmpty() ? new String[0] : scaled.split(";")) {
                String[] oldNew = pair.split("=>", -1);
                if (oldNew.length != 2 || oldNew[0].isBlank()) {
                    throw new AssertionError(where + ": scaled: expected 'old => new', given '" + pair.strip() + "'");
                }
                String old = oldNew[0].strip();
                if (!code.contains(old)) {
                    throw new AssertionError(where + ": scaled: '" + old + "' does not occur in the block");
                }
                code = code.replace(old, oldNew[1].strip());
            }
            return code;
        }
    }

    @Test
    void everyJavaBlockCompiles(@TempDir Path out) throws IOException {
        List<Block> java = new ArrayList<>();
        for (Path md : documents()) {
            blocks(md, Files.readString(md)).stream().filter(b -> b.language().equals("java")).forEach(java::add);
        }
        assertTrue(java.stream().anyMatch(b -> b.file().equals(README)), "README.md has no ```java block");
        Block canary = new Block(Path.of("canary.md"), 1, "java",
                "AttentionConfig c = AttentionConfig.of(8, 2);\nc.noSuchMethod();\n", Notes.NONE);
        java.add(canary);

        List<Source> sources = new ArrayList<>();
        for (int i = 0; i < java.size(); i++) {
            sources.add(Source.of(java.get(i), "Block" + i));
        }
        List<String> errors = new ArrayList<>(), canaryErrors = new ArrayList<>();
        for (String e : compile(sources, out)) {
            (e.startsWith(canary.file() + ":") ? canaryErrors : errors).add(e);
        }
        assertTrue(canaryErrors.stream().anyMatch(e -> e.startsWith("canary.md:2: ") && e.contains("noSuchMethod")),
                "the canary block calls a method that does not exist and must fail at canary.md:2; got " + canaryErrors);
        assertTrue(errors.isEmpty(), java.size() - 1 + " Java blocks; these do not compile against the current API:\n"
                + String.join("\n", errors));
    }

    /**
     * Every Java block runs with its notes (see the class comment) and checks what its page says; a block that
     * throws, and a {@code then:} check that fails, are reported at their Markdown line. The canary throws at
     * canary.md:2 and must be reported so.
     */
    @Test
    void everyJavaBlockRunsAndDoesWhatItsPageSays(@TempDir Path out) throws Exception {
        List<Block> java = new ArrayList<>();
        for (Path md : documents()) {
            blocks(md, Files.readString(md)).stream().filter(b -> b.language().equals("java")).forEach(java::add);
        }
        Block canary = new Block(Path.of("canary.md"), 1, "java", "int[] a = new int[1];\na[1] = 2;\n", Notes.NONE);
        java.add(canary);
        List<Source> sources = new ArrayList<>();
        List<String> runs = new ArrayList<>(); // the class to run per block
        for (int i = 0; i < java.size(); i++) {
            List<Source> s = Source.runnable(java.get(i), "Block" + i);
            sources.addAll(s);
            runs.add(s.get(s.size() - 1).className());
        }
        List<String> errors = compile(sources, out);
        assertTrue(errors.isEmpty(), "the blocks as run (with their notes) do not compile:\n" + String.join("\n", errors));

        List<String> failures = new ArrayList<>();
        String canaryFailure = null;
        try (java.net.URLClassLoader loader = new java.net.URLClassLoader(new java.net.URL[] {out.toUri().toURL()},
                ReadmeTest.class.getClassLoader())) {
            for (int i = 0; i < java.size(); i++) {
                Block b = java.get(i);
                long start = System.nanoTime();
                String failure = run(loader, runs.get(i), sources);
                System.out.printf(Locale.ROOT, "%s:%d ran in %.1f s%s%n", b.file(), b.firstLine(),
                        (System.nanoTime() - start) / 1e9, failure == null ? "" : ": " + failure.lines().findFirst().orElse(""));
                if (b == canary) {
                    canaryFailure = failure;
                } else if (failure != null) {
                    failures.add(failure);
                }
            }
        }
        assertTrue(canaryFailure != null && canaryFailure.startsWith("canary.md:2: ")
                && canaryFailure.contains("ArrayIndexOutOfBoundsException"),
                "the canary block throws at canary.md:2 and must be reported there; got " + canaryFailure);
        assertTrue(failures.isEmpty(), java.size() - 1 + " Java blocks; these failed when run:\n" + String.join("\n", failures));
    }

    /** Runs {@code className}'s {@code snippet()}: null, or what it threw, at the Markdown line that threw it. */
    private static String run(ClassLoader loader, String className, List<Source> sources) throws ReflectiveOperationException {
        Class<?> c = Class.forName(className, true, loader);
        java.lang.reflect.Constructor<?> made = c.getDeclaredConstructor();
        made.setAccessible(true);
        Object block = made.newInstance();
        java.lang.reflect.Method snippet = null;
        for (Class<?> k = c; snippet == null && k != null; k = k.getSuperclass()) {
            snippet = java.util.Arrays.stream(k.getDeclaredMethods()).filter(m -> m.getName().equals("snippet"))
                    .findFirst().orElse(null);
        }
        if (snippet == null) {
            return className + " has no snippet()";
        }
        snippet.setAccessible(true);
        try {
            snippet.invoke(block);
            return null;
        } catch (java.lang.reflect.InvocationTargetException e) {
            Throwable thrown = e.getCause();
            String where = className;
            for (StackTraceElement frame : thrown.getStackTrace()) {
                Source s = sources.stream().filter(x -> x.className().equals(frame.getClassName())).findFirst().orElse(null);
                if (s != null) {
                    where = s.where(frame.getLineNumber());
                    break;
                }
            }
            StringWriter trace = new StringWriter();
            thrown.printStackTrace(new java.io.PrintWriter(trace));
            return where + ": " + thrown + "\n" + trace.toString().lines().skip(1).limit(12).collect(
                    java.util.stream.Collectors.joining("\n"));
        } finally {
            DocChecks.cleanUp();
        }
    }

    /** Compiles {@code sources} into {@code out}; the errors, each at its Markdown line. */
    private static List<String> compile(List<Source> sources, Path out) throws IOException {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager files = compiler.getStandardFileManager(diagnostics, Locale.ROOT, null)) {
            List<String> options = List.of("-proc:none", "-implicit:none", "-Xlint:none", "-nowarn",
                    "-classpath", classpath(), "-d", out.toString());
            compiler.getTask(new StringWriter(), files, diagnostics, options, null, sources).call();
        }
        List<String> errors = new ArrayList<>();
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() == Diagnostic.Kind.ERROR) {
                String where = d.getSource() instanceof Source s ? s.where(d.getLineNumber()) : String.valueOf(d.getSource());
                errors.add(where + ": " + String.join("; ", d.getMessage(Locale.ROOT).lines().map(String::strip).toList()));
            }
        }
        return errors;
    }

    @Test
    void everyRelativeLinkNamesAFile() throws IOException {
        List<String> broken = new ArrayList<>();
        List<Path> docs = new ArrayList<>(documents());
        docs.add(Path.of("BENCHMARKS.md"));
        for (Path md : docs) {
            for (Link link : links(md)) {
                if (!Files.exists(link.target())) {
                    broken.add(md + ":" + link.line() + ": " + link.text() + " -> " + link.target() + " does not exist");
                }
            }
        }
        assertTrue(broken.isEmpty(), String.join("\n", broken));
    }

    @Test
    void everyManualPageIsReachableFromTheReadme() throws IOException {
        Set<Path> seen = new LinkedHashSet<>();
        Deque<Path> next = new ArrayDeque<>(List.of(README.toAbsolutePath().normalize()));
        while (!next.isEmpty()) {
            Path md = next.pop();
            if (seen.add(md) && Files.exists(md)) {
                for (Link link : links(md)) {
                    Path t = link.target().toAbsolutePath().normalize();
                    if (t.toString().endsWith(".md")) {
                        next.push(t);
                    }
                }
            }
        }
        Set<Path> unreached = new TreeSet<>();
        for (Path page : documents()) {
            if (!seen.contains(page.toAbsolutePath().normalize())) {
                unreached.add(page);
            }
        }
        assertTrue(unreached.isEmpty(), "manual pages no link chain from README.md reaches: " + unreached);
    }

    @Test
    void theReadmeIsAFrontPage() throws IOException {
        long size = Files.size(README);
        assertTrue(size <= FRONT_PAGE_BYTES, "README.md is " + size + " bytes; a front page stays within "
                + FRONT_PAGE_BYTES + " (move detail into src/site/markdown/)");
    }

    @Test
    void blocksAndLinksAreFoundWhereTheyAre() {
        String md = "Text [a](x.md) and `[not](code.md)`.\n\n<!-- given: int n; -->\n```java\nint m = n;\n```\n"
                + "```bash\n[no](link.md)\n```\n![pic](img/p.png#top) [web](https://example.org) [here](#anchor)\n";
        List<Block> blocks = blocks(Path.of("t.md"), md);
        assertEquals(2, blocks.size());
        assertEquals(new Block(Path.of("t.md"), 5, "java", "int m = n;\n", new Notes(" int n;", "", "", "")),
                blocks.get(0));
        Notes notes = Notes.parse(" given: int n;\n     abstract int f();\nrun: { n = 2; }\n  scaled: 100 => 2; a => b\nthen: check(n == 2, \"two\"); ");
        assertEquals(new Notes(" int n;\n     abstract int f();\n", "{ n = 2; }", "100 => 2; a => b", "check(n == 2, \"two\");"),
                notes);
        assertEquals("for (i < 2) b", notes.scale("for (i < 100) a", "t.md:1"));
        assertEquals(List.of("x.md", "img/p.png"), links(Path.of("t.md"), md).stream()
                .map(l -> l.target().toString()).toList());
    }

    /** README.md and every Markdown page of the manual. */
    private static List<Path> documents() throws IOException {
        List<Path> docs = new ArrayList<>(List.of(README));
        try (Stream<Path> pages = Files.walk(MANUAL)) {
            pages.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
        }
        return docs;
    }

    static List<Block> blocks(Path file, String markdown) {
        List<Block> blocks = new ArrayList<>();
        String[] lines = markdown.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            Matcher open = FENCE.matcher(lines[i]);
            if (!open.matches()) {
                continue;
            }
            StringBuilder code = new StringBuilder();
            int j = i + 1;
            while (j < lines.length && !FENCE.matcher(lines[j]).matches()) {
                code.append(lines[j]).append('\n');
                j++;
            }
            blocks.add(new Block(file, i + 2, open.group(1), code.toString(), notesAbove(lines, i)));
            i = j;
        }
        return blocks;
    }

    /** The notes of a {@code <!-- given: ... -->} (or run:, scaled:, then:) comment that ends on the line above the fence. */
    private static Notes notesAbove(String[] lines, int fence) {
        StringBuilder above = new StringBuilder();
        for (int k = fence - 1; k >= 0 && k >= fence - 10; k--) {
            above.insert(0, lines[k] + "\n");
            if (lines[k].contains("<!--")) {
                break;
            }
        }
        Matcher m = GIVEN.matcher(above.toString().strip());
        return fence > 0 && lines[fence - 1].strip().endsWith("-->") && m.find() ? Notes.parse(m.group(1))
                : Notes.NONE;
    }

    record Link(int line, String text, Path target) {
    }

    private static List<Link> links(Path md) throws IOException {
        return links(md, Files.readString(md));
    }

    /** Relative links and images outside code blocks and code spans, resolved against the file's folder. */
    static List<Link> links(Path md, String markdown) {
        List<Link> links = new ArrayList<>();
        Path folder = md.toAbsolutePath().getParent();
        String[] lines = markdown.split("\n", -1);
        boolean inCode = false;
        for (int i = 0; i < lines.length; i++) {
            if (FENCE.matcher(lines[i]).matches()) {
                inCode = !inCode;
                continue;
            }
            if (inCode) {
                continue;
            }
            Matcher m = LINK.matcher(INLINE_CODE.matcher(lines[i]).replaceAll(""));
            while (m.find()) {
                String target = m.group(1);
                if (SCHEME.matcher(target).find() || target.startsWith("#")) {
                    continue;
                }
                String path = URI.create(target.replace(" ", "%20")).getPath();
                Path resolved = folder.resolve(path).normalize();
                Path shown = Path.of("").toAbsolutePath().relativize(resolved);
                links.add(new Link(i + 1, m.group(), md.isAbsolute() ? resolved : shown));
            }
        }
        return links;
    }

    /** The test classpath; under surefire java.class.path may be a manifest-only jar, so its own list first. */
    private static String classpath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    /** A block as a Java source held in memory, remembering how its lines map back to the Markdown. */
    static final class Source extends SimpleJavaFileObject {
        private final Block block;
        private final String text;
        private final int codeStart; // the source line on which the block's first line lands
        private final String className;
        private final String note; // where the text is a note's: "run", or null for the block (then: after it)

        private Source(Block block, String className, String text, int codeStart) {
            this(block, className, text, codeStart, null);
        }

        private Source(Block block, String className, String text, int codeStart, String note) {
            super(URI.create("string:///" + className.replace('.', '/') + Kind.SOURCE.extension), Kind.SOURCE);
            this.block = block;
            this.text = text;
            this.codeStart = codeStart;
            this.className = className;
            this.note = note;
        }

        String className() {
            return className;
        }

        /**
         * The block as it runs: scaled, its {@code then:} statements after it, and last the class that runs it (a
         * subclass with the {@code run:} members, or for a whole compilation unit a class with them and the
         * {@code then:} statements).
         */
        static List<Source> runnable(Block b, String name) {
            String where = b.file() + ":" + b.firstLine();
            Notes n = b.notes();
            Block scaled = new Block(b.file(), b.firstLine(), b.language(), n.scale(b.code(), where), n);
            String checks = "import static org.attn4j.testing.DocChecks.*;\n";
            Source block = of(scaled, name);
            if (block.codeStart == 1) { // a whole compilation unit
                if (n.then().isEmpty()) {
                    throw new AssertionError(where + ": a class block runs through a then: note, and it has none");
                }
                Matcher pkg = Pattern.compile("^\\s*package\\s+([\\w.]+)\\s*;", Pattern.MULTILINE).matcher(b.code());
                String runner = IMPORTS + checks + (pkg.find() ? "import " + pkg.group(1) + ".*;\n" : "") + "class "
                        + name + "Run {\n" + name + "Run() throws Exception {\n}\n" + n.run() + "\nvoid snippet() throws Exception {\n" + n.then() + "\n}\n}\n";
                return List.of(block, new Source(b, name + "Run", runner, Integer.MAX_VALUE, "then"));
            }
            String head = checks + IMPORTS + "abstract class " + name + " {\n" + b.given().replace('\n', ' ') + "\n"
                    + "void snippet() throws Exception {\n";
            Source withThen = new Source(scaled, name, head + scaled.code() + n.then() + "\n}\n}\n",
                    (int) head.lines().count() + 1);
            String runner = checks + IMPORTS + "class " + name + "Run extends " + name + " {\n" + name + "Run() throws "
                    + "Exception {\n}\n" + n.run() + "\n}\n"; // the constructor lets an initializer throw
            return List.of(withThen, new Source(b, name + "Run", runner, Integer.MAX_VALUE, "run"));
        }

        static Source of(Block b, String name) {
            String firstCode = b.code().lines().map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("//")).findFirst().orElse("");
            if (UNIT.matcher(firstCode).find()) {
                Matcher type = Pattern.compile("\\b(?:class|interface|record|enum)\\s+(\\w+)").matcher(b.code());
                String className = type.find() ? type.group(1) : name;
                Matcher pkg = Pattern.compile("^\\s*package\\s+([\\w.]+)\\s*;", Pattern.MULTILINE).matcher(b.code());
                return new Source(b, (pkg.find() ? pkg.group(1) + "." : "") + className, b.code(), 1);
            }
            String head = IMPORTS + "abstract class " + name + " {\n" + b.given().replace('\n', ' ') + "\n"
                    + "void snippet() throws Exception {\n";
            return new Source(b, name, head + b.code() + "}\n}\n", (int) head.lines().count() + 1);
        }

        Block block() {
            return block;
        }

        String where(long sourceLine) {
            long line = sourceLine - codeStart + block.firstLine();
            String file = block.file().toString().replace(File.separatorChar, '/');
            long codeLines = block.code().lines().count();
            if (note != null) {
                return file + ":" + (block.firstLine() - 1) + " (" + note + " note)";
            }
            if (codeStart > 1 && sourceLine >= codeStart + codeLines) {
                return file + ":" + (block.firstLine() - 1) + " (then note)";
            }
            return sourceLine < codeStart ? file + ":" + (block.firstLine() - 1) + " (given)" : file + ":" + line;
        }

        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
            return text;
        }
    }
}
