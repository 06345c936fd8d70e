package org.attn4j.testing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What {@link ReadmeTest} gives the {@code run:} and {@code then:} notes of the README's and the manual's Java
 * blocks: checks of what a page says of a block's results, made-up data, and work to undo after a block.
 */
public final class DocChecks {
    private static final List<Runnable> CLEANUPS = new ArrayList<>();

    private DocChecks() {
    }

    /** Fails with {@code claim}, what the page says, unless {@code ok}. */
    public static void check(boolean ok, String claim) {
        if (!ok) {
            throw new AssertionError("the page says " + claim + "; it is not so");
        }
    }

    /** Fails unless {@code a} has shape {@code dims}. */
    public static void shape(INDArray a, long... dims) {
        if (!Arrays.equals(a.shape(), dims)) {
            throw new AssertionError("the page says shape " + Arrays.toString(dims) + ", the block gave "
                    + Arrays.toString(a.shape()));
        }
    }

    /** Fails unless every row (last axis) of {@code w} sums to 1 within 1e-5. */
    public static void rowsSumToOne(INDArray w) {
        INDArray sums = w.castTo(DataType.DOUBLE).sum(w.rank() - 1);
        double worst = sums.sub(1.0).amaxNumber().doubleValue();
        if (!(worst <= 1e-5)) {
            throw new AssertionError("the page says each row sums to 1; the worst is off by " + worst);
        }
    }

    /** Fails unless {@code got} equals {@code want} within {@code tol} of the larger of 1 and want's largest entry. */
    public static void close(INDArray want, INDArray got, double tol, String claim) {
        shape(got, want.shape());
        double scale = Math.max(1, want.amaxNumber().doubleValue());
        double diff = want.castTo(DataType.DOUBLE).sub(got.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        if (!(diff <= tol * scale)) {
            throw new AssertionError("the page says " + claim + "; the largest difference is " + diff + " (scale "
                    + scale + ", tolerance " + tol + ")");
        }
    }

    /** Ids {@code [batch, length]}: row b counts up from {@code first + 7 b} modulo {@code vocab}. */
    public static INDArray counting(int batch, int length, int vocab, int first) {
        int[][] ids = new int[batch][length];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < length; t++) {
                ids[b][t] = Math.floorMod(first + 7 * b + t, vocab);
            }
        }
        return Nd4j.createFromArray(ids);
    }

    /** Runs {@code r} once the block has run (or failed): a Spark context to stop, say. */
    public static synchronized void afterwards(Runnable r) {
        CLEANUPS.add(r);
    }

    static synchronized void cleanUp() {
        try {
            CLEANUPS.forEach(Runnable::run);
        } finally {
            CLEANUPS.clear();
        }
    }
}
