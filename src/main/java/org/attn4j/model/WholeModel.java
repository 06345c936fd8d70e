package org.attn4j.model;

import java.util.Map;
import org.attn4j.kernels.DropoutSeed;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A model trained whole: every weight has a gradient and optimizer state. What {@code Trainer} makes of a
 * {@link TransformerModel} it is given; {@link LoraAdapters} are the other {@link Trainable}.
 */
public final class WholeModel implements Trainable {
    private final TransformerModel model;

    /** Training every weight of {@code model}. */
    public WholeModel(TransformerModel model) {
        this.model = model;
    }

    @Override
    public TransformerModel model() {
        return model;
    }

    @Override
    public Map<String, INDArray> parameters() {
        return model.parameters();
    }

    @Override
    public TransformerModel.EngineState newEngineState() {
        return model.newEngineState();
    }

    @Override
    public TransformerModel.LossAndGradients lossAndGradients(TransformerModel.EngineState s, INDArray source,
            INDArray input, INDArray target, double smoothing, boolean withGradients, DropoutSeed dropout) {
        return model.lossAndGradients(s, source, input, target, smoothing, withGradients, dropout);
    }
}
