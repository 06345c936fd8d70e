package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import org.apache.commons.math3.special.Erf;
import org.attn4j.config.Activation;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The fast path's exp, erfc and GELU against java.lang.Math and Commons Math. */
class RowMathTest {
    @AfterEach
    void vectorBack() {
        RowMath.useVector(true);
    }

    @Test
    void expIsWithin2e9OfMathExp() {
        Random r = new Random(3);
        for (int i = 0; i < 200_000; i++) {
            double x = (r.nextDouble() * 2 - 1) * (i % 2 == 0 ? 700 : 20);
            double want = Math.exp(x), got = ScalarMath.exp(x);
            assertTrue(Math.abs(got - want) <= 2e-9 * want, "exp(" + x + ") = " + got + ", Math.exp " + want);
        }
    }

    /** Float lanes: within 2.5e-7 (about 2 float ulps) of Math.exp where e^x is a normal float, 0 below. */
    @Test
    void vectorExpIsWithinTwoFloatUlpsOfMathExpAndZeroBelowTheNormalRange() {
        assumeTrue(RowMath.VECTOR_AVAILABLE, "the vector lanes are not available (no --add-modules jdk.incubator.vector)");
        var species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        float[] xs = new float[species.length()], got = new float[species.length()];
        Random r = new Random(4);
        for (int i = 0; i < 100_000; i++) {
            for (int l = 0; l < xs.length; l++) {
                xs[l] = (float) (r.nextDouble() * 100 - 95);
            }
            System.arraycopy(xs, 0, got, 0, xs.length);
            VectorMath.exp(got, 0, got.length);
            for (int l = 0; l < xs.length; l++) {
                double want = Math.exp(xs[l]);
                boolean ok = xs[l] < -87.3f ? got[l] == 0 : Math.abs(got[l] - want) <= 2.5e-7 * want;
                assertTrue(ok, "exp(" + xs[l] + ") = " + got[l] + ", Math.exp " + want);
            }
        }
        got[0] = Float.NEGATIVE_INFINITY;
        VectorMath.exp(got, 0, got.length);
        assertTrue(got[0] == 0, "exp(-inf) = " + got[0]);
    }

    @Test
    void erfcIsWithin1point2e7RelativeOfCommonsMath() {
        for (double z = -6; z <= 9; z += 1e-4) {
            double want = Erf.erfc(z), got = ScalarMath.erfc(z);
            assertTrue(Math.abs(got - want) <= 1.2e-7 * want, "erfc(" + z + ") = " + got + ", Commons Math " + want);
        }
    }

    /**
     * GELU and its derivative in float32, vector and scalar loops, against float64 with Commons Math's erf.
     * Bound: the float32 exponent argument of erfc, about x^2 / 2, is rounded to 2^-24 of itself, which
     * exp turns into a relative error of about 6e-8 x^2 / 2; plus a few float32 roundings elsewhere:
     * 1.2e-7 (4 + x^2) relative.
     */
    /**
     * to[toOff + i] += scale from[fromOff + i] (an embedding's gradient rows) in float32, vector lanes and scalar
     * loop, against the float64 sum of the same floats: each element within float32's rounding of one product and
     * one sum, on a length of whole vectors and a tail at unaligned offsets, and nothing outside the range touched.
     */
    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void float32AddScaledIsWithinFloatRounding(boolean vector) {
        RowMath.useVector(vector);
        int n = 37, fromOff = 5, toOff = 11;
        double scale = Math.sqrt(384);
        Nd4j.getRandom().setSeed(3);
        INDArray from = Nd4j.rand(DataType.FLOAT, 60).subi(0.5), to = Nd4j.rand(DataType.FLOAT, 60).subi(0.5);
        INDArray before = to.dup();
        RowMath.addScaled(Buf.of(from), fromOff, Buf.of(to), toOff, n, scale);
        for (int i = 0; i < 60; i++) {
            boolean inside = i >= toOff && i < toOff + n;
            double want = before.getDouble(i) + (inside ? scale * from.getDouble(i - toOff + fromOff) : 0);
            double tol = inside ? 2 * Math.ulp((float) (Math.abs(before.getDouble(i))
                    + scale * Math.abs(from.getDouble(i - toOff + fromOff)))) : 0;
            assertTrue(Math.abs(to.getDouble(i) - want) <= tol, "element " + i + ": " + to.getDouble(i) + ", want "
                    + want + " within " + tol);
        }
    }

    /**
     * A long score row's float32 softmax (vector and scalar loops) against float64 from its definition: 700 keys
     * (two whole chunks of the vector exp's 16 vectors, a part of one and a tail), every query row of a causal
     * 700 x 700 block at a few limits, within 2e-6 relative plus 1e-9 (float32 rounding of the scores, exp and the
     * sum); keys past the limit exactly 0.
     */
    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void float32SoftmaxOfLongRowsIsWithinFloatRounding(boolean vector) {
        RowMath.useVector(vector);
        int t = 700;
        Random r = new Random(5);
        MaskRows causal = MaskRows.padding(null, t, t, 1, true);
        for (int i : new int[] {0, 15, 255, 256, 300, 511, 530, 699}) {
            float[] scores = new float[t];
            for (int j = 0; j < t; j++) {
                scores[j] = (float) (r.nextGaussian() * 4);
            }
            INDArray row = Nd4j.createFromArray(scores);
            RowMath.softmaxRow(Buf.of(row), 0, causal, 0, 0, i);
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j <= i; j++) {
                max = Math.max(max, scores[j]);
            }
            for (int j = 0; j <= i; j++) {
                sum += Math.exp(scores[j] - max);
            }
            for (int j = 0; j < t; j++) {
                double want = j <= i ? Math.exp(scores[j] - max) / sum : 0, got = row.getDouble(j);
                assertTrue(j <= i ? Math.abs(got - want) <= 2e-6 * want + 1e-9 : got == 0,
                        "softmax row " + i + " key " + j + ": " + got + ", want " + want);
            }
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void float32GeluIsWithinFloatRounding(boolean vector) {
        RowMath.useVector(vector);
        int n = 4163; // whole chunks of the vector functions' scratch (16 vectors), a part of one, and a tail
        INDArray h = Nd4j.linspace(-12, 12, n, DataType.DOUBLE).castTo(DataType.FLOAT);
        INDArray g = h.ulike(), cdf = h.ulike(), dh = h.ulike(), ones = Nd4j.ones(DataType.FLOAT, n);
        RowMath.activation(Activation.GELU, Buf.of(h), Buf.of(g), Buf.of(cdf), 0, n);
        RowMath.activationBack(Activation.GELU, Buf.of(h), Buf.of(cdf), Buf.of(ones), Buf.of(dh), 0, n);
        for (int i = 0; i < n; i++) {
            double x = h.getDouble(i);
            double phi = 0.5 * Erf.erfc(-x / Math.sqrt(2)), pdf = Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
            double gelu = x * phi, slope = phi + x * pdf;
            assertTrue(Math.abs(g.getDouble(i) - gelu) <= 1.2e-7 * (4 + x * x) * Math.abs(gelu),
                    "gelu(" + x + ") = " + g.getDouble(i) + ", want " + gelu);
            assertTrue(Math.abs(dh.getDouble(i) - slope) <= 1e-6 * Math.max(1, Math.abs(x)), "gelu'(" + x + ") = "
                    + dh.getDouble(i) + ", want " + slope);
        }
    }
    /**
     * GELU_TANH and SiLU and their derivatives in float32 (vector and scalar loops) against float64 written from
     * their definitions with Math.tanh and Math.exp: within 1e-6 of max(1, |value|) (float32 rounding of x and
     * of a few steps; tanh and sigmoid come from the float32 path's exp).
     */
    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void float32TanhGeluAndSiluAreWithinFloatRounding(boolean vector) {
        RowMath.useVector(vector);
        int n = 4163; // as in the GELU test: whole chunks, a part of one, a tail
        INDArray h = Nd4j.linspace(-30, 30, n, DataType.DOUBLE).castTo(DataType.FLOAT);
        INDArray ones = Nd4j.ones(DataType.FLOAT, n);
        for (Activation act : new Activation[] {Activation.GELU_TANH, Activation.SILU}) {
            INDArray g = h.ulike(), aux = h.ulike(), dh = h.ulike();
            RowMath.activation(act, Buf.of(h), Buf.of(g), Buf.of(aux), 0, n);
            RowMath.activationBack(act, Buf.of(h), Buf.of(aux), Buf.of(ones), Buf.of(dh), 0, n);
            for (int i = 0; i < n; i++) {
                double x = h.getDouble(i), value, slope;
                if (act == Activation.GELU_TANH) {
                    double t = Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x));
                    value = 0.5 * x * (1 + t);
                    slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * x * x);
                } else {
                    double sig = 1 / (1 + Math.exp(-x));
                    value = x * sig;
                    slope = sig * (1 + x * (1 - sig));
                }
                assertTrue(Math.abs(g.getDouble(i) - value) <= 1e-6 * Math.max(1, Math.abs(value)),
                        act + "(" + x + ") = " + g.getDouble(i) + ", want " + value);
                assertTrue(Math.abs(dh.getDouble(i) - slope) <= 1e-6 * Math.max(1, Math.abs(x)),
                        act + "'(" + x + ") = " + dh.getDouble(i) + ", want " + slope);
            }
        }
    }

    /** SwiGLU's product and both gradients, float32 vector and scalar loops and float64, against the definition. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"float32 vector", "float32 scalar", "float64"})
    void swigluAndItsGradients(String mode) {
        RowMath.useVector(mode.endsWith("vector"));
        DataType type = mode.startsWith("float32") ? DataType.FLOAT : DataType.DOUBLE;
        int n = 1111; // whole chunks of 16 vectors, a part of one, a tail
        INDArray h = Nd4j.linspace(-20, 20, n, DataType.DOUBLE).castTo(type);
        INDArray u = Nd4j.linspace(3, -2, n, DataType.DOUBLE).castTo(type), dg = Nd4j.linspace(-1, 2, n, DataType.DOUBLE)
                .castTo(type);
        INDArray g = h.ulike(), sig = h.ulike(), dh = h.ulike(), du = h.ulike();
        RowMath.swiglu(Buf.of(h), Buf.of(u), Buf.of(g), Buf.of(sig), 0, n);
        RowMath.swigluBack(Buf.of(h), Buf.of(u), Buf.of(sig), Buf.of(dg), Buf.of(dh), Buf.of(du), 0, n);
        double tol = type == DataType.FLOAT ? 2e-6 : 1e-15;
        for (int i = 0; i < n; i++) {
            double x = h.getDouble(i), ui = u.getDouble(i), d = dg.getDouble(i), s = 1 / (1 + Math.exp(-x));
            double[][] pairs = {{g.getDouble(i), x * s * ui}, {du.getDouble(i), d * x * s},
                    {dh.getDouble(i), d * ui * s * (1 + x * (1 - s))}};
            for (double[] p : pairs) {
                assertTrue(Math.abs(p[0] - p[1]) <= tol * Math.max(1, Math.abs(x * ui * d)), mode + " at x=" + x + ": "
                        + p[0] + ", want " + p[1]);
            }
        }
    }
}
