package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.attn4j.testing.FiniteDifferences;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What the op kernels' tests share: arrays of given numbers, a float64 reference compared within a bound, and a
 * central-difference check ({@link FiniteDifferences}) of a loss L = sum(w y) whose gradient at y is the weights w.
 */
final class KernelFixtures {
    private KernelFixtures() {
    }

    /** A new array of {@code values} in {@code type}; the Buf shares its memory. */
    static Buf buf(double[] values, DataType type) {
        return Buf.of(Nd4j.createFromArray(values).castTo(type));
    }

    static double[] values(Buf b) {
        return b.array.castTo(DataType.DOUBLE).reshape(b.array.length()).toDoubleVector();
    }

    static double[] random(Random r, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextGaussian();
        }
        return x;
    }

    /** sum(w y): a loss whose gradient at y is w. */
    static double dot(double[] w, Buf y) {
        double sum = 0;
        for (int i = 0; i < w.length; i++) {
            sum += w[i] * y.get(i);
        }
        return sum;
    }

    /** Every element of {@code got} within {@code tol} of {@code want}, relative to max(1, |want|). */
    static void close(String what, double[] want, double[] got, double tol) {
        assertEquals(want.length, got.length, what + " length");
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(want[i] - got[i]) / Math.max(1, Math.abs(want[i]));
            assertTrue(err <= tol, what + "[" + i + "]: kernel " + got[i] + ", reference " + want[i]);
        }
    }

    /**
     * Central differences of {@code loss} in every element of the float64 buffers {@code inputs} (by name) against
     * the analytic gradients {@code grads} (same names).
     */
    static void gradientsAgree(Map<String, Buf> inputs, Map<String, Buf> grads, DoubleSupplier loss) {
        Map<String, INDArray> values = new LinkedHashMap<>(), analytic = new LinkedHashMap<>();
        inputs.forEach((name, b) -> values.put(name, b.array));
        grads.forEach((name, b) -> analytic.put(name, b.array.dup()));
        assertTrue(FiniteDifferences.check(values, analytic, loss) > 0, "nothing checked");
    }
}
