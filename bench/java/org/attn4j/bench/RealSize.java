package org.attn4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.attn4j.config.WeightFormat;
import org.attn4j.data.Batch;
import org.attn4j.examples.Cli;
import org.attn4j.examples.Flags;
import org.attn4j.examples.Soak;
import org.attn4j.model.DecodingSession;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.TransformerModel;
import org.attn4j.train.Trainer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.schedule.FixedSchedule;

/**
 * A real-size model through the public API, against what the machine allows (measured in the same run by
 * {@link MachineLimits}): a GPT-2-small-shaped {@link LanguageModel} ({@code --shape gpt2}: V 50,257, C 768, 12 heads,
 * 12 layers, tied head, 124 M parameters) or a Llama-shaped one of similar size ({@code --shape llama}: V 32,000,
 * C 768, 12 heads with 4 key/value heads, SwiGLU F 2,048, 12 layers, untied head), random weights, float32.
 *
 * <ul>
 *   <li>{@code <format>_decode_tps_b<B>}: cached greedy decoding of {@code --new 64} tokens after a {@code --prompt
 *   128}-token prompt, for each batch size of {@code --batches 1,8} and each weight format of {@code --formats
 *   float32,bfloat16,int8} (the same random weights, {@link LanguageModel#convertWeights converted}), new tokens a
 *   second (the prompt's time not counted), and {@code <format>_decode_bound_b<B>}: that as a fraction of its
 *   bandwidth bound: read bandwidth / (bytes of the weights in that format + the key/value cache read per step)
 *   steps a second, times B; and {@code <format>_prompt_ms_b<B>}: the prompt's forward.</li>
 *   <li>{@code prefill_ms}: one forward of a {@code --prefill 512}-token prompt into a decoding session (its last
 *   position's log-probabilities), and {@code prefill_mfu}: its products' FLOPs / time / GEMM peak.</li>
 *   <li>{@code train_step_ms}: one AdamW step (lr 1e-3, clipping 1.0) on {@code --train-batch 4} x
 *   {@code --train-len 256} tokens (median of {@code --steps 3} after one warm-up), and {@code train_mfu}; then its
 *   memory by component ({@link Trainer#memory()}, in MB of 10^6 bytes): {@code train_required_mb} (weights, gradients,
 *   optimizer state and the activations the backward reads), {@code train_counted_mb} (every array the trainer
 *   holds) and {@code train_peak_over_required}; and a CRC-32 of the weights after the steps, which a change that
 *   keeps the arithmetic leaves as it was.</li>
 *   <li>{@code *_peak_mb}: the process's peak resident memory during each phase (VmHWM, reset before it through
 *   {@code /proc/self/clear_refs}), beside {@code weights_mb}.</li>
 * </ul>
 * FLOPs count the products only: 2 per multiply-add of every linear layer and the head, and of attention's scores
 * and weighted values over the causal half (a training step three times its forward).
 *
 * <p>Run: {@code mvn -q test-compile exec:java@realsize -Dexec.args="--shape gpt2"} ({@code bench/realsize} runs it
 * with PyTorch beside it). Last line: {@code RESULT shape=... read_gbps=... gemm_gflops=... ...}.
 */
public final class RealSize {
    private RealSize() {
    }

    public static void main(String[] args) throws Exception {
        Cli.main("realsize", args, RealSize::run);
    }

    static ModelConfig shape(String name) {
        return name.equals("gpt2") ? ModelConfig.languageModel(50257, 768, 12, 3072, 12, 1024).withoutPadding()
                : ModelConfig.modernLanguageModel(32000, 768, 12, 2048, 12, 1024).withKvHeads(4).withoutPadding();
    }

    static void run(String[] args) throws Exception {
        Flags o = Flags.parse(args, Map.of("shape", "gpt2", "batches", "1,8", "prompt", "128", "new", "64",
                "prefill", "512", "train-batch", "4", "train-len", "256", "steps", "3", "phases", "decode,prefill,train", "formats", "float32,bfloat16,int8"));
        String shapeName = o.choice("shape", "gpt2", "llama");
        ModelConfig config = shape(shapeName);
        List<String> phases = o.choices("phases", "decode", "prefill", "train");
        double bandwidth = MachineLimits.readGbPerSecond(512, 10), gemm = MachineLimits.gemmGflops(1536, 5);
        double javaBandwidth = MachineLimits.javaReadGbPerSecond(512, 10);
        System.out.printf(Locale.ROOT, "%s: read bandwidth %.1f GB/s (OpenBLAS's sasum; a Java vector loop %.1f), GEMM "
                + "peak %.1f GFLOP/s (threads %d)%n", shapeName, bandwidth, javaBandwidth, gemm,
                org.attn4j.kernels.Parallel.shared().threads());
        StringBuilder result = new StringBuilder(String.format(Locale.ROOT,
                "RESULT shape=%s read_gbps=%.1f java_read_gbps=%.1f gemm_gflops=%.1f", shapeName, bandwidth, javaBandwidth, gemm));
        double startMb = Soak.residentMb() * MIB; // the JVM, Maven and ND4J before any model
        Nd4j.getRandom().setSeed(1);
        resetPeak();
        LanguageModel model = new LanguageModel(config);
        double weightsMb = model.parameterCount() * 4 / 1e6;
        result.append(String.format(Locale.ROOT, " parameters=%d weights_mb=%.0f build_peak_mb=%.0f",
                model.parameterCount(), weightsMb, TrainMemory.peakResidentMb()));
        Random random = new Random(2);
        if (phases.contains("decode")) {
            for (WeightFormat format : o.choices("formats", "float32", "bfloat16", "int8").stream()
                    .map(f -> WeightFormat.valueOf(f.toUpperCase(Locale.ROOT))).toList()) {
                LanguageModel decoding = model;
                if (format != WeightFormat.FLOAT32) { // a model of the same weights, converted
                    Nd4j.getRandom().setSeed(1);
                    decoding = new LanguageModel(config);
                    decoding.convertWeights(format);
                }
                String key = format.name().toLowerCase(Locale.ROOT);
                for (int b : o.integers("batches", 1)) {
                    resetPeak();
                    double[] timing = decode(decoding, b, o.integer("prompt", 1), o.integer("new", 2), random);
                    double tps = timing[0];
                    int context = o.integer("prompt", 1) + o.integer("new", 2) / 2; // the cache's average length
                    double bytes = weightBytesPerToken(config, format) + (double) b * kvBytesPerToken(config) * context;
                    double bound = bandwidth * 1e9 / bytes * b;
                    System.out.printf(Locale.ROOT, "decode %s batch %d: %.1f tokens/s, %.2f of the bound %.1f tokens/s, "
                            + "peak %.0f MB; its prompt (%d x %d tokens) %.0f ms%n", key, b, tps, tps / bound, bound,
                            TrainMemory.peakResidentMb(), b, o.integer("prompt", 1), timing[1] * 1e3);
                    result.append(String.format(Locale.ROOT, " %s_decode_tps_b%d=%.1f %s_decode_bound_b%d=%.2f "
                            + "%s_decode_peak_mb_b%d=%.0f %s_prompt_ms_b%d=%.0f", key, b, tps, key, b, tps / bound, key, b,
                            TrainMemory.peakResidentMb(), key, b, timing[1] * 1e3));
                }
            }
        }
        if (phases.contains("prefill")) {
            resetPeak();
            int t = o.integer("prefill", 1);
            INDArray prompt = ids(random, 1, t, config.targetVocab());
            double seconds = Double.MAX_VALUE;
            for (int i = 0; i < 3; i++) {
                try (DecodingSession s = model.startDecoding(null)) {
                    long start = System.nanoTime();
                    s.advance(prompt);
                    seconds = Math.min(seconds, (System.nanoTime() - start) / 1e9);
                }
            }
            double mfu = forwardFlops(config, 1, t, false) / seconds / 1e9 / gemm;
            System.out.printf(Locale.ROOT, "prefill %d tokens: %.0f ms, mfu %.2f, peak %.0f MB%n", t, seconds * 1e3, mfu,
                    TrainMemory.peakResidentMb());
            result.append(String.format(Locale.ROOT, " prefill_ms=%.0f prefill_mfu=%.2f prefill_peak_mb=%.0f", seconds * 1e3,
                    mfu, TrainMemory.peakResidentMb()));
        }
        if (phases.contains("train")) {
            resetPeak();
            int b = o.integer("train-batch", 1), t = o.integer("train-len", 2);
            Trainer trainer = new Trainer(model, Trainer.Config.adam(new FixedSchedule(1e-3))
                    .withOptimizer(Trainer.Optimizer.ADAMW).withWeightDecay(0.1).withSeed(1));
            List<Batch> batches = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                INDArray window = ids(random, b, t + 1, config.targetVocab());
                batches.add(new Batch(null, window.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                        org.nd4j.linalg.indexing.NDArrayIndex.interval(0, t)).dup('c'),
                        window.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                                org.nd4j.linalg.indexing.NDArrayIndex.interval(1, t + 1)).dup('c')));
            }
            List<String> losses = new ArrayList<>();
            losses.add(Double.toString(trainer.step(batches.get(0)).loss()));
            double[] times = new double[o.integer("steps", 1)];
            for (int i = 0; i < times.length; i++) {
                long start = System.nanoTime();
                losses.add(Double.toString(trainer.step(batches.get((i + 1) % 2)).loss()));
                times[i] = (System.nanoTime() - start) / 1e9;
            }
            Arrays.sort(times);
            double step = times[times.length / 2], mfu = 3 * forwardFlops(config, b, t, true) / step / 1e9 / gemm;
            System.out.printf(Locale.ROOT, "train step %d x %d: %.0f ms, mfu %.2f, peak %.0f MB (weights, gradients and "
                    + "two Adam moments: %.0f MB)%n", b, t, step * 1e3, mfu, TrainMemory.peakResidentMb(), 4 * weightsMb);
            result.append(String.format(Locale.ROOT, " train_step_ms=%.0f train_mfu=%.2f train_peak_mb=%.0f", step * 1e3,
                    mfu, TrainMemory.peakResidentMb()));
            result.append(trainMemory(trainer.memory(), startMb));
            System.out.printf(Locale.ROOT, "train check: losses %s, weights crc32 %s (equal before and after a change "
                    + "that keeps the arithmetic)%n", losses, weightsCrc(model));
        }
        System.out.println(result);
    }

    /** MB (10^6 bytes) in a MiB: /proc/self/status counts kB of 1,024 bytes. */
    private static final double MIB = 1.048576;

    /**
     * The training step's memory by component, in MB (10^6 bytes; the peak converted from /proc's kB): the arrays
     * the trainer counts ({@link Trainer#memory()}), then what the process holds besides (peak - counted: the JVM,
     * Maven, ND4J's and OpenBLAS's code and buffers, the allocator's free lists, the Java heap), beside the resident
     * size before the model was built and the Java heap committed now. Returns its RESULT keys.
     */
    private static String trainMemory(Trainer.Memory m, double startMb) throws IOException {
        double mb = 1e6, peak = TrainMemory.peakResidentMb() * MIB, rss = Soak.residentMb() * MIB;
        TransformerModel.EngineMemory e = m.engine();
        double required = m.required() / mb, counted = m.total() / mb;
        double heap = Runtime.getRuntime().totalMemory() / mb;
        System.out.printf(Locale.ROOT, "train memory (MB): weights %.0f, gradients %.0f, Adam m and v %.0f; activations "
                + "kept for the backward %.0f (block rows %.0f, attention probabilities %.0f, feed-forward hidden %.0f, "
                + "stack rows %.0f, logits and their gradient %.0f); required sum %.0f%n", m.weights() / mb,
                e.gradients() / mb, m.optimizerState() / mb, e.activations() / mb, e.blockRows() / mb,
                e.attention() / mb, e.hidden() / mb, e.stackRows() / mb, e.logits() / mb, required);
        System.out.printf(Locale.ROOT, "train memory (MB): scratch: backward rows %.0f, gradient shares %.0f, updater "
                + "rows %.0f; arrays counted %.0f; process: peak %.0f, resident now %.0f, peak - counted %.0f (resident "
                + "before the model %.0f, Java heap committed now %.0f); peak / required %.2f%n", e.backwardScratch() / mb,
                e.gradientShares() / mb, m.optimizerRows() / mb, counted, peak, rss, peak - counted, startMb, heap,
                peak / required);
        return String.format(Locale.ROOT, " train_required_mb=%.0f train_counted_mb=%.0f train_peak_over_required=%.2f",
                required, counted, peak / required);
    }

    /**
     * New tokens a second of cached greedy decoding at batch b, the prompt's forward not counted, and the seconds of
     * that forward (the best of four rounds each: the JIT compiles the kernels over the first two or three, a prompt
     * and ~150 tokens; in a compact format, the prompt's products are GEMM on widened tiles).
     */
    private static double[] decode(LanguageModel model, int b, int promptLength, int steps, Random random) {
        INDArray prompt = ids(random, b, promptLength, model.config().targetVocab());
        double best = Double.MAX_VALUE, bestPrompt = Double.MAX_VALUE;
        for (int round = 0; round < 4; round++) {
            try (DecodingSession s = model.startDecoding(null)) {
                long promptStart = System.nanoTime();
                INDArray logProbs = s.advance(prompt);
                bestPrompt = Math.min(bestPrompt, (System.nanoTime() - promptStart) / 1e9);
                long start = System.nanoTime();
                for (int i = 0; i < steps; i++) {
                    logProbs = s.advance(logProbs.argMax(1).castTo(DataType.INT).reshape(b, 1));
                }
                best = Math.min(best, (System.nanoTime() - start) / 1e9);
            }
        }
        return new double[] {b * steps / best, bestPrompt};
    }

    /**
     * Bytes of weights a decoding step reads in {@code format}: every linear layer of the blocks and the head (the
     * rest, norms, biases and an embedding row, is under 0.1%).
     */
    static double weightBytesPerToken(ModelConfig c, WeightFormat format) {
        int d = c.dModel(), kv = c.kvHeads() * (d / c.heads()), f = c.ffDim();
        boolean gated = c.activation() == org.attn4j.config.Activation.SWIGLU;
        double block = format.bytes(d, d) * 2.0 + format.bytes(kv, d) * 2.0 + format.bytes(f, d) * (gated ? 2 : 1)
                + format.bytes(d, f);
        return c.decoderLayers() * block + format.bytes(c.targetVocab(), d);
    }

    /** Bytes of keys and values a token adds to the cache (float32): 2 x layers x kvHeads x head width x 4. */
    static long kvBytesPerToken(ModelConfig c) {
        return 2L * c.decoderLayers() * c.kvHeads() * (c.dModel() / c.heads()) * 4;
    }

    /**
     * The products' FLOPs of one forward over b x t tokens: every linear layer, the head (for every position when
     * allPositions, else for each sequence's last), and attention's two products over the causal half.
     */
    static double forwardFlops(ModelConfig c, int b, int t, boolean allPositions) {
        double d = c.dModel(), kv = (double) c.kvHeads() / c.heads() * d, f = c.ffDim();
        boolean gated = c.activation() == org.attn4j.config.Activation.SWIGLU;
        double perToken = 2 * (d * d + 2 * d * kv + d * d) + 2 * (gated ? 3 : 2) * d * f;
        double tokens = (double) b * t, layers = c.decoderLayers();
        double attention = 2 * 2 * b * (t * (t + 1) / 2.0) * d;
        double head = 2 * d * c.targetVocab() * (allPositions ? tokens : b);
        return layers * (tokens * perToken + attention) + head;
    }

    /** CRC-32 of every parameter's float bits, in the parameters' order: equal for the same weights to the bit. */
    static String weightsCrc(LanguageModel model) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        model.parameters().values().forEach(a -> crc.update(a.dup('c').data().asNio()));
        return Long.toHexString(crc.getValue());
    }

    private static INDArray ids(Random random, int b, int t, int vocab) {
        int[][] rows = new int[b][];
        for (int i = 0; i < b; i++) {
            rows[i] = random.ints(t, 0, vocab).toArray();
        }
        return Nd4j.createFromArray(rows);
    }

    /** Resets VmHWM to the current resident size (Linux 4.0+), where allowed. */
    static void resetPeak() {
        try {
            System.gc();
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | UnsupportedOperationException e) {
            System.out.println("peak not reset (" + e.getMessage() + "): each peak includes the earlier ones");
        }
    }
}
