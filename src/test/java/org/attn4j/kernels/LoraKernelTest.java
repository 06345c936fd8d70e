package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.testing.Exact;
import org.attn4j.testing.FiniteDifferences;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The LoRA pair on a frozen linear layer whose B feeds three outputs (GPT-2's fused c_attn: q, k, v), each part a
 * {@link LinearKernel} of its third of W with its part of the path: the forward against ND4J's own products in
 * float64, the backward (dx through both paths; dA and dB summed over two workers' row shares) against central
 * differences of L = sum over parts of y_p . G_p; the frozen W gets no gradient.
 */
class LoraKernelTest {
    private static final int N = 5, IN = 6, RANK = 2, PARTS = 3, W = 4, OUT = PARTS * W;
    private static final double SCALE = 1.75;

    @Test
    void forwardIsTheLowRankProductAndBackwardMatchesCentralDifferences() {
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.randn(DataType.DOUBLE, N, IN), a = Nd4j.randn(DataType.DOUBLE, RANK, IN),
                b = Nd4j.randn(DataType.DOUBLE, OUT, RANK), frozen = Nd4j.randn(DataType.DOUBLE, OUT, IN),
                bias = Nd4j.randn(DataType.DOUBLE, OUT), g = Nd4j.randn(DataType.DOUBLE, N, OUT);
        INDArray[] y = forward(x, a, b, frozen, bias);
        INDArray expected = x.mmul(frozen.transpose()).addiRowVector(bias)
                .addi(x.mmul(a.transpose()).mmul(b.transpose()).muli(SCALE));
        for (int p = 0; p < PARTS; p++) {
            Exact.assertCloseToScale("y part " + p, columns(expected, p), y[p], 1e-14);
        }

        // Backward: dy_p = G_p, each part's kernel in part order on each of two workers' row shares.
        List<LinearKernel> kernels = kernels(a, b, frozen, bias);
        assertEquals(List.of("m.lora_A.weight", "m.lora_B.weight"), kernels.get(1).gradientNames(), "no dW, no db");
        INDArray dx = Nd4j.zeros(DataType.DOUBLE, N, IN), da = Nd4j.zeros(DataType.DOUBLE, RANK, IN),
                db = Nd4j.zeros(DataType.DOUBLE, OUT, RANK);
        Map<String, INDArray> grads = new LinkedHashMap<>();
        grads.put("m.lora_A.weight", da);
        grads.put("m.lora_B.weight", db);
        GradientShares shares = new GradientShares(grads, 2);
        for (int share = 0; share < 2; share++) {
            for (int p = 0; p < PARTS; p++) {
                kernels.get(p).backwardWeights(shares, Buf.of(columns(g, p)), Buf.of(x), N, share);
            }
        }
        shares.reduce(List.copyOf(grads.keySet()), Parallel.shared());
        for (int p = 0; p < PARTS; p++) {
            kernels.get(p).backwardInput(Buf.of(columns(g, p)), Buf.of(dx), p > 0, 0, 2);
            kernels.get(p).backwardInput(Buf.of(columns(g, p)), Buf.of(dx), p > 0, 2, N);
        }

        Map<String, INDArray> values = new LinkedHashMap<>(), analytic = new LinkedHashMap<>();
        values.put("x", x);
        values.put("A", a);
        values.put("B", b);
        analytic.put("x", dx);
        analytic.put("A", da);
        analytic.put("B", db);
        int checked = FiniteDifferences.check(values, analytic, () -> {
            INDArray[] out = forward(x, a, b, frozen, bias);
            double loss = 0;
            for (int p = 0; p < PARTS; p++) {
                loss += out[p].mul(columns(g, p)).sumNumber().doubleValue();
            }
            return loss;
        });
        assertEquals(N * IN + RANK * IN + OUT * RANK, checked);
    }

    /** Part p's frozen kernel: its third of W and b, and part p of one LoRA path. */
    private static List<LinearKernel> kernels(INDArray a, INDArray b, INDArray frozen, INDArray bias) {
        LoraKernel path = new LoraKernel("m.lora_A.weight", "m.lora_B.weight", Buf.of(a), Buf.of(b), IN, RANK, OUT,
                PARTS, SCALE);
        return java.util.stream.IntStream.range(0, PARTS).mapToObj(p -> LinearKernel.of("m" + p,
                frozen.get(NDArrayIndex.interval(p * W, (p + 1) * W), NDArrayIndex.all()).dup('c'),
                bias.get(NDArrayIndex.interval(p * W, (p + 1) * W)).dup()).adapted(path, p)).toList();
    }

    /** y_p = x W_p^T + b_p + scale (x A^T) B_p^T, each part its own [N, W] output, in two row ranges. */
    private static INDArray[] forward(INDArray x, INDArray a, INDArray b, INDArray frozen, INDArray bias) {
        List<LinearKernel> kernels = kernels(a, b, frozen, bias);
        INDArray[] y = new INDArray[PARTS];
        for (int p = 0; p < PARTS; p++) {
            y[p] = Nd4j.zeros(DataType.DOUBLE, N, W);
            kernels.get(p).forward(Buf.of(x), Buf.of(y[p]), 0, 3);
            kernels.get(p).forward(Buf.of(x), Buf.of(y[p]), 3, N);
        }
        return y;
    }

    private static INDArray columns(INDArray m, int p) {
        return m.get(NDArrayIndex.all(), NDArrayIndex.interval(p * W, (p + 1) * W)).dup('c');
    }
}
