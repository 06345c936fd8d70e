package org.attn4j.kernels;

import static org.attn4j.kernels.KernelFixtures.buf;
import static org.attn4j.kernels.KernelFixtures.close;
import static org.attn4j.kernels.KernelFixtures.dot;
import static org.attn4j.kernels.KernelFixtures.random;
import static org.attn4j.kernels.KernelFixtures.values;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@link AttentionKernel}: the forward (vector lanes or BLAS, whichever runs) and the cached decode step in float32 against a float64
 * loop of the definition (scores q k / sqrt(D), ALiBi's -m |i - j|, window, causal and key padding, softmax,
 * weights times values, query head h reading key/value head h / (H / kvHeads)); the backward in float64 (BLAS)
 * against central differences. ({@code AttentionLanesTest} checks the vector lanes against the BLAS path.)
 */
class AttentionKernelTest {
    private static final int B = 2, H = 4, D = 4, C = H * D;

    /** Key padding: batch row 1's last key is padding (no query row loses every key). */
    private static double[] keep(int tk) {
        double[] keep = new double[B * tk];
        java.util.Arrays.fill(keep, 1);
        keep[2 * tk - 1] = 0;
        return keep;
    }

    @ParameterizedTest(name = "kvHeads {0}, causal {1}, ALiBi {2}, window {3}")
    @CsvSource({"4, false, false, 0", "4, true, false, 0", "2, true, true, 3", "1, false, true, 2"})
    void forwardMatchesFloat64Loops(int kvHeads, boolean causal, boolean alibi, int window) {
        int tq = 5, tk = 5, kc = kvHeads * D;
        Random r = new Random(7);
        double[] q = random(r, B * tq * C), k = random(r, B * tk * kc), v = random(r, B * tk * kc), keep = keep(tk);
        double[] slopes = alibi ? Alibi.slopes(H) : null;
        AttentionKernel kernel = new AttentionKernel(H, kvHeads, D, slopes, window);
        DataType f32 = DataType.FLOAT;
        Buf p = buf(new double[B * H * tq * tk], f32), o = buf(new double[B * tq * C], f32);
        AttentionOperands x = new AttentionOperands(buf(q, f32), buf(k, f32), buf(v, f32), p, null, o, tq,
                tk);
        MaskRows mask = MaskRows.padding(buf(keep, f32), tq, tk, H, causal);
        kernel.forward(x, mask, AttentionKernel.Drop.NONE, 0, 3); // two workers' pairs
        kernel.forward(x, mask, AttentionKernel.Drop.NONE, 3, B * H);
        double[][] want = reference(q, k, v, keep, tq, tk, kvHeads, causal, slopes, window);
        close("weights", want[0], values(p), 2e-6);
        close("output", want[1], values(o), 2e-5);
    }

    @Test
    void cachedStepMatchesFloat64Loops() {
        int t = 2, total = 6, capacity = 8, kvHeads = 2, kc = kvHeads * D;
        Random r = new Random(8);
        double[] q = random(r, B * t * C), k = random(r, B * total * kc), v = random(r, B * total * kc);
        double[] kCache = new double[B * capacity * kc], vCache = new double[B * capacity * kc];
        for (int bi = 0; bi < B; bi++) { // the cache holds `total` of its `capacity` positions per batch row
            System.arraycopy(k, bi * total * kc, kCache, bi * capacity * kc, total * kc);
            System.arraycopy(v, bi * total * kc, vCache, bi * capacity * kc, total * kc);
        }
        double[] slopes = Alibi.slopes(H);
        AttentionKernel kernel = new AttentionKernel(H, kvHeads, D, slopes, 4);
        DataType f32 = DataType.FLOAT;
        Buf scores = buf(new double[B * H * t * total], f32), o = buf(new double[B * t * C], f32);
        AttentionKernel.Cached cache = new AttentionKernel.Cached(buf(kCache, f32), buf(vCache, f32), capacity, scores);
        kernel.forwardCached(buf(q, f32), cache, o, t, total, MaskRows.padding(null, t, total, H, true), 0, B * H);
        double[] keepAll = new double[B * total];
        java.util.Arrays.fill(keepAll, 1);
        double[][] want = reference(q, k, v, keepAll, t, total, kvHeads, true, slopes, 4);
        close("weights", want[0], values(scores), 2e-6);
        close("output", want[1], values(o), 2e-5);
    }

    @ParameterizedTest(name = "kvHeads {0}, causal {1}")
    @CsvSource({"4, false", "2, true"})
    void backwardMatchesCentralDifferences(int kvHeads, boolean causal) {
        int tq = 4, tk = 5, kc = kvHeads * D;
        Random r = new Random(9);
        double[] w = random(r, B * tq * C);
        DataType f64 = DataType.DOUBLE;
        Buf q = buf(random(r, B * tq * C), f64), k = buf(random(r, B * tk * kc), f64), v = buf(random(r, B * tk * kc), f64);
        Buf p = buf(new double[B * H * tq * tk], f64), o = buf(new double[B * tq * C], f64);
        AttentionKernel kernel = new AttentionKernel(H, kvHeads, D, Alibi.slopes(H), 0);
        AttentionOperands x = new AttentionOperands(q, k, v, p, null, o, tq, tk);
        MaskRows mask = MaskRows.padding(buf(keep(tk), f64), tq, tk, H, causal);
        kernel.forward(x, mask, AttentionKernel.Drop.NONE, 0, B * H);
        Buf dq = buf(new double[B * tq * C], f64), dk = buf(new double[B * tk * kc], f64);
        Buf dv = buf(new double[B * tk * kc], f64), dp = buf(new double[B * H * tq * tk], f64);
        kernel.backward(x, new AttentionGradientRows(buf(w, f64), dp, dq, dk, dv), AttentionKernel.Drop.NONE, 0,
                B * kvHeads);
        Map<String, Buf> inputs = new LinkedHashMap<>(), grads = new LinkedHashMap<>();
        inputs.put("q", q);
        grads.put("q", dq);
        inputs.put("k", k);
        grads.put("k", dk);
        inputs.put("v", v);
        grads.put("v", dv);
        KernelFixtures.gradientsAgree(inputs, grads, () -> {
            kernel.forward(x, mask, AttentionKernel.Drop.NONE, 0, B * H);
            return dot(w, o);
        });
    }

    /** Weights {@code [B, H, tq, tk]} and output rows {@code [B, tq, C]} by the definition; query i at tk - tq + i. */
    private static double[][] reference(double[] q, double[] k, double[] v, double[] keep, int tq, int tk, int kvHeads,
            boolean causal, double[] slopes, int window) {
        int kc = kvHeads * D, group = H / kvHeads;
        double[] p = new double[B * H * tq * tk], o = new double[B * tq * C];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                int kvh = h / group;
                for (int i = 0; i < tq; i++) {
                    int position = tk - tq + i, row = ((b * H + h) * tq + i) * tk;
                    double[] s = new double[tk];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < tk; j++) {
                        boolean excluded = keep[b * tk + j] == 0 || causal && j > position
                                || window > 0 && Math.abs(position - j) >= window;
                        double dotQK = 0;
                        for (int d = 0; d < D; d++) {
                            dotQK += q[(b * tq + i) * C + h * D + d] * k[(b * tk + j) * kc + kvh * D + d];
                        }
                        double bias = slopes == null ? 0 : -slopes[h] * Math.abs(position - j);
                        s[j] = excluded ? Double.NEGATIVE_INFINITY : dotQK / Math.sqrt(D) + bias;
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j < tk; j++) {
                        sum += Math.exp(s[j] - max);
                    }
                    for (int j = 0; j < tk; j++) {
                        p[row + j] = Math.exp(s[j] - max) / sum;
                        for (int d = 0; d < D; d++) {
                            o[(b * tq + i) * C + h * D + d] += p[row + j] * v[(b * tk + j) * kc + kvh * D + d];
                        }
                    }
                }
            }
        }
        return new double[][] {p, o};
    }
}
