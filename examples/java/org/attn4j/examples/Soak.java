package org.attn4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.attn4j.data.Batch;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A long run that watches memory: trains a toy-size language model (B=32, T=32, d=64, 4 heads,
 * ff=256, 2 layers, dropout 0.1) on random sequences and reports the process's resident memory
 * (heap and off-heap: VmRSS from /proc/self/status) and the JVM heap in use. After warm-up, resident
 * memory should stay flat; growth shows a leak. Warm-up is the first 2,000 steps: ND4J's native memory
 * pools and the C allocator's arenas fill up over the first thousand or two steps.
 *
 * <p>Arguments ({@code key=value}): {@code steps=20000}, {@code warmup=2000}, {@code every=1000}.
 * Run: {@code mvn -q test-compile exec:java@soak}. Last line:
 * {@code RESULT steps=... rss_warm_mb=... rss_end_mb=... rss_max_mb=... rss_growth=... heap_end_mb=...}.
 */
public final class Soak {
    public static void main(String[] args) throws Exception {
        Cli.main("soak", args, Soak::run);
    }

    static void run(String[] args) throws IOException {
        Flags o = Flags.parse(args, Map.of("steps", "20000", "warmup", "2000", "every", "1000"));
        int steps = o.integer("steps", 1), warmup = o.integer("warmup", 1), every = o.integer("every", 1);
        Flags.require(warmup <= steps, "warmup", "at most --steps " + steps + " (memory is measured after it)", warmup);
        Nd4j.getRandom().setSeed(1);
        LanguageModel model = new LanguageModel(ModelConfig.languageModel(64, 64, 4, 256, 2, 32).withDropout(0.1)
                .withAttnDropout(0.1));
        Trainer trainer = new Trainer(model, Trainer.Config.adam(Schedules.inverseSqrt(1e-3, 100)).withSeed(1));
        java.util.Random rnd = new java.util.Random(2);
        double warm = Double.NaN, max = 0, last = 0;
        long start = System.nanoTime();
        for (int step = 1; step <= steps; step++) {
            int[][] in = new int[32][32], out = new int[32][32];
            for (int i = 0; i < 32; i++) {
                for (int t = 0; t < 32; t++) {
                    in[i][t] = 1 + rnd.nextInt(63);
                    out[i][t] = 1 + rnd.nextInt(63);
                }
            }
            Batch batch = new Batch(null, ids(in), ids(out));
            Trainer.StepResult r = trainer.step(batch);
            batch.input().close();
            batch.target().close();
            if (step == warmup || step % every == 0 || step == steps) {
                System.gc();
                last = residentMb();
                if (step >= warmup) {
                    warm = Double.isNaN(warm) ? last : warm;
                    max = Math.max(max, last);
                }
                Runtime rt = Runtime.getRuntime();
                System.out.printf(Locale.ROOT,
                        "step %6d  loss %.4f  resident %.1f MB  heap used %.1f MB of %.1f MB committed  %.1f ms/step%n",
                        step, r.loss(), last, (rt.totalMemory() - rt.freeMemory()) / 1e6, rt.totalMemory() / 1e6,
                        (System.nanoTime() - start) / 1e6 / step);
            }
        }
        Runtime rt = Runtime.getRuntime();
        System.out.printf(Locale.ROOT, "RESULT steps=%d rss_warm_mb=%.1f rss_end_mb=%.1f rss_max_mb=%.1f rss_growth=%.3f "
                + "heap_end_mb=%.1f%n", steps, warm, last, max, (max - warm) / warm,
                (rt.totalMemory() - rt.freeMemory()) / 1e6);
    }

    private static INDArray ids(int[][] a) {
        return Nd4j.createFromArray(a).castTo(DataType.INT);
    }

    /** Resident set size of this process in MB (Linux), NaN elsewhere. */
    public static double residentMb() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) {
            return Double.NaN;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D+", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }
}
