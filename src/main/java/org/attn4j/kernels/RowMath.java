package org.attn4j.kernels;

import org.attn4j.config.Activation;

/**
 * The element-wise parts of a block on rows {@code [r0, r1)} of {@code [N, width]} matrices: layer norm and
 * RMSNorm, masked softmax, activations (ReLU, GELU, GELU_TANH, SiLU, SwiGLU), each with its backward, and row
 * copies and sums. Each runs float32 storage on the Vector API's lanes where it is loaded ({@link VectorRows},
 * {@link VectorActivations}), otherwise in double arithmetic here and in {@link ScalarMath}.
 */
public final class RowMath {
    /**
     * Whether float32 kernels run on {@link VectorMath}: the JVM was started with
     * {@code --add-modules jdk.incubator.vector} and {@code -Dattn4j.vector=false} was not given.
     */
    public static final boolean VECTOR_AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equals(System.getProperty("attn4j.vector"));
    private static volatile boolean vector = VECTOR_AVAILABLE;

    static {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            org.slf4j.LoggerFactory.getLogger(RowMath.class).warn("jdk.incubator.vector is not loaded: attn4j's float32 "
                    + "element-wise loops run scalar (slower); start the JVM with --add-modules jdk.incubator.vector");
        }
    }

    private RowMath() {
    }

    public static boolean vector(Buf b) {
        return vector && b.isFloat();
    }

    /** Tests: run float32 on the scalar loops (false) or, where available, the vector ones (true). */
    public static void useVector(boolean on) {
        vector = on && VECTOR_AVAILABLE;
    }

    /** y = (x - mean) / sqrt(var + eps) * gamma + beta per row, keeping xhat and 1/sqrt(var + eps). */
    public static void layerNorm(Buf x, Buf gamma, Buf beta, double eps, Buf y, Buf xhat, Buf rstd, int r0, int r1, int width) {
        if (vector(x)) {
            VectorRows.layerNorm(x, gamma, beta, eps, y, xhat, rstd, r0, r1, width);
            return;
        }
        for (int r = r0; r < r1; r++) {
            int o = r * width;
            double mean = 0;
            for (int j = 0; j < width; j++) {
                mean += x.get(o + j);
            }
            mean /= width;
            double var = 0;
            for (int j = 0; j < width; j++) {
                double d = x.get(o + j) - mean;
                var += d * d;
            }
            double rs = 1 / Math.sqrt(var / width + eps);
            rstd.put(r, rs);
            for (int j = 0; j < width; j++) {
                double h = (x.get(o + j) - mean) * rs;
                xhat.put(o + j, h);
                y.put(o + j, h * gamma.get(j) + beta.get(j));
            }
        }
    }

    /**
     * dx = plus + rstd (g - mean(g) - xhat mean(g xhat)) with g = dy gamma: the norm's input gradient, added
     * to the residual branch's gradient {@code plus} (null: none) in the same pass.
     */
    public static void layerNormBack(Buf dy, Buf xhat, Buf rstd, Buf gamma, Buf dx, Buf plus, int r0, int r1, int width) {
        if (vector(dy)) {
            VectorRows.layerNormBack(dy, xhat, rstd, gamma, dx, plus, r0, r1, width);
            return;
        }
        for (int r = r0; r < r1; r++) {
            int o = r * width;
            double m1 = 0, m2 = 0;
            for (int j = 0; j < width; j++) {
                double g = dy.get(o + j) * gamma.get(j);
                m1 += g;
                m2 += g * xhat.get(o + j);
            }
            m1 /= width;
            m2 /= width;
            double rs = rstd.get(r);
            for (int j = 0; j < width; j++) {
                double d = rs * (dy.get(o + j) * gamma.get(j) - m1 - xhat.get(o + j) * m2);
                dx.put(o + j, plus == null ? d : plus.get(o + j) + d);
            }
        }
    }

    /** y = x / sqrt(mean(x^2) + eps) * gamma per row (RMSNorm), keeping xhat = x / sqrt(mean(x^2) + eps) and rstd. */
    public static void rmsNorm(Buf x, Buf gamma, double eps, Buf y, Buf xhat, Buf rstd, int r0, int r1, int width) {
        for (int r = r0; r < r1; r++) {
            int o = r * width;
            double square = 0;
            for (int j = 0; j < width; j++) {
                double v = x.get(o + j);
                square += v * v;
            }
            double rs = 1 / Math.sqrt(square / width + eps);
            rstd.put(r, rs);
            for (int j = 0; j < width; j++) {
                double h = x.get(o + j) * rs;
                xhat.put(o + j, h);
                y.put(o + j, h * gamma.get(j));
            }
        }
    }

    /**
     * dx = plus + rstd (g - xhat mean(g xhat)) with g = dy gamma: RMSNorm's input gradient (LayerNorm's without
     * the mean term), added to {@code plus} (null: none) in the same pass.
     */
    public static void rmsNormBack(Buf dy, Buf xhat, Buf rstd, Buf gamma, Buf dx, Buf plus, int r0, int r1, int width) {
        for (int r = r0; r < r1; r++) {
            int o = r * width;
            double m2 = 0;
            for (int j = 0; j < width; j++) {
                m2 += dy.get(o + j) * gamma.get(j) * xhat.get(o + j);
            }
            m2 /= width;
            double rs = rstd.get(r);
            for (int j = 0; j < width; j++) {
                double d = rs * (dy.get(o + j) * gamma.get(j) - xhat.get(o + j) * m2);
                dx.put(o + j, plus == null ? d : plus.get(o + j) + d);
            }
        }
    }

    /** Rows [r0, r1) of y [N, width] = row [width] (a bias to add products to). */
    public static void repeatRow(Buf row, Buf y, int r0, int r1, int width) {
        if (vector(y)) {
            VectorRows.repeatRow(row, y, r0, r1, width);
            return;
        }
        for (int r = r0; r < r1; r++) {
            for (int j = 0; j < width; j++) {
                y.put(r * width + j, row.get(j));
            }
        }
    }

    /** to[toOff + i] = from[fromOff + i] for i in [0, n). */
    public static void copy(Buf from, int fromOff, Buf to, int toOff, int n) {
        if (vector(from)) {
            VectorRows.copy(from, fromOff, to, toOff, n);
            return;
        }
        for (int i = 0; i < n; i++) {
            to.put(toOff + i, from.get(fromOff + i));
        }
    }

    /** to[toOff + i] += scale from[fromOff + i] for i in [0, n) (float32: in float, in vector lanes where they run). */
    public static void addScaled(Buf from, int fromOff, Buf to, int toOff, int n, double scale) {
        if (vector(from)) {
            VectorRows.addScaled(from, fromOff, to, toOff, n, (float) scale);
            return;
        }
        for (int i = 0; i < n; i++) {
            to.put(toOff + i, to.get(toOff + i) + scale * from.get(fromOff + i));
        }
    }

    /** b[i] = value for i in [from, to). */
    public static void fill(Buf b, int from, int to, double value) {
        for (int i = from; i < to; i++) {
            b.put(i, value);
        }
    }

    /** out = a + b element-wise over rows (out may be a or b). */
    public static void add(Buf a, Buf b, Buf out, int r0, int r1, int width) {
        if (vector(a)) {
            VectorRows.add(a, b, out, r0 * width, r1 * width);
            return;
        }
        for (int i = r0 * width, end = r1 * width; i < end; i++) {
            out.put(i, a.get(i) + b.get(i));
        }
    }

    /** Column sums over all rows for columns [c0, c1): {@code sums[j] (+)= sum_r m[r, j] (* w[r, j])}. */
    public static void columnSums(Buf m, Buf weight, Buf sums, int rows, int width, int c0, int c1) {
        columnSums(m, weight, sums, 0, rows, width, c0, c1);
    }

    /** {@link #columnSums(Buf, Buf, Buf, int, int, int, int)} over rows [r0, r1). */
    public static void columnSums(Buf m, Buf weight, Buf sums, int r0, int r1, int width, int c0, int c1) {
        if (vector(m)) {
            VectorRows.columnSums(m, weight, sums, r0, r1, width, c0, c1);
            return;
        }
        double[] acc = new double[c1 - c0];
        for (int r = r0; r < r1; r++) {
            int o = r * width;
            for (int j = c0; j < c1; j++) {
                acc[j - c0] += weight == null ? m.get(o + j) : m.get(o + j) * weight.get(o + j);
            }
        }
        for (int j = c0; j < c1; j++) {
            sums.put(j, acc[j - c0]);
        }
    }

    /**
     * Softmax of query row i of the (batch bi, head hi) scores, {@code s[off, off + tk)}, in place, under
     * {@code mask}: the additive bias added, excluded keys at weight exactly 0, and a row with no kept key
     * all zeros (so its gradient is zero too).
     */
    public static void softmaxRow(Buf s, int off, MaskRows mask, int bi, int hi, int i) {
        if (vector(s)) {
            VectorRows.softmaxRow(s, off, mask, bi, hi, i);
            return;
        }
        int t = mask.tk, limit = mask.limit(i);
        int padRow = mask.paddingRow(bi), keepRow = mask.keepRow(bi, i), biasRow = mask.biasRow(bi, hi, i);
        boolean f32 = s.isFloat();
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < limit; j++) {
            double x = mask.masked(s.get(off + j), j, padRow, keepRow, biasRow);
            s.put(off + j, x);
            max = Math.max(max, x);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            fill(s, off, off + t, 0);
            return;
        }
        double sum = 0;
        for (int j = 0; j < limit; j++) {
            double x = s.get(off + j);
            double e = x == Double.NEGATIVE_INFINITY ? 0 : f32 ? ScalarMath.exp(x - max) : Math.exp(x - max);
            s.put(off + j, e);
            sum += e;
        }
        double inv = 1 / sum;
        for (int j = 0; j < limit; j++) {
            s.put(off + j, s.get(off + j) * inv);
        }
        fill(s, off + limit, off + t, 0);
    }

    /** dS = P (dP - sum_j P_j dP_j) for one row of length t at {@code off}, into dP's place. */
    public static void softmaxBackRow(Buf p, Buf dp, int off, int t) {
        if (vector(p)) {
            VectorRows.softmaxBackRow(p, dp, off, t);
            return;
        }
        double dot = 0;
        for (int j = 0; j < t; j++) {
            dot += p.get(off + j) * dp.get(off + j);
        }
        for (int j = 0; j < t; j++) {
            dp.put(off + j, p.get(off + j) * (dp.get(off + j) - dot));
        }
    }

    /**
     * g = act(h) over [from, to), keeping what the backward needs in {@code aux} (null for ReLU): GELU's
     * Phi(h), GELU_TANH's tanh(u), SILU's sigmoid(h). SWIGLU goes through {@link #swiglu}.
     */
    public static void activation(Activation act, Buf h, Buf g, Buf aux, int from, int to) {
        if (vector(h)) {
            VectorActivations.activation(act, h, g, aux, from, to);
        } else {
            ScalarMath.activation(act, h, g, aux, from, to);
        }
    }

    /**
     * dh = dg act'(h) from what {@link #activation} kept in aux; dh may be dg.
     * <pre>
     *   relu'  = [h > 0]            gelu' = Phi(h) + h phi(h)
     *   gelu~' = (1 + t) / 2 + h (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 h^2) / 2      silu' = s (1 + h (1 - s))
     * </pre>
     */
    public static void activationBack(Activation act, Buf h, Buf aux, Buf dg, Buf dh, int from, int to) {
        if (vector(h)) {
            VectorActivations.activationBack(act, h, aux, dg, dh, from, to);
        } else {
            ScalarMath.activationBack(act, h, aux, dg, dh, from, to);
        }
    }

    /** g = silu(h) u over [from, to) (SwiGLU: h the linear1 branch, u the gate's), keeping sigmoid(h) in sig. */
    public static void swiglu(Buf h, Buf u, Buf g, Buf sig, int from, int to) {
        if (vector(h)) {
            VectorActivations.swiglu(h, u, g, sig, from, to);
        } else {
            ScalarMath.swiglu(h, u, g, sig, from, to);
        }
    }

    /** du = dg silu(h), dh = dg u silu'(h) = dg u s (1 + h (1 - s)); dh may be dg. */
    public static void swigluBack(Buf h, Buf u, Buf sig, Buf dg, Buf dh, Buf du, int from, int to) {
        if (vector(h)) {
            VectorActivations.swigluBack(h, u, sig, dg, dh, du, from, to);
        } else {
            ScalarMath.swigluBack(h, u, sig, dg, dh, du, from, to);
        }
    }
}
