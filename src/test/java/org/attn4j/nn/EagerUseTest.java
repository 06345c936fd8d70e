package org.attn4j.nn;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionOutput;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.BlockOutput;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Layers run eagerly on INDArrays, agree with plain array arithmetic, and never leak NaN. */
class EagerUseTest {
    @BeforeEach
    void seed() {
        Nd4j.getRandom().setSeed(3);
    }

    @Test
    void multiHeadAttentionEqualsItsDefinitionOnArrays() {
        MultiHeadAttention mha = MultiHeadAttention.create(AttentionConfig.of(6, 3), DataType.DOUBLE);
        Map<String, INDArray> p = arrays(mha);
        p.replaceAll((k, v) -> Nd4j.randn(DataType.DOUBLE, v.shape()));
        mha.loadParameters(p);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 4, 6);

        // By hand: project, split [B, T, C] -> [B, H, T, D], attend, merge, project.
        INDArray q = heads(linear(x, p, "q")), k = heads(linear(x, p, "k")), v = heads(linear(x, p, "v"));
        AttentionOutput<INDArray> a = new ScaledDotProductAttention().apply(q, k, v, AttentionMask.none());
        INDArray merged = a.output().permute(0, 2, 1, 3).dup('c').reshape(2, 4, 6);
        INDArray expected = linear(merged, p, "out");

        AttentionOutput<INDArray> got = mha.apply(x, AttentionMask.none());
        assertTrue(expected.equalsWithEps(got.output(), 1e-12), "output");
        assertTrue(a.weights().equalsWithEps(got.weights(), 1e-12), "weights");
    }

    private static Map<String, INDArray> arrays(Module m) {
        Map<String, INDArray> p = new java.util.LinkedHashMap<>();
        m.parameters().forEach((k, v) -> p.put(k, v.dup()));
        return p;
    }

    private static INDArray linear(INDArray x, Map<String, INDArray> p, String name) {
        INDArray w = p.get(name + ".weight"), b = p.get(name + ".bias");
        long[] s = x.shape();
        return x.reshape(s[0] * s[1], s[2]).mmul(w.transpose()).addRowVector(b).reshape(s[0], s[1], w.size(0));
    }

    private static INDArray heads(INDArray x) {
        return x.reshape(x.size(0), x.size(1), 3, 2).permute(0, 2, 1, 3).dup('c');
    }

    @Test
    void layerNormUsesBiasedVarianceAndEpsInsideTheRoot() {
        LayerNorm norm = LayerNorm.create(new LayerNorm.Config(4, 0.5), DataType.DOUBLE);
        INDArray y = norm.apply(Nd4j.createFromArray(new double[][][] {{{1, 2, 3, 6}}}));
        // mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5, so divide by sqrt(3.5 + 0.5) = 2.
        assertTrue(Nd4j.createFromArray(new double[][][] {{{-1, -0.5, 0, 1.5}}}).equalsWithEps(y, 1e-15), y.toString());
    }

    /**
     * Attention on HALF arrays runs the engine in float32: the float32 attention of the same (half-rounded)
     * values with a padding mask, rounded to half.
     */
    @Test
    void halfAttentionIsTheFloatAttentionRounded() {
        INDArray q = Nd4j.randn(DataType.FLOAT, 2, 2, 5, 4).castTo(DataType.HALF);
        INDArray k = Nd4j.randn(DataType.FLOAT, 2, 2, 6, 4).castTo(DataType.HALF);
        INDArray v = Nd4j.randn(DataType.FLOAT, 2, 2, 6, 3).castTo(DataType.HALF);
        INDArray keep = Nd4j.createFromArray(new float[][] {{1, 1, 1, 1, 0, 0}, {1, 1, 1, 1, 1, 1}});
        ScaledDotProductAttention attention = new ScaledDotProductAttention();
        AttentionOutput<INDArray> half = attention.apply(q, k, v, AttentionMask.ofPadding(keep.castTo(DataType.HALF)));
        AttentionOutput<INDArray> wide = attention.apply(q.castTo(DataType.FLOAT), k.castTo(DataType.FLOAT),
                v.castTo(DataType.FLOAT), AttentionMask.ofPadding(keep));
        assertEquals(DataType.HALF, half.output().dataType());
        assertSameBits("half output: the float32 one rounded", wide.output().castTo(DataType.HALF), half.output());
        assertSameBits("half weights: the float32 ones rounded", wide.weights().castTo(DataType.HALF), half.weights());
        assertEquals(0.0, half.weights().get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.interval(4, 6)).amaxNumber().doubleValue(), "padded keys get no weight");
    }

    @Test
    void oneBlockServesEveryShape() {
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(8, 2, 16), DataType.FLOAT);
        block.apply(Nd4j.randn(DataType.FLOAT, 2, 5, 8), AttentionMask.none());
        BlockOutput<INDArray> o = block.apply(Nd4j.randn(DataType.FLOAT, 3, 7, 8), AttentionMask.none());
        assertEquals(java.util.List.of(3L, 7L, 8L), java.util.Arrays.stream(o.output().shape()).boxed().toList());
        assertNull(o.crossWeights());
        assertEquals(DataType.FLOAT, o.output().dataType(), "float32 by default");
    }

    @Test
    void aQueryThatSeesNothingGetsZerosNotNaN() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            TransformerBlock block = TransformerBlock.create(BlockConfig.decoder(8, 2, 16), type);
            INDArray x = Nd4j.randn(type, 2, 3, 8), memory = Nd4j.randn(type, 2, 4, 8);
            INDArray memoryKeep = Nd4j.createFromArray(new float[][] {{1, 1, 0, 0}, {0, 0, 0, 0}}).castTo(type);
            BlockOutput<INDArray> o = block.apply(x, memory, AttentionMask.causalOnly(),
                    AttentionMask.ofPadding(memoryKeep));
            assertFalse(o.output().isNaN().any(), type + " output");
            INDArray cross = o.crossWeights();
            assertEquals(0.0, cross.get(NDArrayIndex.point(1)).amaxNumber().doubleValue(), type + " empty row");
            assertEquals(0.0, cross.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.interval(2, 4)).amaxNumber().doubleValue(), type + " padded keys");
            INDArray rowSums = cross.get(NDArrayIndex.point(0)).sum(2);
            assertTrue(rowSums.equalsWithEps(Nd4j.ones(type, rowSums.shape()), 1e-6), "rows sum to 1");
        }
    }

    @Test
    void hugeScoresStayFinite() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            INDArray q = Nd4j.createFromArray(new double[] {100, -100, 100, -100}).reshape(1, 1, 2, 2).castTo(type);
            INDArray k = q.mul(1); // scores of +-1e4 / sqrt(2)
            AttentionOutput<INDArray> a = new ScaledDotProductAttention().apply(q.neg(), k, k, AttentionMask.none());
            assertFalse(a.weights().isNaN().any() || a.weights().isInfinite().any(), type + ": " + a.weights());
            assertEquals(2.0, a.weights().sumNumber().doubleValue(), 1e-6, "each of the two rows sums to 1");
        }
    }

    @Test
    void additiveMinusInfinityExcludesLikeAZero() {
        INDArray q = Nd4j.randn(DataType.DOUBLE, 1, 1, 2, 3), k = Nd4j.randn(DataType.DOUBLE, 1, 1, 3, 3);
        INDArray bias = Nd4j.zeros(DataType.DOUBLE, 2, 3);
        bias.putScalar(0, 1, Double.NEGATIVE_INFINITY);
        bias.putScalar(1, 0, Double.NEGATIVE_INFINITY);
        bias.putScalar(1, 1, Double.NEGATIVE_INFINITY);
        bias.putScalar(1, 2, Double.NEGATIVE_INFINITY);
        INDArray keep = Nd4j.createFromArray(new double[][] {{1, 0, 1}, {0, 0, 0}});
        ScaledDotProductAttention sdpa = new ScaledDotProductAttention();
        AttentionOutput<INDArray> additive = sdpa.apply(q, k, k, AttentionMask.<INDArray>none().withAdditive(bias));
        AttentionOutput<INDArray> boolMask = sdpa.apply(q, k, k, AttentionMask.<INDArray>none().withAttention(keep));
        assertSameBits("weights with an additive -inf bias", boolMask.weights(), additive.weights());
        assertEquals(0.0, additive.output().get(NDArrayIndex.point(0), NDArrayIndex.point(0), NDArrayIndex.point(1))
                .amaxNumber().doubleValue());
    }

    @Test
    void causalAlignsTheLastQueryWithTheLastKey() {
        INDArray q = Nd4j.randn(DataType.DOUBLE, 1, 1, 2, 2), k = Nd4j.randn(DataType.DOUBLE, 1, 1, 4, 2);
        INDArray w = new ScaledDotProductAttention().apply(q, k, k, AttentionMask.causalOnly()).weights();
        assertEquals(0.0, w.getDouble(0, 0, 0, 3), "query 0 stands at key 2 and cannot see key 3");
        assertTrue(w.getDouble(0, 0, 0, 2) > 0 && w.getDouble(0, 0, 1, 3) > 0);
    }

    @Test
    void theReadyMadeCausalArrayEqualsTheCausalFlag() {
        INDArray q = Nd4j.randn(DataType.DOUBLE, 2, 2, 3, 4), k = Nd4j.randn(DataType.DOUBLE, 2, 2, 5, 4);
        ScaledDotProductAttention sdpa = new ScaledDotProductAttention(ScaledDotProductAttention.Config.unscaled());
        INDArray flag = sdpa.apply(q, k, k, AttentionMask.causalOnly()).weights();
        INDArray array = sdpa.apply(q, k, k, AttentionMask.<INDArray>none()
                .withAttention(AttentionMask.causalArray(3, 5, DataType.DOUBLE))).weights();
        assertSameBits("causal flag against a causal array", flag, array);
        assertSameBits("causal array", Nd4j.createFromArray(new double[][] {{1, 1, 1, 0, 0}, {1, 1, 1, 1, 0},
                {1, 1, 1, 1, 1}}), AttentionMask.causalArray(3, 5, DataType.DOUBLE));
    }

    @Test
    void oneAttentionServesSeveralShapesAndMasksFromItsCachedGraphs() {
        ScaledDotProductAttention shared = new ScaledDotProductAttention();
        for (int[] size : new int[][] {{1, 2, 3, 4}, {2, 1, 5, 4}, {1, 2, 3, 4}}) {
            INDArray q = Nd4j.randn(DataType.DOUBLE, size[0], size[1], size[2], size[3]);
            INDArray k = Nd4j.randn(DataType.DOUBLE, size[0], size[1], size[2] + 1, size[3]);
            for (AttentionMask<INDArray> mask : List.of(AttentionMask.<INDArray>none(), AttentionMask.<INDArray>causalOnly(),
                    AttentionMask.ofPadding(Nd4j.ones(DataType.DOUBLE, size[0], size[2] + 1)))) {
                AttentionOutput<INDArray> cached = shared.apply(q, k, k, mask);
                AttentionOutput<INDArray> fresh = new ScaledDotProductAttention().apply(q, k, k, mask);
                assertSameBits("weights from a shared instance", fresh.weights(), cached.weights());
                assertSameBits("output from a shared instance", fresh.output(), cached.output());
            }
        }
    }
}
