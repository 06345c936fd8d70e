package org.attn4j.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.random.custom.DistributionUniform;

/**
 * Inverted dropout that is active only while SameDiff trains.
 *
 * <p>SameDiff has no train/eval switch of its own, but its inference session feeds any placeholder
 * whose name ends in {@code keras_learning_phase} with {@code true} inside {@code fit} and
 * {@code false} in {@code output}. Dropout multiplies by {@code 1 + t * (mask / keep - 1)} with t
 * that flag, so evaluation is the identity exactly and one graph serves both.
 */
public final class Dropout {
    /** The training-phase placeholder SameDiff fills in by itself. */
    public static final String TRAINING_FLAG = "attn4j.keras_learning_phase";

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
        SDVariable uniform = new DistributionUniform(sd, sd.shape(x), 0, 1, type).outputVariable();
        SDVariable scaledMask = sd.lt(uniform, keep).castTo(type).mul(1 / keep);
        SDVariable training = trainingFlag(sd).castTo(type);
        SDVariable factor = scaledMask.sub(1.0).mul(training).add(1.0);
        return x.mul(factor);
    }

    /** The graph's training-phase flag, created on first use. */
    public static SDVariable trainingFlag(SameDiff sd) {
        return sd.hasVariable(TRAINING_FLAG) ? sd.getVariable(TRAINING_FLAG)
                : sd.placeHolder(TRAINING_FLAG, DataType.BOOL);
    }
}
