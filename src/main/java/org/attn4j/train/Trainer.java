package org.attn4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.attn4j.data.Batch;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.Parallel;
import org.attn4j.model.Trainable;
import org.attn4j.model.WholeModel;
import org.attn4j.model.TransformerModel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * Update steps of a model: the model's engine computes the loss and every parameter's gradient of a
 * batch (forward, then backward, in a state this trainer owns), and ND4J's updaters (Adam, Adam with
 * decoupled weight decay, SGD, SGD with Nesterov momentum) turn them into updates.
 *
 * <p>The whole step is checked first (a NaN or infinite loss or gradient throws
 * {@link TrainingDivergedException} before any weight changes), clipped by the global norm, and only
 * then applied. Why not SameDiff's {@code fit}: it applies each parameter's update the moment that
 * parameter's gradient is ready, so it could do neither.
 *
 * <p>Dropout masks depend on (seed, step) only, so a run repeats exactly, also after a resume.
 *
 * <p>A step's pieces: {@code GradientAccumulator} (micro-batches as one batch), {@code GradientNorm} (the global
 * norm that clipping scales by) and {@link ParameterUpdater} (the ND4J updaters, in chunks over the workers,
 * and their state).
 */
public final class Trainer {
    /** ND4J updater families; {@code SGD} is ND4J's plain {@code Sgd} (no momentum, no state). */
    public enum Optimizer { ADAM, ADAMW, SGD_MOMENTUM, SGD }

    /**
     * How a trainer updates. Serializable, so that distributed training can ship it to workers.
     *
     * @param optimizer      the update rule
     * @param learningRate   learning rate by step
     * @param beta1          Adam's first-moment decay
     * @param beta2          Adam's second-moment decay
     * @param weightDecay    AdamW's decoupled decay (multiplied by the learning rate); 0 for the other optimizers
     * @param momentum       SGD's (Nesterov) momentum; 0 for the other optimizers
     * @param clipNorm       clip the global gradient norm to this (0: no clipping)
     * @param labelSmoothing label smoothing of the cross-entropy
     * @param seed           seeds dropout, per step
     * @param decayMatricesOnly AdamW decays only parameters of rank >= 2 (embeddings and weight matrices), not
     *                       biases or LayerNorm weights, as nanoGPT and GPT-2 do; false: every parameter
     * @param microBatches   gradient accumulation: {@link Trainer#step(Batch)} runs each batch as this many
     *                       micro-batches of consecutive rows, one after the other, and makes one update of
     *                       them (see {@link Trainer#step(List)}); 1: the whole batch at once
     * @param checkpointActivations gradient checkpointing ({@link Trainer#checkpointActivations}): each block's
     *                       activations recomputed in the backward instead of kept, for less memory and the same
     *                       updates
     */
    public record Config(Optimizer optimizer, ISchedule learningRate, double beta1, double beta2, double weightDecay,
            double momentum, double clipNorm, double labelSmoothing, long seed, boolean decayMatricesOnly,
            int microBatches, boolean checkpointActivations) implements java.io.Serializable {
        public Config {
            Objects.requireNonNull(optimizer, "optimizer");
            Objects.requireNonNull(learningRate, "learningRate");
            if (clipNorm < 0 || weightDecay < 0 || !(momentum >= 0 && momentum < 1)) {
                throw new IllegalArgumentException("clipNorm and weightDecay must be >= 0 and momentum in [0, 1), got "
                        + clipNorm + ", " + weightDecay + ", " + momentum);
            }
            if (weightDecay > 0 && optimizer != Optimizer.ADAMW) {
                throw new IllegalArgumentException("weightDecay " + weightDecay + " needs optimizer ADAMW, got "
                        + optimizer);
            }
            if (momentum > 0 && optimizer != Optimizer.SGD_MOMENTUM) {
                throw new IllegalArgumentException("momentum " + momentum + " needs optimizer SGD_MOMENTUM, got "
                        + optimizer);
            }
            if (microBatches < 1) {
                throw new IllegalArgumentException("microBatches must be >= 1, got " + microBatches);
            }
        }

        /** Adam (0.9, 0.98) as in the original Transformer, clipping at 1, no smoothing, seed 0. */
        public static Config adam(ISchedule learningRate) {
            return builder().optimizer(Optimizer.ADAM).learningRate(learningRate).beta1(0.9).beta2(0.98).clipNorm(1.0)
                    .microBatches(1).build();
        }

        /**
         * The same with update rule {@code v}; its own settings come after it ({@link #withWeightDecay} for ADAMW,
         * {@link #withMomentum} for SGD_MOMENTUM), and a weight decay or momentum the new rule has not got must be
         * set to 0 before.
         */
        public Config withOptimizer(Optimizer v) {
            return toBuilder().optimizer(v).build();
        }

        /** The same with learningRate {@code v}: learning rate by step. */
        public Config withLearningRate(ISchedule v) {
            return toBuilder().learningRate(v).build();
        }

        /** The same with beta1 {@code v}: Adam's first-moment decay. */
        public Config withBeta1(double v) {
            return toBuilder().beta1(v).build();
        }

        /** The same with beta2 {@code v}: Adam's second-moment decay. */
        public Config withBeta2(double v) {
            return toBuilder().beta2(v).build();
        }

        /** The same with weightDecay {@code v}: AdamW's decoupled decay (ADAMW only). */
        public Config withWeightDecay(double v) {
            return toBuilder().weightDecay(v).build();
        }

        /** The same with momentum {@code v}: SGD's Nesterov momentum (SGD_MOMENTUM only). */
        public Config withMomentum(double v) {
            return toBuilder().momentum(v).build();
        }

        /** The same with clipNorm {@code v}: clip the global gradient norm to this (0: no clipping). */
        public Config withClipNorm(double v) {
            return toBuilder().clipNorm(v).build();
        }

        /** The same with labelSmoothing {@code v}: label smoothing of the cross-entropy. */
        public Config withLabelSmoothing(double v) {
            return toBuilder().labelSmoothing(v).build();
        }

        /** The same with seed {@code v}: seeds dropout, per step. */
        public Config withSeed(long v) {
            return toBuilder().seed(v).build();
        }

        /** The same with AdamW's decay on parameters of rank >= 2 only ({@code true}) or on all ({@code false}). */
        public Config withDecayMatricesOnly(boolean only) {
            return toBuilder().decayMatricesOnly(only).build();
        }

        /**
         * The same with gradient accumulation: each batch given to {@link Trainer#step(Batch)} runs as
         * {@code k} micro-batches of consecutive rows (sizes differing by at most one), for the memory of
         * one micro-batch's activations.
         */
        public Config withMicroBatches(int k) {
            return toBuilder().microBatches(k).build();
        }

        /** The same with gradient checkpointing on or off ({@link Trainer#checkpointActivations}). */
        public Config withCheckpointActivations(boolean on) {
            return toBuilder().checkpointActivations(on).build();
        }

        /** A builder with every component unset (0, false or null): set each one the record needs. */
        public static Builder builder() {
            return new Builder();
        }

        /** A builder holding this configuration, to change some components and {@link Builder#build} a new one. */
        public Builder toBuilder() {
            Builder b = new Builder();
            b.optimizer = optimizer;
            b.learningRate = learningRate;
            b.beta1 = beta1;
            b.beta2 = beta2;
            b.weightDecay = weightDecay;
            b.momentum = momentum;
            b.clipNorm = clipNorm;
            b.labelSmoothing = labelSmoothing;
            b.seed = seed;
            b.decayMatricesOnly = decayMatricesOnly;
            b.microBatches = microBatches;
            b.checkpointActivations = checkpointActivations;
            return b;
        }

        /**
         * Sets components one at a time (each setter takes the value the record's component of that name documents)
         * and validates them together in {@link #build}, through the record's constructor.
         */
        public static final class Builder {
            private Optimizer optimizer;
            private ISchedule learningRate;
            private double beta1;
            private double beta2;
            private double weightDecay;
            private double momentum;
            private double clipNorm;
            private double labelSmoothing;
            private long seed;
            private boolean decayMatricesOnly;
            private int microBatches;
            private boolean checkpointActivations;

            private Builder() {
            }

            public Builder optimizer(Optimizer v) {
                optimizer = v;
                return this;
            }

            public Builder learningRate(ISchedule v) {
                learningRate = v;
                return this;
            }

            public Builder beta1(double v) {
                beta1 = v;
                return this;
            }

            public Builder beta2(double v) {
                beta2 = v;
                return this;
            }

            public Builder weightDecay(double v) {
                weightDecay = v;
                return this;
            }

            public Builder momentum(double v) {
                momentum = v;
                return this;
            }

            public Builder clipNorm(double v) {
                clipNorm = v;
                return this;
            }

            public Builder labelSmoothing(double v) {
                labelSmoothing = v;
                return this;
            }

            public Builder seed(long v) {
                seed = v;
                return this;
            }

            public Builder decayMatricesOnly(boolean v) {
                decayMatricesOnly = v;
                return this;
            }

            public Builder microBatches(int v) {
                microBatches = v;
                return this;
            }

            public Builder checkpointActivations(boolean v) {
                checkpointActivations = v;
                return this;
            }

            /** The configuration, validated as the record's constructor validates any. */
            public Config build() {
                return new Config(optimizer, learningRate, beta1, beta2, weightDecay, momentum, clipNorm,
                        labelSmoothing, seed, decayMatricesOnly, microBatches, checkpointActivations);
            }
        }

        IUpdater updater() {
            return switch (optimizer) {
                case ADAM, ADAMW -> Adam.builder().learningRateSchedule(learningRate).beta1(beta1).beta2(beta2)
                        .epsilon(1e-8).build();
                case SGD_MOMENTUM -> new Nesterovs(learningRate, momentum);
                case SGD -> new Sgd(learningRate);
            };
        }
    }

    /** What one update did. */
    public record StepResult(int step, double loss, double gradNorm, double learningRate, long tokens) {
    }

    private final TransformerModel model;
    private final Trainable trained; // the model itself, or adapters on it
    private final Config config;
    private final TransformerModel.EngineState engine; // the activations and gradients of this trainer's steps
    private final List<String> parameters;
    private final Map<String, INDArray> arrays; // the model's parameter arrays, updated in place
    private final WorkerShares<String> shares; // the parameters over the engine's workers (norm, accumulation)
    private final ParameterUpdater updater;
    private final GradientAccumulator accumulator;
    private int step;

    /** A trainer of every weight of {@code model}. */
    public Trainer(TransformerModel model, Config config) {
        this(new WholeModel(model), config);
    }

    /**
     * A trainer of {@code trained}: a {@code WholeModel} (every weight) or {@code LoraAdapters} (the adapters only,
     * the base frozen: only they have gradients and optimizer state).
     */
    public Trainer(Trainable trained, Config config) {
        this(trained, config, Parallel.shared().threads(), ParameterUpdater.BIG);
    }

    /**
     * A trainer whose update runs in {@code pieces} worker shares (tests take more than the workers) and updates
     * parameters of {@code big} elements or more in place.
     */
    Trainer(TransformerModel model, Config config, int pieces, int big) {
        this(new WholeModel(model), config, pieces, big);
    }

    /** As above, of {@code trained}. */
    Trainer(Trainable trained, Config config, int pieces, int big) {
        this.trained = trained;
        this.model = trained.model();
        this.config = config;
        if (!(config.labelSmoothing() >= 0 && config.labelSmoothing() < 1)) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + config.labelSmoothing());
        }
        this.engine = trained.newEngineState();
        this.arrays = new LinkedHashMap<>(trained.parameters());
        this.parameters = new ArrayList<>(arrays.keySet());
        this.shares = WorkerShares.pack(parameters, p -> arrays.get(p).length(), Parallel.shared().threads(),
                Parallel.shared());
        WeightDecay decay = config.weightDecay() > 0 ? new WeightDecay(config.weightDecay(), true) : null;
        this.updater = new ParameterUpdater(arrays, null, config.updater(), Parallel.shared(), pieces, big, decay,
                a -> !config.decayMatricesOnly() || a.rank() >= 2);
        this.accumulator = new GradientAccumulator(arrays, shares);
        checkpointActivations(config.checkpointActivations());
    }

    public TransformerModel model() {
        return model;
    }

    /**
     * Gradient checkpointing for this trainer's steps from now on ({@code on}) or not: each block keeps only its
     * input through the forward and runs its forward again just before its backward, so one block's activations
     * are held at a time instead of every block's, for about one more forward pass a step. The updates are the
     * same bit for bit. The config's {@code checkpointActivations} sets it when the trainer is made; this changes it.
     */
    public void checkpointActivations(boolean on) {
        engine.checkpointActivations(on);
    }

    public Config config() {
        return config;
    }

    /** Updates done so far (the next step's index). */
    public int stepCount() {
        return step;
    }

    /**
     * The loss and its gradients on one batch, computed with the current weights; nothing applied yet.
     *
     * @param loss      mean loss over the batch's non-padding target positions
     * @param gradients gradient of {@code loss} by parameter name (same shapes as the parameters)
     * @param tokens    non-padding target positions the mean is taken over
     */
    public record BatchGradients(double loss, Map<String, INDArray> gradients, long tokens) {
    }

    /**
     * One update on a batch: {@link #apply(BatchGradients) apply}({@link #gradients(Batch) gradients}(batch)).
     * With {@link Config#microBatches()} k &gt; 1 the batch's rows run as k micro-batches, as in
     * {@link #step(List)}. Throws {@link TrainingDivergedException} (weights untouched) on NaN or infinity.
     */
    public StepResult step(Batch batch) {
        return model.weightsLock().write(() -> update(compute(batch)));
    }

    /**
     * One update from several micro-batches (gradient accumulation): the update of one batch holding all
     * their rows, each padded to the longest. The loss is a mean over non-padding target tokens, so micro-batch
     * j's loss and gradient count with weight (its tokens) / (all tokens), not 1/k; clipping, the NaN check
     * and the updaters then see the accumulated gradient once. The reported loss and tokens are the whole's.
     * Micro-batches may differ in rows and length; only one micro-batch's activations are held at a time.
     * Each list element is one micro-batch ({@link Config#microBatches()} does not split them further).
     *
     * <p>Each micro-batch draws its own dropout masks (micro-batch 0 those of an unsplit step), so with dropout
     * the update equals the whole batch's in distribution rather than bit for bit. Nothing is carried from one
     * update to the next, so a checkpoint between updates resumes exactly. A NaN or infinity in any micro-batch
     * refuses the whole update: {@link TrainingDivergedException}, weights and optimizer state untouched.
     */
    public StepResult step(List<Batch> microBatches) {
        GradientAccumulator.check(microBatches);
        return model.weightsLock().write(() -> update(accumulate(microBatches)));
    }

    /**
     * The loss and gradients of a batch without changing anything, with this step's dropout masks
     * (from the seed and {@link #stepCount()}), accumulated over {@link Config#microBatches()} micro-batches
     * as {@link #step(Batch)} does. The caller owns the returned arrays.
     */
    public BatchGradients gradients(Batch batch) {
        return model.weightsLock().write(() -> {
            BatchGradients g = compute(batch);
            Map<String, INDArray> copies = new LinkedHashMap<>();
            g.gradients().forEach((k, v) -> copies.put(k, v.dup()));
            return new BatchGradients(g.loss(), copies, g.tokens());
        });
    }

    /**
     * Applies gradients as one update step: checks them, clips by the global norm, runs the updaters
     * and advances {@link #stepCount()}. Gradients may come from elsewhere (for example averaged over
     * workers); they must be finite and have one array per parameter, shaped like it. They may be changed
     * (clipping and the updater work in place on large ones). Throws {@link TrainingDivergedException} (weights
     * untouched) on NaN or infinity.
     */
    public StepResult apply(BatchGradients gradients) {
        for (String p : parameters) {
            INDArray g = gradients.gradients().get(p);
            long[] shape = arrays.get(p).shape();
            if (g == null || !Arrays.equals(g.shape(), shape)) {
                throw new IllegalArgumentException("Gradient of '" + p + "': expected shape "
                        + Arrays.toString(shape) + ", given "
                        + (g == null ? "none" : Arrays.toString(g.shape())));
            }
        }
        return model.weightsLock().write(() -> update(gradients));
    }

    /** A batch's loss and gradients: the engine's (views of its state's arrays), or accumulated over micro-batches. */
    private BatchGradients compute(Batch batch) {
        return config.microBatches() == 1 ? compute(batch, 0) : accumulate(GradientAccumulator.split(batch,
                config.microBatches()));
    }

    private BatchGradients accumulate(List<Batch> microBatches) {
        return of(accumulator.accumulate(microBatches, this::lossAndGradients, step));
    }

    private BatchGradients compute(Batch batch, int j) {
        return of(lossAndGradients(batch, j));
    }

    private static BatchGradients of(TransformerModel.LossAndGradients r) {
        return new BatchGradients(r.loss(), r.gradients(), r.tokens());
    }

    /** The engine's loss and gradients of micro-batch {@code j} of this step (views of its state's arrays). */
    private TransformerModel.LossAndGradients lossAndGradients(Batch batch, int j) {
        // Dropout masks depend on (seed, step, j) only, so a resumed run draws the same ones. Micro-batch j > 0
        // mixes j into the seed (an odd multiplier keeps the seeds of different j apart): its masks are its own.
        long seed = j == 0 ? config.seed() : config.seed() ^ (j * 0x9E3779B97F4A7C15L);
        return trained.lossAndGradients(engine, batch.source(), batch.input(), batch.target(),
                config.labelSmoothing(), true, new DropoutSeed(seed, step));
    }

    /** Checks, clips by the global norm and applies one step's gradients (see {@link ParameterUpdater}). */
    private StepResult update(BatchGradients g) {
        double value = g.loss();
        if (!Double.isFinite(value)) {
            throw new TrainingDivergedException("Training diverged at step " + step + ": the loss is " + value
                    + "; the weights are those after step " + (step - 1) + " (try a lower learning rate or clipping)");
        }
        double norm = GradientNorm.of(g.gradients(), parameters, shares, step);
        double lr = config.learningRate().valueAt(step, 0);
        updater.apply(g.gradients(), GradientNorm.clipScale(norm, config.clipNorm()), step, lr);
        return new StepResult(step++, value, norm, lr, g.tokens());
    }

    /**
     * Bytes of what this trainer's steps hold, by component.
     *
     * @param weights        the trained parameters (a LoRA trainer's: the adapters; the frozen base is not counted)
     * @param optimizerState the updater's state (Adam's m and v)
     * @param optimizerRows  the updater's flat copies of the small parameters and their gradients
     * @param engine         the engine's arrays: gradients, the activations the backward reads, scratch
     */
    public record Memory(long weights, long optimizerState, long optimizerRows, TransformerModel.EngineMemory engine) {
        /** What a step must hold: weights, gradients, optimizer state and the activations its backward reads. */
        public long required() {
            return weights + engine.gradients() + optimizerState + engine.activations();
        }

        /** Everything counted here. */
        public long total() {
            return weights + optimizerState + optimizerRows + engine.total();
        }
    }

    /**
     * Bytes of this trainer's arrays now, by component (after a step: everything a step of that batch shape keeps;
     * the activations are counted only without {@link #checkpointActivations checkpointing}, which frees them as it
     * goes). The process needs more: the JVM, ND4J and OpenBLAS (bench/realsize prints both).
     */
    public Memory memory() {
        long weights = arrays.values().stream().mapToLong(a -> a.length() * a.dataType().width()).sum();
        return new Memory(weights, updater.stateBytes(), updater.rowBytes(), engine.memory());
    }

    /** Mean loss on a batch without updating or dropout. */
    public double evaluateLoss(Batch batch) {
        return model.weightsLock().write(() -> trained.lossAndGradients(engine, batch.source(), batch.input(),
                batch.target(), config.labelSmoothing(), false, null).loss());
    }

    /**
     * The updater's state by parameter name, each in the layout of ND4J's updater for that parameter alone
     * ({@code [1, k N]}: Adam's m then v, Nesterov's v; none for SGD), in new arrays: saving them saves the
     * optimizer, and {@link #restore} takes them back.
     */
    public Map<String, INDArray> optimizerState() {
        return updater.state();
    }

    /** Continues from a saved step count and optimizer state (as {@link #optimizerState()} gave them). */
    public void restore(int stepCount, Map<String, INDArray> state) {
        updater.restore(state);
        this.step = stepCount;
    }
}
