package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;
import org.attn4j.samediff.Gradients;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Central finite differences against SameDiff's gradients, in double precision, with DL4J's
 * criteria: eps 1e-6, max relative error 1e-3, absolute floor 1e-8. A loss or gradient that is NaN or infinite
 * fails the check (it cannot confirm anything), and so does a check with nothing to check.
 */
public final class FiniteDifferences {
    public static final double EPS = 1e-6, MAX_REL_ERROR = 1e-3, MIN_ABS_ERROR = 1e-8;

    private FiniteDifferences() {
    }

    /**
     * Checks d loss / d v for every element of every named variable (variables, not placeholders).
     * The loss must be a scalar already set as sd's loss variable.
     *
     * @return the number of elements checked
     */
    public static int check(SameDiff sd, SDVariable loss, Collection<String> variables) {
        Map<String, INDArray> analytic = Gradients.of(sd, Map.of(), variables.toArray(String[]::new));
        Map<String, INDArray> values = new LinkedHashMap<>();
        for (String name : variables) {
            assertTrue(analytic.get(name) != null, "SameDiff gave no gradient for " + name);
            values.put(name, sd.getVariable(name).getArr());
        }
        return check(values, analytic, () -> eval(sd, loss));
    }

    /**
     * Checks {@code analytic}'s gradient of every element of every array in {@code values} (changed in place and
     * restored) against central differences of {@code loss}, which must read those arrays. Fails, naming the
     * first 20 entries and how many of how many disagree, unless every loss and gradient is finite and agrees.
     *
     * @return the number of elements checked
     */
    public static int check(Map<String, INDArray> values, Map<String, INDArray> analytic, DoubleSupplier loss) {
        return check(values, analytic, loss, MAX_REL_ERROR);
    }

    /** {@link #check(Map, Map, DoubleSupplier)} with a relative error bound of the caller's (a tighter one). */
    public static int check(Map<String, INDArray> values, Map<String, INDArray> analytic, DoubleSupplier loss,
            double maxRelError) {
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (Map.Entry<String, INDArray> e : values.entrySet()) {
            String name = e.getKey();
            INDArray x = e.getValue();
            assertEquals(DataType.DOUBLE, x.dataType(), "gradient checks run in double precision: " + name);
            INDArray grad = analytic.get(name);
            assertTrue(grad != null, "no gradient for " + name);
            assertArrayEquals(x.shape(), grad.shape(), "gradient shape of " + name);
            INDArray flat = x.reshape(x.length());
            INDArray gradFlat = grad.reshape(grad.length());
            for (long i = 0; i < x.length(); i++) {
                double original = flat.getDouble(i);
                flat.putScalar(i, original + EPS);
                double plus = loss.getAsDouble();
                flat.putScalar(i, original - EPS);
                double minus = loss.getAsDouble();
                flat.putScalar(i, original);
                double numeric = (plus - minus) / (2 * EPS);
                double a = gradFlat.getDouble(i);
                double abs = Math.abs(a - numeric);
                double rel = abs == 0 ? 0 : abs / (Math.abs(a) + Math.abs(numeric));
                // Written so that NaN fails: every comparison with NaN is false, and a NaN loss or gradient proves
                // nothing about the other.
                boolean agree = Double.isFinite(plus) && Double.isFinite(minus) && Double.isFinite(a)
                        && (rel <= maxRelError || abs <= MIN_ABS_ERROR);
                if (!agree) {
                    failures.add(String.format("%s[%d]: analytic %.10g, numeric %.10g (loss %.10g at +eps, %.10g at"
                            + " -eps), rel %.3g", name, i, a, numeric, plus, minus, rel));
                }
                checked++;
            }
        }
        if (checked == 0) {
            fail("no gradient entries to check in " + values.keySet());
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + checked + " gradient entries disagree with finite differences:\n"
                    + String.join("\n", failures.subList(0, Math.min(20, failures.size()))));
        }
        return checked;
    }

    private static double eval(SameDiff sd, SDVariable loss) {
        return sd.output(Map.of(), loss.name()).get(loss.name()).getDouble(0);
    }
}
