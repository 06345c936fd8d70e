package org.attn4j.kernels;

import static jdk.incubator.vector.FloatVector.fromByteBuffer;
import static org.attn4j.kernels.VectorMath.L;
import static org.attn4j.kernels.VectorMath.NATIVE;
import static org.attn4j.kernels.VectorMath.CHUNK;
import static org.attn4j.kernels.VectorMath.S;
import static org.attn4j.kernels.VectorMath.bound;
import static org.attn4j.kernels.VectorMath.exp;
import static org.attn4j.kernels.VectorMath.treeSum;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link RowMath}'s row kernels for float32 in {@link VectorMath}'s lanes: layer norm and its backward, the
 * masked softmax of a score row and its backward, copies, sums and column sums. Sums are float32 lanes, as
 * PyTorch's vectorized CPU kernels keep them. Loads and stores call the JDK's {@code fromByteBuffer} and
 * {@code intoByteBuffer} directly (see {@link VectorMath} for why).
 */
final class VectorRows {
    private VectorRows() {
    }

    public static void layerNorm(Buf xB, Buf gammaB, Buf betaB, double eps, Buf yB, Buf xhatB, Buf rstd, int r0, int r1,
            int width) {
        ByteBuffer x = xB.bytes(), gamma = gammaB.bytes(), beta = betaB.bytes(), y = yB.bytes(), xhat = xhatB.bytes();
        int vEnd = bound(width);
        float[] lanes = VectorMath.scratch().lanes;
        for (int r = r0; r < r1; r++) {
            int o = r * width;
            FloatVector acc = FloatVector.zero(S);
            int j = 0;
            for (; j < vEnd; j += L) {
                acc = acc.add(fromByteBuffer(S, x, (o + j) * 4, NATIVE));
            }
            acc.intoArray(lanes, 0);
            float sum = treeSum(lanes, 0);
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
            acc.intoArray(lanes, 0);
            float var = treeSum(lanes, 0);
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
        float[] lanes = VectorMath.scratch().lanes;
        for (int r = r0; r < r1; r++) {
            int o = r * width;
            FloatVector a1 = FloatVector.zero(S), a2 = FloatVector.zero(S);
            int j = 0;
            for (; j < vEnd; j += L) {
                FloatVector g = fromByteBuffer(S, dy, (o + j) * 4, NATIVE).mul(fromByteBuffer(S, gamma, j * 4, NATIVE));
                a1 = a1.add(g);
                a2 = g.fma(fromByteBuffer(S, xhat, (o + j) * 4, NATIVE), a2);
            }
            a1.intoArray(lanes, 0);
            float m1 = treeSum(lanes, 0);
            a2.intoArray(lanes, 0);
            float m2 = treeSum(lanes, 0);
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

    public static void addScaled(Buf fromB, int fromOff, Buf toB, int toOff, int n, float scale) {
        ByteBuffer a = fromB.bytes(), out = toB.bytes();
        int i = 0, vEnd = bound(n);
        for (; i < vEnd; i += L) {
            FloatVector sum = fromByteBuffer(S, a, (fromOff + i) * 4, NATIVE).mul(scale)
                    .add(fromByteBuffer(S, out, (toOff + i) * 4, NATIVE));
            sum.intoByteBuffer(out, (toOff + i) * 4, NATIVE);
        }
        for (; i < n; i++) {
            out.putFloat((toOff + i) * 4, out.getFloat((toOff + i) * 4) + scale * a.getFloat((fromOff + i) * 4));
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

    /**
     * {@link CrossEntropyKernel#logSoftmaxPiece}'s max and sum of exp(z - max) over {@code z[from, from + n)}, into
     * {@code maxSum[at]} and {@code maxSum[at + 1]}: the exps summed in float lanes, 16 vectors at a time, each
     * group's sum added to a double.
     */
    static void maxAndExpSum(Buf zB, int from, int n, double[] maxSum, int at) {
        ByteBuffer z = zB.bytes();
        int vEnd = bound(n), j;
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (j = 0; j < vEnd; j += L) {
            m = m.max(fromByteBuffer(S, z, (from + j) * 4, NATIVE));
        }
        float max = m.reduceLanes(VectorOperators.MAX); // max is exact in any order
        for (; j < n; j++) {
            max = Math.max(max, z.getFloat((from + j) * 4));
        }
        double sum = 0;
        VectorMath.Scratch w = VectorMath.scratch();
        for (j = 0; j < vEnd; j += CHUNK) { // a chunk: 16 vectors
            int c = Math.min(CHUNK, vEnd - j);
            for (int i = 0; i < c; i += L) {
                fromByteBuffer(S, z, (from + j + i) * 4, NATIVE).sub(max).intoArray(w.a, i);
            }
            exp(w.a, 0, c);
            FloatVector acc = FloatVector.zero(S);
            for (int i = 0; i < c; i += L) {
                acc = acc.add(FloatVector.fromArray(S, w.a, i));
            }
            acc.intoArray(w.lanes, 0);
            sum += treeSum(w.lanes, 0);
        }
        j = vEnd;
        for (; j < n; j++) {
            sum += Math.exp(z.getFloat((from + j) * 4) - max);
        }
        maxSum[at] = max;
        maxSum[at + 1] = sum;
    }

    /** z[from + i] -= c for i in [0, n). */
    static void subtract(Buf zB, int from, int n, float c) {
        ByteBuffer z = zB.bytes();
        int vEnd = bound(n), j;
        for (j = 0; j < vEnd; j += L) {
            fromByteBuffer(S, z, (from + j) * 4, NATIVE).sub(c).intoByteBuffer(z, (from + j) * 4, NATIVE);
        }
        for (; j < n; j++) {
            z.putFloat((from + j) * 4, z.getFloat((from + j) * 4) - c);
        }
    }

    /** {@link RowMath#softmaxRow}, vectorized: masked scores first, then max, exp and the sum in lanes. */
    public static void softmaxRow(Buf sB, int off, MaskRows mask, int bi, int hi, int i) {
        ByteBuffer s = sB.bytes();
        int t = mask.tk, limit = mask.limit(i), vEnd = bound(limit);
        float max = maskedMax(s, off, mask, bi, hi, i); // 1. masked scores and their max
        int j;
        if (max == Float.NEGATIVE_INFINITY) {
            for (j = 0; j < t; j++) {
                s.putFloat((off + j) * 4, 0f);
            }
            return;
        }
        // 2. e = exp(x - max) and their sum, a chunk at a time (the sum's lanes kept in the scratch lanes across
        // the call to exp: a vector live across a call is boxed); 3. divided by it.
        VectorMath.Scratch w = VectorMath.scratch();
        FloatVector.zero(S).intoArray(w.lanes, 0);
        for (j = 0; j < vEnd; j += CHUNK) {
            int c = Math.min(CHUNK, vEnd - j);
            for (int k = 0; k < c; k += L) {
                fromByteBuffer(S, s, (off + j + k) * 4, NATIVE).sub(max).intoArray(w.a, k);
            }
            exp(w.a, 0, c);
            FloatVector acc = FloatVector.fromArray(S, w.lanes, 0);
            for (int k = 0; k < c; k += L) {
                FloatVector e = FloatVector.fromArray(S, w.a, k);
                e.intoByteBuffer(s, (off + j + k) * 4, NATIVE);
                acc = acc.add(e);
            }
            acc.intoArray(w.lanes, 0);
        }
        j = vEnd;
        float sum = treeSum(w.lanes, 0);
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

    /**
     * Step 1 of {@link #softmaxRow}: query row i's scores {@code s[off, off + limit)} masked in place (bias added,
     * capped; excluded keys at -inf, whose exp is 0); returns their max.
     */
    private static float maskedMax(ByteBuffer s, int off, MaskRows mask, int bi, int hi, int i) {
        ByteBuffer pad = mask.padding == null ? null : mask.padding.bytes();
        ByteBuffer keep = mask.keep == null ? null : mask.keep.bytes();
        ByteBuffer bias = mask.bias == null ? null : mask.bias.bytes();
        int padRow = mask.paddingRow(bi), keepRow = mask.keepRow(bi, i), biasRow = mask.biasRow(bi, hi, i);
        int limit = mask.limit(i), vEnd = bound(limit);
        FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        FloatVector mx = ninf;
        int j = 0;
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
        return max;
    }

    public static void softmaxBackRow(Buf pB, Buf dpB, int off, int t) {
        ByteBuffer p = pB.bytes(), dp = dpB.bytes();
        int vEnd = bound(t), j = 0;
        FloatVector acc = FloatVector.zero(S);
        for (; j < vEnd; j += L) {
            acc = fromByteBuffer(S, p, (off + j) * 4, NATIVE).fma(fromByteBuffer(S, dp, (off + j) * 4, NATIVE), acc);
        }
        float[] lanes = VectorMath.scratch().lanes;
        acc.intoArray(lanes, 0);
        float dot = treeSum(lanes, 0);
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
}
