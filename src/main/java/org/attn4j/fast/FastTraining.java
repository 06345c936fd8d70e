package org.attn4j.fast;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * Updates a {@link FastBlock}'s parameters (the block's own arrays) from its gradients with an ND4J
 * updater, the same {@link GradientUpdater} SameDiff's {@code fit} uses, one state per parameter.
 *
 * <pre>
 *   fast.forward(x, mask);  fast.backward(dLoss/dOutput);  training.update();
 * </pre>
 */
public final class FastTraining {
    private record Slot(INDArray parameter, INDArray gradient, INDArray update, GradientUpdater updater) {
    }

    private final List<Slot> slots = new ArrayList<>();
    private int iteration;

    public FastTraining(FastBlock block, IUpdater updater) {
        if (updater == null) {
            throw new IllegalArgumentException("updater is null; give an ND4J IUpdater such as new Adam(1e-3)");
        }
        for (Map.Entry<String, INDArray> e : block.parameters().entrySet()) {
            INDArray p = e.getValue();
            long state = updater.stateSize(p.length());
            GradientUpdater u;
            if (state > 0) {
                INDArray view = Nd4j.zeros(p.dataType(), 1, state);
                u = updater.instantiate(view, true);
                u.setStateViewArray(view, p.shape(), p.ordering(), true);
            } else {
                u = updater.instantiate((INDArray) null, true);
            }
            slots.add(new Slot(p, block.gradients().get(e.getKey()), p.ulike(), u));
        }
    }

    /** Steps taken so far (the updater's iteration count). */
    public int iteration() {
        return iteration;
    }

    /** One update from the gradients of the block's last backward pass; they are left as they were. */
    public void update() {
        for (Slot s : slots) {
            s.update().assign(s.gradient());
            s.updater().applyUpdater(s.update(), iteration, 0);
            s.parameter().subi(s.update());
        }
        iteration++;
    }
}
