package org.attn4j.spark;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.attn4j.model.TransformerModel;
import org.attn4j.train.Trainer;
import org.attn4j.train.TrainingDivergedException;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Synchronous data-parallel training of any attn4j model on a Spark RDD of {@link Example}s. Each
 * round the driver broadcasts the weights, every partition computes on its shard, Spark's
 * {@code treeAggregate} sums the results, and the driver updates its model:
 *
 * <ul>
 *   <li>{@link Mode#GRADIENT_AVERAGING}: each partition computes the gradient of its next batch; the
 *   driver applies the token-weighted mean with its {@link Trainer} (clipping and updaters included).
 *   This is exactly one machine training on the union of the partitions' batches.</li>
 *   <li>{@link Mode#PARAMETER_AVERAGING}: each partition takes {@code localSteps} updates of its own
 *   from the broadcast weights and optimizer state; the driver averages weights and optimizer state,
 *   weighted by tokens (DL4J's parameter averaging: 1/k of the communication, not exact).</li>
 * </ul>
 *
 * <p>Partition {@code p} at step {@code s} trains on the {@code s}-th run of {@code batchSize} examples
 * of its shard (wrapping around), so an epoch is {@code ceil(shard size / batchSize)} steps. Cache the
 * RDD: it is read every round. Spark retries a failed task with the same broadcast and shard, so a
 * retried round gives the same result; a partition whose loss or gradient is NaN or infinite stops
 * training with a {@link TrainingDivergedException} naming it, before any weight changes, and so do
 * driver weights that hold NaN or infinity (naming the parameter), before anything is sent.
 *
 * <p>Workers compute on attn4j's engine (through {@link Trainer#gradients} and {@link Trainer#step}).
 */
public final class SparkTrainer {
    /** How partitions' work is combined. */
    public enum Mode { GRADIENT_AVERAGING, PARAMETER_AVERAGING }

    /**
     * @param mode       gradient averaging (every step) or parameter averaging (every {@code localSteps})
     * @param localSteps updates each partition takes between averagings (1 for gradient averaging)
     * @param batchSize  examples per partition per step
     */
    public record Options(Mode mode, int localSteps, int batchSize) {
        public Options {
            Objects.requireNonNull(mode, "mode");
            if (batchSize < 1 || localSteps < 1 || (mode == Mode.GRADIENT_AVERAGING && localSteps != 1)) {
                throw new IllegalArgumentException("Expected batchSize >= 1 and localSteps >= 1 (exactly 1 for gradient "
                        + "averaging), given batchSize " + batchSize + ", localSteps " + localSteps + " with " + mode);
            }
        }

        public static Options gradientAveraging(int batchSize) {
            return new Options(Mode.GRADIENT_AVERAGING, 1, batchSize);
        }

        public static Options parameterAveraging(int localSteps, int batchSize) {
            return new Options(Mode.PARAMETER_AVERAGING, localSteps, batchSize);
        }
    }

    /**
     * What one round did, with its times for a scaling estimate.
     *
     * @param step          the driver's step count after the round
     * @param loss          token-weighted mean loss of the partitions' batches (before their updates)
     * @param tokens        target tokens of all partitions' batches
     * @param partitions    partitions that had examples
     * @param wallNanos     the whole round on the driver
     * @param computeNanos  the slowest partition's computation (model build, weights in, forward, backward)
     * @param updateNanos   the driver's own update (or averaging)
     */
    public record Round(int step, double loss, long tokens, int partitions, long wallNanos, long computeNanos,
            long updateNanos) {
        /** Time neither computing on a partition nor updating: broadcast, task launch, serialization, aggregation. */
        public long communicationNanos() {
            return Math.max(0, wallNanos - computeNanos - updateNanos);
        }
    }

    private final JavaSparkContext sc;
    private final Trainer trainer;
    private final Options options;
    private final ModelSpec spec;
    private final String modelId = UUID.randomUUID().toString();

    /** Trains {@code model} (held by the driver) with the updater of {@code config}. */
    public SparkTrainer(JavaSparkContext sc, TransformerModel model, Trainer.Config config, Options options) {
        this.sc = Objects.requireNonNull(sc, "sc");
        this.trainer = new Trainer(model, config);
        this.options = Objects.requireNonNull(options, "options");
        this.spec = ModelSpec.of(model);
    }

    /** The driver's trainer: its model, step count and optimizer state (for checkpoints). */
    public Trainer trainer() {
        return trainer;
    }

    public Options options() {
        return options;
    }

    /** One synchronous round: one update (gradient averaging) or {@code localSteps} of them (parameter averaging). */
    public Round round(JavaRDD<Example> data) {
        long start = System.nanoTime();
        boolean averageParameters = options.mode() == Mode.PARAMETER_AVERAGING;
        Map<String, INDArray> params = trainer.model().parameters();
        Map<String, INDArray> state = trainer.optimizerState();
        int step = trainer.stepCount();
        double[] weights = Flat.of(params.values());
        requireFinite(params, weights, step);
        Broadcast<Snapshot> snapshot = sc.broadcast(new Snapshot(modelId, spec, weights,
                averageParameters ? Flat.of(state.values()) : null, step));
        Trainer.Config config = trainer.config();
        int localSteps = averageParameters ? options.localSteps() : 0, batchSize = options.batchSize();
        Contribution sum;
        try {
            sum = data.mapPartitionsWithIndex((partition, shard) -> List.of(
                    Workers.run(shard, partition, snapshot.value(), config, localSteps, batchSize)).iterator(), true)
                    .treeAggregate(Contribution.empty(), Contribution::add, Contribution::add);
        } finally {
            snapshot.destroy();
        }
        if (sum.problem != null) {
            throw new TrainingDivergedException("Distributed training stopped at step " + step + ": " + sum.problem
                    + "; the driver's weights are those after step " + (step - 1));
        }
        if (sum.tokens == 0) {
            throw new IllegalArgumentException("No partition had a training example (the RDD is empty)");
        }
        long updateStart = System.nanoTime();
        double loss = sum.lossSum / sum.tokens;
        if (averageParameters) {
            Flat.assign(params.values(), sum.values, sum.tokens);
            Flat.assign(state.values(), sum.state, sum.tokens);
            trainer.restore(step + options.localSteps(), state);
        } else {
            Map<String, INDArray> mean = Flat.arrays(params, sum.values, sum.tokens);
            try {
                trainer.apply(new Trainer.BatchGradients(loss, mean, sum.tokens));
            } finally {
                mean.values().forEach(INDArray::close);
            }
        }
        long end = System.nanoTime();
        return new Round(trainer.stepCount(), loss, sum.tokens, sum.partitions, end - start, sum.maxComputeNanos,
                end - updateStart);
    }

    /**
     * Refuses to start a round from weights that hold NaN or infinity (set from outside: the updates
     * refuse to make them), naming the first. Workers would only fail on them: the engine stops at the
     * first non-finite activation rather than computing a NaN loss.
     */
    private static void requireFinite(Map<String, INDArray> params, double[] weights, int step) {
        int at = 0;
        for (Map.Entry<String, INDArray> e : params.entrySet()) {
            for (int i = 0; i < e.getValue().length(); i++, at++) {
                if (!Double.isFinite(weights[at])) {
                    throw new TrainingDivergedException("Distributed training stopped at step " + step
                            + ": the driver's weight '" + e.getKey() + "' holds " + weights[at] + " at flat index " + i
                            + "; the weights are those after step " + (step - 1));
                }
            }
        }
    }
}
