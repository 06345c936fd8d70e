package org.attn4j.kernels;

import static jdk.incubator.vector.FloatVector.fromByteBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.attn4j.config.Activation;

/**
 * {@link RowMath}'s kernels for float32 with the JDK's Vector API ({@code jdk.incubator.vector}): the
 * JIT turns them into AVX instructions. exp, and tanh and sigmoid from it, are {@link #exp}'s, written from
 * exactly specified lane operations (the JDK's {@code EXP} and {@code TANH} may differ between the interpreter
 * and the JIT). Sums are float32 lanes, as PyTorch's vectorized CPU
 * kernels keep them. Used only when the module is present ({@link RowMath#VECTOR_AVAILABLE}); otherwise
 * {@link RowMath}'s scalar loops run.
 *
 * <p>Loads and stores call the JDK's {@code fromByteBuffer}/{@code intoByteBuffer} directly, not a helper of
 * ours, and each activation has a loop of its own: the JIT always inlines the JDK's vector methods, but it
 * stops inlining ordinary ones once a method has grown past its node-count cutoff, which a loop with
 * {@link #exp} in it reaches; a helper left out there boxes every vector it is handed (measured: GELU forward
 * 2.7 ns an element with helpers, 1.1 ns without, in a loop over 425,984 floats).
 * {@link #exp}, {@code erfc}, {@code sigmoid} and {@code tanh} still take and return vectors: where the JIT has
 * already compiled one of them on its own as a large method it calls it instead of inlining it, and the same
 * boxing happens (seen in the sequence example's profile for erfc). Passing them buffers instead (one store and
 * one load per vector) made GELU 4x slower, and forcing them inline with a JVM flag did not change the
 * example's training time, so they stay as they are.
 */
public final class VectorMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final float INV_SQRT2 = 0.70710678f, INV_SQRT_2PI = 0.39894228f;
    private static final float SQRT_2_OVER_PI = (float) RowMath.SQRT_2_OVER_PI, GELU_CUBIC = (float) RowMath.GELU_CUBIC;

    private VectorMath() {
    }

    /**
     * The lanes' sum as a tree in a fixed order: the upper half of the lanes added to the lower, then again, down
     * to one lane (lane i + lane i + L/2, ...), each step one shuffle and one add. Not {@code reduceLanes(ADD)},
     * whose order of additions is left unspecified (so may differ between the interpreter and the JIT's
     * intrinsic): results should not change once the JIT has compiled a kernel.
     */
    static float sum(FloatVector v) {
        for (VectorShuffle<Float> half : HALVES) {
            v = v.add(v.rearrange(half));
        }
        return v.lane(0);
    }

    /** Shuffles that bring lane i + L/2, i + L/4, ..., i + 1 to lane i. */
    @SuppressWarnings("unchecked")
    private static final VectorShuffle<Float>[] HALVES = java.util.stream.IntStream
            .iterate(L / 2, h -> h > 0, h -> h / 2)
            .mapToObj(h -> VectorShuffle.iota(S, h, 1, true)).toArray(VectorShuffle[]::new);

    private static int bound(int n) {
        return n - n % L;
    }

    public static void layerNorm(Buf xB, Buf gammaB, Buf betaB, double eps, Buf yB, Buf xhatB, Buf rstd, int r0, int r1,
            int width) {
        ByteBuffer x = xB.bytes(), gamma = gammaB.bytes(), beta = betaB.bytes(), y = yB.bytes(), xhat = xhatB.bytes();
        int vEnd = bound(width);
        for (int r = r0; r < r1; r++) {
            int o = r * width;
            FloatVector acc = FloatVector.zero(S);
            int j = 0;
            for (; j < vEnd; j += L) {
                acc = acc.add(fromByteBuffer(S, x, (o + j) * 4, NATIVE));
            }
            float sum = sum(acc);
            for (; j < width; j++) {
                sum += x.getFloat((o + j) * 4);
            }
            float mean = sum / width;
            FloatVector m = FloatVector.broadcast(S, mean);
            acc = FloatVector.zero(S);
            for (j = 0; j < vEnd; j += L) {
                FloatVector d = fromByteBuffer(S, x, (o + j) * 4, NATIVE).sub(m);
                acc = d.fma(d, acc);
            }
            float var = sum(acc);
            for (; j < width; j++) {
                float d = x.getFloat((o + j) * 4) - mean;
                var += d * d;
            }
            float rs = (float) (1 / Math.sqrt(var / width + eps));
            rstd.put(r, rs);
            for (j = 0; j < vEnd; j += L) {
                FloatVector h = fromByteBuffer(S, x, (o + j) * 4, NATIVE).sub(m).mul(rs);
                h.intoByteBuffer(xhat, (o + j) * 4, NATIVE);
                FloatVector g = fromByteBuffer(S, gamma, j * 4, NATIVE), b = fromByteBuffer(S, beta, j * 4, NATIVE);
                h.fma(g, b).intoByteBuffer(y, (o + j) * 4, NATIVE);
            }
            for (; j < width; j++) {
                float h = (x.getFloat((o + j) * 4) - mean) * rs;
                xhat.putFloat((o + j) * 4, h);
                y.putFloat((o + j) * 4, h * gamma.getFloat(j * 4) + beta.getFloat(j * 4));
            }
        }
    }

    public static void layerNormBack(Buf dyB, Buf xhatB, Buf rstd, Buf gammaB, Buf dxB, Buf plusB, int r0, int r1, int width) {
        ByteBuffer dy = dyB.bytes(), xhat = xhatB.bytes(), gamma = gammaB.bytes(), dx = dxB.bytes();
        ByteBuffer plus = plusB == null ? null : plusB.bytes();
        int vEnd = bound(width);
        for (int r = r0; r < r1; r++) {
            int o = r * width;
            FloatVector a1 = FloatVector.zero(S), a2 = FloatVector.zero(S);
            int j = 0;
            for (; j < vEnd; j += L) {
                FloatVector g = fromByteBuffer(S, dy, (o + j) * 4, NATIVE).mul(fromByteBuffer(S, gamma, j * 4, NATIVE));
                a1 = a1.add(g);
                a2 = g.fma(fromByteBuffer(S, xhat, (o + j) * 4, NATIVE), a2);
            }
            float m1 = sum(a1), m2 = sum(a2);
            for (; j < width; j++) {
                float g = dy.getFloat((o + j) * 4) * gamma.getFloat(j * 4);
                m1 += g;
                m2 += g * xhat.getFloat((o + j) * 4);
            }
            m1 /= width;
            m2 /= width;
            float rs = (float) rstd.get(r);
            for (j = 0; j < vEnd; j += L) {
                FloatVector g = fromByteBuffer(S, dy, (o + j) * 4, NATIVE).mul(fromByteBuffer(S, gamma, j * 4, NATIVE));
                FloatVector d = g.sub(m1).sub(fromByteBuffer(S, xhat, (o + j) * 4, NATIVE).mul(m2)).mul(rs);
                if (plus != null) {
                    d = d.add(fromByteBuffer(S, plus, (o + j) * 4, NATIVE));
                }
                d.intoByteBuffer(dx, (o + j) * 4, NATIVE);
            }
            for (; j < width; j++) {
                float d = rs * (dy.getFloat((o + j) * 4) * gamma.getFloat(j * 4) - m1 - xhat.getFloat((o + j) * 4) * m2);
                dx.putFloat((o + j) * 4, plus == null ? d : plus.getFloat((o + j) * 4) + d);
            }
        }
    }

    public static void repeatRow(Buf rowB, Buf yB, int r0, int r1, int width) {
        ByteBuffer row = rowB.bytes(), y = yB.bytes();
        int vEnd = bound(width);
        for (int r = r0; r < r1; r++) {
            int o = r * width, j = 0;
            for (; j < vEnd; j += L) {
                fromByteBuffer(S, row, j * 4, NATIVE).intoByteBuffer(y, (o + j) * 4, NATIVE);
            }
            for (; j < width; j++) {
                y.putFloat((o + j) * 4, row.getFloat(j * 4));
            }
        }
    }

    public static void copy(Buf fromB, int fromOff, Buf toB, int toOff, int n) {
        ByteBuffer a = fromB.bytes(), out = toB.bytes();
        int i = 0, vEnd = bound(n);
        for (; i < vEnd; i += L) {
            fromByteBuffer(S, a, (fromOff + i) * 4, NATIVE).intoByteBuffer(out, (toOff + i) * 4, NATIVE);
        }
        for (; i < n; i++) {
            out.putFloat((toOff + i) * 4, a.getFloat((fromOff + i) * 4));
        }
    }

    public static void add(Buf aB, Buf bB, Buf outB, int from, int to) {
        ByteBuffer a = aB.bytes(), b = bB.bytes(), out = outB.bytes();
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            FloatVector sum = fromByteBuffer(S, a, i * 4, NATIVE).add(fromByteBuffer(S, b, i * 4, NATIVE));
            sum.intoByteBuffer(out, i * 4, NATIVE);
        }
        for (; i < to; i++) {
            out.putFloat(i * 4, a.getFloat(i * 4) + b.getFloat(i * 4));
        }
    }

    /**
     * Each column's sum over the rows in order, as before, but four vectors of columns at a time held in
     * registers (not an array loaded and stored every row), and no vector chosen by a branch (the JIT would box
     * it): a loop with the weights and one without.
     */
    public static void columnSums(Buf mB, Buf wB, Buf sumsB, int r0, int r1, int width, int c0, int c1) {
        ByteBuffer m = mB.bytes(), w = wB == null ? null : wB.bytes(), sums = sumsB.bytes();
        int n = c1 - c0, vEnd = bound(n), j = 0;
        for (; j + 4 * L <= vEnd; j += 4 * L) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int r = r0; r < r1; r++) {
                int o = (r * width + c0 + j) * 4;
                if (w == null) {
                    a0 = a0.add(fromByteBuffer(S, m, o, NATIVE));
                    a1 = a1.add(fromByteBuffer(S, m, o + L * 4, NATIVE));
                    a2 = a2.add(fromByteBuffer(S, m, o + 2 * L * 4, NATIVE));
                    a3 = a3.add(fromByteBuffer(S, m, o + 3 * L * 4, NATIVE));
                } else {
                    a0 = fromByteBuffer(S, m, o, NATIVE).fma(fromByteBuffer(S, w, o, NATIVE), a0);
                    a1 = fromByteBuffer(S, m, o + L * 4, NATIVE).fma(fromByteBuffer(S, w, o + L * 4, NATIVE), a1);
                    a2 = fromByteBuffer(S, m, o + 2 * L * 4, NATIVE).fma(fromByteBuffer(S, w, o + 2 * L * 4, NATIVE), a2);
                    a3 = fromByteBuffer(S, m, o + 3 * L * 4, NATIVE).fma(fromByteBuffer(S, w, o + 3 * L * 4, NATIVE), a3);
                }
            }
            int at = (c0 + j) * 4;
            a0.intoByteBuffer(sums, at, NATIVE);
            a1.intoByteBuffer(sums, at + L * 4, NATIVE);
            a2.intoByteBuffer(sums, at + 2 * L * 4, NATIVE);
            a3.intoByteBuffer(sums, at + 3 * L * 4, NATIVE);
        }
        for (; j < vEnd; j += L) {
            FloatVector a = FloatVector.zero(S);
            for (int r = r0; r < r1; r++) {
                int o = (r * width + c0 + j) * 4;
                if (w == null) {
                    a = a.add(fromByteBuffer(S, m, o, NATIVE));
                } else {
                    a = fromByteBuffer(S, m, o, NATIVE).fma(fromByteBuffer(S, w, o, NATIVE), a);
                }
            }
            a.intoByteBuffer(sums, (c0 + j) * 4, NATIVE);
        }
        for (; j < n; j++) {
            float a = 0;
            for (int r = r0; r < r1; r++) {
                int o = (r * width + c0 + j) * 4;
                a += w == null ? m.getFloat(o) : m.getFloat(o) * w.getFloat(o);
            }
            sums.putFloat((c0 + j) * 4, a);
        }
    }

    /** {@link RowMath#softmaxRow}, vectorized: masked scores first, then max, exp and the sum in lanes. */
    public static void softmaxRow(Buf sB, int off, MaskRows mask, int bi, int hi, int i) {
        ByteBuffer s = sB.bytes();
        ByteBuffer pad = mask.padding == null ? null : mask.padding.bytes();
        ByteBuffer keep = mask.keep == null ? null : mask.keep.bytes();
        ByteBuffer bias = mask.bias == null ? null : mask.bias.bytes();
        int padRow = mask.paddingRow(bi), keepRow = mask.keepRow(bi, i), biasRow = mask.biasRow(bi, hi, i);
        int t = mask.tk, limit = mask.limit(i), vEnd = bound(limit);
        FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        FloatVector mx = ninf;
        int j = 0;
        // 1. Masked scores: bias added (capped), excluded keys at -inf, whose exp is 0.
        for (; j < vEnd; j += L) {
            FloatVector x = fromByteBuffer(S, s, (off + j) * 4, NATIVE);
            VectorMask<Float> out = null;
            if (bias != null) {
                FloatVector add = fromByteBuffer(S, bias, (biasRow + j) * 4, NATIVE);
                out = add.compare(VectorOperators.LE, (float) MaskRows.EXCLUDED);
                x = x.add(add.min((float) -MaskRows.EXCLUDED));
            }
            if (pad != null) {
                VectorMask<Float> padded = fromByteBuffer(S, pad, (padRow + j) * 4, NATIVE).eq(0f);
                out = out == null ? padded : out.or(padded);
            }
            if (keep != null) {
                VectorMask<Float> hidden = fromByteBuffer(S, keep, (keepRow + j) * 4, NATIVE).eq(0f);
                out = out == null ? hidden : out.or(hidden);
            }
            if (out != null) {
                x = x.blend(ninf, out);
                x.intoByteBuffer(s, (off + j) * 4, NATIVE);
            }
            mx = mx.max(x);
        }
        float max = mx.reduceLanes(VectorOperators.MAX);
        for (; j < limit; j++) {
            float x = (float) mask.masked(s.getFloat((off + j) * 4), j, padRow, keepRow, biasRow);
            s.putFloat((off + j) * 4, x);
            max = Math.max(max, x);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            for (j = 0; j < t; j++) {
                s.putFloat((off + j) * 4, 0f);
            }
            return;
        }
        // 2. e = exp(x - max) and their sum; 3. divided by it.
        FloatVector acc = FloatVector.zero(S);
        for (j = 0; j < vEnd; j += L) {
            FloatVector e = exp(fromByteBuffer(S, s, (off + j) * 4, NATIVE).sub(max));
            e.intoByteBuffer(s, (off + j) * 4, NATIVE);
            acc = acc.add(e);
        }
        float sum = sum(acc);
        for (; j < limit; j++) {
            float e = (float) Math.exp(s.getFloat((off + j) * 4) - max);
            s.putFloat((off + j) * 4, e);
            sum += e;
        }
        float inv = 1 / sum;
        for (j = 0; j < vEnd; j += L) {
            fromByteBuffer(S, s, (off + j) * 4, NATIVE).mul(inv).intoByteBuffer(s, (off + j) * 4, NATIVE);
        }
        for (; j < limit; j++) {
            s.putFloat((off + j) * 4, s.getFloat((off + j) * 4) * inv);
        }
        for (j = limit; j < t; j++) {
            s.putFloat((off + j) * 4, 0f);
        }
    }

    public static void softmaxBackRow(Buf pB, Buf dpB, int off, int t) {
        ByteBuffer p = pB.bytes(), dp = dpB.bytes();
        int vEnd = bound(t), j = 0;
        FloatVector acc = FloatVector.zero(S);
        for (; j < vEnd; j += L) {
            acc = fromByteBuffer(S, p, (off + j) * 4, NATIVE).fma(fromByteBuffer(S, dp, (off + j) * 4, NATIVE), acc);
        }
        float dot = sum(acc);
        for (; j < t; j++) {
            dot += p.getFloat((off + j) * 4) * dp.getFloat((off + j) * 4);
        }
        for (j = 0; j < vEnd; j += L) {
            FloatVector pj = fromByteBuffer(S, p, (off + j) * 4, NATIVE);
            FloatVector dpj = fromByteBuffer(S, dp, (off + j) * 4, NATIVE);
            pj.mul(dpj.sub(dot)).intoByteBuffer(dp, (off + j) * 4, NATIVE);
        }
        for (; j < t; j++) {
            dp.putFloat((off + j) * 4, p.getFloat((off + j) * 4) * (dp.getFloat((off + j) * 4) - dot));
        }
    }

    /**
     * {@link RowMath#activation} in float lanes: GELU through {@link #erfc}, tanh and sigmoid through {@link #exp}.
     * One loop per activation, so that each compiles on its own (see the class comment).
     */
    public static void activation(Activation act, Buf hB, Buf gB, Buf auxB, int from, int to) {
        int vEnd = from + bound(to - from);
        switch (act) {
            case RELU -> relu(hB.bytes(), gB.bytes(), from, vEnd);
            case GELU -> gelu(hB.bytes(), gB.bytes(), auxB.bytes(), from, vEnd);
            case GELU_TANH -> geluTanh(hB.bytes(), gB.bytes(), auxB.bytes(), from, vEnd);
            case SILU -> silu(hB.bytes(), gB.bytes(), auxB.bytes(), from, vEnd);
            case SWIGLU -> throw new IllegalArgumentException("SWIGLU has two inputs: use swiglu");
        }
        if (vEnd < to) {
            RowMath.activationScalar(act, hB, gB, auxB, vEnd, to);
        }
    }

    private static void relu(ByteBuffer h, ByteBuffer g, int from, int to) {
        for (int i = from; i < to; i += L) {
            fromByteBuffer(S, h, i * 4, NATIVE).max(0f).intoByteBuffer(g, i * 4, NATIVE);
        }
    }

    private static void gelu(ByteBuffer h, ByteBuffer g, ByteBuffer aux, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE);
            FloatVector phi = erfc(x.mul(-INV_SQRT2)).mul(0.5f);
            phi.intoByteBuffer(aux, i * 4, NATIVE);
            x.mul(phi).intoByteBuffer(g, i * 4, NATIVE);
        }
    }

    private static void geluTanh(ByteBuffer h, ByteBuffer g, ByteBuffer aux, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE);
            FloatVector t = tanh(x.mul(x).mul(GELU_CUBIC).add(1f).mul(x).mul(SQRT_2_OVER_PI));
            t.intoByteBuffer(aux, i * 4, NATIVE);
            x.mul(0.5f).mul(t.add(1f)).intoByteBuffer(g, i * 4, NATIVE);
        }
    }

    private static void silu(ByteBuffer h, ByteBuffer g, ByteBuffer aux, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE);
            FloatVector sig = sigmoid(x);
            sig.intoByteBuffer(aux, i * 4, NATIVE);
            x.mul(sig).intoByteBuffer(g, i * 4, NATIVE);
        }
    }

    /** {@link RowMath#activationBack} in float lanes, one loop per activation as in {@link #activation}. */
    public static void activationBack(Activation act, Buf hB, Buf auxB, Buf dgB, Buf dhB, int from, int to) {
        ByteBuffer h = hB.bytes(), aux = auxB == null ? null : auxB.bytes(), dg = dgB.bytes(), dh = dhB.bytes();
        int vEnd = from + bound(to - from);
        switch (act) {
            case RELU -> reluBack(h, dg, dh, from, vEnd);
            case GELU -> geluBack(h, aux, dg, dh, from, vEnd);
            case GELU_TANH -> geluTanhBack(h, aux, dg, dh, from, vEnd);
            case SILU -> siluBack(h, aux, dg, dh, from, vEnd);
            case SWIGLU -> throw new IllegalArgumentException("SWIGLU has two inputs: use swigluBack");
        }
        if (vEnd < to) {
            RowMath.activationBackScalar(act, hB, auxB, dgB, dhB, vEnd, to);
        }
    }

    private static void reluBack(ByteBuffer h, ByteBuffer dg, ByteBuffer dh, int from, int to) {
        for (int i = from; i < to; i += L) {
            VectorMask<Float> positive = fromByteBuffer(S, h, i * 4, NATIVE).compare(VectorOperators.GT, 0f);
            FloatVector d = FloatVector.zero(S).blend(1f, positive);
            fromByteBuffer(S, dg, i * 4, NATIVE).mul(d).intoByteBuffer(dh, i * 4, NATIVE);
        }
    }

    private static void geluBack(ByteBuffer h, ByteBuffer aux, ByteBuffer dg, ByteBuffer dh, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE);
            FloatVector d = x.fma(exp(x.mul(x).mul(-0.5f)).mul(INV_SQRT_2PI), fromByteBuffer(S, aux, i * 4, NATIVE));
            fromByteBuffer(S, dg, i * 4, NATIVE).mul(d).intoByteBuffer(dh, i * 4, NATIVE);
        }
    }

    /** (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 c x^2) / 2 */
    private static void geluTanhBack(ByteBuffer h, ByteBuffer aux, ByteBuffer dg, ByteBuffer dh, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE), t = fromByteBuffer(S, aux, i * 4, NATIVE);
            FloatVector du = x.mul(x).mul(3 * GELU_CUBIC).add(1f).mul(SQRT_2_OVER_PI);
            FloatVector sech2 = t.mul(t).neg().add(1f);
            FloatVector d = t.add(1f).add(x.mul(sech2).mul(du)).mul(0.5f);
            fromByteBuffer(S, dg, i * 4, NATIVE).mul(d).intoByteBuffer(dh, i * 4, NATIVE);
        }
    }

    /** s (1 + x (1 - s)) */
    private static void siluBack(ByteBuffer h, ByteBuffer aux, ByteBuffer dg, ByteBuffer dh, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE), s = fromByteBuffer(S, aux, i * 4, NATIVE);
            FloatVector d = s.mul(x.mul(s.neg().add(1f)).add(1f));
            fromByteBuffer(S, dg, i * 4, NATIVE).mul(d).intoByteBuffer(dh, i * 4, NATIVE);
        }
    }

    /** {@link RowMath#swiglu} in float lanes. */
    public static void swiglu(Buf hB, Buf uB, Buf gB, Buf sigB, int from, int to) {
        ByteBuffer h = hB.bytes(), u = uB.bytes(), g = gB.bytes(), sig = sigB.bytes();
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE), s = sigmoid(x);
            s.intoByteBuffer(sig, i * 4, NATIVE);
            x.mul(s).mul(fromByteBuffer(S, u, i * 4, NATIVE)).intoByteBuffer(g, i * 4, NATIVE);
        }
        if (i < to) {
            RowMath.swigluScalar(hB, uB, gB, sigB, i, to);
        }
    }

    /** {@link RowMath#swigluBack} in float lanes. */
    public static void swigluBack(Buf hB, Buf uB, Buf sigB, Buf dgB, Buf dhB, Buf duB, int from, int to) {
        ByteBuffer h = hB.bytes(), u = uB.bytes(), sig = sigB.bytes(), dg = dgB.bytes(), dh = dhB.bytes(),
                du = duB.bytes();
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE), s = fromByteBuffer(S, sig, i * 4, NATIVE);
            FloatVector d = fromByteBuffer(S, dg, i * 4, NATIVE), ui = fromByteBuffer(S, u, i * 4, NATIVE);
            d.mul(x).mul(s).intoByteBuffer(du, i * 4, NATIVE);
            d.mul(ui).mul(s).mul(x.mul(s.neg().add(1f)).add(1f)).intoByteBuffer(dh, i * 4, NATIVE);
        }
        if (i < to) {
            RowMath.swigluBackScalar(hB, uB, sigB, dgB, dhB, duB, i, to);
        }
    }

    /** 1 / (1 + e^-x) through {@link #exp} (whose clamp keeps e^-x finite, so no NaN for any x). */
    private static FloatVector sigmoid(FloatVector x) {
        return FloatVector.broadcast(S, 1f).div(exp(x.neg()).add(1f));
    }

    /** tanh(x) = 1 - 2 / (e^2x + 1) through {@link #exp}: not {@code lanewise(TANH)}, for the reason exp gives. */
    private static FloatVector tanh(FloatVector x) {
        return FloatVector.broadcast(S, -2f).div(exp(x.mul(2f)).add(1f)).add(1f);
    }

    /**
     * e^x in float lanes, from exactly specified operations only: x = n ln2 + r with |r| &lt;= ln2 / 2, e^r by
     * its Taylor series to r^7 (truncation below 1e-8 relative), 2^n put into the exponent bits; below
     * -87.3 (where e^x leaves float's normal range) it is 0, also for -infinity. Not
     * {@code lanewise(EXP)}: that one is allowed to differ between the interpreter and the JIT's
     * intrinsic, and did (float32 decodes changed in their last bits once the JIT had compiled this).
     */
    public static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(-87.3f).min(88f);
        FloatVector t = xc.fma(FloatVector.broadcast(S, 1.44269504f), FloatVector.broadcast(S, ROUNDER)); // n + 1.5 2^23
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(S, -0.693359375f), xc); // ln2 in two parts, as Cephes
        r = n.fma(FloatVector.broadcast(S, 2.12194440e-4f), r);
        FloatVector p = r.mul(1f / 5040).add(1f / 720);
        p = p.fma(r, FloatVector.broadcast(S, 1f / 120));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(S, 0.5f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        IntVector bits = ((IntVector) t.reinterpretAsInts()).sub(0x4B400000 - 127).lanewise(VectorOperators.LSHL, 23);
        FloatVector e = p.mul(bits.reinterpretAsFloats());
        return e.blend(0f, x.compare(VectorOperators.LT, -87.3f));
    }

    /** 1.5 2^23: adding it rounds a float of magnitude below 2^22 to a whole number, held in the low bits. */
    private static final float ROUNDER = 12582912f;

    /** {@link RowMath#erfc}'s fit, in float lanes. */
    private static FloatVector erfc(FloatVector z) {
        FloatVector a = z.abs();
        FloatVector t = FloatVector.broadcast(S, 1f).div(a.mul(0.5f).add(1f));
        FloatVector p = t.mul(0.17087277f).add(-0.82215223f);
        p = t.fma(p, FloatVector.broadcast(S, 1.48851587f));
        p = t.fma(p, FloatVector.broadcast(S, -1.13520398f));
        p = t.fma(p, FloatVector.broadcast(S, 0.27886807f));
        p = t.fma(p, FloatVector.broadcast(S, -0.18628806f));
        p = t.fma(p, FloatVector.broadcast(S, 0.09678418f));
        p = t.fma(p, FloatVector.broadcast(S, 0.37409196f));
        p = t.fma(p, FloatVector.broadcast(S, 1.00002368f));
        p = t.fma(p, FloatVector.broadcast(S, -1.26551223f));
        FloatVector r = t.mul(exp(a.mul(a).neg().add(p)));
        return r.blend(r.neg().add(2f), z.compare(VectorOperators.LT, 0f));
    }

    /** Whether every element in {@code [from, to)} is finite (x * 0 is 0 only for finite x). */
    public static boolean allFinite(Buf bB, int from, int to) {
        ByteBuffer b = bB.bytes();
        FloatVector acc = FloatVector.zero(S);
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            acc = acc.add(fromByteBuffer(S, b, i * 4, NATIVE).mul(0f));
        }
        float sum = sum(acc);
        for (; i < to; i++) {
            sum += b.getFloat(i * 4) * 0f;
        }
        return sum == 0;
    }
}
