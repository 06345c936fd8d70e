package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.opentest4j.AssertionFailedError;

/** The gradient check itself: it passes a right gradient, and fails a wrong one even where the loss is NaN. */
class FiniteDifferencesTest {
    private final INDArray x = Nd4j.createFromArray(0.5, -1.25, 2.0);
    private final DoubleSupplier sumOfSquares = () -> x.mul(x).sumNumber().doubleValue(); // d/dx = 2x

    @Test
    void aRightGradientPassesAndIsCounted() {
        assertEquals(3, FiniteDifferences.check(Map.of("x", x), Map.of("x", x.mul(2)), sumOfSquares));
    }

    @Test
    void aWrongGradientFails() {
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
                () -> FiniteDifferences.check(Map.of("x", x), Map.of("x", x.mul(3)), sumOfSquares));
        assertTrue(e.getMessage().startsWith("3 of 3 gradient entries disagree"), e.getMessage());
    }

    @Test
    void aNanLossFailsWhateverTheGradient() {
        DoubleSupplier nanLoss = () -> Double.NaN;
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
                () -> FiniteDifferences.check(Map.of("x", x), Map.of("x", x.mul(3)), nanLoss));
        assertTrue(e.getMessage().startsWith("3 of 3 gradient entries disagree"), e.getMessage());
        assertTrue(e.getMessage().contains("loss NaN at +eps"), e.getMessage());
        DoubleSupplier infiniteLoss = () -> x.getDouble(0) > 0.5 ? Double.POSITIVE_INFINITY : sumOfSquares.getAsDouble();
        assertThrows(AssertionFailedError.class,
                () -> FiniteDifferences.check(Map.of("x", x), Map.of("x", x.mul(2)), infiniteLoss));
    }

    @Test
    void aNonFiniteGradientFails() {
        INDArray grad = x.mul(2);
        grad.putScalar(1, Double.POSITIVE_INFINITY);
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
                () -> FiniteDifferences.check(Map.of("x", x), Map.of("x", grad), sumOfSquares));
        assertTrue(e.getMessage().startsWith("1 of 3 gradient entries disagree"), e.getMessage());
    }

    @Test
    void nothingToCheckFails() {
        INDArray empty = Nd4j.create(DataType.DOUBLE, 0);
        assertThrows(AssertionFailedError.class,
                () -> FiniteDifferences.check(Map.of("x", empty), Map.of("x", empty), sumOfSquares));
    }
}
