package org.attn4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.attn4j.data.Batch;
import org.attn4j.model.Trainable;
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
    private final Trainable trained; // the model itself, or adapters on it
    private final Config config;
    private final TransformerModel.EngineState engine; // the activations and gradients of this trainer's steps
    private final List<String> parameters;
    private final Map<String, INDArray> arrays = new LinkedHashMap<>(); // the model's parameter arrays, updated in place
    // The update runs in chunks, each with one ND4J updater: a parameter of BIG elements or more is a chunk of
    // its own, updated in place; the smaller ones of each worker's share are copied side by side into a flat row
    // and updated as one chunk. ND4J runs each op at a fixed cost of tens of microseconds here, and an update op
    // per parameter cost the sequence example's 52 parameters about 1.5 ms a step (of 15); copying a large
    // parameter costs more than its ops. Adam, Nesterov and SGD act element by element, so the result is the
    // per-parameter updates' to the bit. The updater state of chunk c is [1, k n_c] at k chunkStart[c] in
    // flatState: its k state arrays (ND4J's layout), each of its n_c elements.
    static final int BIG = 8192;
    private final INDArray flatParams, flatGrads, flatState; // small parameters [1, S] twice; state [1, k T] or null
    private final org.attn4j.kernels.Buf flatParamsBuf, flatGradsBuf;
    private final List<List<String>> chunks = new ArrayList<>(); // each chunk's parameters, in order
    private final List<List<Integer>> shareChunks = new ArrayList<>(); // the chunks of each worker
    private final List<Integer> chunkStart = new ArrayList<>(); // chunk c's elements start at chunkStart[c] (of T)
    private final List<Integer> rowStart = new ArrayList<>(); // its place in the flat rows, or -1 (updated in place)
    private final List<GradientUpdater<?>> chunkUpdaters = new ArrayList<>();
    private final List<INDArray> chunkParams = new ArrayList<>(), chunkGrads = new ArrayList<>();
    private final Map<String, Integer> offsets = new LinkedHashMap<>(), chunkOf = new LinkedHashMap<>(); // of T
    private final Map<String, INDArray> decayedParams = new LinkedHashMap<>(), decayedGrads = new LinkedHashMap<>();
    private final int total, stateArrays;
    private final WeightDecay weightDecay;
    private List<List<String>> shares; // parameters per update worker, made on first use
    private Map<String, INDArray> sums; // accumulated gradients of micro-batches, made on first use
    private int step;

    /**
     * A trainer of {@code trained}: a model (every weight) or {@code LoraAdapters} (the adapters only, the base
     * frozen: only they have gradients and optimizer state).
     */
    public Trainer(Trainable trained, Config config) {
        this(trained, config, org.attn4j.kernels.Parallel.shared().threads(), BIG);
    }

    /**
     * A trainer whose update runs in {@code pieces} worker shares (tests take more than the workers) and updates
     * parameters of {@code big} elements or more in place.
     */
    Trainer(Trainable trained, Config config, int pieces, int big) {
        this.trained = trained;
        this.model = trained.model();
        this.config = config;
        if (!(config.labelSmoothing() >= 0 && config.labelSmoothing() < 1)) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + config.labelSmoothing());
        }
        this.engine = trained.newEngineState();
        arrays.putAll(trained.parameters());
        this.parameters = new ArrayList<>(arrays.keySet());
        IUpdater updater = config.updater();
        long length = 0, rows = 0;
        for (List<String> share : shares(Math.max(1, Math.min(pieces, parameters.size())))) {
            List<Integer> mine = new ArrayList<>();
            List<String> small = new ArrayList<>();
            for (String p : share) {
                if (arrays.get(p).length() >= big) {
                    mine.add(chunks.size());
                    chunks.add(List.of(p));
                } else {
                    small.add(p);
                }
            }
            if (!small.isEmpty()) {
                mine.add(chunks.size());
                chunks.add(small);
            }
            for (int c : mine) {
                boolean inPlace = chunks.get(c).size() == 1 && arrays.get(chunks.get(c).get(0)).length() >= big;
                chunkStart.add(Math.toIntExact(length));
                rowStart.add(inPlace ? -1 : Math.toIntExact(rows));
                for (String p : chunks.get(c)) {
                    offsets.put(p, Math.toIntExact(length));
                    chunkOf.put(p, c);
                    length += arrays.get(p).length();
                    rows += inPlace ? 0 : arrays.get(p).length();
                }
            }
            shareChunks.add(mine);
        }
        this.total = Math.toIntExact(length);
        chunkStart.add(total);
        org.nd4j.linalg.api.buffer.DataType type = model.dataType();
        flatParams = Nd4j.zeros(type, 1, Math.max(1, rows));
        flatGrads = Nd4j.zeros(type, 1, Math.max(1, rows));
        flatParamsBuf = org.attn4j.kernels.Buf.of(flatParams);
        flatGradsBuf = org.attn4j.kernels.Buf.of(flatGrads);
        long size = updater.stateSize(total);
        stateArrays = total == 0 ? 0 : (int) (size / total);
        flatState = size == 0 ? null : Nd4j.zeros(type, 1, size);
        for (int c = 0; c < chunks.size(); c++) {
            int c0 = chunkStart.get(c), n = chunkStart.get(c + 1) - c0, r0 = rowStart.get(c);
            chunkParams.add(r0 < 0 ? null : flatParams.get(NDArrayIndex.point(0), NDArrayIndex.interval(r0, r0 + n))
                    .reshape(1, n));
            chunkGrads.add(r0 < 0 ? null : flatGrads.get(NDArrayIndex.point(0), NDArrayIndex.interval(r0, r0 + n))
                    .reshape(1, n));
            INDArray state = flatState == null ? null : flatState.get(NDArrayIndex.point(0),
                    NDArrayIndex.interval((long) stateArrays * c0, (long) stateArrays * (c0 + n))).reshape(1,
                            (long) stateArrays * n);
            chunkUpdaters.add(updater.instantiate(state, true));
        }
        this.weightDecay = config.weightDecay() > 0 ? new WeightDecay(config.weightDecay(), true) : null;
        for (String p : parameters) {
            if (weightDecay != null && (!config.decayMatricesOnly() || arrays.get(p).rank() >= 2)) {
                boolean inPlace = rowStart.get(chunkOf.get(p)) < 0;
                decayedParams.put(p, inPlace ? arrays.get(p) : segment(flatParams, p, 0));
                decayedGrads.put(p, inPlace ? null : segment(flatGrads, p, 0)); // in place: the step's own gradient
            }
        }
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
        checkMicroBatches(microBatches);
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
        return config.microBatches() == 1 ? compute(batch, 0) : accumulate(split(batch, config.microBatches()));
    }

    /** The engine's loss and gradients of micro-batch {@code j} of this step (views of its state's arrays). */
    private BatchGradients compute(Batch batch, int j) {
        // Dropout masks depend on (seed, step, j) only, so a resumed run draws the same ones. Micro-batch j > 0
        // mixes j into the seed (an odd multiplier keeps the seeds of different j apart): its masks are its own.
        long seed = j == 0 ? config.seed() : config.seed() ^ (j * 0x9E3779B97F4A7C15L);
        TransformerModel.LossAndGradients r = trained.lossAndGradients(engine, batch.source(), batch.input(), batch.target(),
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
        List<List<String>> parts = shares(org.attn4j.kernels.Parallel.shared().threads());
        onWorkers(parts.size(), w -> parts.get(w).forEach(body));
    }

    /**
     * Runs {@code share(w)} for w in [0, n), the shares spread over the engine's workers, each running its ND4J ops
     * on one OpenMP thread; a failure reaches the caller.
     */
    private static void onWorkers(int n, java.util.function.IntConsumer share) {
        org.attn4j.kernels.Parallel.shared().forRange(n, (w0, w1) -> org.attn4j.kernels.Parallel.singleThreadedNd4j(() -> {
            for (int w = w0; w < w1; w++) {
                share.accept(w);
            }
        }));
    }

    /**
     * Checks, clips and applies one step's gradients. The gradients' norms are summed in Java (no ND4J op
     * each), each parameter's by one of the engine's workers; the updates run chunk by chunk on the engine's
     * workers, each running its ND4J ops on one OpenMP thread (with more, OpenMP keeps spinning after each op on
     * the cores the engine's next pass needs).
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
        org.attn4j.kernels.Buf fp = flatParamsBuf, fg = flatGradsBuf;
        forEachChunk(c -> {
            boolean inPlace = rowStart.get(c) < 0;
            List<String> ps = chunks.get(c);
            if (!inPlace) {
                for (String p : ps) { // into the flat rows
                    into(arrays.get(p), fp, p);
                    into(grads.get(p), fg, p);
                }
            }
            // In place, ND4J's updater walks the gradient in memory order against its row-major state: a gradient
            // in another layout (given to apply) is copied row-major first.
            INDArray cg = !inPlace ? chunkGrads.get(c) : plain(grads.get(ps.get(0))) ? grads.get(ps.get(0))
                    : grads.get(ps.get(0)).dup('c');
            INDArray cp = inPlace ? arrays.get(ps.get(0)) : chunkParams.get(c);
            if (scale < 1) {
                cg.muli(scale);
            }
            chunkUpdaters.get(c).applyUpdater(cg, at, 0);
            for (String p : ps) {
                INDArray param = decayedParams.get(p);
                if (param != null) {
                    weightDecay.apply(param, inPlace ? cg : decayedGrads.get(p), lr, at, 0);
                }
            }
            cp.subi(cg);
            if (!inPlace) {
                for (String p : ps) { // back into the model's arrays
                    INDArray param = arrays.get(p);
                    if (plain(param)) {
                        org.attn4j.kernels.RowMath.copy(fp, row(p), org.attn4j.kernels.Buf.of(param), 0,
                                (int) param.length());
                    } else {
                        param.assign(segment(flatParams, p, 0).reshape(param.shape()));
                    }
                }
            }
        });
        return new StepResult(step++, value, norm, lr, g.tokens());
    }

    /** Copies {@code a} (parameter {@code p}'s shape) into its place in a flat row. */
    private void into(INDArray a, org.attn4j.kernels.Buf flat, String p) {
        int off = row(p);
        if (plain(a)) {
            org.attn4j.kernels.RowMath.copy(org.attn4j.kernels.Buf.of(a), 0, flat, off, (int) a.length());
        } else {
            segment(flat.array, p, 0).assign(a.reshape(1, a.length()));
        }
    }

    /** A plain c-order array of the flat rows' type, copied element by element in Java. */
    private boolean plain(INDArray a) {
        return a.ordering() == 'c' && a.elementWiseStride() == 1 && a.dataType() == flatParams.dataType()
                && a.data().length() >= a.offset() + a.length();
    }

    /** Parameter p's place in the flat rows (a parameter of a chunk that is copied there). */
    private int row(String p) {
        int c = chunkOf.get(p);
        return rowStart.get(c) + offsets.get(p) - chunkStart.get(c);
    }

    /** Runs {@code body} on every chunk, each worker's chunks on that worker. */
    private void forEachChunk(java.util.function.IntConsumer body) {
        onWorkers(shareChunks.size(), w -> shareChunks.get(w).forEach(body::accept));
    }

    /**
     * Parameter p's elements in array {@code block} of a flat row (a view [1, N]): of the parameters and
     * gradients (block 0), or of the updater state, whose chunk c holds its k arrays one after the other.
     */
    private INDArray segment(INDArray flat, String p, int block) {
        int c = chunkOf.get(p), c0 = chunkStart.get(c), c1 = chunkStart.get(c + 1);
        long off = flat != flatState ? row(p) : (long) stateArrays * c0 + (long) block * (c1 - c0) + offsets.get(p) - c0;
        return flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(off, off + arrays.get(p).length())).reshape(1,
                arrays.get(p).length());
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
        return model.weightsLock().write(() -> trained.lossAndGradients(engine, batch.source(), batch.input(),
                batch.target(), config.labelSmoothing(), false, null).loss());
    }

    /**
     * The updater's state by parameter name, each in the layout of ND4J's updater for that parameter alone
     * ({@code [1, k N]}: Adam's m then v, Nesterov's v; none for SGD), in new arrays: saving them saves the
     * optimizer, and {@link #restore} takes them back.
     */
    public Map<String, INDArray> optimizerState() {
        Map<String, INDArray> state = new LinkedHashMap<>();
        if (flatState == null) {
            return state;
        }
        for (String p : parameters) {
            long n = arrays.get(p).length();
            INDArray own = Nd4j.create(flatState.dataType(), 1, stateArrays * n);
            for (int j = 0; j < stateArrays; j++) {
                own.get(NDArrayIndex.point(0), NDArrayIndex.interval(j * n, (j + 1) * n)).assign(
                        segment(flatState, p, j).reshape(n));
            }
            state.put(p, own);
        }
        return state;
    }

    /** Continues from a saved step count and optimizer state (as {@link #optimizerState()} gave them). */
    public void restore(int stepCount, Map<String, INDArray> state) {
        for (String p : flatState == null ? List.<String>of() : parameters) { // all checked before any is taken
            INDArray saved = state.get(p);
            long expected = stateArrays * arrays.get(p).length();
            if (saved == null || saved.length() != expected) {
                throw new IllegalArgumentException("Optimizer state for '" + p + "' is "
                        + (saved == null ? "missing" : "of length " + saved.length() + ", expected " + expected));
            }
        }
        for (String p : flatState == null ? List.<String>of() : parameters) {
            INDArray saved = state.get(p).reshape(state.get(p).length());
            long n = arrays.get(p).length();
            for (int j = 0; j < stateArrays; j++) {
                segment(flatState, p, j).assign(saved.get(NDArrayIndex.interval(j * n, (j + 1) * n)).reshape(1, n));
            }
        }
        this.step = stepCount;
    }
}
