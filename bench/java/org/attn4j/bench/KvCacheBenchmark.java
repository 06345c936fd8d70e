package org.attn4j.bench;

import java.util.Locale;
import java.util.Map;
import org.attn4j.decode.Greedy;
import org.attn4j.examples.Cli;
import org.attn4j.examples.Flags;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * How much the key/value cache saves: greedy decoding of 16, 64 and 256 tokens from a one-token
 * prompt, once feeding one token per step against the cache and once recomputing the whole prefix
 * every step. The model is untrained (speed does not depend on the weights) and never stops early.
 *
 * <p>Arguments ({@code key=value}): {@code lengths=16,64,256}, {@code dModel=64}, {@code layers=2},
 * {@code batch=1}, {@code repeats=3} (the median is reported).
 * Run: {@code mvn -q test-compile exec:java@kv-bench}. Last line: {@code RESULT ...}.
 */
public final class KvCacheBenchmark {
    private static final int HEADS = 4;

    public static void main(String[] args) throws Exception {
        Cli.main("kv-bench", args, KvCacheBenchmark::run);
    }

    public static void run(String[] args) {
        Flags o = Flags.parse(args, Map.of("lengths", "16,64,256", "dModel", "64", "layers", "2",
                "batch", "1", "repeats", "3"));
        int d = o.integer("dModel", HEADS), layers = o.integer("layers", 1);
        Flags.require(d % HEADS == 0, "dModel", "a multiple of the benchmark's " + HEADS + " heads", d);
        int batch = o.integer("batch", 1), repeats = o.integer("repeats", 1);
        int[] lengths = o.integers("lengths", 1);
        int maxLen = java.util.Arrays.stream(lengths).max().orElse(16) + 1;
        Nd4j.getRandom().setSeed(1);
        LanguageModel model = new LanguageModel(ModelConfig.languageModel(64, d, HEADS, 4 * d, layers, maxLen));
        INDArray prompt = Nd4j.ones(DataType.INT, batch, 1);
        int warmup = Math.min(8, maxLen - 1);
        Greedy.decode(model, null, prompt, -1, warmup, true); // builds both graphs
        Greedy.decode(model, null, prompt, -1, warmup, false);
        System.out.printf(Locale.ROOT, "LanguageModel d=%d layers=%d batch=%d, greedy decoding, median of %d%n",
                d, layers, batch, repeats);
        System.out.printf(Locale.ROOT, "%8s %14s %14s %10s%n", "tokens", "cached tok/s", "recompute tok/s", "speedup");
        StringBuilder result = new StringBuilder("RESULT");
        for (int n : lengths) {
            double cached = median(repeats, () -> Greedy.decode(model, null, prompt, -1, n, true));
            double full = median(repeats, () -> Greedy.decode(model, null, prompt, -1, n, false));
            System.out.printf(Locale.ROOT, "%8d %14.1f %14.1f %9.2fx%n", n, n * batch / cached, n * batch / full,
                    full / cached);
            result.append(String.format(Locale.ROOT, " speedup_%d=%.2f", n, full / cached));
        }
        System.out.println(result);
    }

    private static double median(int repeats, Runnable r) {
        double[] t = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long start = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - start) / 1e9;
        }
        java.util.Arrays.sort(t);
        return t[repeats / 2];
    }
}
