package org.attn4j.bench;

import org.attn4j.samediff.MultiHeadAttentionGraph;
import org.attn4j.samediff.TransformerBlockGraph;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.decode.Greedy;
import org.attn4j.examples.Cli;
import org.attn4j.examples.Flags;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.config.AttentionOutput;
import org.attn4j.config.BlockOutput;
import org.attn4j.nn.MultiHeadAttention;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The float32 speed harness of attn4j's transformer pieces, one JVM per thread count (ND4J reads
 * {@code OMP_NUM_THREADS} once, at start-up). For each size it times, after warm-up, a number of
 * iterations and reports their median and minimum:
 * <ol>
 *   <li>{@code forward}: an eager pre-LN GELU encoder block, {@code TransformerBlock.apply} (which runs
 *       on {@link BlockEngine});</li>
 *   <li>{@code train_step}: that block with loss mean((block(x) - y)^2), forward and backward on
 *       {@code BlockEngine} and an ND4J Adam update ({@link BlockEngineTraining});</li>
 *   <li>{@code forward_samediff}, {@code train_step_samediff}, {@code mha_forward_samediff} (workload
 *       {@code samediff}): the same on SameDiff's graph (the layers' {@code forward} in a graph with a
 *       placeholder input, run by {@code SameDiff.output}; one SameDiff {@code fit} per step), for comparison;</li>
 *   <li>{@code mha_forward}: eager multi-head self-attention alone, {@code MultiHeadAttention.apply} (on
 *       {@link AttentionEngine});</li>
 *   <li>{@code decode_cached} / {@code decode_recompute}: greedy decoding of {@code tokens} tokens by an
 *       untrained 2-layer {@code LanguageModel} of the size's width, heads and ff (vocabulary 64, batch
 *       {@code decodeBatch}, a one-token prompt), with the key/value cache and recomputing the prefix;</li>
 * </ol>
 * and once per run {@code lm_train_step} (workload {@code lm}): one {@code Trainer.step} of the
 * {@code lmSize} language model ({@link LmTraining}, by default the char-level GPT of {@link LmSize#charGpt()}),
 * {@code seq2seq_train_step} (workload {@code seq2seq}): one {@code Trainer.step} of the sequence example's
 * encoder-decoder on its batch ({@link Seq2SeqTraining}, {@code s2sSize=sequence} by default, {@code engine=}
 * says whether the engine or the SameDiff graph ran it), and {@code gemm}: {@code Nd4j.gemm} of two
 * 1024 x 1024 floats into an f-order result.
 *
 * <p>Every measurement is one line {@code BENCH impl=attn4j size=... threads=... workload=... median_ms=...
 * min_ms=... iters=... [flops=...] [tokens=... tok_per_s=...] [gflops=...]} (FLOPs formulas in
 * {@link BenchSize}). Arguments ({@code key=value}): {@code sizes=toy,standard}, {@code workloads=forward,
 * train_step,samediff,mha_forward,decode,lm,seq2seq,gemm}, {@code warmup=5} (and at least {@code warmupSeconds=3} of
 * warm-up, so the JIT has compiled the fast path's loops), {@code iters=20}, {@code tokens=128},
 * {@code decodeBatch=1}, {@code decodeRepeats=3}, {@code layers=2}, {@code lmSize=char_gpt} (or
 * {@code lm_tiny}), {@code s2sSize=sequence} (or {@code s2s_tiny}), {@code gemmSize=1024}.
 * Run: {@code OMP_NUM_THREADS=1 mvn -q test-compile exec:java@block-bench}; {@code bench/compare} runs it
 * for 1 and 2 threads next to PyTorch. Last line: {@code RESULT impl=attn4j threads=... benches=...}.
 */
public final class BlockBenchmark {
    private static final int VOCAB = 64;

    public static void main(String[] args) throws Exception {
        Cli.main("block-bench", args, BlockBenchmark::run);
    }

    /** The program, for tests: a bad option is a {@link org.attn4j.examples.BadOption}, thrown before anything runs. */
    public static void run(String[] args) {
        Flags o = Flags.parse(args, defaults("sizes", "toy,standard",
                "workloads", "forward,train_step,samediff,mha_forward,decode,lm,seq2seq,gemm", "warmup", "5",
                "iters", "20", "lmSize", "char_gpt", "s2sSize", "sequence",
                "warmupSeconds", "3",
                "tokens", "128", "decodeBatch", "1", "decodeRepeats", "3", "layers", "2", "gemmSize", "1024", "profileTop", "12"));
        List<BenchSize> sizes = o.choices("sizes", "toy", "standard", "tiny").stream().map(BenchSize::parse).toList();
        List<String> workloads = o.choices("workloads", "forward", "train_step", "samediff", "profile", "mha_forward",
                "decode", "lm", "seq2seq", "gemm");
        int warmup = o.integer("warmup", 0), iters = o.integer("iters", 1);
        double warmupSeconds = o.realAtLeast("warmupSeconds", 0);
        int tokens = o.integer("tokens", 1), decodeBatch = o.integer("decodeBatch", 1);
        int decodeRepeats = o.integer("decodeRepeats", 1), layers = o.integer("layers", 1);
        int gemmSize = o.integer("gemmSize", 1), profileTop = o.integer("profileTop", 1);
        LmSize lmSize = LmSize.parse(o.choice("lmSize", "char_gpt", "lm_tiny"));
        Seq2SeqSize s2sSize = Seq2SeqSize.parse(o.choice("s2sSize", "sequence", "s2s_tiny"));
        warmupNanos = (long) (warmupSeconds * 1e9);
        String threads = System.getenv().getOrDefault("OMP_NUM_THREADS", "default");
        Nd4j.getRandom().setSeed(1);
        System.out.printf(Locale.ROOT, "attn4j harness: OMP_NUM_THREADS=%s, ND4J max threads %d, float32%n",
                threads, Nd4j.getEnvironment().maxThreads());
        BlockBenchmark bench = new BlockBenchmark(threads);
        blasThreads = Nd4j.factory().blas().getMaxThreads();
        for (BenchSize size : sizes) {
            if (workloads.contains("forward")) {
                bench.forward(size, true, warmup, iters);
            }
            if (workloads.contains("train_step")) {
                bench.trainStep(size, "fast", warmup, iters);
            }
            if (workloads.contains("samediff")) {
                restoreBlasThreads();
                bench.forward(size, false, warmup, iters);
                bench.trainStep(size, "samediff", warmup, iters);
                bench.attention(size, false, warmup, iters);
            }
            if (workloads.contains("profile")) {
                bench.profile(size, warmup, profileTop);
            }
            if (workloads.contains("mha_forward")) {
                bench.attention(size, true, warmup, iters);
            }
            if (workloads.contains("decode")) {
                bench.decode(size, layers, tokens, decodeBatch, decodeRepeats);
            }
        }
        if (workloads.contains("lm")) {
            restoreBlasThreads();
            bench.lmTrainStep(lmSize, warmup, iters);
        }
        if (workloads.contains("seq2seq")) {
            restoreBlasThreads();
            bench.seq2seqTrainStep(s2sSize, warmup, iters);
        }
        if (workloads.contains("gemm")) {
            restoreBlasThreads();
            bench.gemm(gemmSize, warmup, iters);
        }
        System.out.printf(Locale.ROOT, "RESULT impl=attn4j threads=%s benches=%d%n", threads, bench.lines);
    }

    private static Map<String, String> defaults(String... keyValues) {
        Map<String, String> m = new java.util.HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    private final String threads;
    private int lines;

    private BlockBenchmark(String threads) {
        this.threads = threads;
    }

    private void forward(BenchSize size, boolean fast, int warmup, int iters) {
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(size.dModel(), size.heads(),
                size.ffDim()), DataType.FLOAT);
        INDArray x = input(size);
        Runnable step;
        if (fast) {
            step = () -> {
                BlockOutput<INDArray> out = block.apply(x, AttentionMask.none()); // [B, T, C], weights [B, H, T, T]
                out.output().close();
                out.selfWeights().close();
            };
        } else {
            SameDiff sd = SameDiff.create();
            SDVariable in = sd.placeHolder("bench_x", DataType.FLOAT, -1, -1, size.dModel());
            BlockOutput<SDVariable> o = new TransformerBlockGraph(sd, block).forward(in, AttentionMask.none());
            step = graphRun(sd, x, o.output(), o.selfWeights());
        }
        double[] ms = time(warmup, iters, step);
        report(size.name(), fast ? "forward" : "forward_samediff", ms, " flops=" + size.blockForwardFlops());
    }

    private void trainStep(BenchSize size, String path, int warmup, int iters) {
        BlockStep training = BlockStep.of(path, size);
        double[] ms = time(warmup, iters, training::step);
        report(size.name(), path.equals("fast") ? "train_step" : "train_step_samediff", ms,
                " flops=" + size.trainStepFlops());
    }

    /** One training step of a language model through the public API (LanguageModel + Trainer.step). */
    private void lmTrainStep(LmSize size, int warmup, int iters) {
        LmTraining training = new LmTraining(size);
        double[] ms = time(warmup, iters, training::step);
        report(size.name(), "lm_train_step", ms, " flops=" + size.trainStepFlops());
    }

    /** One training step of the sequence example's encoder-decoder through the public API (Seq2SeqTransformer + Trainer.step). */
    private void seq2seqTrainStep(Seq2SeqSize size, int warmup, int iters) {
        Seq2SeqTraining training = new Seq2SeqTraining(size);
        double[] ms = time(warmup, iters, training::step);
        report(size.name(), "seq2seq_train_step", ms, "");
    }

    /**
     * The training step's time by op type (SameDiff's profiling listener), slowest first: lines
     * {@code PROFILE size=... op=... ms_per_step=... calls_per_step=... share=...}. Not part of the
     * default workloads: the listener itself slows the step.
     */
    private void profile(BenchSize size, int warmup, int top) {
        BlockTraining training = new BlockTraining(size);
        for (int i = 0; i < warmup; i++) {
            training.step();
        }
        try {
            OpProfile.Result r = OpProfile.run(training.sameDiff(), training::step, 5);
            System.out.printf(Locale.ROOT, "PROFILE size=%s workload=train_step op=ALL ms_per_step=%.2f calls_per_step=%.0f "
                    + "share=1.000%n", size.name(), r.opMsPerStep(),
                    r.rows().stream().mapToDouble(OpProfile.Row::callsPerStep).sum());
            for (OpProfile.Row row : r.rows().subList(0, Math.min(top, r.rows().size()))) {
                System.out.printf(Locale.ROOT, "PROFILE size=%s workload=train_step op=%s ms_per_step=%.2f "
                        + "calls_per_step=%.0f share=%.3f%n", size.name(), row.op(), row.msPerStep(), row.callsPerStep(),
                        row.msPerStep() / r.opMsPerStep());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void attention(BenchSize size, boolean fast, int warmup, int iters) {
        MultiHeadAttention mha = MultiHeadAttention.create(AttentionConfig.of(size.dModel(), size.heads()),
                DataType.FLOAT);
        INDArray x = input(size);
        Runnable step;
        if (fast) {
            step = () -> {
                AttentionOutput<INDArray> out = mha.apply(x, AttentionMask.none()); // [B, T, C], weights [B, H, T, T]
                out.output().close();
                out.weights().close();
            };
        } else {
            SameDiff sd = SameDiff.create();
            SDVariable in = sd.placeHolder("bench_x", DataType.FLOAT, -1, -1, size.dModel());
            AttentionOutput<SDVariable> o = new MultiHeadAttentionGraph(sd, mha).forward(in, AttentionMask.none());
            step = graphRun(sd, x, o.output(), o.weights());
        }
        double[] ms = time(warmup, iters, step);
        report(size.name(), fast ? "mha_forward" : "mha_forward_samediff", ms, " flops=" + size.attentionFlops());
    }

    /** One run of a layer's graph on {@code x} (its placeholder {@code bench_x}), closing the outputs. */
    private static Runnable graphRun(SameDiff sd, INDArray x, SDVariable... outputs) {
        String[] names = Arrays.stream(outputs).map(SDVariable::name).toArray(String[]::new);
        return () -> sd.output(Map.of("bench_x", x), names).values().forEach(INDArray::close);
    }

    /** Greedy decoding never stops early (eos -1), so every run generates exactly {@code tokens} per row. */
    private void decode(BenchSize size, int layers, int tokens, int batch, int repeats) {
        LanguageModel model = new LanguageModel(ModelConfig.languageModel(VOCAB, size.dModel(), size.heads(),
                size.ffDim(), layers, tokens + 1));
        INDArray prompt = Nd4j.ones(DataType.INT, batch, 1);
        for (boolean cached : new boolean[] {true, false}) {
            double[] ms = time(1, repeats, () -> Greedy.decode(model, null, prompt, -1, tokens, cached));
            report(size.name(), cached ? "decode_cached" : "decode_recompute", ms, String.format(Locale.ROOT,
                    " tokens=%d batch=%d layers=%d tok_per_s=%.2f", tokens, batch, layers,
                    tokens * batch / (median(ms) / 1e3)));
        }
    }

    /** C = A B for n x n floats with the result in Fortran order, ND4J's fastest GEMM path. */
    private void gemm(int n, int warmup, int iters) {
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n), b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.createUninitialized(DataType.FLOAT, new long[] {n, n}, 'f');
        double[] ms = time(warmup, iters, () -> Nd4j.gemm(a, b, c, false, false, 1.0, 0.0));
        long flops = 2L * n * n * n;
        report("gemm" + n, "gemm", ms, String.format(Locale.ROOT, " flops=%d gflops=%.2f", flops, flops / ms[0] / 1e6));
    }

    private static INDArray input(BenchSize size) {
        return Nd4j.randn(DataType.FLOAT, size.batch(), size.length(), size.dModel()); // [B, T, C]
    }

    private static long warmupNanos;
    private static int blasThreads;

    /**
     * The fast path leaves OpenBLAS single-threaded (see org.attn4j.kernels.Blas); SameDiff's rows and the
     * GEMM peak run with the thread count the harness started with.
     */
    private static void restoreBlasThreads() {
        if (Nd4j.factory().blas().getMaxThreads() != blasThreads) {
            Nd4j.factory().blas().setMaxThreads(blasThreads);
        }
    }

    /**
     * Runs at least warmup untimed calls (and for at least warmupSeconds), then iters timed ones; ms, sorted.
     * Starts with a garbage collection, so that a workload does not time the collection of the previous
     * one's garbage (ND4J's off-heap arrays are freed only when the Java objects holding them are collected).
     */
    static double[] time(int warmup, int iters, Runnable r) {
        System.gc();
        long warmStart = System.nanoTime();
        for (int i = 0; i < warmup || System.nanoTime() - warmStart < warmupNanos; i++) {
            r.run();
        }
        double[] ms = new double[iters];
        for (int i = 0; i < iters; i++) {
            long start = System.nanoTime();
            r.run();
            ms[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(ms);
        return ms;
    }

    private void report(String size, String workload, double[] sortedMs, String extra) {
        System.out.printf(Locale.ROOT, "BENCH impl=attn4j size=%s threads=%s workload=%s median_ms=%.3f min_ms=%.3f "
                + "iters=%d%s%n", size, threads, workload, median(sortedMs), sortedMs[0], sortedMs.length, extra);
        lines++;
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
