package org.attn4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.attn4j.examples.Cli;
import org.attn4j.examples.Flags;
import org.attn4j.examples.Soak;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Memory of a long training run of one block (the benchmark's {@code train_step}, standard size by
 * default), with {@code path=lm} of the language model of {@code lm_train_step} ({@link LmTraining},
 * {@code lmSize=char_gpt} by default), or with {@code path=seq2seq} of the encoder-decoder of
 * {@code seq2seq_train_step} ({@link Seq2SeqTraining}, {@code s2sSize=sequence} by default): resident memory of the process (VmRSS, heap and off-heap) after warm-up and every
 * {@code every} steps, its peak (VmHWM, the kernel's high-water mark over the whole run) and its
 * growth after warm-up, (largest sample after warm-up - sample at warm-up) / sample at warm-up.
 *
 * <p>Arguments ({@code key=value}): {@code size=standard}, {@code path=fast} ({@code samediff}, {@code lm},
 * {@code seq2seq}), {@code lmSize=char_gpt}, {@code s2sSize=sequence}, {@code steps=2000}, {@code warmup=500}, {@code every=250}.
 * Run: {@code mvn -q test-compile exec:java@train-memory}. Last line (size is the LM or seq2seq size's name for those paths):
 * {@code RESULT size=... steps=... ms_per_step=... rss_warm_mb=... rss_end_mb=... rss_max_mb=...
 * rss_peak_mb=... rss_growth=... heap_end_mb=...}.
 */
public final class TrainMemory {
    public static void main(String[] args) throws Exception {
        Cli.main("train-memory", args, TrainMemory::run);
    }

    /** The program, for tests: a bad option is a {@link org.attn4j.examples.BadOption}, thrown before anything runs. */
    public static void run(String[] args) throws IOException {
        Flags o = Flags.parse(args, Map.of("size", "standard", "steps", "2000", "warmup", "500",
                "every", "250", "path", "fast", "lmSize", "char_gpt", "s2sSize", "sequence"));
        int steps = o.integer("steps", 1), warmup = o.integer("warmup", 1), every = o.integer("every", 1);
        Flags.require(warmup <= steps, "warmup", "at most --steps " + steps + " (memory is measured after it)", warmup);
        String path = o.choice("path", "fast", "samediff", "lm", "seq2seq");
        Nd4j.getRandom().setSeed(1);
        BlockStep training;
        String sizeName, what;
        if (path.equals("lm")) {
            LmSize lm = LmSize.parse(o.choice("lmSize", "char_gpt", "lm_tiny"));
            training = new LmTraining(lm);
            sizeName = lm.name();
            what = lm.describe() + " through LanguageModel + Trainer.step";
        } else if (path.equals("seq2seq")) {
            Seq2SeqSize s2s = Seq2SeqSize.parse(o.choice("s2sSize", "sequence", "s2s_tiny"));
            training = new Seq2SeqTraining(s2s);
            sizeName = s2s.name();
            what = s2s.describe() + " through Seq2SeqTransformer + Trainer.step";
        } else {
            BenchSize size = BenchSize.parse(o.choice("size", "toy", "standard", "tiny"));
            training = BlockStep.of(path, size);
            sizeName = size.name();
            what = String.format(Locale.ROOT, "%s block (B=%d T=%d d=%d heads=%d ff=%d) on the %s path", size.name(),
                    size.batch(), size.length(), size.dModel(), size.heads(), size.ffDim(), path);
        }
        System.out.printf(Locale.ROOT, "Training a %s for %d steps, OMP_NUM_THREADS=%s%n", what, steps,
                System.getenv().getOrDefault("OMP_NUM_THREADS", "default"));
        double warm = Double.NaN, max = 0, last = 0;
        long start = System.nanoTime();
        for (int step = 1; step <= steps; step++) {
            training.step();
            if (step == warmup || step % every == 0 || step == steps) {
                System.gc();
                last = Soak.residentMb();
                if (step >= warmup) {
                    warm = Double.isNaN(warm) ? last : warm;
                    max = Math.max(max, last);
                }
                System.out.printf(Locale.ROOT, "step %6d  loss %.4f  resident %.1f MB  heap used %.1f MB  %.1f ms/step%n",
                        step, training.loss(), last, heapUsedMb(), (System.nanoTime() - start) / 1e6 / step);
            }
        }
        double msPerStep = (System.nanoTime() - start) / 1e6 / steps;
        System.out.printf(Locale.ROOT, "RESULT size=%s path=%s steps=%d ms_per_step=%.1f rss_warm_mb=%.1f rss_end_mb=%.1f "
                + "rss_max_mb=%.1f rss_peak_mb=%.1f rss_growth=%.3f heap_end_mb=%.1f%n", sizeName, path, steps, msPerStep,
                warm, last, max, Math.max(peakResidentMb(), max), (max - warm) / warm, heapUsedMb());
    }

    private static double heapUsedMb() {
        Runtime rt = Runtime.getRuntime();
        return (rt.totalMemory() - rt.freeMemory()) / 1e6;
    }

    /**
     * The largest resident set this process has had (VmHWM, Linux), NaN elsewhere. The kernel updates it
     * lazily, so it can read a little below a VmRSS read just before (seen: 4,189.0 against 4,189.1 MB);
     * the report takes the larger of the two.
     */
    static double peakResidentMb() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) {
            return Double.NaN;
        }
        return Files.readAllLines(status).stream().filter(l -> l.startsWith("VmHWM:"))
                .mapToDouble(l -> Long.parseLong(l.replaceAll("\\D+", "")) / 1024.0).findFirst().orElse(Double.NaN);
    }
}
