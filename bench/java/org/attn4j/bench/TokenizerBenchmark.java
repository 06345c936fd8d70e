package org.attn4j.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.attn4j.examples.Cli;
import org.attn4j.examples.Flags;
import org.attn4j.text.Tokenizer;

/**
 * Tokenizer speed and memory with the real GPT-2 vocabulary: encode throughput on one thread over 1 MiB of English
 * text (Shakespeare) and 1 MiB of source code (this repository's Java), with a fresh tokenizer (cold word cache)
 * and once the cache is warm; load time of GPT-2's tokenizer.json after warm-up, and the heap it retains.
 * {@code bench/tokenizers_hf.py} measures HF tokenizers and tiktoken on the same inputs.
 *
 * <p>Arguments ({@code key=value}): {@code tokenizer=src/test/resources/tokenizers/gpt2},
 * {@code prose=examples/data/tinyshakespeare.txt}, {@code code=src}, {@code mib=1}, {@code repeats=5}
 * (the median is reported). Run: {@code mvn -q test-compile exec:java@tokenizer-bench}. Last line: {@code RESULT ...}.
 */
public final class TokenizerBenchmark {
    public static void main(String[] args) throws Exception {
        Cli.main("tokenizer-bench", args, TokenizerBenchmark::run);
    }

    public static void run(String[] args) throws IOException {
        Flags o = Flags.parse(args, Map.of("tokenizer", "src/test/resources/tokenizers/gpt2",
                "prose", "examples/data/tinyshakespeare.txt", "code", "src", "mib", "1", "repeats", "5"));
        Path dir = o.path("tokenizer");
        int bytes = o.integer("mib", 1) << 20;
        int repeats = o.integer("repeats", 1);
        String prose = Inputs.prose(o.path("prose"), bytes);
        String code = Inputs.code(o.path("code"), bytes);

        for (int i = 0; i < 6; i++) { // JIT warm-up of the reader and the encoder
            Tokenizer.fromPretrained(dir).encode(prose.substring(0, 100_000));
        }
        double loadMs = median(repeats, () -> Tokenizer.fromPretrained(dir)) * 1e3;
        long retained = retainedBytes(dir);
        System.out.printf(Locale.ROOT, "GPT-2 tokenizer.json: load %.1f ms (median of %d, after warm-up), "
                + "retained heap %.1f MB%n", loadMs, repeats, retained / 1e6);

        StringBuilder result = new StringBuilder(String.format(Locale.ROOT, "RESULT load_ms=%.1f retained_mb=%.1f",
                loadMs, retained / 1e6));
        for (Map.Entry<String, String> input : List.of(Map.entry("prose", prose), Map.entry("code", code))) {
            String text = input.getValue();
            double mb = text.getBytes(StandardCharsets.UTF_8).length / 1e6;
            int[] tokens = new int[1];
            double cold = median(repeats, () -> tokens[0] = Tokenizer.fromPretrained(dir).encode(text).length,
                    () -> Tokenizer.fromPretrained(dir), t -> t.encode(text));
            Tokenizer warmTok = Tokenizer.fromPretrained(dir);
            warmTok.encode(text);
            double warm = median(repeats, () -> warmTok.encode(text));
            System.out.printf(Locale.ROOT, "encode %-5s %.2f MB, %d tokens: cold cache %.1f MB/s, warm cache %.1f MB/s%n",
                    input.getKey(), mb, tokens[0], mb / cold, mb / warm);
            result.append(String.format(Locale.ROOT, " %s_cold_mb_s=%.1f %s_warm_mb_s=%.1f", input.getKey(), mb / cold,
                    input.getKey(), mb / warm));
        }
        System.out.println(result);
    }

    /** Heap in use with the tokenizer held minus without it, each after collections. */
    private static long retainedBytes(Path dir) {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long before = settledHeap(memory);
        Tokenizer held = Tokenizer.fromPretrained(dir);
        long after = settledHeap(memory);
        if (held.vocabSize() == 0) {
            throw new IllegalStateException("empty vocabulary");
        }
        return after - before;
    }

    private static long settledHeap(MemoryMXBean memory) {
        for (int i = 0; i < 4; i++) {
            System.gc();
        }
        return memory.getHeapMemoryUsage().getUsed();
    }

    private interface Timed {
        Object run() throws Exception;
    }

    private static double median(int repeats, Timed body) {
        double[] t = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long start = System.nanoTime();
            try {
                body.run();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            t[i] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(t);
        return t[repeats / 2];
    }

    /** Times {@code body} on a fresh {@code setup()} each repeat, the setup itself untimed; runs {@code once} first. */
    private static <T> double median(int repeats, Timed once, java.util.function.Supplier<T> setup,
            java.util.function.Consumer<T> body) {
        try {
            once.run();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        double[] t = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            T fresh = setup.get();
            long start = System.nanoTime();
            body.accept(fresh);
            t[i] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(t);
        return t[repeats / 2];
    }

    /** The benchmark's texts: the first {@code bytes} of a file, and source files concatenated up to that size. */
    static final class Inputs {
        private Inputs() {
        }

        static String prose(Path file, int bytes) throws IOException {
            return cut(Files.readString(file), bytes);
        }

        static String code(Path root, int bytes) throws IOException {
            StringBuilder sb = new StringBuilder();
            try (Stream<Path> files = Files.walk(root)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                    sb.append(Files.readString(f));
                    if (sb.length() >= bytes) {
                        break;
                    }
                }
            }
            return cut(sb.toString(), bytes);
        }

        private static String cut(String text, int bytes) {
            return text.length() <= bytes ? text : text.substring(0, bytes);
        }
    }
}
