package org.attn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionOutput;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The from-scratch lesson's worked example, whose numbers are derived by hand in the test. */
class LessonHelpersTest {
    static final double[][] Q = {{1, 0, 1, 0}, {0, 1, 0, 1}, {1, 1, 0, 0}};
    static final double[][] V = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};

    @Test
    void firstQueryWeightsMatchTheLesson() {
        // Scores of query 0: q.k = 2, 0, 1; divided by sqrt(4) = 1, 0, 0.5.
        double[] w = ScaledDotProductAttention.attentionWeights(Q[0], Q);
        double z = Math.exp(1) + 1 + Math.exp(0.5);
        assertArrayEquals(new double[] {Math.exp(1) / z, 1 / z, Math.exp(0.5) / z}, w, 1e-15);
        assertArrayEquals(new double[] {0.506, 0.186, 0.307}, w, 0.0005);
        assertEquals(1.0, w[0] + w[1] + w[2], 1e-15);
    }

    @Test
    void firstOutputRowMatchesTheLesson() {
        double[][] out = ScaledDotProductAttention.attention(Q, Q, V);
        assertArrayEquals(new double[] {4.2029, 5.2029, 6.2029, 7.2029}, out[0], 0.00005);
        assertEquals(3, out.length);
    }

    @Test
    void helpersAgreeWithTheLayer() {
        INDArray q = Nd4j.createFromArray(Q).reshape(1, 1, 3, 4);
        INDArray v = Nd4j.createFromArray(V).reshape(1, 1, 3, 4);
        AttentionOutput<INDArray> layer = new ScaledDotProductAttention().apply(q, q, v, AttentionMask.none());
        double[][] out = ScaledDotProductAttention.attention(Q, Q, V);
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(ScaledDotProductAttention.attentionWeights(Q[i], Q),
                    layer.weights().get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                            org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                            org.nd4j.linalg.indexing.NDArrayIndex.point(i)).toDoubleVector(), 1e-12);
            for (int c = 0; c < 4; c++) {
                assertEquals(out[i][c], layer.output().getDouble(0, 0, i, c), 1e-12);
            }
        }
    }

    @Test
    void largeScoresDoNotOverflow() {
        double[] w = ScaledDotProductAttention.attentionWeights(new double[] {1000}, new double[][] {{1000}, {999}});
        assertTrue(Double.isFinite(w[0]) && Double.isFinite(w[1]));
        assertEquals(1.0, w[0] + w[1], 1e-12);
    }

    @Test
    void mismatchedWidthsAreReported() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScaledDotProductAttention.attentionWeights(new double[] {1, 2}, new double[][] {{1, 2}, {3}}));
        assertTrue(e.getMessage().contains("Key 1 has 1 entries; expected 2"), e.getMessage());
    }
}
