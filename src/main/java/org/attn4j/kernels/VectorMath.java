package org.attn4j.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.attn4j.config.Activation;

/**
 * {@link RowMath}'s kernels for float32 with the JDK's Vector API ({@code jdk.incubator.vector}): the
 * JIT turns them into AVX instructions. exp, and tanh and sigmoid from it, are {@link #exp}'s, written from
 * exactly specified lane operations (the JDK's {@code EXP} and {@code TANH} may differ between the interpreter
 * and the JIT). Sums are float32 lanes, as PyTorch's vectorized CPU
 * kernels keep them. Used only when the module is present ({@link #AVAILABLE}); otherwise
 * {@link RowMath}'s scalar loops run.
 */
public final class VectorMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final float INV_SQRT2 = 0.70710678f, INV_SQRT_2PI = 0.39894228f;
    private static final float SQRT_2_OVER_PI = (float) RowMath.SQRT_2_OVER_PI, GELU_CUBIC = (float) RowMath.GELU_CUBIC;

    private VectorMath() {
    }

    private static FloatVector load(ByteBuffer b, int i) {
        return FloatVector.fromByteBuffer(S, b, i * 4, NATIVE);
    }

    private static void store(FloatVector v, ByteBuffer b, int i) {
        v.intoByteBuffer(b, i * 4, NATIVE);
    }

    /**
     * The lanes' sum, added in lane order. Not {@code reduceLanes(ADD)}, whose order of additions is left
     * unspecified (so may differ between the interpreter and the JIT's intrinsic): results should not
     * change once the JIT has compiled a kernel.
     */
    private static float sum(FloatVector v) {
        float s = 0;
        for (int i = 0; i < L; i++) {
            s += v.lane(i);
        }
        return s;
    }

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
                acc = acc.add(load(x, o + j));
            }
            float sum = sum(acc);
            for (; j < width; j++) {
                sum += x.getFloat((o + j) * 4);
            }
            float mean = sum / width;
            FloatVector m = FloatVector.broadcast(S, mean);
            acc = FloatVector.zero(S);
            for (j = 0; j < vEnd; j += L) {
                FloatVector d = load(x, o + j).sub(m);
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
                FloatVector h = load(x, o + j).sub(m).mul(rs);
                store(h, xhat, o + j);
                store(h.fma(load(gamma, j), load(beta, j)), y, o + j);
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
                FloatVector g = load(dy, o + j).mul(load(gamma, j));
                a1 = a1.add(g);
                a2 = g.fma(load(xhat, o + j), a2);
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
                FloatVector d = load(dy, o + j).mul(load(gamma, j)).sub(m1).sub(load(xhat, o + j).mul(m2)).mul(rs);
                store(plus == null ? d : d.add(load(plus, o + j)), dx, o + j);
            }
            for (; j < width; j++) {
                float d = rs * (dy.getFloat((o + j) * 4) * gamma.getFloat(j * 4) - m1 - xhat.getFloat((o + j) * 4) * m2);
                dx.putFloat((o + j) * 4, plus == null ? d : plus.getFloat((o + j) * 4) + d);
            }
        }
    }

    public static void addBias(Buf yB, Buf biasB, int r0, int r1, int width) {
        ByteBuffer y = yB.bytes(), bias = biasB.bytes();
        int vEnd = bound(width);
        for (int r = r0; r < r1; r++) {
            int o = r * width, j = 0;
            for (; j < vEnd; j += L) {
                store(load(y, o + j).add(load(bias, j)), y, o + j);
            }
            for (; j < width; j++) {
                y.putFloat((o + j) * 4, y.getFloat((o + j) * 4) + bias.getFloat(j * 4));
            }
        }
    }

    public static void copy(Buf fromB, int fromOff, Buf toB, int toOff, int n) {
        ByteBuffer a = fromB.bytes(), out = toB.bytes();
        int i = 0, vEnd = bound(n);
        for (; i < vEnd; i += L) {
            store(load(a, fromOff + i), out, toOff + i);
        }
        for (; i < n; i++) {
            out.putFloat((toOff + i) * 4, a.getFloat((fromOff + i) * 4));
        }
    }

    public static void add(Buf aB, Buf bB, Buf outB, int from, int to) {
        ByteBuffer a = aB.bytes(), b = bB.bytes(), out = outB.bytes();
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            store(load(a, i).add(load(b, i)), out, i);
        }
        for (; i < to; i++) {
            out.putFloat(i * 4, a.getFloat(i * 4) + b.getFloat(i * 4));
        }
    }

    public static void columnSums(Buf mB, Buf wB, Buf sums, int rows, int width, int c0, int c1) {
        ByteBuffer m = mB.bytes(), w = wB == null ? null : wB.bytes();
        float[] acc = new float[c1 - c0];
        int n = c1 - c0, vEnd = bound(n);
        for (int r = 0; r < rows; r++) {
            int o = r * width + c0, j = 0;
            for (; j < vEnd; j += L) {
                FloatVector v = load(m, o + j);
                FloatVector a = FloatVector.fromArray(S, acc, j);
                (w == null ? a.add(v) : v.fma(load(w, o + j), a)).intoArray(acc, j);
            }
            for (; j < n; j++) {
                acc[j] += w == null ? m.getFloat((o + j) * 4) : m.getFloat((o + j) * 4) * w.getFloat((o + j) * 4);
            }
        }
        for (int j = 0; j < n; j++) {
            sums.put(c0 + j, acc[j]);
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
            FloatVector x = load(s, off + j);
            VectorMask<Float> out = null;
            if (bias != null) {
                FloatVector add = load(bias, biasRow + j);
                out = add.compare(VectorOperators.LE, (float) MaskRows.EXCLUDED);
                x = x.add(add.min((float) -MaskRows.EXCLUDED));
            }
            if (pad != null) {
                VectorMask<Float> padded = load(pad, padRow + j).compare(VectorOperators.EQ, 0f);
                out = out == null ? padded : out.or(padded);
            }
            if (keep != null) {
                VectorMask<Float> hidden = load(keep, keepRow + j).compare(VectorOperators.EQ, 0f);
                out = out == null ? hidden : out.or(hidden);
            }
            if (out != null) {
                x = x.blend(ninf, out);
                store(x, s, off + j);
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
            FloatVector e = exp(load(s, off + j).sub(max));
            store(e, s, off + j);
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
            store(load(s, off + j).mul(inv), s, off + j);
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
            acc = load(p, off + j).fma(load(dp, off + j), acc);
        }
        float dot = sum(acc);
        for (; j < t; j++) {
            dot += p.getFloat((off + j) * 4) * dp.getFloat((off + j) * 4);
        }
        for (j = 0; j < vEnd; j += L) {
            store(load(p, off + j).mul(load(dp, off + j).sub(dot)), dp, off + j);
        }
        for (; j < t; j++) {
            dp.putFloat((off + j) * 4, p.getFloat((off + j) * 4) * (dp.getFloat((off + j) * 4) - dot));
        }
    }

    /** {@link RowMath#activation} in float lanes: GELU through {@link #erfc}, tanh and sigmoid through {@link #exp}. */
    public static void activation(Activation act, Buf hB, Buf gB, Buf auxB, int from, int to) {
        ByteBuffer h = hB.bytes(), g = gB.bytes(), aux = auxB == null ? null : auxB.bytes();
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            FloatVector x = load(h, i);
            switch (act) {
                case RELU -> store(x.max(0f), g, i);
                case GELU -> {
                    FloatVector phi = erfc(x.mul(-INV_SQRT2)).mul(0.5f);
                    store(phi, aux, i);
                    store(x.mul(phi), g, i);
                }
                case GELU_TANH -> {
                    FloatVector t = tanh(x.mul(x).mul(GELU_CUBIC).add(1f).mul(x).mul(SQRT_2_OVER_PI));
                    store(t, aux, i);
                    store(x.mul(0.5f).mul(t.add(1f)), g, i);
                }
                case SILU -> {
                    FloatVector sig = sigmoid(x);
                    store(sig, aux, i);
                    store(x.mul(sig), g, i);
                }
                case SWIGLU -> throw new IllegalArgumentException("SWIGLU has two inputs: use swiglu");
            }
        }
        if (i < to) {
            RowMath.activationScalar(act, hB, gB, auxB, i, to);
        }
    }

    /** {@link RowMath#activationBack} in float lanes. */
    public static void activationBack(Activation act, Buf hB, Buf auxB, Buf dgB, Buf dhB, int from, int to) {
        ByteBuffer h = hB.bytes(), aux = auxB == null ? null : auxB.bytes(), dg = dgB.bytes(), dh = dhB.bytes();
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            FloatVector x = load(h, i);
            FloatVector d = switch (act) {
                case RELU -> FloatVector.zero(S).blend(1f, x.compare(VectorOperators.GT, 0f));
                case GELU -> x.fma(exp(x.mul(x).mul(-0.5f)).mul(INV_SQRT_2PI), load(aux, i));
                case GELU_TANH -> { // (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 c x^2) / 2
                    FloatVector t = load(aux, i);
                    FloatVector du = x.mul(x).mul(3 * GELU_CUBIC).add(1f).mul(SQRT_2_OVER_PI);
                    FloatVector sech2 = t.mul(t).neg().add(1f);
                    yield t.add(1f).add(x.mul(sech2).mul(du)).mul(0.5f);
                }
                case SILU -> { // s (1 + x (1 - s))
                    FloatVector s = load(aux, i);
                    yield s.mul(x.mul(s.neg().add(1f)).add(1f));
                }
                case SWIGLU -> throw new IllegalArgumentException("SWIGLU has two inputs: use swigluBack");
            };
            store(load(dg, i).mul(d), dh, i);
        }
        if (i < to) {
            RowMath.activationBackScalar(act, hB, auxB, dgB, dhB, i, to);
        }
    }

    /** {@link RowMath#swiglu} in float lanes. */
    public static void swiglu(Buf hB, Buf uB, Buf gB, Buf sigB, int from, int to) {
        ByteBuffer h = hB.bytes(), u = uB.bytes(), g = gB.bytes(), sig = sigB.bytes();
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            FloatVector x = load(h, i), s = sigmoid(x);
            store(s, sig, i);
            store(x.mul(s).mul(load(u, i)), g, i);
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
            FloatVector x = load(h, i), s = load(sig, i), d = load(dg, i);
            store(d.mul(x).mul(s), du, i);
            store(d.mul(load(u, i)).mul(s).mul(x.mul(s.neg().add(1f)).add(1f)), dh, i);
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
     * e^x in float lanes, from exactly specified operations only: x = n ln2 + r with |r| <= ln2 / 2, e^r by
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
            acc = acc.add(load(b, i).mul(0f));
        }
        float sum = sum(acc);
        for (; i < to; i++) {
            sum += b.getFloat(i * 4) * 0f;
        }
        return sum == 0;
    }
}
