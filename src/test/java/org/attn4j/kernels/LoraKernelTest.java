package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.testing.Exact;
import org.attn4j.testing.FiniteDifferences;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The LoRA pair on a frozen linear layer whose B feeds three outputs (GPT-2's fused c_attn: q, k, v), each part a
 * {@link LinearKernel} of its third of W with its part of the path: the forward against ND4J's own products in
 * float64, the backward (dx through both paths; dA and dB summed over two workers' row shares) against central
 * differences of L = sum over parts of y_p . G_p; the frozen W gets no gradient. With LoRA dropout (more rows than
 * one block of the kernel's scratch): the same with the adapter's input dropped by {@link DropoutSeed}'s mask, and
 * the mask itself (keep rate, scale, one mask per module and step, none without a seed).
 */
class LoraKernelTest {
    private static final int N = LoraKernel.DROP_ROWS + 7, IN = 6, RANK = 2, PARTS = 3, W = 4, OUT = PARTS * W;
    private static final double SCALE = 1.75;
    private static final String A = "m.lora_A.weight";

    @ParameterizedTest
    @ValueSource(doubles = {0, 0.4})
    void forwardIsTheLowRankProductAndBackwardMatchesCentralDifferences(double p) {
        Nd4j.getRandom().setSeed(7);
        DropoutSeed seed = p > 0 ? new DropoutSeed(3, 11) : null;
        INDArray x = Nd4j.randn(DataType.DOUBLE, N, IN), a = Nd4j.randn(DataType.DOUBLE, RANK, IN),
                b = Nd4j.randn(DataType.DOUBLE, OUT, RANK), frozen = Nd4j.randn(DataType.DOUBLE, OUT, IN),
                bias = Nd4j.randn(DataType.DOUBLE, OUT), g = Nd4j.randn(DataType.DOUBLE, N, OUT);
        INDArray[] y = forward(x, a, b, frozen, bias, p, seed);
        // PEFT's lora_dropout: x's element (r, c) kept with the hash's verdict on r * IN + c, scaled by 1 / (1 - p)
        INDArray dropped = x.dup();
        for (int r = 0; p > 0 && r < N; r++) {
            for (int c = 0; c < IN; c++) {
                boolean kept = DropoutSeed.keep(seed.base(DropoutSeed.stream(A)), (long) r * IN + c, p);
                dropped.putScalar(r, c, kept ? x.getDouble(r, c) / (1 - p) : 0);
            }
        }
        INDArray expected = x.mmul(frozen.transpose()).addiRowVector(bias)
                .addi(dropped.mmul(a.transpose()).mmul(b.transpose()).muli(SCALE));
        for (int part = 0; part < PARTS; part++) {
            Exact.assertCloseToScale("y part " + part, columns(expected, part), y[part], 1e-14);
        }

        // Backward: dy_p = G_p, each part's kernel in part order on each of two workers' row shares.
        List<LinearKernel> kernels = kernels(a, b, frozen, bias, p);
        assertEquals(List.of("m.lora_A.weight", "m.lora_B.weight"), kernels.get(1).gradientNames(), "no dW, no db");
        INDArray dx = Nd4j.zeros(DataType.DOUBLE, N, IN), da = Nd4j.zeros(DataType.DOUBLE, RANK, IN),
                db = Nd4j.zeros(DataType.DOUBLE, OUT, RANK);
        Map<String, INDArray> grads = new LinkedHashMap<>();
        grads.put("m.lora_A.weight", da);
        grads.put("m.lora_B.weight", db);
        GradientShares shares = new GradientShares(grads, 2);
        for (int share = 0; share < 2; share++) {
            for (int part = 0; part < PARTS; part++) {
                kernels.get(part).backwardWeights(shares, Buf.of(columns(g, part)), Buf.of(x), N, share, seed);
            }
        }
        shares.reduce(List.copyOf(grads.keySet()), Parallel.shared());
        for (int part = 0; part < PARTS; part++) {
            kernels.get(part).backwardInput(Buf.of(columns(g, part)), Buf.of(dx), part > 0, 0, 2, seed);
            kernels.get(part).backwardInput(Buf.of(columns(g, part)), Buf.of(dx), part > 0, 2, N, seed);
        }

        Map<String, INDArray> values = new LinkedHashMap<>(), analytic = new LinkedHashMap<>();
        values.put("x", x);
        values.put("A", a);
        values.put("B", b);
        analytic.put("x", dx);
        analytic.put("A", da);
        analytic.put("B", db);
        int checked = FiniteDifferences.check(values, analytic, () -> {
            INDArray[] out = forward(x, a, b, frozen, bias, p, seed);
            double loss = 0;
            for (int part = 0; part < PARTS; part++) {
                loss += out[part].mul(columns(g, part)).sumNumber().doubleValue();
            }
            return loss;
        });
        assertEquals(N * IN + RANK * IN + OUT * RANK, checked);
    }

    /**
     * The mask, seen through a path with A = B = I and scale 1 on a zero W: y = drop(1). Its keep rate is 1 - p
     * within 5 binomial standard deviations, a kept element is 1 / (1 - p), and the mask is new each step, its own
     * for each module, the same for each part of one module, and absent without a seed.
     */
    @Test
    void theMaskKeepsOneMinusPScaledByItsInverse() {
        int rows = 250, in = 16;
        double p = 0.3;
        long elements = (long) rows * in;
        INDArray ones = Nd4j.ones(DataType.DOUBLE, rows, in);
        INDArray step3 = identityPath(A, p, ones, new DropoutSeed(9, 3), 0),
                step3Part1 = identityPath(A, p, ones, new DropoutSeed(9, 3), 1),
                step4 = identityPath(A, p, ones, new DropoutSeed(9, 4), 0),
                otherModule = identityPath("n.lora_A.weight", p, ones, new DropoutSeed(9, 3), 0);
        long kept = 0;
        for (double v : step3.data().asDouble()) {
            assertTrue(v == 0 || Math.abs(v - 1 / (1 - p)) < 1e-15, "a dropped element is 0, a kept one 1/(1-p): " + v);
            kept += v == 0 ? 0 : 1;
        }
        double mean = elements * (1 - p), sd = Math.sqrt(elements * p * (1 - p));
        assertTrue(Math.abs(kept - mean) < 5 * sd, kept + " of " + elements + " kept, expected " + mean + " +- 5 x " + sd);
        Exact.assertSameBits("one module's parts drop the same elements", step3, step3Part1);
        // two independent masks differ at a fraction 2 p (1 - p) of the elements
        for (INDArray other : List.of(step4, otherModule)) {
            long differ = 0;
            for (int i = 0; i < elements; i++) {
                differ += (step3.getDouble(i) == 0) != (other.getDouble(i) == 0) ? 1 : 0;
            }
            double q = 2 * p * (1 - p);
            assertTrue(Math.abs(differ - elements * q) < 5 * Math.sqrt(elements * q * (1 - q)), differ + " differ");
        }
        Exact.assertSameBits("no seed: nothing dropped", ones, identityPath(A, p, ones, null, 0));
    }

    /** y = drop(x) through part {@code part} of a two-part path named {@code nameA}: A = I, both B parts I, W = 0. */
    private static INDArray identityPath(String nameA, double p, INDArray x, DropoutSeed seed, int part) {
        int n = (int) x.size(0), in = (int) x.size(1);
        INDArray eye = Nd4j.eye(in).castTo(DataType.DOUBLE), y = Nd4j.zeros(DataType.DOUBLE, n, in);
        LoraKernel path = new LoraKernel(nameA, "b", Buf.of(eye), Buf.of(Nd4j.concat(0, eye, eye)), in, in, 2 * in, 2,
                1, p);
        LinearKernel.of("w", Nd4j.zeros(DataType.DOUBLE, in, in), null).adapted(path, part).forward(Buf.of(x),
                Buf.of(y), 0, n, seed);
        return y;
    }

    /** Part p's frozen kernel: its third of W and b, and part p of one LoRA path with dropout {@code dropout}. */
    private static List<LinearKernel> kernels(INDArray a, INDArray b, INDArray frozen, INDArray bias, double dropout) {
        LoraKernel path = new LoraKernel(A, "m.lora_B.weight", Buf.of(a), Buf.of(b), IN, RANK, OUT, PARTS, SCALE,
                dropout);
        return java.util.stream.IntStream.range(0, PARTS).mapToObj(p -> LinearKernel.of("m" + p,
                frozen.get(NDArrayIndex.interval(p * W, (p + 1) * W), NDArrayIndex.all()).dup('c'),
                bias.get(NDArrayIndex.interval(p * W, (p + 1) * W)).dup()).adapted(path, p)).toList();
    }

    /** y_p = x W_p^T + b_p + scale (drop(x) A^T) B_p^T, each part its own [N, W] output, in two row ranges. */
    private static INDArray[] forward(INDArray x, INDArray a, INDArray b, INDArray frozen, INDArray bias,
            double dropout, DropoutSeed seed) {
        List<LinearKernel> kernels = kernels(a, b, frozen, bias, dropout);
        INDArray[] y = new INDArray[PARTS];
        for (int p = 0; p < PARTS; p++) {
            y[p] = Nd4j.zeros(DataType.DOUBLE, N, W);
            kernels.get(p).forward(Buf.of(x), Buf.of(y[p]), 0, 3, seed);
            kernels.get(p).forward(Buf.of(x), Buf.of(y[p]), 3, N, seed);
        }
        return y;
    }

    private static INDArray columns(INDArray m, int p) {
        return m.get(NDArrayIndex.all(), NDArrayIndex.interval(p * W, (p + 1) * W)).dup('c');
    }
}
