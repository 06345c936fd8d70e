package org.attn4j.nn;

import org.attn4j.samediff.MultiHeadAttentionGraph;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.attn4j.interop.ParityCase;
import org.attn4j.interop.TorchNames;
import org.attn4j.kernels.RowMath;
import org.attn4j.config.AttentionOutput;
import org.attn4j.nn.MultiHeadAttention;
import org.attn4j.testing.ParityFixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@code MultiHeadAttention.apply} on the fast path ({@link AttentionEngine}) against PyTorch 1.13's
 * {@code nn.MultiheadAttention} on the 12 committed cases (self, no bias, causal, padding, both,
 * cross-attention with kdim and vdim: output and per-head weights, 1e-8 / 1e-4 of each tensor's scale)
 * and against SameDiff's graph of the same layer on shapes and masks the fixtures lack.
 */
class AttentionEngineTest {
    @AfterEach
    void vectorBack() {
        RowMath.useVector(true);
    }

    static List<Path> attentionCases() throws IOException {
        return ParityFixtures.cases("mha_.*\\.json");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("attentionCases")
    void matchesPyTorch(Path json) {
        ParityCase c = ParityCase.load(json);
        DataType type = c.dataType();
        int d = c.integer("d_model");
        MultiHeadAttention mha = MultiHeadAttention.create(AttentionConfig.of(d, c.integer("nhead"))
                .withKeyValueDims(c.integer("kdim", d), c.integer("vdim", d)).withBias(c.flag("bias", true))
                .withCausal(c.flag("causal", false)), type);
        mha.loadParameters(TorchNames.toAttn4j(c.group("param"), ""));
        AttentionMask<INDArray> mask = c.has("in/key_padding_mask")
                ? AttentionMask.ofPadding(c.array("in/key_padding_mask", 2).castTo(type).rsub(1.0)) : AttentionMask.none();
        AttentionOutput<INDArray> o = mha.apply(c.array("in/query", 3).castTo(type), c.array("in/key", 3).castTo(type),
                c.array("in/value", 3).castTo(type), mask);
        double tol = type == DataType.DOUBLE ? 1e-8 : 1e-4;
        BlockEngineTest.assertClose(c.name() + " output", c.array("out/output", 3), o.output(), tol);
        BlockEngineTest.assertClose(c.name() + " weights", c.array("out/weights", 4), o.weights(), tol);
    }

    static Stream<Arguments> shapes() {
        List<Arguments> all = new ArrayList<>();
        for (DataType type : List.of(DataType.DOUBLE, DataType.FLOAT)) {
            for (boolean vector : new boolean[] {true, false}) {
                all.add(Arguments.of(type, vector, "self, causal and padding", 3, 19, 19, 40, 40, true, true, true));
                all.add(Arguments.of(type, vector, "cross Tq < Tk, kdim vdim, no bias, causal", 2, 7, 23, 37, 29, false, true, false));
                all.add(Arguments.of(type, vector, "cross Tq > Tk, padding", 2, 21, 6, 40, 40, true, false, true));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} vector={1} {2}")
    @MethodSource("shapes")
    void matchesTheSameDiffGraph(DataType type, boolean vector, String what, int b, int tq, int tk, int kDim, int vDim,
            boolean bias, boolean causal, boolean padding) {
        RowMath.useVector(vector);
        Nd4j.getRandom().setSeed(17);
        int c = 40, h = 4;
        MultiHeadAttention mha = MultiHeadAttention.create(AttentionConfig.of(c, h).withKeyValueDims(kDim, vDim)
                .withBias(bias), type);
        boolean self = tq == tk && kDim == c && vDim == c;
        INDArray q = Nd4j.randn(type, b, tq, c);
        INDArray k = self ? q : Nd4j.randn(type, b, tk, kDim), v = self ? q : Nd4j.randn(type, b, tk, vDim);
        INDArray keep = Nd4j.ones(type, b, tk);
        keep.putScalar(new long[] {1, tk - 1}, 0);
        if (tq > tk) {
            keep.getRow(1).assign(0); // a batch row whose queries see no key at all: zero weights, not NaN
        }
        AttentionMask<INDArray> mask = padding ? AttentionMask.ofPadding(keep) : AttentionMask.none();
        mask = causal ? mask.withCausal() : mask;
        AttentionOutput<INDArray> fast = mha.apply(q, k, v, mask);
        AttentionOutput<INDArray> graph = graph(mha, q, k, v, mask);
        double tol = type == DataType.DOUBLE ? 1e-10 : 2e-5;
        BlockEngineTest.assertClose(what + " output", graph.output(), fast.output(), tol);
        BlockEngineTest.assertClose(what + " weights", graph.weights(), fast.weights(), tol);
        assertTrue(!fast.output().isNaN().any() && !fast.weights().isNaN().any(), what + ": no NaN");
    }

    static Stream<Arguments> masks() {
        List<Arguments> all = new ArrayList<>();
        for (DataType type : List.of(DataType.DOUBLE, DataType.FLOAT)) {
            for (String mask : concat(MaskCases.KINDS, MaskCases.COMBINED)) {
                all.add(Arguments.of(type, true, mask, 7, 7, false)); // self-attention
                all.add(Arguments.of(type, true, mask, 5, 19, false)); // cross, Tq < Tk
            }
            all.add(Arguments.of(type, true, "padding+keep3+additive2+causal", 9, 9, true));
            all.add(Arguments.of(type, true, "keep2+additive3", 6, 11, true));
            for (String mask : MaskCases.COMBINED) {
                all.add(Arguments.of(type, false, mask, 5, 19, false));
            }
        }
        return all.stream();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /**
     * Every mask kind and combinations, self and cross, with and without rotary positions: the engine against
     * the graph (1e-10 in float64, 1e-5 in float32), and a query row that may see no key gets zero weights
     * and a zero attention output (the out-projection's bias alone), never NaN.
     */
    @ParameterizedTest(name = "{0} vector={1} {2} Tq={3} Tk={4} rotary={5}")
    @MethodSource("masks")
    void everyMaskMatchesTheSameDiffGraph(DataType type, boolean vector, String kind, int tq, int tk, boolean rotary) {
        RowMath.useVector(vector);
        Nd4j.getRandom().setSeed(23);
        int b = 2, c = 24, h = 3;
        MultiHeadAttention mha = MultiHeadAttention.create(AttentionConfig.of(c, h).withRotary(rotary), type);
        INDArray q = Nd4j.randn(type, b, tq, c), kv = tq == tk ? q : Nd4j.randn(type, b, tk, c);
        AttentionMask<INDArray> mask = MaskCases.of(kind, b, h, tq, tk, type);
        AttentionOutput<INDArray> fast = mha.apply(q, kv, kv, mask);
        AttentionOutput<INDArray> graph = graph(mha, q, kv, kv, mask);
        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-5;
        BlockEngineTest.assertClose(kind + " output", graph.output(), fast.output(), tol);
        BlockEngineTest.assertClose(kind + " weights", graph.weights(), fast.weights(), tol);
        assertTrue(!fast.output().isNaN().any() && !fast.weights().isNaN().any(), kind + ": no NaN");
        if (!kind.equals("none") && !kind.equals("causal") && !kind.equals("padding")) { // row 1 of batch 1 sees no key
            INDArray row = fast.weights().get(NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.point(1),
                    NDArrayIndex.all());
            assertEquals(0, row.amaxNumber().doubleValue(), kind + ": a query that sees no key has zero weights");
        }
    }

    /** The layer's own graph ({@code forward} through SameDiff) on the same inputs, the reference of apply. */
    static AttentionOutput<INDArray> graph(MultiHeadAttention mha, INDArray q, INDArray k, INDArray v,
            AttentionMask<INDArray> mask) {
        SameDiff sd = SameDiff.create();
        SDVariable qv = sd.constant(q), kv = k == q ? qv : sd.constant(k), vv = v == q ? qv : v == k ? kv : sd.constant(v);
        AttentionOutput<SDVariable> o = new MultiHeadAttentionGraph(sd, mha).forward(qv, kv, vv, mask.map(sd::constant));
        Map<String, INDArray> r = sd.output(Map.of(), o.output().name(), o.weights().name());
        return new AttentionOutput<>(r.get(o.output().name()), r.get(o.weights().name()));
    }
}
