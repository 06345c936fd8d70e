package org.attn4j.fast;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.attn4j.interop.ParityCase;
import org.attn4j.interop.TorchNames;
import org.attn4j.nn.AttentionMask;
import org.attn4j.nn.AttentionOutput;
import org.attn4j.nn.MultiHeadAttention;
import org.attn4j.testing.ParityFixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code MultiHeadAttention.apply} on the fast path ({@link FastAttention}) against PyTorch 1.13's
 * {@code nn.MultiheadAttention} on the 12 committed cases (self, no bias, causal, padding, both,
 * cross-attention with kdim and vdim: output and per-head weights, 1e-8 / 1e-4 of each tensor's scale)
 * and against SameDiff's graph of the same layer on shapes the fixtures lack.
 */
class FastAttentionTest {
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
        MultiHeadAttention mha = MultiHeadAttention.create(new MultiHeadAttention.Config(d, c.integer("nhead"),
                c.integer("kdim", d), c.integer("vdim", d), c.flag("bias", true), c.flag("causal", false), 0, false), type);
        mha.loadParameters(TorchNames.toAttn4j(c.group("param"), ""));
        AttentionMask<INDArray> mask = c.has("in/key_padding_mask")
                ? AttentionMask.ofPadding(c.array("in/key_padding_mask", 2).castTo(type).rsub(1.0)) : AttentionMask.none();
        AttentionOutput<INDArray> o = mha.apply(c.array("in/query", 3).castTo(type), c.array("in/key", 3).castTo(type),
                c.array("in/value", 3).castTo(type), mask);
        double tol = type == DataType.DOUBLE ? 1e-8 : 1e-4;
        FastBlockTest.assertClose(c.name() + " output", c.array("out/output", 3), o.output(), tol);
        FastBlockTest.assertClose(c.name() + " weights", c.array("out/weights", 4), o.weights(), tol);
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
        MultiHeadAttention mha = MultiHeadAttention.create(MultiHeadAttention.Config.of(c, h).withKeyValueDims(kDim, vDim)
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
        assertTrue(mha.sameDiff().ops().length == 0, "the fast path adds no op to the layer's graph");
        mha.setFastPath(false);
        AttentionOutput<INDArray> graph = mha.apply(q, k, v, mask);
        double tol = type == DataType.DOUBLE ? 1e-10 : 2e-5;
        FastBlockTest.assertClose(what + " output", graph.output(), fast.output(), tol);
        FastBlockTest.assertClose(what + " weights", graph.weights(), fast.weights(), tol);
        assertTrue(!fast.output().isNaN().any() && !fast.weights().isNaN().any(), what + ": no NaN");
    }
}
