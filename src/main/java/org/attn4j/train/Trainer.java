package org.attn4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.attn4j.data.Batch;
import org.attn4j.model.TransformerModel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
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
     */
    public record Config(Optimizer optimizer, ISchedule learningRate, double beta1, double beta2, double weightDecay,
            double momentum, double clipNorm, double labelSmoothing, long seed, boolean decayMatricesOnly,
            int microBatches) implements java.io.Serializable {
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
            return new Config(Optimizer.ADAM, learningRate, 0.9, 0.98, 0, 0, 1.0, 0, 0, false, 1);
        }

        /**
         * The same with update rule {@code v}; its own settings come after it ({@link #withWeightDecay} for ADAMW,
         * {@link #withMomentum} for SGD_MOMENTUM), and a weight decay or momentum the new rule has not got must be
         * set to 0 before.
         */
        public Config withOptimizer(Optimizer v) {
            return new Config(v, learningRate, beta1, beta2, weightDecay, momentum, clipNorm, labelSmoothing, seed,
                    decayMatricesOnly, microBatches);
        }

        /** The same with learningRate {@code v}: learning rate by step. */
        public Config withLearningRate(ISchedule v) {
            return new Config(optimizer, v, beta1, beta2, weightDecay, momentum, clipNorm, labelSmoothing, seed,
                    decayMatricesOnly, microBatches);
        }

        /** The same with beta1 {@code v}: Adam's first-moment decay. */
        public Config withBeta1(double v) {
            return new Config(optimizer, learningRate, v, beta2, weightDecay, momentum, clipNorm, labelSmoothing, seed,
                    decayMatricesOnly, microBatches);
        }

        /** The same with beta2 {@code v}: Adam's second-moment decay. */
        public Config withBeta2(double v) {
            return new Config(optimizer, learningRate, beta1, v, weightDecay, momentum, clipNorm, labelSmoothing, seed,
                    decayMatricesOnly, microBatches);
        }

        /** The same with weightDecay {@code v}: AdamW's decoupled decay (ADAMW only). */
        public Config withWeightDecay(double v) {
            return new Config(optimizer, learningRate, beta1, beta2, v, momentum, clipNorm, labelSmoothing, seed,
                    decayMatricesOnly, microBatches);
        }

        /** The same with momentum {@code v}: SGD's Nesterov momentum (SGD_MOMENTUM only). */
        public Config withMomentum(double v) {
            return new Config(optimizer, learningRate, beta1, beta2, weightDecay, v, clipNorm, labelSmoothing, seed,
                    decayMatricesOnly, microBatches);
        }

        /** The same with clipNorm {@code v}: clip the global gradient norm to this (0: no clipping). */
        public Config withClipNorm(double v) {
            return new Config(optimizer, learningRate, beta1, beta2, weightDecay, momentum, v, labelSmoothing, seed,
                    decayMatricesOnly, microBatches);
        }

        /** The same with labelSmoothing {@code v}: label smoothing of the cross-entropy. */
        public Config withLabelSmoothing(double v) {
            return new Config(optimizer, learningRate, beta1, beta2, weightDecay, momentum, clipNorm, v, seed,
                    decayMatricesOnly, microBatches);
        }

        /** The same with seed {@code v}: seeds dropout, per step. */
        public Config withSeed(long v) {
            return new Config(optimizer, learningRate, beta1, beta2, weightDecay, momentum, clipNorm, labelSmoothing, v,
                    decayMatricesOnly, microBatches);
        }

        /** The same with AdamW's decay on parameters of rank >= 2 only ({@code true}) or on all ({@code false}). */
        public Config withDecayMatricesOnly(boolean only) {
            return new Config(optimizer, learningRate, beta1, beta2, weightDecay, momentum, clipNorm, labelSmoothing, seed,
                    only, microBatches);
        }

        /**
         * The same with gradient accumulation: each batch given to {@link Trainer#step(Batch)} runs as
         * {@code k} micro-batches of consecutive rows (sizes differing by at most one), for the memory of
         * one micro-batch's activations.
         */
        public Config withMicroBatches(int k) {
            return new Config(optimizer, learningRate, beta1, beta2, weightDecay, momentum, clipNorm, labelSmoothing, seed,
                    decayMatricesOnly, k);
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
    private final Config config;
    private final TransformerModel.EngineState engine; // the activations and gradients of this trainer's steps
    private final List<String> parameters;
    private final Map<String, INDArray> arrays = new LinkedHashMap<>(); // the model's parameter arrays, updated in place
    private final Map<String, INDArray> updaterState = new LinkedHashMap<>();
    private final Map<String, GradientUpdater<?>> updaters = new LinkedHashMap<>();
    private final WeightDecay weightDecay;
    private List<List<String>> shares; // parameters per update worker, made on first use
    private Map<String, INDArray> sums; // accumulated gradients of micro-batches, made on first use
    private int step;

    public Trainer(TransformerModel model, Config config) {
        this.model = model;
        this.config = config;
        if (!(config.labelSmoothing() >= 0 && config.labelSmoothing() < 1)) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + config.labelSmoothing());
        }
        this.engine = model.newEngineState();
        this.parameters = new ArrayList<>(model.parameters().keySet());
        IUpdater updater = config.updater();
        for (String p : parameters) {
            INDArray param = model.parameters().get(p).getArr();
            arrays.put(p, param);
            long size = updater.stateSize(param.length());
            INDArray state = size == 0 ? null : Nd4j.zeros(param.dataType(), 1, size);
            updaterState.put(p, state);
            updaters.put(p, updater.instantiate(state, true));
        }
        this.weightDecay = config.weightDecay() > 0 ? new WeightDecay(config.weightDecay(), true) : null;
    }

    public TransformerModel model() {
        return model;
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
        return model.graphLock().write(() -> update(compute(batch)));
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
        checkMicroBatches(microBatches);
        return model.graphLock().write(() -> update(accumulate(microBatches)));
    }

    /**
     * The loss and gradients of a batch without changing anything, with this step's dropout masks
     * (from the seed and {@link #stepCount()}), accumulated over {@link Config#microBatches()} micro-batches
     * as {@link #step(Batch)} does. The caller owns the returned arrays.
     */
    public BatchGradients gradients(Batch batch) {
        return model.graphLock().write(() -> {
            BatchGradients g = compute(batch);
            Map<String, INDArray> copies = new LinkedHashMap<>();
            g.gradients().forEach((k, v) -> copies.put(k, v.dup()));
            return new BatchGradients(g.loss(), copies, g.tokens());
        });
    }

    /**
     * Applies gradients as one update step: checks them, clips by the global norm, runs the updaters
     * and advances {@link #stepCount()}. Gradients may come from elsewhere (for example averaged over
     * workers); they must be finite and have one array per parameter, shaped like it. They are clipped
     * and updated in place. Throws {@link TrainingDivergedException} (weights untouched) on NaN or infinity.
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
        return model.graphLock().write(() -> update(gradients));
    }

    /** A batch's loss and gradients: the engine's (views of its state's arrays), or accumulated over micro-batches. */
    private BatchGradients compute(Batch batch) {
        return config.microBatches() == 1 ? compute(batch, 0) : accumulate(split(batch, config.microBatches()));
    }

    /** The engine's loss and gradients of micro-batch {@code j} of this step (views of its state's arrays). */
    private BatchGradients compute(Batch batch, int j) {
        // Dropout masks depend on (seed, step, j) only, so a resumed run draws the same ones. Micro-batch j > 0
        // mixes j into the seed (an odd multiplier keeps the seeds of different j apart): its masks are its own.
        long seed = j == 0 ? config.seed() : config.seed() ^ (j * 0x9E3779B97F4A7C15L);
        TransformerModel.LossAndGradients r = model.lossAndGradients(engine, batch.source(), batch.input(), batch.target(),
                config.labelSmoothing(), true, new org.attn4j.kernels.DropoutSeed(seed, step));
        return new BatchGradients(r.loss(), r.gradients(), r.tokens());
    }

    /**
     * The whole's loss and gradient from micro-batches with n_j tokens, losses L_j and gradients g_j:
     * L = sum n_j L_j / N and g = sum n_j g_j / N with N = sum n_j (each L_j already a mean over its n_j), in
     * this trainer's own arrays. A micro-batch without tokens adds nothing (the engine gives it loss and gradient 0).
     */
    private BatchGradients accumulate(List<Batch> microBatches) {
        if (sums == null) {
            sums = new LinkedHashMap<>();
            arrays.forEach((p, a) -> sums.put(p, Nd4j.zeros(a.dataType(), a.shape())));
        }
        long tokens = 0;
        double lossSum = 0;
        for (int j = 0; j < microBatches.size(); j++) {
            BatchGradients g = compute(microBatches.get(j), j);
            if (!Double.isFinite(g.loss())) {
                throw new TrainingDivergedException("Training diverged at step " + step + ": the loss of micro-batch "
                        + j + " of " + microBatches.size() + " is " + g.loss() + "; the weights are those after step "
                        + (step - 1) + " (try a lower learning rate or clipping)");
            }
            boolean first = j == 0;
            double n = g.tokens();
            forEachShare(p -> {
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
        forEachShare(p -> sums.get(p).muli(inv));
        return new BatchGradients(lossSum * inv, sums, tokens);
    }

    private void checkMicroBatches(List<Batch> microBatches) {
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

    /** Runs {@code body} on every parameter, with the parameters shared out over the engine's workers. */
    private void forEachShare(java.util.function.Consumer<String> body) {
        org.attn4j.kernels.Parallel workers = org.attn4j.kernels.Parallel.shared();
        List<List<String>> parts = shares(workers.threads());
        RuntimeException[] failure = new RuntimeException[1];
        workers.forRange(parts.size(), (w0, w1) -> org.attn4j.kernels.Parallel.singleThreadedNd4j(() -> {
            try {
                for (int w = w0; w < w1; w++) {
                    parts.get(w).forEach(body);
                }
            } catch (RuntimeException e) {
                failure[0] = e;
            }
        }));
        if (failure[0] != null) {
            throw failure[0];
        }
    }

    /**
     * Checks, clips and applies one step's gradients. The gradients' norms are summed in Java (no ND4J op
     * each), each parameter's by one of the engine's workers; the updates run with the parameters shared out over the engine's workers, each running its
     * ND4J ops on one OpenMP thread (with more, OpenMP keeps spinning after each op on the cores the
     * engine's next pass needs).
     */
    private StepResult update(BatchGradients g) {
        double value = g.loss();
        if (!Double.isFinite(value)) {
            throw new TrainingDivergedException("Training diverged at step " + step + ": the loss is " + value
                    + "; the weights are those after step " + (step - 1) + " (try a lower learning rate or clipping)");
        }
        Map<String, INDArray> grads = g.gradients();
        Map<String, Double> squares = new java.util.concurrent.ConcurrentHashMap<>(); // each parameter's, by a worker
        forEachShare(p -> squares.put(p, sumOfSquares(grads.get(p))));
        double sumSquares = 0;
        for (String p : parameters) { // summed in parameter order, whatever the number of workers
            double n = squares.get(p);
            if (!Double.isFinite(n)) {
                throw new TrainingDivergedException("Training diverged at step " + step + ": the gradient of '" + p
                        + "' is not finite; the weights are those after step " + (step - 1));
            }
            sumSquares += n;
        }
        double norm = Math.sqrt(sumSquares);
        double scale = config.clipNorm() > 0 ? Math.min(1, config.clipNorm() / (norm + 1e-6)) : 1; // as torch's clip_grad_norm_
        double lr = config.learningRate().valueAt(step, 0);
        int at = step;
        forEachShare(p -> {
            INDArray grad = grads.get(p);
            if (scale < 1) {
                grad.muli(scale);
            }
            updaters.get(p).applyUpdater(grad, at, 0);
            INDArray param = arrays.get(p);
            if (weightDecay != null && (!config.decayMatricesOnly() || param.rank() >= 2)) {
                weightDecay.apply(param, grad, lr, at, 0);
            }
            param.subi(grad);
        });
        return new StepResult(step++, value, norm, lr, g.tokens());
    }

    /** The parameters in {@code n} lists of about equal total size (largest first, each to the smallest list). */
    private List<List<String>> shares(int n) {
        if (shares == null || shares.size() != n) {
            List<List<String>> lists = new ArrayList<>();
            long[] sizes = new long[n];
            for (int i = 0; i < n; i++) {
                lists.add(new ArrayList<>());
            }
            parameters.stream().sorted((a, b) -> Long.compare(arrays.get(b).length(), arrays.get(a).length()))
                    .forEach(p -> {
                        int least = 0;
                        for (int i = 1; i < n; i++) {
                            least = sizes[i] < sizes[least] ? i : least;
                        }
                        lists.get(least).add(p);
                        sizes[least] += arrays.get(p).length();
                    });
            shares = lists;
        }
        return shares;
    }

    /** Sum of the squares of {@code a}'s elements: read directly where it is a plain c-order array. */
    private static double sumOfSquares(INDArray a) {
        if (a.ordering() != 'c' || a.elementWiseStride() != 1 || a.isView()
                || (a.dataType() != org.nd4j.linalg.api.buffer.DataType.FLOAT
                        && a.dataType() != org.nd4j.linalg.api.buffer.DataType.DOUBLE)) {
            double n = a.norm2Number().doubleValue();
            return n * n;
        }
        int length = Math.toIntExact(a.length()), offset = Math.toIntExact(a.offset());
        double sum = 0;
        if (a.dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT) {
            java.nio.FloatBuffer b = a.data().asNioFloat();
            for (int i = 0; i < length; i++) {
                double v = b.get(offset + i);
                sum += v * v;
            }
        } else {
            java.nio.DoubleBuffer b = a.data().asNioDouble();
            for (int i = 0; i < length; i++) {
                double v = b.get(offset + i);
                sum += v * v;
            }
        }
        return sum;
    }

    /** Mean loss on a batch without updating or dropout. */
    public double evaluateLoss(Batch batch) {
        return model.graphLock().write(() -> model.lossAndGradients(engine, batch.source(), batch.input(),
                batch.target(), config.labelSmoothing(), false).loss());
    }

    /** The updaters' state arrays by parameter name (views: saving them saves the optimizer). */
    public Map<String, INDArray> optimizerState() {
        Map<String, INDArray> state = new LinkedHashMap<>();
        updaterState.forEach((k, v) -> {
            if (v != null) {
                state.put(k, v);
            }
        });
        return state;
    }

    /** Continues from a saved step count and optimizer state (as {@link #optimizerState()} gave them). */
    public void restore(int stepCount, Map<String, INDArray> state) {
        for (Map.Entry<String, INDArray> e : optimizerState().entrySet()) {
            INDArray saved = state.get(e.getKey());
            if (saved == null || saved.length() != e.getValue().length()) {
                throw new IllegalArgumentException("Optimizer state for '" + e.getKey() + "' is "
                        + (saved == null ? "missing" : "of length " + saved.length() + ", expected " + e.getValue().length()));
            }
            e.getValue().assign(saved.reshape(e.getValue().shape()));
        }
        this.step = stepCount;
    }
}
