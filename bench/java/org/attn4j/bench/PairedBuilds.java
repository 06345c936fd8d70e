package org.attn4j.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Two builds of attn4j timed against each other in one JVM: each build's classes in a class loader of its own over
 * the same dependencies (ND4J loads its native libraries once), a benchmark's {@code run(String[])} called on one
 * build, then the other, round after round (the order swapped every round). Each round gives every row a ratio
 * (second build's median / first build's); the summary is the median of those ratios over the rounds after
 * {@code skip} warm-up rounds. Noise on a shared machine comes in stretches of seconds that slow whatever runs then;
 * run back to back, the two builds of a round mostly meet the same stretch, which separate runs of each do not.
 *
 * <p>Rows are the benchmark's {@code BENCH ... median_ms=} lines ({@link BlockBenchmark}), the table lines of
 * {@link KvCacheBenchmark} (milliseconds per token, cached and recomputed), those of {@link CompactKernels}
 * (milliseconds per product) and {@link RealSize}'s rows (decoding: milliseconds per new token; the prefill and
 * the training step: milliseconds). {@code bench/ab} builds a base commit in
 * a worktree and runs this for the README's rows.
 *
 * <p>Arguments: {@code classpath-file base-tree new-tree rounds skip main-class [benchmark arguments...]}. With
 * main class {@code steps}, the training rows alternate step by step instead: {@code train_step} (the toy block),
 * {@code lm_train_step} (the char-GPT) and {@code seq2seq_train_step} (the sequence example), each build's
 * {@link BlockStep} made once, then {@code rounds} steps of one build and the other in turn (order swapped each
 * time) after {@code skip} warm-up steps; then KvCacheBenchmark's decodings (16, 64 and 256 tokens, cached and
 * recomputed) one decoding of each build in turn. The summary is each build's median call and the median of the
 * paired ratios.
 */
public final class PairedBuilds {
    private static final Pattern BENCH = Pattern.compile(
            "^BENCH .*size=(\\S+) threads=(\\d+) workload=(\\S+) median_ms=([\\d.]+)");
    private static final Pattern COMPACT = Pattern.compile("^(\\w+)\\s+\\[(\\d+), (\\d+)\\]\\s+(\\d+)\\s+([\\d.]+)\\s");
    private static final Pattern REAL_SIZE = Pattern.compile("^decode (\\w+) batch (\\d+): ([\\d.]+) tokens/s");
    private static final Pattern REAL_SIZE_MS = Pattern.compile("^(train step|prefill) ([^:]+?)( tokens)?: (\\d+) ms");
    private static final Pattern KV = Pattern.compile("^\\s+(\\d+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+[\\d.]+x\\s*$");

    private PairedBuilds() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 6) {
            throw new IllegalArgumentException("expected: classpath-file base-tree new-tree rounds skip main-class "
                    + "[args...], given " + Arrays.toString(args));
        }
        URLClassLoader deps = new URLClassLoader(urls(Files.readString(Path.of(args[0])).trim().split(":")),
                ClassLoader.getPlatformClassLoader());
        Thread.currentThread().setContextClassLoader(deps); // ND4J finds its backend through this loader
        int rounds = Integer.parseInt(args[3]), skip = Integer.parseInt(args[4]);
        if (args[5].equals("steps")) {
            steps(deps, Path.of(args[1]), Path.of(args[2]), rounds, skip);
            return;
        }
        Method[] run = {entry(deps, Path.of(args[1]), args[5]), entry(deps, Path.of(args[2]), args[5])};
        String[] benchArgs = Arrays.copyOfRange(args, 6, args.length);
        Map<String, List<double[]>> rows = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            Map<String, double[]> round = new LinkedHashMap<>();
            for (int k = 0; k < 2; k++) {
                int build = (r + k) % 2;
                for (Map.Entry<String, Double> e : rows(capture(run[build], benchArgs)).entrySet()) {
                    round.computeIfAbsent(e.getKey(), key -> new double[2])[build] = e.getValue();
                }
            }
            System.out.printf(Locale.ROOT, "round %d:%s%n", r, summary(round));
            if (r >= skip) {
                round.forEach((key, v) -> rows.computeIfAbsent(key, x -> new ArrayList<>()).add(v));
            }
        }
        System.out.printf(Locale.ROOT, "%-40s %6s %10s %10s %10s%n", "row", "rounds", "base ms", "new ms",
                "new/base");
        rows.forEach((key, pairs) -> {
            double[] ratios = pairs.stream().mapToDouble(v -> v[1] / v[0]).sorted().toArray();
            System.out.printf(Locale.ROOT, "PAIRED %-33s %6d %10.3f %10.3f %10.3f%n", key, pairs.size(),
                    median(pairs.stream().mapToDouble(v -> v[0]).sorted().toArray()),
                    median(pairs.stream().mapToDouble(v -> v[1]).sorted().toArray()), median(ratios));
        });
    }

    /** One timed call of a build: a training step, or one greedy decoding. */
    private interface Call {
        void run() throws Exception;
    }

    /** The training rows and KvCacheBenchmark's decodings, alternating call by call. */
    private static void steps(ClassLoader deps, Path base, Path next, int rounds, int skip) throws Exception {
        ClassLoader[] builds = {loader(deps, base), loader(deps, next)};
        String[][] rows = {{"train_step toy", "org.attn4j.bench.BlockStep", "of", "fast", "toy"},
            {"lm_train_step char_gpt", "org.attn4j.bench.LmTraining", null, "org.attn4j.bench.LmSize", "charGpt"},
            {"seq2seq_train_step sequence", "org.attn4j.bench.Seq2SeqTraining", null, "org.attn4j.bench.Seq2SeqSize",
                "sequence"}};
        System.out.printf(Locale.ROOT, "%-40s %6s %10s %10s %10s%n", "row", "calls", "base ms", "new ms", "new/base");
        for (String[] row : rows) {
            Call[] call = new Call[2];
            for (int i = 0; i < 2; i++) {
                Object target = stepOf(builds[i], row);
                Method step = builds[i].loadClass("org.attn4j.bench.BlockStep").getMethod("step");
                step.setAccessible(true);
                call[i] = () -> step.invoke(target);
            }
            alternate(row[0] + " steps", call, rounds, skip);
        }
        for (int n : new int[] {16, 64, 256}) {
            for (boolean cached : new boolean[] {true, false}) {
                Call[] call = {decoding(builds[0], n, cached), decoding(builds[1], n, cached)};
                int calls = cached || n <= 16 ? rounds : Math.max(20, rounds * 16 / n);
                alternate((cached ? "kv_cached " : "kv_recompute ") + n + " decodes", call, calls, Math.min(skip, 5));
            }
        }
    }

    /** Calls the builds in turn (order swapped each time), {@code skip} times untimed, then {@code rounds} timed. */
    private static void alternate(String row, Call[] call, int rounds, int skip) throws Exception {
        double[][] ms = new double[2][rounds];
        double[] ratios = new double[rounds];
        for (int r = -skip; r < rounds; r++) {
            double[] t = new double[2];
            for (int k = 0; k < 2; k++) {
                int i = (r + skip + k) % 2;
                long t0 = System.nanoTime();
                call[i].run();
                t[i] = (System.nanoTime() - t0) / 1e6;
            }
            if (r >= 0) {
                ms[0][r] = t[0];
                ms[1][r] = t[1];
                ratios[r] = t[1] / t[0];
            }
        }
        for (double[] m : ms) {
            Arrays.sort(m);
        }
        Arrays.sort(ratios);
        System.out.printf(Locale.ROOT, "PAIRED %-33s %6d %10.3f %10.3f %10.3f%n", row, rounds, median(ms[0]),
                median(ms[1]), median(ratios));
    }

    /**
     * A build's greedy decoding of {@code n} tokens from a one-token prompt by KvCacheBenchmark's model (untrained,
     * d 64, 4 heads, 2 layers), with the key/value cache or recomputing the prefix.
     */
    private static Call decoding(ClassLoader build, int n, boolean cached) throws Exception {
        Class<?> nd4j = build.loadClass("org.nd4j.linalg.factory.Nd4j");
        Object random = nd4j.getMethod("getRandom").invoke(null);
        random.getClass().getMethod("setSeed", long.class).invoke(random, 1L);
        Class<?> configs = build.loadClass("org.attn4j.model.ModelConfig");
        Object config = configs.getMethod("languageModel", int.class, int.class, int.class, int.class, int.class,
                int.class).invoke(null, 64, 64, 4, 256, 2, 257);
        Object model = build.loadClass("org.attn4j.model.LanguageModel").getConstructor(configs).newInstance(config);
        Class<?> types = build.loadClass("org.nd4j.linalg.api.buffer.DataType");
        Object prompt = nd4j.getMethod("ones", types, long[].class).invoke(null, types.getField("INT").get(null),
                new long[] {1, 1});
        Class<?> arrays = build.loadClass("org.nd4j.linalg.api.ndarray.INDArray");
        Method decode = build.loadClass("org.attn4j.decode.Greedy").getMethod("decode",
                build.loadClass("org.attn4j.model.TransformerModel"), arrays, arrays, int.class, int.class, boolean.class);
        return () -> decode.invoke(null, model, null, prompt, -1, n, cached);
    }

    /** A build's training step of a row: {@code BlockStep.of(path, BenchSize.parse(size))}, or a model's. */
    private static Object stepOf(ClassLoader build, String[] row) throws Exception {
        if (row[2] != null) {
            Class<?> size = build.loadClass("org.attn4j.bench.BenchSize");
            Method parse = size.getDeclaredMethod("parse", String.class);
            parse.setAccessible(true);
            Object s = parse.invoke(null, row[4]);
            Method of = build.loadClass(row[1]).getDeclaredMethod(row[2], String.class, size);
            of.setAccessible(true);
            return of.invoke(null, row[3], s);
        }
        Class<?> size = build.loadClass(row[3]);
        Method named = size.getDeclaredMethod(row[4]);
        named.setAccessible(true);
        Object s = named.invoke(null);
        java.lang.reflect.Constructor<?> c = build.loadClass(row[1]).getDeclaredConstructor(size);
        c.setAccessible(true);
        return c.newInstance(s);
    }

    private static ClassLoader loader(ClassLoader deps, Path tree) throws IOException {
        return new URLClassLoader(urls(tree.resolve("target/classes").toString() + "/",
                tree.resolve("target/test-classes").toString() + "/"), deps);
    }

    private static URL[] urls(String... paths) throws IOException {
        URL[] urls = new URL[paths.length];
        for (int i = 0; i < paths.length; i++) {
            urls[i] = Path.of(paths[i]).toUri().toURL();
        }
        return urls;
    }

    /** The benchmark's {@code run(String[])} in a loader of the tree's main and bench classes over {@code deps}. */
    private static Method entry(ClassLoader deps, Path tree, String mainClass) throws Exception {
        Method run = loader(deps, tree).loadClass(mainClass).getDeclaredMethod("run", String[].class);
        run.setAccessible(true);
        return run;
    }

    /** What one run printed to standard output. */
    private static String capture(Method run, String[] args) throws IllegalAccessException, InvocationTargetException {
        PrintStream out = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            run.invoke(null, (Object) args);
        } finally {
            System.setOut(out);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    /** Milliseconds by row name in a run's output. */
    static Map<String, Double> rows(String output) {
        Map<String, Double> rows = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            Matcher m = BENCH.matcher(line);
            if (m.find()) {
                rows.put(m.group(3) + " " + m.group(1) + " t" + m.group(2), Double.parseDouble(m.group(4)));
                continue;
            }
            m = COMPACT.matcher(line);
            if (m.find()) {
                rows.put(m.group(1) + " [" + m.group(2) + ", " + m.group(3) + "] n" + m.group(4),
                        Double.parseDouble(m.group(5)));
                continue;
            }
            m = REAL_SIZE.matcher(line);
            if (m.find()) {
                rows.put("decode_ms_per_token " + m.group(1) + " b" + m.group(2), 1000 / Double.parseDouble(m.group(3)));
                continue;
            }
            m = REAL_SIZE_MS.matcher(line);
            if (m.find()) {
                rows.put(m.group(1).replace(' ', '_') + "_ms " + m.group(2), Double.parseDouble(m.group(4)));
                continue;
            }
            m = KV.matcher(line);
            if (m.find()) {
                rows.put("kv_cached_ms_per_token " + m.group(1), 1000 / Double.parseDouble(m.group(2)));
                rows.put("kv_recompute_ms_per_token " + m.group(1), 1000 / Double.parseDouble(m.group(3)));
            }
        }
        return rows;
    }

    private static String summary(Map<String, double[]> round) {
        StringBuilder s = new StringBuilder();
        round.forEach((key, v) -> s.append(String.format(Locale.ROOT, " %s=%.3f", key.replace(' ', '/'), v[1] / v[0])));
        return s.toString();
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
