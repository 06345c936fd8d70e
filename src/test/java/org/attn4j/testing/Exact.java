package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeSet;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * Assertions that say what they compare. {@code assertEquals} on two {@code INDArray}s is ND4J's
 * {@code equalsWithEps(other, 1e-5)}, neither equality nor a tolerance a test chose (see {@link NoNd4jEqualsTest}):
 * here "the same" is the same data type, shape and raw bits of every element, and "close" is a tolerance relative
 * to the expected tensor's own largest magnitude.
 */
public final class Exact {
    private Exact() {
    }

    /** Fails unless {@code actual} has {@code expected}'s data type, shape and the raw bits of every element. */
    public static void assertSameBits(String what, INDArray expected, INDArray actual) {
        sameTypeAndShape(what, expected, actual);
        long[] e = bits(expected), a = bits(actual);
        int differ = 0, first = -1;
        double maxDiff = 0;
        for (int i = 0; i < e.length; i++) {
            if (e[i] != a[i]) {
                differ++;
                if (first < 0) {
                    first = i;
                }
                maxDiff = Math.max(maxDiff, Math.abs(value(expected, e[i]) - value(actual, a[i])));
            }
        }
        if (differ > 0) {
            fail(String.format("%s: %d of %d elements differ in their bits (%s, shape %s), max |difference| %.3g;"
                            + " first at %s: expected %s, got %s", what, differ, e.length, expected.dataType(),
                    Arrays.toString(expected.shape()), maxDiff, index(expected, first), value(expected, e[first]),
                    value(actual, a[first])));
        }
    }

    /** {@link #assertSameBits(String, INDArray, INDArray)} for every name of two maps with the same names. */
    public static void assertSameBits(String what, Map<String, INDArray> expected, Map<String, INDArray> actual) {
        if (!expected.keySet().equals(actual.keySet())) {
            fail(what + ": expected the tensors " + new TreeSet<>(expected.keySet()) + ", got "
                    + new TreeSet<>(actual.keySet()));
        }
        for (Map.Entry<String, INDArray> e : expected.entrySet()) {
            assertSameBits(what + " " + e.getKey(), e.getValue(), actual.get(e.getKey()));
        }
    }

    /** Fails if the two arrays (same data type and shape) have the same raw bits in every element. */
    public static void assertDifferentBits(String what, INDArray first, INDArray second) {
        sameTypeAndShape(what, first, second);
        if (Arrays.equals(bits(first), bits(second))) {
            fail(what + ": expected different values, got the same bits in all " + first.length() + " elements");
        }
    }

    /**
     * Fails unless {@code actual} has {@code expected}'s data type and shape, is finite, and differs from it nowhere
     * by more than {@code relTol} times the largest magnitude in {@code expected}.
     */
    public static void assertCloseToScale(String what, INDArray expected, INDArray actual, double relTol) {
        sameTypeAndShape(what, expected, actual);
        double[] e = expected.dup('c').data().asDouble(), a = actual.dup('c').data().asDouble();
        double scale = 0, maxDiff = 0;
        int worst = 0;
        for (int i = 0; i < e.length; i++) {
            if (!Double.isFinite(a[i])) {
                fail(what + ": element " + index(expected, i) + " is " + a[i] + ", expected " + e[i]);
            }
            scale = Math.max(scale, Math.abs(e[i]));
            double d = Math.abs(e[i] - a[i]);
            if (d > maxDiff) {
                maxDiff = d;
                worst = i;
            }
        }
        if (maxDiff > relTol * scale) {
            fail(String.format("%s: max |difference| %.3g at %s (expected %s, got %s) exceeds %.1g x the tensor's"
                    + " largest magnitude %.3g", what, maxDiff, index(expected, worst), e[worst], a[worst], relTol,
                    scale));
        }
    }

    /** {@link #assertCloseToScale(String, INDArray, INDArray, double)} per tensor of two maps with the same names. */
    public static void assertCloseToScale(String what, Map<String, INDArray> expected, Map<String, INDArray> actual,
            double relTol) {
        if (!expected.keySet().equals(actual.keySet())) {
            fail(what + ": expected the tensors " + new TreeSet<>(expected.keySet()) + ", got "
                    + new TreeSet<>(actual.keySet()));
        }
        for (Map.Entry<String, INDArray> e : expected.entrySet()) {
            assertCloseToScale(what + " " + e.getKey(), e.getValue(), actual.get(e.getKey()), relTol);
        }
    }

    private static void sameTypeAndShape(String what, INDArray expected, INDArray actual) {
        if (actual == null) {
            fail(what + ": expected a " + expected.dataType() + " array of shape " + Arrays.toString(expected.shape())
                    + ", got null");
        }
        if (expected.dataType() != actual.dataType() || !Arrays.equals(expected.shape(), actual.shape())) {
            fail(what + ": expected " + expected.dataType() + " " + Arrays.toString(expected.shape()) + ", got "
                    + actual.dataType() + " " + Arrays.toString(actual.shape()));
        }
    }

    /** The raw bits of every element in C order, widened to a long. */
    private static long[] bits(INDArray x) {
        INDArray c = x.dup('c');
        long[] out = new long[(int) c.length()];
        DataType t = c.dataType();
        if (t == DataType.DOUBLE) {
            double[] v = c.data().asDouble();
            for (int i = 0; i < out.length; i++) {
                out[i] = Double.doubleToRawLongBits(v[i]);
            }
        } else if (t.isFPType()) {
            float[] v = c.data().asFloat();
            for (int i = 0; i < out.length; i++) {
                out[i] = Float.floatToRawIntBits(v[i]);
            }
        } else {
            long[] v = c.data().asLong();
            System.arraycopy(v, 0, out, 0, out.length);
        }
        return out;
    }

    private static double value(INDArray like, long bits) {
        DataType t = like.dataType();
        if (t == DataType.DOUBLE) {
            return Double.longBitsToDouble(bits);
        }
        return t.isFPType() ? Float.intBitsToFloat((int) bits) : bits;
    }

    private static String index(INDArray x, int flat) {
        return x.rank() == 0 ? "[]" : Arrays.toString(Shape.ind2subC(x.shape(), flat));
    }
}
