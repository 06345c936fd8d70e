package org.attn4j.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.attn4j.kernels.Parallel;
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

    private final Parallel parallel;
    private final List<List<Slot>> shares; // one list of parameters per worker, about equal in size
    private int iteration;

    public FastTraining(FastBlock block, IUpdater updater) {
        if (updater == null) {
            throw new IllegalArgumentException("updater is null; give an ND4J IUpdater such as new Adam(1e-3)");
        }
        List<Slot> slots = new ArrayList<>();
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
        this.parallel = block.parallel();
        this.shares = new ArrayList<>();
        long[] sizes = new long[parallel.threads()];
        for (int w = 0; w < sizes.length; w++) {
            shares.add(new ArrayList<>());
        }
        slots.stream().sorted((a, b) -> Long.compare(b.parameter().length(), a.parameter().length())).forEach(s -> {
            int least = 0;
            for (int w = 1; w < sizes.length; w++) {
                least = sizes[w] < sizes[least] ? w : least;
            }
            shares.get(least).add(s);
            sizes[least] += s.parameter().length();
        });
    }

    /** Steps taken so far (the updater's iteration count). */
    public int iteration() {
        return iteration;
    }

    /**
     * One update from the gradients of the block's last backward pass; they are left as they were. The
     * parameters are shared out among the block's workers, each running ND4J's ops on one OpenMP thread
     * (OpenMP's threads would otherwise keep spinning after the update, on the cores the next forward needs).
     */
    public void update() {
        int step = iteration;
        parallel.forRange(shares.size(), (w0, w1) -> Parallel.singleThreadedNd4j(() -> {
            for (int w = w0; w < w1; w++) {
                for (Slot s : shares.get(w)) {
                    s.update().assign(s.gradient());
                    s.updater().applyUpdater(s.update(), step, 0);
                    s.parameter().subi(s.update());
                }
            }
        }));
        iteration++;
    }
}
