package org.attn4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.RealMatrix;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionOutput;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An independent scaled dot-product attention written with Commons Math matrices, in double
 * precision, cross-checks attn4j's on random shapes, scales and mask combinations.
 */
class ScaledDotProductAttentionReferenceTest {

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
    void agreesWithCommonsMath(int seed) {
        Random rnd = new Random(seed);
        int b = 1 + rnd.nextInt(3), h = 1 + rnd.nextInt(3), tq = 1 + rnd.nextInt(6), tk = 1 + rnd.nextInt(6);
        int d = 1 + rnd.nextInt(8), dv = 1 + rnd.nextInt(8);
        boolean causal = rnd.nextBoolean();
        double scale = rnd.nextBoolean() ? 1 / Math.sqrt(d) : 0.1 + rnd.nextDouble();
        double[][][][] q = random(rnd, b, h, tq, d), k = random(rnd, b, h, tk, d), v = random(rnd, b, h, tk, dv);
        double[][] padding = rnd.nextBoolean() ? zeroOnes(rnd, b, tk) : null;
        double[][][] attention = rnd.nextBoolean() ? new double[][][] {zeroOnes(rnd, tq, tk)} : null;
        double[][][][] additive = null;
        if (rnd.nextBoolean()) {
            additive = random(rnd, b, h, tq, tk);
            additive[0][0][0][0] = Double.NEGATIVE_INFINITY;
        }

        AttentionMask<INDArray> mask = AttentionMask.none();
        if (padding != null) {
            mask = mask.withPadding(Nd4j.createFromArray(padding));
        }
        if (attention != null) {
            mask = mask.withAttention(Nd4j.createFromArray(attention[0]));
        }
        if (additive != null) {
            mask = mask.withAdditive(Nd4j.createFromArray(additive));
        }
        if (causal) {
            mask = mask.withCausal();
        }
        AttentionOutput<INDArray> got = new ScaledDotProductAttention(
                ScaledDotProductAttention.Config.standard().withScale(scale))
                .apply(Nd4j.createFromArray(q), Nd4j.createFromArray(k), Nd4j.createFromArray(v), mask);

        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                RealMatrix scores = new Array2DRowRealMatrix(q[bi][hi]).multiply(
                        new Array2DRowRealMatrix(k[bi][hi]).transpose()).scalarMultiply(scale);
                RealMatrix weights = new Array2DRowRealMatrix(tq, tk);
                for (int i = 0; i < tq; i++) {
                    boolean[] allowed = new boolean[tk];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < tk; j++) {
                        double add = additive == null ? 0 : additive[bi][hi][i][j];
                        allowed[j] = (padding == null || padding[bi][j] == 1)
                                && (attention == null || attention[0][i][j] == 1)
                                && (!causal || j <= i + (tk - tq)) && add != Double.NEGATIVE_INFINITY;
                        scores.addToEntry(i, j, allowed[j] ? add : 0);
                        if (allowed[j]) {
                            max = Math.max(max, scores.getEntry(i, j));
                        }
                    }
                    double sum = 0;
                    for (int j = 0; j < tk; j++) {
                        sum += allowed[j] ? Math.exp(scores.getEntry(i, j) - max) : 0;
                    }
                    for (int j = 0; j < tk; j++) {
                        weights.setEntry(i, j, allowed[j] ? Math.exp(scores.getEntry(i, j) - max) / sum : 0);
                    }
                }
                RealMatrix output = weights.multiply(new Array2DRowRealMatrix(v[bi][hi]));
                for (int i = 0; i < tq; i++) {
                    for (int j = 0; j < tk; j++) {
                        assertEquals(weights.getEntry(i, j), got.weights().getDouble(bi, hi, i, j), 1e-12,
                                "weight " + bi + "," + hi + "," + i + "," + j);
                    }
                    for (int c = 0; c < dv; c++) {
                        assertEquals(output.getEntry(i, c), got.output().getDouble(bi, hi, i, c), 1e-12,
                                "output " + bi + "," + hi + "," + i + "," + c);
                    }
                }
            }
        }
        assertEquals(DataType.DOUBLE, got.output().dataType());
    }

    private static double[][][][] random(Random rnd, int a, int b, int c, int d) {
        double[][][][] x = new double[a][b][c][d];
        for (double[][][] x1 : x) {
            for (double[][] x2 : x1) {
                for (double[] x3 : x2) {
                    for (int i = 0; i < d; i++) {
                        x3[i] = rnd.nextGaussian();
                    }
                }
            }
        }
        return x;
    }

    private static double[][] zeroOnes(Random rnd, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (double[] row : m) {
            for (int j = 0; j < cols; j++) {
                row[j] = rnd.nextDouble() < 0.7 ? 1 : 0;
            }
        }
        return m;
    }
}
