package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.testing.Exact;
import org.attn4j.testing.FiniteDifferences;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The LoRA pair on a layer whose B feeds three outputs (GPT-2's fused c_attn: q, k, v): the forward against ND4J's
 * own products in float64, the backward (dx through both paths, dA and dB summed over two row shares) against
 * central differences of L = sum over parts of y_p . G_p.
 */
class LoraKernelTest {
    private static final int N = 5, IN = 6, RANK = 2, PARTS = 3, W = 4, OUT = PARTS * W;
    private static final double SCALE = 1.75;

    @Test
    void forwardIsTheLowRankProductAndBackwardMatchesCentralDifferences() {
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.randn(DataType.DOUBLE, N, IN), a = Nd4j.randn(DataType.DOUBLE, RANK, IN),
                b = Nd4j.randn(DataType.DOUBLE, OUT, RANK), frozen = Nd4j.randn(DataType.DOUBLE, OUT, IN),
                g = Nd4j.randn(DataType.DOUBLE, N, OUT);
        INDArray[] y = forward(x, a, b, frozen);
        INDArray expected = x.mmul(frozen.transpose()).addi(x.mmul(a.transpose()).mmul(b.transpose()).muli(SCALE));
        for (int p = 0; p < PARTS; p++) {
            Exact.assertCloseToScale("y part " + p, expected.get(NDArrayIndex.all(), NDArrayIndex.interval(p * W,
                    (p + 1) * W)), y[p], 1e-14);
        }

        // Backward: dy_p = G_p; the frozen path's dx = dy W, then the pair adds the low-rank path's.
        LoraKernel k = new LoraKernel(Buf.of(a), Buf.of(b), IN, RANK, OUT, PARTS, SCALE);
        INDArray u = Nd4j.zeros(DataType.DOUBLE, N, RANK), du = Nd4j.zeros(DataType.DOUBLE, N, RANK);
        k.down(Buf.of(x), Buf.of(u), 0, N);
        INDArray dx = g.mmul(frozen), da = Nd4j.zeros(DataType.DOUBLE, RANK, IN), db = Nd4j.zeros(DataType.DOUBLE, OUT,
                RANK);
        INDArray[] dy = parts(g);
        for (int p = 0; p < PARTS; p++) {
            k.upBackInput(Buf.of(dy[p]), p, Buf.of(du), p > 0, 0, N);
            k.upBackWeights(Buf.of(dy[p]), p, Buf.of(u), Buf.of(db), false, 0, 2); // two shares of the rows
            k.upBackWeights(Buf.of(dy[p]), p, Buf.of(u), Buf.of(db), true, 2, N);
        }
        k.downBackInput(Buf.of(du), Buf.of(dx), 0, N);
        k.downBackWeights(Buf.of(du), Buf.of(x), Buf.of(da), false, 0, 3);
        k.downBackWeights(Buf.of(du), Buf.of(x), Buf.of(da), true, 3, N);

        Map<String, INDArray> values = new LinkedHashMap<>(), analytic = new LinkedHashMap<>();
        values.put("x", x);
        values.put("A", a);
        values.put("B", b);
        analytic.put("x", dx);
        analytic.put("A", da);
        analytic.put("B", db);
        int checked = FiniteDifferences.check(values, analytic, () -> {
            INDArray[] out = forward(x, a, b, frozen);
            double loss = 0;
            INDArray[] gp = parts(g);
            for (int p = 0; p < PARTS; p++) {
                loss += out[p].mul(gp[p]).sumNumber().doubleValue();
            }
            return loss;
        });
        assertTrue(checked == N * IN + RANK * IN + OUT * RANK);
    }

    /** y_p = x W_p^T (the frozen linear) + scale (x A^T) B_p^T, each part its own [N, W] output. */
    private static INDArray[] forward(INDArray x, INDArray a, INDArray b, INDArray frozen) {
        LoraKernel k = new LoraKernel(Buf.of(a), Buf.of(b), IN, RANK, OUT, PARTS, SCALE);
        INDArray u = Nd4j.zeros(DataType.DOUBLE, N, RANK);
        k.down(Buf.of(x), Buf.of(u), 0, 2);
        k.down(Buf.of(x), Buf.of(u), 2, N);
        INDArray[] y = new INDArray[PARTS];
        for (int p = 0; p < PARTS; p++) {
            INDArray w = frozen.get(NDArrayIndex.interval(p * W, (p + 1) * W), NDArrayIndex.all()).dup('c');
            y[p] = Nd4j.zeros(DataType.DOUBLE, N, W);
            Blas.linear(Buf.of(x), 0, N, Buf.of(w), null, IN, W, Buf.of(y[p]), 0);
            k.up(Buf.of(u), p, Buf.of(y[p]), 0, 3);
            k.up(Buf.of(u), p, Buf.of(y[p]), 3, N);
        }
        return y;
    }

    private static INDArray[] parts(INDArray g) {
        INDArray[] out = new INDArray[PARTS];
        for (int p = 0; p < PARTS; p++) {
            out[p] = g.get(NDArrayIndex.all(), NDArrayIndex.interval(p * W, (p + 1) * W)).dup('c');
        }
        return out;
    }
}
