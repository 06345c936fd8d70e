package org.attn4j.samediff;

import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Inverted dropout that is active only while SameDiff trains.
 *
 * <p>SameDiff has no train/eval switch of its own, but its inference session feeds any placeholder
 * whose name ends in {@code keras_learning_phase} with {@code true} inside {@code fit} and
 * {@code false} in {@code output}. Dropout multiplies by {@code 1 + t * (mask / keep - 1)} with t
 * that flag, so evaluation is the identity exactly and one graph serves both.
 *
 * <p>The mask comes from a hash of each element's index and the graph's dropout seed
 * ({@link #SEED}, a constant a trainer sets before each step), not from ND4J's random ops: in M2.1
 * those draw from per-op generators that no seed reaches, so training could not be repeated.
 */
public final class Dropout {
    /** The training-phase placeholder SameDiff fills in by itself. */
    public static final String TRAINING_FLAG = "attn4j.keras_learning_phase";
    /** The scalar constant (float64) that seeds every dropout mask of a graph; assign it to change the masks. */
    public static final String SEED = "attn4j.dropout_seed";

    private Dropout() {
    }

    /**
     * Drops each element of x with probability p while training (scaling the rest by 1/(1-p)).
     * Returns x itself, adding nothing to the graph, when p is 0.
     */
    public static SDVariable apply(SDVariable x, double p) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("Dropout probability must be in [0, 1), got " + p);
        }
        if (p == 0) {
            return x;
        }
        SameDiff sd = x.getSameDiff();
        DataType type = x.dataType();
        double keep = 1 - p;
        SDVariable scaledMask = sd.lt(uniform(x, sd.getVariables().size()), keep).castTo(type).mul(1 / keep);
        SDVariable training = trainingFlag(sd).castTo(type);
        SDVariable factor = scaledMask.sub(1.0).mul(training).add(1.0);
        return x.mul(factor);
    }

    /**
     * Pseudo-random numbers in [0, 1) shaped like x: frac(sin(i * 12.9898 + s * 78.233 + salt) * 43758.5453)
     * for element index i and seed s, in float64 (a classic shader hash; plenty for dropout masks).
     */
    private static SDVariable uniform(SDVariable x, long salt) {
        SameDiff sd = x.getSameDiff();
        SDVariable n = sd.prod(sd.shape(x).castTo(DataType.DOUBLE)); // element count
        SDVariable index = sd.range(sd.constant(Nd4j.scalar(0.0)), n, sd.constant(Nd4j.scalar(1.0)), DataType.DOUBLE);
        SDVariable angle = index.mul(12.9898).add(seed(sd).mul(78.233)).add(salt % 10_007);
        SDVariable h = sd.math.sin(angle).mul(43758.5453);
        SDVariable u = h.sub(sd.math.floor(h));
        return sd.reshape(u, sd.shape(x)).castTo(x.dataType());
    }

    /**
     * The graph's dropout seed constant, created on first use together with a listener that sets
     * it to the iteration number at the start of each SameDiff {@code fit} iteration, so plain
     * {@code fit} draws a new, repeatable mask every step.
     */
    public static SDVariable seed(SameDiff sd) {
        if (sd.hasVariable(SEED)) {
            return sd.getVariable(SEED);
        }
        SDVariable seed = sd.constant(SEED, Nd4j.scalar(0.0));
        sd.addListeners(new BaseListener() {
            @Override
            public boolean isActive(Operation operation) {
                return operation == Operation.TRAINING;
            }

            @Override
            public void iterationStart(SameDiff s, At at, MultiDataSet data, long etlMs) {
                seed.getArr().assign(at.iteration());
            }
        });
        return seed;
    }

    /** The graph's training-phase flag, created on first use. */
    public static SDVariable trainingFlag(SameDiff sd) {
        return sd.hasVariable(TRAINING_FLAG) ? sd.getVariable(TRAINING_FLAG)
                : sd.placeHolder(TRAINING_FLAG, DataType.BOOL);
    }
}
