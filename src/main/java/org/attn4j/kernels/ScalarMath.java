package org.attn4j.kernels;

import org.apache.commons.math3.special.Erf;
import org.attn4j.config.Activation;

/**
 * The element-wise functions in double arithmetic: exp, erfc, sigmoid and tanh, and the activations' loops that
 * run where {@link VectorActivations}' lanes do not (float64 storage, no Vector API, a range's tail). float32
 * storage uses {@link #exp} and {@link #erfc}, accurate to about 1e-7 relative (float32's own rounding); float64
 * storage uses {@link Math#exp} and Commons Math's erf.
 */
public final class ScalarMath {
    private static final double LOG2E = 1.4426950408889634, LN2 = 0.6931471805599453;
    private static final double INV_SQRT2 = 0.7071067811865476, INV_SQRT_2PI = 0.3989422804014327;
    static final double SQRT_2_OVER_PI = 0.7978845608028654, GELU_CUBIC = 0.044715;

    private ScalarMath() {
    }

    /** {@link RowMath#activation} in double arithmetic (float32 storage through {@link #erfc} and {@link #exp}). */
    public static void activation(Activation act, Buf h, Buf g, Buf aux, int from, int to) {
        boolean f32 = h.isFloat();
        for (int i = from; i < to; i++) {
            double x = h.get(i);
            switch (act) {
                case RELU -> g.put(i, Math.max(x, 0));
                case GELU -> { // gelu(x) = x Phi(x)
                    double phi = f32 ? 0.5 * erfc(-x * INV_SQRT2) : 0.5 * (1 + Erf.erf(x * INV_SQRT2));
                    aux.put(i, phi);
                    g.put(i, x * phi);
                }
                case GELU_TANH -> { // gelu~(x) = x (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3)
                    double t = tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x), f32);
                    aux.put(i, t);
                    g.put(i, 0.5 * x * (1 + t));
                }
                case SILU -> { // silu(x) = x sigmoid(x)
                    double sig = sigmoid(x, f32);
                    aux.put(i, sig);
                    g.put(i, x * sig);
                }
                case SWIGLU -> throw new IllegalArgumentException("SWIGLU has two inputs: use swiglu");
            }
        }
    }

    /** {@link RowMath#activationBack} in double arithmetic. */
    public static void activationBack(Activation act, Buf h, Buf aux, Buf dg, Buf dh, int from, int to) {
        boolean f32 = h.isFloat();
        for (int i = from; i < to; i++) {
            double x = h.get(i);
            double d = switch (act) {
                case RELU -> x > 0 ? 1 : 0;
                case GELU -> aux.get(i) + x * INV_SQRT_2PI * (f32 ? exp(-0.5 * x * x) : Math.exp(-0.5 * x * x));
                case GELU_TANH -> {
                    double t = aux.get(i);
                    yield 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * x * x);
                }
                case SILU -> {
                    double s = aux.get(i);
                    yield s * (1 + x * (1 - s));
                }
                case SWIGLU -> throw new IllegalArgumentException("SWIGLU has two inputs: use swigluBack");
            };
            dh.put(i, dg.get(i) * d);
        }
    }

    /** {@link RowMath#swiglu} in double arithmetic. */
    public static void swiglu(Buf h, Buf u, Buf g, Buf sig, int from, int to) {
        boolean f32 = h.isFloat();
        for (int i = from; i < to; i++) {
            double x = h.get(i), s = sigmoid(x, f32);
            sig.put(i, s);
            g.put(i, x * s * u.get(i));
        }
    }

    /** {@link RowMath#swigluBack} in double arithmetic. */
    public static void swigluBack(Buf h, Buf u, Buf sig, Buf dg, Buf dh, Buf du, int from, int to) {
        for (int i = from; i < to; i++) {
            double x = h.get(i), s = sig.get(i), d = dg.get(i);
            du.put(i, d * x * s);
            dh.put(i, d * u.get(i) * s * (1 + x * (1 - s)));
        }
    }

    /** 1 / (1 + e^-x); float32 storage through {@link #exp}. */
    public static double sigmoid(double x, boolean f32) {
        return 1 / (1 + (f32 ? exp(-x) : Math.exp(-x)));
    }

    /** tanh(x) = 1 - 2 / (e^2x + 1) for float32 storage (through {@link #exp}), {@link Math#tanh} for float64. */
    public static double tanh(double x, boolean f32) {
        return f32 ? 1 - 2 / (exp(2 * x) + 1) : Math.tanh(x);
    }

    /**
     * e^x to about 2e-9 relative (below float32's resolution): x = n ln2 + r with |r| &lt;= ln2 / 2,
     * e^r by its Taylor series to r^8, and 2^n put into the exponent bits: faster than {@link Math#exp}
     * (BENCHMARKS.md's method section).
     */
    public static double exp(double x) {
        if (x < -745) {
            return 0;
        }
        if (x > 709) {
            return Double.POSITIVE_INFINITY;
        }
        double n = Math.rint(x * LOG2E);
        double r = x - n * LN2;
        double p = 1 + r * (1 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720
                + r * (1.0 / 5040 + r * (1.0 / 40320))))))));
        int e = (int) n;
        if (e < -1022) { // subnormal: scale in two steps
            return p * Double.longBitsToDouble((long) (e + 1022 + 1023) << 52) * 0x1p-1022;
        }
        return p * Double.longBitsToDouble((long) (e + 1023) << 52);
    }

    /**
     * erfc(z) with relative error below 1.2e-7 for every z (Numerical Recipes' Chebyshev fit,
     * "erfcc"); erfc(-z) = 2 - erfc(z). Used for float32, where it is at float32's resolution.
     */
    public static double erfc(double z) {
        double a = Math.abs(z);
        double t = 1 / (1 + 0.5 * a);
        double r = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return z >= 0 ? r : 2 - r;
    }
}
