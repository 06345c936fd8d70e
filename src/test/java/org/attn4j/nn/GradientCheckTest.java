package org.attn4j.nn;

import org.attn4j.config.AttentionOutput;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.BlockOutput;
import org.attn4j.config.FeedForwardConfig;
import org.attn4j.samediff.EmbeddingGraph;
import org.attn4j.samediff.FeedForwardGraph;
import org.attn4j.samediff.MultiHeadAttentionGraph;
import org.attn4j.samediff.NormGraph;
import org.attn4j.samediff.PositionsGraph;
import org.attn4j.samediff.Rotary;
import org.attn4j.samediff.ScaledDotProductGraph;
import org.attn4j.samediff.TransformerBlockGraph;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.attn4j.testing.FiniteDifferences;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Every layer's SameDiff gradients against central finite differences in float64, with masks that
 * leave some queries nothing to attend to (their gradients must be finite and correct: zero).
 */
class GradientCheckTest {
    private static final DataType F64 = DataType.DOUBLE;
    private SameDiff sd;
    private final List<String> checked = new ArrayList<>();

    @BeforeEach
    void setUp() {
        Nd4j.getRandom().setSeed(42);
        sd = SameDiff.create();
        checked.clear();
    }

    /** A trainable input, so its gradient is checked too. */
    private SDVariable input(String name, long... shape) {
        checked.add(name);
        return sd.var(name, Nd4j.randn(F64, shape));
    }

    private SDVariable constant(INDArray a) {
        return sd.constant(a.castTo(F64));
    }

    /** Parameters get random values so biases are nonzero and LayerNorm is not the identity. */
    private void randomize(Module m) {
        m.parameters().forEach((name, v) -> {
            INDArray a = v;
            a.assign(name.contains("norm") && name.endsWith("weight")
                    ? Nd4j.randn(F64, a.shape()).muli(0.2).addi(1) : Nd4j.randn(F64, a.shape()).muli(0.5));
            checked.add(name);
        });
    }

    /** loss = sum(output * R1) [+ sum(weights * R2)], with fixed random R. */
    private void checkLoss(SDVariable... outputs) {
        SDVariable loss = null;
        for (SDVariable o : outputs) {
            if (o == null) {
                continue;
            }
            INDArray shape = o.eval().dup();
            SDVariable term = o.mul(constant(Nd4j.randn(F64, shape.shape()))).sum();
            loss = loss == null ? term : loss.add(term);
        }
        sd.setLossVariables(loss);
        int n = FiniteDifferences.check(sd, loss, checked);
        assertTrue(n > 0);
    }

    /** Padding [2, 5] that hides every key of batch row 1: all its queries see nothing. */
    private static INDArray paddingWithEmptyRow() {
        return Nd4j.createFromArray(new double[][] {{1, 1, 1, 0, 0}, {0, 0, 0, 0, 0}});
    }

    @Test
    void scaledDotProductAttentionWithEveryMaskKind() {
        SDVariable q = input("q", 2, 2, 3, 4), k = input("k", 2, 2, 5, 4), v = input("v", 2, 2, 5, 3);
        INDArray attention = Nd4j.createFromArray(new double[][] {{0, 0, 0, 0, 0}, {1, 1, 0, 1, 1}, {1, 1, 1, 1, 1}});
        INDArray additive = Nd4j.randn(F64, 3, 5);
        additive.putScalar(2, 4, Double.NEGATIVE_INFINITY);
        AttentionMask<SDVariable> mask = AttentionMask.<SDVariable>none()
                .withPadding(constant(Nd4j.createFromArray(new double[][] {{1, 1, 1, 1, 0}, {1, 0, 1, 1, 1}})))
                .withAttention(constant(attention)).withAdditive(constant(additive));
        AttentionOutput<SDVariable> o = ScaledDotProductGraph.forward(ScaledDotProductAttention.Config.standard(), q, k, v, mask, 4);
        INDArray weights = o.weights().eval();
        assertEquals(0.0, weights.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(0)).amaxNumber()
                .doubleValue(), "query 0 may attend to nothing");
        assertEquals(0.0, o.output().eval().get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(0))
                .amaxNumber().doubleValue());
        checkLoss(o.output(), o.weights());
    }

    @Test
    void scaledDotProductAttentionCausalWithCustomScale() {
        SDVariable q = input("q", 1, 2, 4, 3), k = input("k", 1, 2, 4, 3), v = input("v", 1, 2, 4, 3);
        ScaledDotProductAttention sdpa = new ScaledDotProductAttention(
                ScaledDotProductAttention.Config.standard().withScale(0.7));
        AttentionOutput<SDVariable> o = ScaledDotProductGraph.forward(sdpa.config(), q, k, v, AttentionMask.causalOnly(), 3);
        checkLoss(o.output(), o.weights());
    }

    @Test
    void multiHeadSelfAttentionCausalWithAnEmptyRow() {
        MultiHeadAttention mha = new MultiHeadAttention("attn", AttentionConfig.of(4, 2)
                .withCausal(true), F64);
        randomize(mha);
        SDVariable x = input("x", 2, 5, 4);
        AttentionOutput<SDVariable> o = new MultiHeadAttentionGraph(sd, mha).forward(x, AttentionMask.ofPadding(constant(paddingWithEmptyRow())));
        checkLoss(o.output(), o.weights());
    }

    @Test
    void multiHeadCrossAttentionWithKeyAndValueWidths() {
        MultiHeadAttention mha = new MultiHeadAttention("cross", AttentionConfig.of(4, 2)
                .withKeyValueDims(3, 5), F64);
        randomize(mha);
        SDVariable q = input("q", 2, 3, 4), k = input("k", 2, 5, 3), v = input("v", 2, 5, 5);
        AttentionOutput<SDVariable> o = new MultiHeadAttentionGraph(sd, mha).forward(q, k, v, AttentionMask.ofPadding(constant(paddingWithEmptyRow())));
        checkLoss(o.output(), o.weights());
    }

    @Test
    void multiHeadAttentionWithoutBias() {
        MultiHeadAttention mha = new MultiHeadAttention("attn", AttentionConfig.of(6, 3)
                .withBias(false), F64);
        randomize(mha);
        assertEquals(4, mha.parameters().size(), "four weight matrices and no biases");
        AttentionOutput<SDVariable> o = new MultiHeadAttentionGraph(sd, mha).forward(input("x", 2, 3, 6), AttentionMask.none());
        checkLoss(o.output(), o.weights());
    }

    @Test
    void layerNorm() {
        LayerNorm norm = new LayerNorm("norm", new LayerNorm.Config(5, 1e-5), F64);
        randomize(norm);
        checkLoss(new NormGraph(sd, norm).forward(input("x", 2, 3, 5)));
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void feedForward(Activation activation) {
        FeedForward ff = new FeedForward("ff", FeedForwardConfig.of(4, 6, activation), F64);
        randomize(ff);
        checkLoss(new FeedForwardGraph(sd, ff).forward(input("x", 2, 3, 4)));
    }

    @ParameterizedTest(name = "crossAttention={0} normFirst={1} {2}")
    @CsvSource({"false, true, GELU", "false, false, RELU", "true, true, GELU", "true, false, SWIGLU"})
    void transformerBlock(boolean crossAttention, boolean normFirst, Activation activation) {
        BlockConfig base = crossAttention
                ? BlockConfig.decoder(4, 2, 6) : BlockConfig.encoder(4, 2, 6);
        TransformerBlock block = new TransformerBlock("block0",
                base.withNormFirst(normFirst).withActivation(activation), F64);
        randomize(block);
        SDVariable x = input("x", 2, 5, 4);
        BlockOutput<SDVariable> o;
        if (!crossAttention) {
            o = new TransformerBlockGraph(sd, block).forward(x, AttentionMask.ofPadding(constant(paddingWithEmptyRow())));
        } else {
            SDVariable memory = input("memory", 2, 5, 4);
            o = new TransformerBlockGraph(sd, block).forward(x, memory, AttentionMask.none(),
                    AttentionMask.ofPadding(constant(paddingWithEmptyRow())));
        }
        checkLoss(o.output(), o.selfWeights(), o.crossWeights());
    }

    @Test
    void embeddingWithRepeatedIdsAndLearnedPositions() {
        Embedding emb = new Embedding("embedding", 5, 4, F64);
        Positions pos = new Positions("positions", PositionalEncoding.LEARNED, 6, 4, F64);
        randomize(emb);
        randomize(pos);
        SDVariable ids = sd.constant(Nd4j.createFromArray(new int[][] {{1, 3, 1}, {4, 4, 0}}));
        checkLoss(new PositionsGraph(sd, pos).forward(new EmbeddingGraph(sd, emb).forward(ids), sd.constant(Nd4j.scalar(DataType.LONG, 2L))));
    }

    @Test
    void rotaryMultiHeadAttentionWithACache() {
        MultiHeadAttention mha = new MultiHeadAttention("attn", AttentionConfig.of(8, 2)
                .withCausal(true).withRotary(true), F64);
        randomize(mha);
        KvCache<SDVariable> past = new KvCache<>(input("pastK", 2, 2, 3, 4), input("pastV", 2, 2, 3, 4));
        MultiHeadAttentionGraph.CachedAttention o = new MultiHeadAttentionGraph(sd, mha).step(input("x", 2, 2, 8), past, AttentionMask.none());
        checkLoss(o.attention().output(), o.attention().weights());
    }

    @Test
    void rotaryScoresDependOnlyOnTheDistanceBetweenPositions() {
        // The same query and key vector at every position: after rotation, score(m, n) is a function of m - n.
        INDArray q = Nd4j.randn(F64, 1, 1, 1, 6).repeat(2, 5), k = Nd4j.randn(F64, 1, 1, 1, 6).repeat(2, 5);
        SDVariable rq = Rotary.apply(sd.constant(q), null, 6), rk = Rotary.apply(sd.constant(k), null, 6);
        INDArray scores = sd.mmul(rq, rk, false, true, false).eval();
        for (int m = 1; m < 5; m++) {
            for (int n = 1; n < 5; n++) {
                assertEquals(scores.getDouble(0, 0, m - 1, n - 1), scores.getDouble(0, 0, m, n), 1e-12, m + "," + n);
            }
        }
        assertTrue(Math.abs(scores.getDouble(0, 0, 0, 1) - scores.getDouble(0, 0, 0, 3)) > 1e-6, "distance matters");
    }
}
