package org.attn4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.data.Batch;
import org.attn4j.model.TransformerModel.LossAndGradients;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Gradient accumulation: the loss and gradient of several micro-batches as those of one batch holding all
 * their rows, in arrays of its own (made on first use, reused by every step).
 */
final class GradientAccumulator {
    /** Micro-batch {@code j}'s loss and gradients (views the next call may overwrite). */
    interface MicroStep {
        LossAndGradients compute(Batch microBatch, int j);
    }

    private final Map<String, INDArray> parameters;
    private final WorkerShares<String> shares;
    private Map<String, INDArray> sums;

    GradientAccumulator(Map<String, INDArray> parameters, WorkerShares<String> shares) {
        this.parameters = parameters;
        this.shares = shares;
    }

    /**
     * The whole's loss and gradient from micro-batches with n_j tokens, losses L_j and gradients g_j:
     * L = sum n_j L_j / N and g = sum n_j g_j / N with N = sum n_j (each L_j already a mean over its n_j). A
     * micro-batch without tokens adds nothing (the engine gives it loss and gradient 0). A NaN or infinite loss
     * throws {@link TrainingDivergedException} naming the micro-batch and {@code step}.
     */
    LossAndGradients accumulate(List<Batch> microBatches, MicroStep micro, int step) {
        if (sums == null) {
            sums = new LinkedHashMap<>();
            parameters.forEach((p, a) -> sums.put(p, Nd4j.zeros(a.dataType(), a.shape())));
        }
        long tokens = 0;
        double lossSum = 0;
        for (int j = 0; j < microBatches.size(); j++) {
            LossAndGradients g = micro.compute(microBatches.get(j), j);
            if (!Double.isFinite(g.loss())) {
                throw new TrainingDivergedException("Training diverged at step " + step + ": the loss of micro-batch "
                        + j + " of " + microBatches.size() + " is " + g.loss() + "; the weights are those after step "
                        + (step - 1) + " (try a lower learning rate or clipping)");
            }
            boolean first = j == 0;
            double n = g.tokens();
            shares.forEach(p -> {
                INDArray sum = sums.get(p), grad = g.gradients().get(p);
                if (first) {
                    sum.assign(grad).muli(n);
                } else {
                    sum.addi(grad.mul(n));
                }
            });
            tokens += g.tokens();
            lossSum += n * g.loss();
        }
        double inv = 1.0 / Math.max(1, tokens);
        shares.forEach(p -> sums.get(p).muli(inv));
        return new LossAndGradients(lossSum * inv, sums, tokens);
    }

    /** Throws unless {@code microBatches} is a non-empty list without nulls. */
    static void check(List<Batch> microBatches) {
        if (microBatches == null || microBatches.isEmpty()) {
            throw new IllegalArgumentException("step(List<Batch>) needs at least one micro-batch, given "
                    + (microBatches == null ? "null" : "an empty list"));
        }
        for (int j = 0; j < microBatches.size(); j++) {
            if (microBatches.get(j) == null) {
                throw new IllegalArgumentException("Micro-batch " + j + " of " + microBatches.size() + " is null");
            }
        }
    }

    /** Rows [j B / k, (j + 1) B / k) of each of the batch's arrays, for j in [0, k): micro-batches of consecutive rows. */
    static List<Batch> split(Batch batch, int k) {
        long rows = batch.input().rank() == 2 ? batch.input().size(0) : -1;
        if (rows < k) {
            throw new IllegalArgumentException("A batch with input " + Arrays.toString(batch.input().shape())
                    + " cannot run as " + k + " micro-batches (Trainer.Config microBatches " + k
                    + "): expected [B, T] ids with B >= " + k);
        }
        List<Batch> parts = new ArrayList<>();
        for (int j = 0; j < k; j++) {
            long r0 = rows * j / k, r1 = rows * (j + 1) / k;
            parts.add(new Batch(batch.source() == null ? null : rows(batch.source(), r0, r1), rows(batch.input(), r0, r1),
                    rows(batch.target(), r0, r1)));
        }
        return parts;
    }

    private static INDArray rows(INDArray a, long r0, long r1) {
        return a.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all()).dup('c'); // [r1 - r0, T]
    }
}
