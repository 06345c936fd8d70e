package org.attn4j.nn;

import static org.attn4j.testing.Exact.assertSameBits;
import org.attn4j.testing.ConcurrentCalls;
import org.attn4j.samediff.Gradients;
import org.attn4j.samediff.ScaledDotProductGraph;
import org.attn4j.samediff.TransformerBlockGraph;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionOutput;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.BlockOutput;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.testing.FiniteDifferences;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link TransformerBlock#train} ({@link BlockPass}) and {@link ScaledDotProductAttention#train}
 * ({@link ScaledDotProductPass}), the layers' training passes on the engine: input and parameter gradients against
 * central differences in float64 and against SameDiff's autodiff of the layers' own {@code forward} graphs
 * (float64 and float32), and one layer trained by four threads at once giving the sequential results.
 */
class BlockAndSdpaTrainingTest {
    private static final int B = 2;

    // ---- TransformerBlock ----------------------------------------------------------------------

    /**
     * A block and its inputs: batch 2, length t, memory length tm (blocks with cross-attention); the self mask hides
     * key 0 of batch row 1 (so with causal its first query sees nothing), the memory mask the last memory position of
     * batch row 0.
     */
    record BlockCase(String name, BlockConfig config, int t, int tm, double dropout) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<BlockCase> blockCases() {
        BlockConfig encoder = BlockConfig.encoder(8, 2, 8);
        BlockConfig decoder = BlockConfig.decoder(8, 2, 8);
        return Stream.of(
                new BlockCase("pre-LN GELU, causal and padding", encoder.withCausal(true), 5, 0, 0),
                new BlockCase("post-LN ReLU, no bias, padding", encoder.withNormFirst(false)
                        .withActivation(Activation.RELU).withBias(false), 4, 0, 0),
                new BlockCase("RMSNorm SwiGLU rotary grouped-query ALiBi window 3", BlockConfig
                        .modern(8, 4, 2, 8).withAlibi(true).withWindow(3), 5, 0, 0),
                new BlockCase("cross-attention, pre-LN, memory padding", decoder, 4, 3, 0),
                new BlockCase("cross-attention, post-LN, dropout 0.2 / attention 0.3 (seeded)", decoder
                        .withNormFirst(false).withDropout(0.2).withAttnDropout(0.3), 4, 3, 0.2));
    }

    private record BlockInputs(INDArray x, INDArray memory, AttentionMask<INDArray> selfMask,
            AttentionMask<INDArray> memoryMask, INDArray r) {
    }

    private static BlockInputs blockInputs(BlockCase c, DataType type) {
        int dm = c.config().dModel();
        INDArray x = Nd4j.randn(type, B, c.t(), dm);
        INDArray keep = Nd4j.ones(type, B, c.t());
        keep.putScalar(new long[] {1, 0}, 0);
        INDArray memory = c.tm() == 0 ? null : Nd4j.randn(type, B, c.tm(), dm);
        AttentionMask<INDArray> memoryMask = null;
        if (memory != null) {
            INDArray memoryKeep = Nd4j.ones(type, B, c.tm());
            memoryKeep.putScalar(new long[] {0, c.tm() - 1}, 0);
            memoryMask = AttentionMask.ofPadding(memoryKeep);
        }
        return new BlockInputs(x, memory, AttentionMask.ofPadding(keep), memoryMask, Nd4j.randn(type, B, c.t(), dm));
    }

    /** Random parameters of scale 0.5 (norm scales 1 + that, biases nonzero). */
    private static TransformerBlock block(BlockCase c, DataType type) {
        TransformerBlock block = TransformerBlock.create(c.config(), type);
        block.parameters().forEach((name, v) -> {
            INDArray noise = Nd4j.randn(type, v.shape()).muli(0.5);
            v.assign(name.startsWith("norm") && name.endsWith("weight") ? noise.addi(1) : noise);
        });
        return block;
    }

    private static BlockPass train(TransformerBlock block, BlockInputs in, DropoutSeed seed) {
        return in.memory() == null ? block.train(in.x(), in.selfMask(), seed)
                : block.train(in.x(), in.memory(), in.selfMask(), in.memoryMask(), seed);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("blockCases")
    void blockGradientsMatchCentralDifferences(BlockCase c) {
        Nd4j.getRandom().setSeed(5);
        TransformerBlock block = block(c, DataType.DOUBLE);
        BlockInputs in = blockInputs(c, DataType.DOUBLE);
        DropoutSeed seed = c.dropout() > 0 ? new DropoutSeed(11, 3) : null;
        BlockGradients g;
        try (BlockPass pass = train(block, in, seed)) {
            g = pass.backward(in.r());
        }
        assertEquals(block.parameters().keySet(), g.parameters().keySet(), "gradients by the block's parameter names");

        Map<String, INDArray> values = new LinkedHashMap<>(), analytic = new LinkedHashMap<>();
        values.put("x", in.x());
        analytic.put("x", g.input());
        if (in.memory() != null) {
            values.put("memory", in.memory());
            analytic.put("memory", g.memory());
        } else {
            assertNull(g.memory(), "a block without cross-attention has no memory gradient");
        }
        block.parameters().forEach((name, v) -> values.put(name, v));
        analytic.putAll(g.parameters());
        int n = FiniteDifferences.check(values, analytic, () -> {
            try (BlockPass pass = train(block, in, seed)) {
                return pass.output().mul(in.r()).sumNumber().doubleValue();
            }
        });
        assertTrue(n > 300, c + ": " + n + " entries checked");
        if (c.dropout() > 0) {
            try (BlockPass undropped = train(block, in, null)) {
                INDArray dx = undropped.backward(in.r()).input();
                assertTrue(dx.sub(g.input()).amaxNumber().doubleValue() > 1e-3, "the seed's masks drop something");
            }
        }
    }

    static Stream<Arguments> blockGraphCases() {
        List<Arguments> all = new ArrayList<>();
        for (DataType type : List.of(DataType.DOUBLE, DataType.FLOAT)) {
            blockCases().filter(c -> c.dropout() == 0).forEach(c -> all.add(Arguments.of(type, c)));
        }
        return all.stream();
    }

    /** The engine's output, weights and gradients equal SameDiff's of the block's own graph, loss sum(output * R). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("blockGraphCases")
    void blockGradientsMatchTheSameDiffGraph(DataType type, BlockCase c) {
        Nd4j.getRandom().setSeed(7);
        TransformerBlock block = block(c, type);
        BlockInputs in = blockInputs(c, type);
        BlockPass pass = train(block, in, null);
        BlockGradients g = pass.backward(in.r());
        pass.close();

        SameDiff sd = SameDiff.create();
        SDVariable x = sd.var("in.x", in.x().dup());
        SDVariable memory = in.memory() == null ? null : sd.var("in.memory", in.memory().dup());
        BlockOutput<SDVariable> o = memory == null ? new TransformerBlockGraph(sd, block).forward(x, in.selfMask().map(sd::constant))
                : new TransformerBlockGraph(sd, block).forward(x, memory, in.selfMask().map(sd::constant), in.memoryMask().map(sd::constant));
        sd.setLossVariables(o.output().mul(sd.constant(in.r())).sum());
        List<String> names = new ArrayList<>(block.parameters().keySet());
        names.add("in.x");
        if (memory != null) {
            names.add("in.memory");
        }
        Map<String, INDArray> graph = Gradients.of(sd, Map.of(), names.toArray(String[]::new));
        List<String> outs = new ArrayList<>(List.of(o.output().name(), o.selfWeights().name()));
        if (memory != null) {
            outs.add(o.crossWeights().name());
        }
        Map<String, INDArray> forward = sd.output(Map.of(), outs.toArray(String[]::new));

        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-5;
        BlockEngineTest.assertClose(c + " output", forward.get(o.output().name()), pass.output(), tol);
        BlockEngineTest.assertClose(c + " self weights", forward.get(o.selfWeights().name()), pass.selfWeights(), tol);
        if (memory != null) {
            BlockEngineTest.assertClose(c + " cross weights", forward.get(o.crossWeights().name()), pass.crossWeights(),
                    tol);
            BlockEngineTest.assertClose(c + " dMemory", graph.get("in.memory"), g.memory(), tol);
        } else {
            assertNull(pass.crossWeights());
        }
        BlockEngineTest.assertClose(c + " dx", graph.get("in.x"), g.input(), tol);
        for (String name : block.parameters().keySet()) {
            // A key bias adds the same to every score of a query's row, which the softmax ignores: its gradient is
            // 0 in exact arithmetic, rounding noise in both, so it is compared on the scale of the others (1).
            BlockEngineTest.assertClose(c + " d" + name, graph.get(name), g.parameters().get(name), tol,
                    name.endsWith("k.bias") ? 1 : 0);
        }
    }

    /** Four threads training one block with cross-attention at once get exactly the sequential results. */
    @Test
    void fourThreadsOnOneBlockGiveTheSequentialResults() throws Exception {
        Nd4j.getRandom().setSeed(9);
        BlockCase c = new BlockCase("cross", BlockConfig.decoder(16, 4, 32)
                .withDropout(0.1).withAttnDropout(0.1), 6, 5, 0);
        TransformerBlock block = block(c, DataType.FLOAT);
        DropoutSeed seed = new DropoutSeed(3, 1);
        assertSequentialEqualsConcurrent(blockInputs(c, DataType.FLOAT), i -> blockInputs(c, DataType.FLOAT), in -> {
            try (BlockPass pass = train(block, in, seed)) {
                BlockGradients g = pass.backward(in.r());
                List<INDArray> all = new ArrayList<>(List.of(pass.output(), pass.selfWeights(), pass.crossWeights(),
                        g.input(), g.memory()));
                all.addAll(g.parameters().values());
                return all;
            }
        });
    }

    @Test
    void blockPassRefusesBadCallsByName() {
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(8, 2, 16), DataType.FLOAT);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, 8);
        BlockPass pass = block.train(x, AttentionMask.none());
        assertMessage(IllegalArgumentException.class, "gradOutput [B=2, T=3, dModel=8] has shape [2, 4, 8]",
                () -> pass.backward(Nd4j.randn(DataType.FLOAT, 2, 4, 8)));
        assertMessage(IllegalArgumentException.class, "gradOutput is DOUBLE but the block's parameters are FLOAT",
                () -> pass.backward(Nd4j.randn(DataType.DOUBLE, 2, 3, 8)));
        BlockGradients first = pass.backward(Nd4j.ones(DataType.FLOAT, 2, 3, 8));
        BlockGradients second = pass.backward(Nd4j.ones(DataType.FLOAT, 2, 3, 8));
        pass.close();
        assertMessage(IllegalStateException.class, "backward on a closed pass",
                () -> pass.backward(Nd4j.ones(DataType.FLOAT, 2, 3, 8)));
        // Read after close: what the pass handed out is the caller's; backward ran twice on the same activations.
        assertSameBits("input gradient of a second backward", first.input(), second.input());
        assertSameBits("parameter gradients of a second backward", first.parameters(), second.parameters());
        assertSameBits("closed pass output", block.apply(x, AttentionMask.none()).output(), pass.output());
        assertMessage(IllegalArgumentException.class, "x [B, T, dModel=8] has shape [2, 3, 6]",
                () -> block.train(Nd4j.randn(DataType.FLOAT, 2, 3, 6), AttentionMask.none()));
        assertMessage(IllegalStateException.class, "has no cross-attention and takes no memory",
                () -> block.train(x, x, AttentionMask.none(), AttentionMask.none()));
    }

    /** A closed attention pass keeps its output and weights (what apply returns) and refuses a backward. */
    @Test
    void closedAttentionPassKeepsItsResultsAndRefusesBackward() {
        ScaledDotProductAttention attention = new ScaledDotProductAttention();
        INDArray q = Nd4j.randn(DataType.DOUBLE, 2, 2, 3, 4), k = Nd4j.randn(DataType.DOUBLE, 2, 2, 5, 4);
        ScaledDotProductPass pass = attention.train(q, k, k, AttentionMask.none());
        INDArray output = pass.output().dup(), weights = pass.weights().dup();
        pass.close();
        assertSameBits("output after close", output, pass.output());
        assertSameBits("weights after close", weights, pass.weights());
        assertMessage(IllegalStateException.class, "backward on a closed pass",
                () -> pass.backward(Nd4j.ones(DataType.DOUBLE, 2, 2, 3, 4)));
        AttentionOutput<INDArray> applied = attention.apply(q, k, k, AttentionMask.none());
        assertSameBits("apply's output", output, applied.output());
        assertSameBits("apply's weights", weights, applied.weights());
    }

    // ---- ScaledDotProductAttention -------------------------------------------------------------

    /**
     * Attention over {@code [B=2, H=2, T, D]} heads: query length tq, key length tk, head width d, value width dv,
     * and a mask: "padding" hides key 0 of batch row 1 (causal: its first query sees nothing), "additive" adds
     * random biases {@code [B, H, Tq, Tk]}, "keep" {@code [Tq, Tk]} hides every key from query 0.
     */
    record SdpaCase(String name, ScaledDotProductAttention.Config config, int tq, int tk, int d, int dv, String mask,
            boolean causal) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<SdpaCase> sdpaCases() {
        ScaledDotProductAttention.Config standard = ScaledDotProductAttention.Config.standard();
        return Stream.of(
                new SdpaCase("1/sqrt(D), causal and padding", standard, 5, 5, 4, 4, "padding", true),
                new SdpaCase("scale 0.7, Dv 6 > D 3, Tq 3 Tk 5, additive", standard.withScale(0.7), 3, 5, 3, 6,
                        "additive", false),
                new SdpaCase("unscaled, Dv 2 < D 5, a query that sees nothing", ScaledDotProductAttention.Config
                        .unscaled(), 4, 3, 5, 2, "keep", false),
                new SdpaCase("dropout 0.3 (seeded), padding", standard.withDropout(0.3), 5, 5, 4, 4, "padding", false));
    }

    private record SdpaInputs(INDArray q, INDArray k, INDArray v, AttentionMask<INDArray> mask, INDArray r) {
    }

    private static SdpaInputs sdpaInputs(SdpaCase c, DataType type) {
        int h = 2;
        INDArray q = Nd4j.randn(type, B, h, c.tq(), c.d()), k = Nd4j.randn(type, B, h, c.tk(), c.d()),
                v = Nd4j.randn(type, B, h, c.tk(), c.dv());
        AttentionMask<INDArray> mask = switch (c.mask()) {
            case "padding" -> {
                INDArray keep = Nd4j.ones(type, B, c.tk());
                keep.putScalar(new long[] {1, 0}, 0);
                yield AttentionMask.ofPadding(keep);
            }
            case "additive" -> AttentionMask.<INDArray>none().withAdditive(Nd4j.randn(type, B, h, c.tq(), c.tk()));
            case "keep" -> {
                INDArray keep = Nd4j.ones(type, c.tq(), c.tk());
                keep.getRow(0).assign(0);
                yield AttentionMask.<INDArray>none().withAttention(keep);
            }
            default -> AttentionMask.none();
        };
        return new SdpaInputs(q, k, v, c.causal() ? mask.withCausal() : mask, Nd4j.randn(type, B, h, c.tq(), c.dv()));
    }

    private static double dropout(SdpaCase c) {
        return c.config().dropout();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("sdpaCases")
    void sdpaGradientsMatchCentralDifferences(SdpaCase c) {
        Nd4j.getRandom().setSeed(5);
        ScaledDotProductAttention attention = new ScaledDotProductAttention(c.config());
        SdpaInputs in = sdpaInputs(c, DataType.DOUBLE);
        DropoutSeed seed = dropout(c) > 0 ? new DropoutSeed(11, 3) : null;
        ScaledDotProductGradients g = attention.train(in.q(), in.k(), in.v(), in.mask(), seed).backward(in.r());
        Map<String, INDArray> values = new LinkedHashMap<>(), analytic = new LinkedHashMap<>();
        values.put("q", in.q());
        values.put("k", in.k());
        values.put("v", in.v());
        analytic.put("q", g.query());
        analytic.put("k", g.key());
        analytic.put("v", g.value());
        int n = FiniteDifferences.check(values, analytic, () -> attention.train(in.q(), in.k(), in.v(), in.mask(),
                seed).output().mul(in.r()).sumNumber().doubleValue());
        assertTrue(n > 100, c + ": " + n + " entries checked");
        if (dropout(c) > 0) {
            INDArray undropped = attention.train(in.q(), in.k(), in.v(), in.mask()).backward(in.r()).value();
            assertTrue(undropped.sub(g.value()).amaxNumber().doubleValue() > 1e-3, "the seed's masks drop something");
        }
    }

    static Stream<Arguments> sdpaGraphCases() {
        List<Arguments> all = new ArrayList<>();
        for (DataType type : List.of(DataType.DOUBLE, DataType.FLOAT)) {
            sdpaCases().filter(c -> dropout(c) == 0).forEach(c -> all.add(Arguments.of(type, c)));
        }
        return all.stream();
    }

    /** The engine's output, weights and gradients equal SameDiff's of the layer's own graph, loss sum(output * R). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("sdpaGraphCases")
    void sdpaGradientsMatchTheSameDiffGraph(DataType type, SdpaCase c) {
        Nd4j.getRandom().setSeed(7);
        ScaledDotProductAttention attention = new ScaledDotProductAttention(c.config());
        SdpaInputs in = sdpaInputs(c, type);
        ScaledDotProductPass pass = attention.train(in.q(), in.k(), in.v(), in.mask());
        ScaledDotProductGradients g = pass.backward(in.r());

        SameDiff sd = SameDiff.create();
        SDVariable q = sd.var("q", in.q().dup()), k = sd.var("k", in.k().dup()), v = sd.var("v", in.v().dup());
        AttentionOutput<SDVariable> o = ScaledDotProductGraph.forward(attention.config(), q, k, v, in.mask().map(sd::constant), c.d());
        sd.setLossVariables(o.output().mul(sd.constant(in.r())).sum());
        Map<String, INDArray> graph = Gradients.of(sd, Map.of(), "q", "k", "v");
        Map<String, INDArray> forward = sd.output(Map.of(), o.output().name(), o.weights().name());

        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-5;
        BlockEngineTest.assertClose(c + " output", forward.get(o.output().name()), pass.output(), tol);
        BlockEngineTest.assertClose(c + " weights", forward.get(o.weights().name()), pass.weights(), tol);
        BlockEngineTest.assertClose(c + " dQ", graph.get("q"), g.query(), tol);
        BlockEngineTest.assertClose(c + " dK", graph.get("k"), g.key(), tol);
        BlockEngineTest.assertClose(c + " dV", graph.get("v"), g.value(), tol);
    }

    /** Four threads on one layer (with dropout) at once get exactly the sequential results. */
    @Test
    void fourThreadsOnOneSdpaGiveTheSequentialResults() throws Exception {
        Nd4j.getRandom().setSeed(9);
        SdpaCase c = new SdpaCase("padding", ScaledDotProductAttention.Config.standard().withDropout(0.1), 7, 7, 8, 8,
                "padding", true);
        ScaledDotProductAttention attention = new ScaledDotProductAttention(c.config());
        DropoutSeed seed = new DropoutSeed(3, 1);
        assertSequentialEqualsConcurrent(sdpaInputs(c, DataType.FLOAT), i -> sdpaInputs(c, DataType.FLOAT), in -> {
            ScaledDotProductPass pass = attention.train(in.q(), in.k(), in.v(), in.mask(), seed);
            ScaledDotProductGradients g = pass.backward(in.r());
            return List.of(pass.output(), pass.weights(), g.query(), g.key(), g.value());
        });
    }

    @Test
    void sdpaPassRefusesBadCallsByName() {
        ScaledDotProductAttention attention = new ScaledDotProductAttention();
        INDArray q = Nd4j.randn(DataType.FLOAT, 2, 2, 3, 4), v = Nd4j.randn(DataType.FLOAT, 2, 2, 5, 6);
        ScaledDotProductPass pass = attention.train(q, Nd4j.randn(DataType.FLOAT, 2, 2, 5, 4), v, AttentionMask.none());
        assertMessage(IllegalArgumentException.class, "gradOutput [B=2, H=2, Tq=3, Dv=6] has shape [2, 2, 3, 4]",
                () -> pass.backward(Nd4j.randn(DataType.FLOAT, 2, 2, 3, 4)));
        assertMessage(IllegalArgumentException.class, "gradOutput is DOUBLE but the pass's inputs are FLOAT",
                () -> pass.backward(Nd4j.randn(DataType.DOUBLE, 2, 2, 3, 6)));
        assertMessage(IllegalArgumentException.class, "key has shape [2, 2, 5, 3], expected [2, 2, 5, 4]",
                () -> attention.train(q, Nd4j.randn(DataType.FLOAT, 2, 2, 5, 3), v, AttentionMask.none()));
        assertMessage(IllegalArgumentException.class, "the training pass runs in FLOAT or DOUBLE",
                () -> attention.train(q.castTo(DataType.HALF), q.castTo(DataType.HALF), q.castTo(DataType.HALF),
                        AttentionMask.none()));
    }

    // ---- helpers -------------------------------------------------------------------------------

    /** 24 inputs made by {@code make}, run sequentially and then 10 times over on four threads: the same bits. */
    private static <I> void assertSequentialEqualsConcurrent(I first, Function<Integer, I> make,
            Function<I, List<INDArray>> run) throws Exception {
        List<I> inputs = new ArrayList<>(List.of(first));
        for (int i = 1; i < 24; i++) {
            inputs.add(make.apply(i));
        }
        ConcurrentCalls.assertSameAsSequential("four threads on one layer", 4, 10, inputs, run);
    }

    private static <E extends Throwable> void assertMessage(Class<E> type, String part,
            org.junit.jupiter.api.function.Executable call) {
        E e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
    }
}
