package org.attn4j.nn;

import static org.attn4j.testing.Exact.assertSameBits;
import org.attn4j.samediff.TransformerBlockGraph;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.engine.BlockEngine;
import org.attn4j.engine.BlockState;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RowMath;
import org.attn4j.config.AttentionOutput;
import org.attn4j.config.BlockOutput;
import org.attn4j.samediff.Gradients;
import org.attn4j.nn.TransformerBlock;
import org.attn4j.train.ParameterUpdater;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

/**
 * The fast path against SameDiff's graph of the same block (an independent implementation: SameDiff's
 * ops and autodiff) and against central differences in float64. Widths are chosen so the vector
 * kernels run both full vectors and tails (C = 40, F = 72, T = 19 are no multiple of 8 or 16).
 */
class BlockEngineTest {
    private static final int B = 3, T = 19, C = 40, H = 4, F = 72;

    @AfterEach
    void vectorBack() {
        RowMath.useVector(true);
    }

    static Stream<Arguments> variants() {
        List<Arguments> all = new ArrayList<>();
        for (DataType type : List.of(DataType.DOUBLE, DataType.FLOAT)) {
            for (boolean pre : new boolean[] {true, false}) {
                for (Activation act : List.of(Activation.GELU, Activation.RELU)) {
                    for (String mask : List.of("none", "causal", "padding", "causal+padding")) {
                        all.add(Arguments.of(type, pre, act, false, mask));
                    }
                }
                // the other activations, and rotary positions, under both masks at once
                for (Activation act : List.of(Activation.GELU_TANH, Activation.SILU, Activation.SWIGLU)) {
                    all.add(Arguments.of(type, pre, act, false, "causal+padding"));
                }
                all.add(Arguments.of(type, pre, Activation.GELU, true, "causal+padding"));
                all.add(Arguments.of(type, pre, Activation.SWIGLU, true, "padding"));
            }
        }
        all.add(Arguments.of(DataType.FLOAT, true, Activation.GELU, false, "scalar loops: causal+padding"));
        for (Activation act : List.of(Activation.GELU_TANH, Activation.SILU, Activation.SWIGLU)) {
            all.add(Arguments.of(DataType.FLOAT, true, act, true, "scalar loops: causal+padding"));
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} pre={1} {2} rotary={3} mask={4}")
    @MethodSource("variants")
    void forwardAndGradientsMatchTheSameDiffGraph(DataType type, boolean pre, Activation act, boolean rotary,
            String mask) {
        RowMath.useVector(!mask.startsWith("scalar"));
        Nd4j.getRandom().setSeed(7);
        SameDiff sd = SameDiff.create();
        TransformerBlock block = new TransformerBlock("blk", BlockConfig.encoder(C, H, F)
                .withActivation(act).withNormFirst(pre).withRotary(rotary), type);
        randomizeNorms(block);
        INDArray x = Nd4j.randn(type, B, T, C), g = Nd4j.randn(type, B, T, C);
        INDArray keep = Nd4j.ones(type, B, T);
        keep.putScalar(new long[] {1, T - 1}, 0);
        keep.putScalar(new long[] {1, T - 2}, 0);
        keep.putScalar(new long[] {2, 0}, 0);
        boolean causal = mask.contains("causal"), padding = mask.contains("padding");

        SDVariable xv = sd.var("x_in", x.dup());
        AttentionMask<SDVariable> m = padding ? AttentionMask.ofPadding(sd.constant(keep)) : AttentionMask.none();
        BlockOutput<SDVariable> o = new TransformerBlockGraph(sd, block).forward(xv, causal ? m.withCausal() : m);
        sd.setLossVariables(o.output().mul(sd.constant(g)).sum());
        List<String> names = new ArrayList<>(block.parameters().keySet());
        names.add("x_in");
        Map<String, INDArray> expected = new HashMap<>(Gradients.of(sd, Map.of(), names.toArray(String[]::new)));
        Map<String, INDArray> outs = sd.output(Map.of(), o.output().name(), o.selfWeights().name());

        BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(3));
        AttentionMask<INDArray> mi = padding ? AttentionMask.ofPadding(keep) : AttentionMask.none();
        AttentionOutput<INDArray> got = fast.forward(x, causal ? mi.withCausal() : mi);
        double tol = type == DataType.DOUBLE ? 1e-10 : 2e-5;
        assertClose("output", outs.get(o.output().name()), got.output(), tol);
        assertClose("weights", outs.get(o.selfWeights().name()), got.weights(), tol);
        INDArray dx = fast.backward(g);
        assertClose("d x", expected.get("x_in"), dx, tol);
        for (Map.Entry<String, INDArray> e : fast.gradients().entrySet()) {
            // The key bias's gradient is zero (it adds the same q.b to a whole row of scores): both sides give
            // round-off, measured against the query bias's gradient scale.
            double scale = e.getKey().endsWith("k.bias") ? expected.get("blk.self_attn.q.bias").amaxNumber().doubleValue() : 0;
            assertClose("d " + e.getKey(), expected.get(e.getKey()), e.getValue(), tol, scale);
        }
        assertEquals(act == Activation.SWIGLU ? 18 : 16, fast.gradients().size(),
                "q, k, v, out, linear1, linear2 (and the gate) (weight, bias), 2 norms");
    }

    @Test
    void adamStepsMatchSameDiffFit() {
        BlockConfig config = BlockConfig.encoder(C, H, F);
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, -1, C);
        SDVariable y = sd.placeHolder("y", DataType.DOUBLE, -1, -1, C);
        TransformerBlock graphBlock = new TransformerBlock("", config, DataType.DOUBLE);
        randomizeNorms(graphBlock);
        SDVariable diff = new TransformerBlockGraph(sd, graphBlock).forward(x, AttentionMask.none()).output().sub(y);
        sd.setLossVariables(sd.mean("loss", diff.mul(diff)));
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(1e-2)).dataSetFeatureMapping("x")
                .dataSetLabelMapping("y").build());
        Gradients.build(sd);

        TransformerBlock fastBlock = TransformerBlock.create(config, DataType.DOUBLE);
        Map<String, INDArray> start = new HashMap<>();
        graphBlock.parameters().forEach((k, v) -> start.put(k, v.dup()));
        fastBlock.loadParameters(start);
        Parallel parallel = new Parallel(2);
        BlockEngine fast = BlockEngine.of(fastBlock.config(), fastBlock.weights(), parallel);
        ParameterUpdater training = new ParameterUpdater(fast.parameters(), fast.gradients(), new Adam(1e-2), parallel);

        INDArray xs = Nd4j.randn(DataType.DOUBLE, B, T, C), ys = Nd4j.randn(DataType.DOUBLE, B, T, C);
        for (int step = 0; step < 3; step++) {
            sd.fit(new DataSet(xs, ys));
            INDArray out = fast.forward(xs, AttentionMask.none()).output();
            fast.backward(out.sub(ys).muli(2.0 / out.length()));
            training.update();
        }
        assertEquals(3, training.iteration());
        for (Map.Entry<String, INDArray> e : graphBlock.parameters().entrySet()) {
            INDArray moved = e.getValue().sub(start.get(e.getKey()));
            if (!e.getKey().endsWith("k.bias")) { // its gradient is zero: see above
                assertTrue(moved.amaxNumber().doubleValue() > 1e-3, e.getKey() + " was trained");
            }
            // the key bias starts at zero and only round-off moves it: measure it against the weights' scale
            assertClose(e.getKey() + " after 3 Adam steps", e.getValue(), fast.parameters().get(e.getKey()), 1e-10,
                    0.1);
        }
    }

    @ParameterizedTest(name = "pre={0} {1} rotary={2}")
    @MethodSource("centralDifferenceCases")
    void gradientsMatchCentralDifferences(boolean pre, Activation act, boolean rotary) {
        Nd4j.getRandom().setSeed(11);
        int b = 2, t = 5, c = 8, h = 2, f = 12;
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(c, h, f).withNormFirst(pre)
                .withActivation(act).withRotary(rotary), DataType.DOUBLE);
        randomizeNorms(block);
        INDArray keep = Nd4j.ones(DataType.DOUBLE, b, t);
        keep.putScalar(new long[] {1, t - 1}, 0);
        assertCentralDifferences(block, AttentionMask.ofPadding(keep).withCausal(), b, t, c);
    }

    /** Additive masks (with excluded keys and a query that sees none) and a boolean keep mask, in float64. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("additiveCases")
    void gradientsMatchCentralDifferencesUnderAdditiveMasks(String kind) {
        Nd4j.getRandom().setSeed(13);
        int b = 2, t = 5, c = 8, h = 2, f = 12;
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(c, h, f), DataType.DOUBLE);
        randomizeNorms(block);
        assertCentralDifferences(block, MaskCases.of(kind, b, h, t, t, DataType.DOUBLE), b, t, c);
    }

    static Stream<String> additiveCases() {
        return Stream.of("additive4", "padding+keep3+additive2+causal");
    }

    /** Every parameter's and x's gradient against (L(p + eps) - L(p - eps)) / 2 eps, L = sum(block(x) * g). */
    private static void assertCentralDifferences(TransformerBlock block, AttentionMask<INDArray> mask, int b, int t,
            int c) {
        BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(2));
        INDArray x = Nd4j.randn(DataType.DOUBLE, b, t, c), g = Nd4j.randn(DataType.DOUBLE, b, t, c);
        fast.forward(x, mask);
        INDArray dx = fast.backward(g).dup();
        Map<String, INDArray> analytic = new HashMap<>();
        fast.gradients().forEach((k, v) -> analytic.put(k, v.dup()));

        double eps = 1e-6;
        int checked = 0;
        Map<String, INDArray> targets = new HashMap<>(fast.parameters());
        targets.put("x", x);
        for (Map.Entry<String, INDArray> e : targets.entrySet()) {
            INDArray p = e.getValue();
            INDArray grad = e.getKey().equals("x") ? dx : analytic.get(e.getKey());
            for (long i = 0; i < p.length(); i++) {
                double orig = p.getDouble(i);
                p.putScalar(i, orig + eps);
                double plus = fast.forward(x, mask).output().mul(g).sumNumber().doubleValue();
                p.putScalar(i, orig - eps);
                double minus = fast.forward(x, mask).output().mul(g).sumNumber().doubleValue();
                p.putScalar(i, orig);
                double numeric = (plus - minus) / (2 * eps), a = grad.getDouble(i);
                double abs = Math.abs(a - numeric), rel = abs / Math.max(Math.abs(a) + Math.abs(numeric), 1e-300);
                assertTrue(rel <= 1e-6 || abs <= 1e-8, e.getKey() + "[" + i + "]: analytic " + a + ", numeric " + numeric);
                checked++;
            }
        }
        assertEquals(block.parameterCount() + b * t * c, checked);
    }

    static Stream<Arguments> centralDifferenceCases() {
        return Stream.of(Arguments.of(true, Activation.GELU, false), Arguments.of(false, Activation.GELU, false),
                Arguments.of(true, Activation.GELU_TANH, false), Arguments.of(false, Activation.SILU, false),
                Arguments.of(true, Activation.SWIGLU, false), Arguments.of(false, Activation.SWIGLU, true),
                Arguments.of(true, Activation.SILU, true));
    }

    @Test
    void applyRunsTheEngineAndAgreesWithTheGraph() {
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(C, H, F), DataType.FLOAT);
        INDArray x = Nd4j.randn(DataType.FLOAT, B, T, C);
        AttentionMask<INDArray> mask = MaskCases.of("padding+keep3+additive2+causal", B, H, T, T, DataType.FLOAT);
        BlockOutput<INDArray> fast = block.apply(x, mask);
        block.setInputChecks(false);
        BlockOutput<INDArray> unchecked = block.apply(x, mask);
        assertSameBits("output without input checks", fast.output(), unchecked.output());
        SameDiff sd = SameDiff.create();
        SDVariable xv = sd.constant(x);
        BlockOutput<SDVariable> o = new TransformerBlockGraph(sd, block).forward(xv, mask.map(sd::constant));
        Map<String, INDArray> graph = sd.output(Map.of(), o.output().name(), o.selfWeights().name());
        assertClose("apply output", graph.get(o.output().name()), fast.output(), 1e-5);
        assertClose("apply weights", graph.get(o.selfWeights().name()), fast.selfWeights(), 1e-5);
        BlockOutput<INDArray> again = block.apply(x.mul(2), AttentionMask.none());
        assertTrue(fast.output().neq(again.output()).any(), "apply returns new arrays, not the engine's buffers");
    }

    static Stream<Arguments> maskVariants() {
        List<Arguments> all = new ArrayList<>();
        for (DataType type : List.of(DataType.DOUBLE, DataType.FLOAT)) {
            for (String mask : MaskCases.KINDS) {
                all.add(Arguments.of(type, true, mask, false));
            }
            for (String mask : MaskCases.COMBINED) {
                all.add(Arguments.of(type, true, mask, false));
                all.add(Arguments.of(type, false, mask, true)); // post-LN, causal block, rotary
            }
        }
        for (String mask : MaskCases.COMBINED) {
            all.add(Arguments.of(DataType.FLOAT, true, "scalar loops: " + mask, true));
        }
        return all.stream();
    }

    /**
     * Every mask kind and combinations: forward, weights and every gradient against the graph (1e-10 in
     * float64, 1e-5 in float32). The masks blank a query row; the graph's gradients there are zero, and so
     * the engine's must be.
     */
    @ParameterizedTest(name = "{0} pre={1} {2} causal-rotary={3}")
    @MethodSource("maskVariants")
    void everyMaskMatchesTheGraphForwardAndBackward(DataType type, boolean pre, String kind, boolean causalRotary) {
        String mask = kind.replace("scalar loops: ", "");
        RowMath.useVector(!kind.startsWith("scalar"));
        Nd4j.getRandom().setSeed(29);
        int b = 2, t = 11;
        SameDiff sd = SameDiff.create();
        TransformerBlock block = new TransformerBlock("blk", BlockConfig.encoder(C, H, F)
                .withNormFirst(pre).withCausal(causalRotary).withRotary(causalRotary), type);
        randomizeNorms(block);
        INDArray x = Nd4j.randn(type, b, t, C), g = Nd4j.randn(type, b, t, C);
        AttentionMask<INDArray> mi = MaskCases.of(mask, b, H, t, t, type);

        SDVariable xv = sd.var("x_in", x.dup());
        BlockOutput<SDVariable> o = new TransformerBlockGraph(sd, block).forward(xv, mi.map(sd::constant));
        sd.setLossVariables(o.output().mul(sd.constant(g)).sum());
        List<String> names = new ArrayList<>(block.parameters().keySet());
        names.add("x_in");
        Map<String, INDArray> expected = new HashMap<>(Gradients.of(sd, Map.of(), names.toArray(String[]::new)));
        Map<String, INDArray> outs = sd.output(Map.of(), o.output().name(), o.selfWeights().name());

        BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(2));
        AttentionOutput<INDArray> got = fast.forward(x, mi);
        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-5;
        assertClose(mask + " output", outs.get(o.output().name()), got.output(), tol);
        assertClose(mask + " weights", outs.get(o.selfWeights().name()), got.weights(), tol);
        INDArray dx = fast.backward(g);
        assertTrue(!dx.isNaN().any() && !got.output().isNaN().any(), mask + ": no NaN");
        assertClose(mask + " d x", expected.get("x_in"), dx, tol);
        for (Map.Entry<String, INDArray> e : fast.gradients().entrySet()) {
            double scale = e.getKey().endsWith("k.bias") ? expected.get("blk.self_attn.q.bias").amaxNumber().doubleValue() : 0;
            assertClose(mask + " d " + e.getKey(), expected.get(e.getKey()), e.getValue(), tol, scale);
        }
    }

    /**
     * A query that may see no key contributes nothing to attention, so a loss on its output alone has zero
     * gradient at every other position of its sequence (exactly: no NaN, no round-off through the softmax).
     */
    @Test
    void aQueryThatSeesNoKeyHasZeroGradientsThroughAttention() {
        int b = 2, t = 6;
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(C, H, F), DataType.DOUBLE);
        BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(2));
        INDArray x = Nd4j.randn(DataType.DOUBLE, b, t, C);
        for (String kind : List.of("keep2", "keep3", "additive3", "additive4")) {
            AttentionMask<INDArray> mask = MaskCases.of(kind, b, H, t, t, DataType.DOUBLE); // row 1 of batch 1 blank
            INDArray weights = fast.forward(x, mask).weights();
            assertEquals(0, weights.get(NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.point(1),
                    NDArrayIndex.all()).amaxNumber().doubleValue(), kind + ": zero weights");
            INDArray g = Nd4j.zeros(DataType.DOUBLE, b, t, C);
            g.get(NDArrayIndex.point(1), NDArrayIndex.point(1), NDArrayIndex.all()).assign(1);
            INDArray dx = fast.backward(g);
            assertTrue(!dx.isNaN().any(), kind + ": no NaN");
            for (int j = 0; j < t; j++) {
                double at = dx.get(NDArrayIndex.point(1), NDArrayIndex.point(j), NDArrayIndex.all()).amaxNumber().doubleValue();
                assertTrue(j == 1 ? at > 0 : at == 0, kind + ": gradient at position " + j + " is " + at);
            }
            for (String p : List.of("self_attn.q.weight", "self_attn.k.weight", "self_attn.v.weight")) {
                assertEquals(0, fast.gradients().get(p).amaxNumber().doubleValue(), kind + ": " + p
                        + " gets no gradient from that row");
            }
        }
    }

    /** A decoder block under self- and memory masks of every kind: forward, weights and gradients against the graph. */
    @ParameterizedTest(name = "{0} self={1} memory={2}")
    @MethodSource("decoderMasks")
    void decoderMasksMatchTheGraph(DataType type, String selfKind, String memoryKind) {
        Nd4j.getRandom().setSeed(31);
        int b = 2, t = 7, s = 9;
        SameDiff sd = SameDiff.create();
        TransformerBlock block = new TransformerBlock("dec", BlockConfig.decoder(C, H, F), type);
        randomizeNorms(block);
        INDArray x = Nd4j.randn(type, b, t, C), memory = Nd4j.randn(type, b, s, C), g = Nd4j.randn(type, b, t, C);
        AttentionMask<INDArray> selfMask = MaskCases.of(selfKind, b, H, t, t, type);
        AttentionMask<INDArray> memoryMask = MaskCases.of(memoryKind, b, H, t, s, type);

        SDVariable xv = sd.var("x_in", x.dup()), mv = sd.var("memory_in", memory.dup());
        BlockOutput<SDVariable> o = new TransformerBlockGraph(sd, block).forward(xv, mv, selfMask.map(sd::constant), memoryMask.map(sd::constant));
        sd.setLossVariables(o.output().mul(sd.constant(g)).sum());
        List<String> names = new ArrayList<>(block.parameters().keySet());
        names.add("x_in");
        names.add("memory_in");
        Map<String, INDArray> expected = new HashMap<>(Gradients.of(sd, Map.of(), names.toArray(String[]::new)));
        Map<String, INDArray> outs = sd.output(Map.of(), o.output().name(), o.selfWeights().name(),
                o.crossWeights().name());

        BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(2));
        BlockState state = fast.newState();
        AttentionOutput<INDArray> got = fast.forward(state, x, memory, selfMask, memoryMask);
        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-5;
        String what = selfKind + " / " + memoryKind;
        assertClose(what + " output", outs.get(o.output().name()), got.output(), tol);
        assertClose(what + " self weights", outs.get(o.selfWeights().name()), got.weights(), tol);
        assertClose(what + " cross weights", outs.get(o.crossWeights().name()), fast.crossWeights(state), tol);
        BlockOutput<INDArray> applied = block.apply(x, memory, selfMask, memoryMask);
        assertClose(what + " apply", outs.get(o.output().name()), applied.output(), tol);
        assertClose(what + " apply cross weights", outs.get(o.crossWeights().name()), applied.crossWeights(), tol);
        INDArray dx = fast.backward(state, g);
        assertClose(what + " d x", expected.get("x_in"), dx, tol);
        assertClose(what + " d memory", expected.get("memory_in"), state.memoryGradient(), tol);
        for (Map.Entry<String, INDArray> e : state.gradients().entrySet()) {
            double scale = e.getKey().endsWith("k.bias") ? expected.get("dec.self_attn.q.bias").amaxNumber().doubleValue() : 0;
            assertClose(what + " d " + e.getKey(), expected.get(e.getKey()), e.getValue(), tol, scale);
        }
    }

    static Stream<Arguments> decoderMasks() {
        List<Arguments> all = new ArrayList<>();
        for (DataType type : List.of(DataType.DOUBLE, DataType.FLOAT)) {
            all.add(Arguments.of(type, "causal", "padding"));
            all.add(Arguments.of(type, "padding+keep3+additive2+causal", "keep2"));
            all.add(Arguments.of(type, "keep2+additive3", "padding+keep3"));
            all.add(Arguments.of(type, "additive4", "padding+additive4+causal"));
        }
        return all.stream();
    }

    @Test
    void badCallsSayWhatWasExpected() {
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(8, 2, 16), DataType.FLOAT);
        BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(1));
        assertMessage(IllegalStateException.class, "backward needs a forward first",
                () -> fast.backward(Nd4j.zeros(DataType.FLOAT, 1, 2, 8)));
        assertMessage(IllegalArgumentException.class, "x: expected [B, T, dModel=8], given [2, 3, 7]",
                () -> fast.forward(Nd4j.zeros(DataType.FLOAT, 2, 3, 7), AttentionMask.none()));
        assertMessage(IllegalArgumentException.class, "x: expected data type FLOAT (the block's), given DOUBLE",
                () -> fast.forward(Nd4j.zeros(DataType.DOUBLE, 2, 3, 8), AttentionMask.none()));
        assertMessage(IllegalArgumentException.class, "mask padding (1 = real key): expected shape [2, 3], given [2, 4]",
                () -> fast.forward(Nd4j.zeros(DataType.FLOAT, 2, 3, 8),
                        AttentionMask.ofPadding(Nd4j.ones(DataType.FLOAT, 2, 4))));
        INDArray nan = Nd4j.zeros(DataType.FLOAT, 2, 3, 8);
        nan.putScalar(new long[] {1, 2, 5}, Double.NaN);
        assertMessage(IllegalArgumentException.class, "x contains 1 NaN or infinite value, the first at [1, 2, 5] (NaN)",
                () -> fast.forward(nan, AttentionMask.none()));
        fast.forward(Nd4j.zeros(DataType.FLOAT, 2, 3, 8), AttentionMask.none());
        assertMessage(IllegalArgumentException.class, "gradOutput: expected shape [2, 3, 8], given [2, 3, 9]",
                () -> fast.backward(Nd4j.zeros(DataType.FLOAT, 2, 3, 9)));
        TransformerBlock decoderBlock = TransformerBlock.create(BlockConfig.decoder(8, 2, 16), DataType.FLOAT);
        BlockEngine decoder = BlockEngine.of(decoderBlock.config(), decoderBlock.weights());
        assertMessage(IllegalArgumentException.class, "a block with cross-attention attends to a memory",
                () -> decoder.forward(Nd4j.zeros(DataType.FLOAT, 1, 2, 8), AttentionMask.none()));
        assertMessage(IllegalArgumentException.class, "memory: expected [B=1, S, dModel=8], given [2, 3, 8]",
                () -> decoder.forward(decoder.newState(), Nd4j.zeros(DataType.FLOAT, 1, 2, 8), AttentionMask.none(),
                        Nd4j.zeros(DataType.FLOAT, 2, 3, 8), null));
    }

    @Test
    void parallelCoversEveryIndexOnceAndPassesFailuresOn() {
        Parallel p = new Parallel(3);
        for (int n : new int[] {0, 1, 2, 10, 1001}) {
            int[] seen = new int[n];
            p.forRange(n, (from, to) -> {
                for (int i = from; i < to; i++) {
                    seen[i]++;
                }
            });
            for (int i = 0; i < n; i++) {
                assertEquals(1, seen[i], "n=" + n + " index " + i);
            }
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.forRange(9, (from, to) -> {
            if (from > 0) {
                throw new IllegalStateException("worker range " + from);
            }
        }));
        assertTrue(e.getMessage().startsWith("worker range "), e.getMessage());
        assertMessage(IllegalArgumentException.class, "threads must be at least 1, given 0", () -> new Parallel(0));
    }

    /** Norm scales and shifts away from 1 and 0, so a gradient that ignores them is caught. */
    private static void randomizeNorms(TransformerBlock block) {
        block.parameters().forEach((name, v) -> {
            if (name.contains("norm")) {
                v.assign(Nd4j.rand(v.dataType(), v.shape()).addi(0.5));
            }
        });
    }

    static void assertClose(String what, INDArray expected, INDArray actual, double relTol) {
        assertClose(what, expected, actual, relTol, 0);
    }

    /** max |actual - expected| <= relTol * max(max |expected|, minScale). */
    static void assertClose(String what, INDArray expected, INDArray actual, double relTol, double minScale) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        INDArray e = expected.castTo(DataType.DOUBLE);
        double scale = Math.max(Math.max(e.amaxNumber().doubleValue(), minScale), 1e-12);
        double err = actual.castTo(DataType.DOUBLE).sub(e).amaxNumber().doubleValue() / scale;
        assertTrue(err <= relTol, what + ": relative error " + err + " > " + relTol);
    }

    private static <E extends Throwable> void assertMessage(Class<E> type, String part, org.junit.jupiter.api.function.Executable call) {
        E e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
    }
}
