package org.attn4j.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionOutput;
import org.attn4j.config.AttentionWeights;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.BlockOutput;
import org.attn4j.config.BlockWeights;
import org.attn4j.config.FeedForwardWeights;
import org.attn4j.config.LinearWeights;
import org.attn4j.config.NormWeights;
import org.attn4j.kernels.Alibi;
import org.attn4j.kernels.AttentionKernel;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.GradientShares;
import org.attn4j.kernels.LinearKernel;
import org.attn4j.kernels.LoraKernel;
import org.attn4j.kernels.MaskRows;
import org.attn4j.kernels.NormKernel;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RotaryKernel;
import org.attn4j.kernels.RowMath;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The engine's {@code nn.TransformerBlock}: forward, backward and (self-attention blocks) an incremental
 * step with a key/value cache, on the block's own parameter arrays (an update changes the block, and a
 * change to the block is seen here). Pre- or post-norm with LayerNorm or RMSNorm, any {@link Activation}, with or
 * without biases, rotary positions or none, grouped-query self-attention (kvHeads key/value heads, each read by
 * H / kvHeads query heads; the decoding cache holds only those), ALiBi biases and a sliding window, every
 * {@link AttentionMask} (key padding, boolean keep masks, additive masks, causal, and
 * their combinations, as the SameDiff graph applies them); a block with cross-attention also attends to a
 * memory (an encoder's output).
 *
 * <pre>
 *   each sublayer f with its norm:   pre-LN:  s' = s + f(norm(s))       post-LN:  s' = norm(s + f(s))
 *   self-attention:  s1 = self-attention sublayer (norm1) of x;                 y = feed-forward sublayer (norm2) of s1
 *   + cross-attn:    s1 = self-attention (norm1);  s2 = cross-attention over memory (norm2);  y = feed-forward (norm3)
 *   attention(a, kv) = out(softmax(q(a) k(kv)^T / sqrt(D) + mask) v(kv)), per head
 * </pre>
 * Each pass is a few parallel phases over rows (N = B T) or (batch, head) pairs, GEMMs on OpenBLAS and
 * row loops in Java, no allocation after the first call of a shape. Every activation (SwiGLU:
 * {@code silu(h W1) * (h Wgate)} before W2), rotary positions on the self-attention's queries and keys, and
 * while training seeded dropout ({@link DropoutSeed}) on the attention weights, the residual branches and the
 * feed-forward's hidden units, where PyTorch's layers drop.
 *
 * <p>Weights and state are separate: a {@link State} holds one caller's activations and parameter
 * gradients, a {@link Cache} one decoding's keys, values and step activations, so any number of threads
 * can run one block, each with its own. Outputs and gradients are views of the state's arrays,
 * overwritten by the state's next call. The state-less {@link #forward(INDArray, AttentionMask)},
 * {@link #backward(INDArray)} and {@link #gradients()} use one state of this object's own: one call at a
 * time (block-level training with {@code train.ParameterUpdater}).
 */
public final class BlockEngine {
    private final BlockConfig config;
    private final DataType type;
    private final Parallel parallel;
    private final boolean cross;
    private final LinearKernel q, k, v, out, cq, ck, cv, cout, linear1, linear2, gate; // gate: SwiGLU only
    private final List<String> linearGradients; // what the row shares of backwardWeights add up
    private final Activation act;
    private final double[] inverseFrequency; // rotary: the config's Rope frequencies, i < D/2; null without
    private final SublayerNorm norm1, norm2, norm3, ffNorm;
    private final int kvHeads; // self-attention's key/value heads: H, or fewer (grouped-query)
    private final AttentionKernel selfAttention, crossAttention; // cross: null without; ALiBi and window: self only
    /** Least elements per worker for a copy, and least rows per worker for a row phase. */
    private static final int COPY_GRAIN = 1 << 15, ROW_GRAIN = 4;

    private final Map<String, INDArray> parameters = new LinkedHashMap<>();
    private State own; // the state of the state-less calls, made on first use

    private final Map<String, LoraKernel.Part> adapters; // by weight name; null: every weight trains
    private final java.util.Set<String> frozen = new java.util.HashSet<>(); // LoRA: the linears' weights and biases

    private BlockEngine(BlockConfig config, BlockWeights weights, Parallel parallel,
            Map<String, LoraKernel.Part> adapters) {
        this.adapters = adapters;
        this.config = config;
        this.type = weights.selfNorm().weight().dataType(); // a norm's: a compact linear has no array
        this.parallel = parallel;
        this.cross = config.crossAttention();
        if (cross != (weights.crossAttention() != null)) {
            throw new IllegalArgumentException("a block " + (cross ? "with" : "without")
                    + " cross-attention given weights " + (cross ? "without" : "with") + " cross-attention");
        }
        AttentionWeights self = weights.selfAttention(), crs = weights.crossAttention();
        FeedForwardWeights ffs = weights.feedForward();
        q = lin(self.q());
        k = lin(self.k());
        v = lin(self.v());
        out = lin(self.out());
        cq = cross ? lin(crs.q()) : null;
        ck = cross ? lin(crs.k()) : null;
        cv = cross ? lin(crs.v()) : null;
        cout = cross ? lin(crs.out()) : null;
        linear1 = lin(ffs.linear1());
        linear2 = lin(ffs.linear2());
        act = config.activation();
        gate = act == Activation.SWIGLU ? lin(ffs.gate()) : null;
        inverseFrequency = config.rotary() ? config.rope().inverseFrequencies(config.dModel() / config.heads()) : null;
        norm1 = norm(weights.selfNorm());
        norm2 = norm(cross ? weights.crossNorm() : weights.feedForwardNorm());
        norm3 = cross ? norm(weights.feedForwardNorm()) : null;
        ffNorm = cross ? norm3 : norm2;
        kvHeads = config.kvHeads();
        int d = config.dModel() / config.heads();
        selfAttention = new AttentionKernel(config.heads(), kvHeads, d,
                config.alibi() ? Alibi.slopes(config.heads()) : null, config.window());
        crossAttention = cross ? new AttentionKernel(config.heads(), config.heads(), d, null, 0) : null;
        List<String> names = new ArrayList<>();
        for (LinearKernel l : new LinearKernel[] {linear2, linear1, gate, out, q, k, v, cout, cq, ck, cv}) {
            if (l != null) {
                names.addAll(l.gradientNames());
            }
        }
        linearGradients = List.copyOf(new java.util.LinkedHashSet<>(names)); // a fused LoRA path's A: once
    }

    /** The engine of a block of {@code config} on {@code weights} (its own arrays), on the shared {@link Parallel} pool. */
    public static BlockEngine of(BlockConfig config, BlockWeights weights) {
        return of(config, weights, Parallel.shared());
    }

    /** The engine of a block of {@code config} on {@code weights}, on {@code parallel}'s workers. */
    public static BlockEngine of(BlockConfig config, BlockWeights weights, Parallel parallel) {
        return new BlockEngine(config, weights, parallel, null);
    }

    /**
     * The engine's block for LoRA fine-tuning: every weight frozen (no gradients), and beside the weights named in
     * {@code adapters} their LoRA paths, whose A and B are this block's parameters and have its gradients.
     */
    public static BlockEngine adapted(BlockConfig config, BlockWeights weights, Parallel parallel,
            Map<String, LoraKernel.Part> adapters) {
        return new BlockEngine(config, weights, parallel, java.util.Objects.requireNonNull(adapters, "adapters"));
    }

    public BlockConfig config() {
        return config;
    }

    /** The workers this block's passes are split over. */
    Parallel parallel() {
        return parallel;
    }

    /** The block's parameter arrays by full name (shared, not copies). */
    public Map<String, INDArray> parameters() {
        return parameters;
    }

    /**
     * One caller's activations (kept from a forward for its backward) and parameter gradients. Not for
     * two threads at once; make one per thread with {@link #newState()}.
     */
    public final class State {
        private Activations a;
        private final Map<String, INDArray> gradients = new LinkedHashMap<>();
        private final Map<String, Buf> gradBufs = new java.util.HashMap<>();
        private GradientShares shares; // the workers' row shares of the weight gradients, made with the gradients

        /** Frees this state's activations and gradients now (it must not be used after). */
        public void close() {
            if (a != null) {
                a.close();
                a = null;
            }
            if (shares != null) {
                shares.close();
                shares = null;
            }
            gradients.values().forEach(g -> {
                if (g.closeable()) {
                    g.close();
                }
            });
            gradients.clear();
            gradBufs.clear();
        }

        /**
         * Frees the last forward's activations now and keeps the gradients: a model's activation checkpointing
         * ({@code ModelEngine}) holds one block's activations at a time. The next forward makes them again.
         */
        void releaseActivations() {
            if (a != null) {
                a.close();
                a = null;
            }
        }

        /** Gradients of this state's last backward by parameter name, same shapes as the parameters. */
        public Map<String, INDArray> gradients() {
            if (gradients.isEmpty()) { // made on first use: a state that only runs forward never needs them
                parameters.forEach((name, p) -> {
                    if (frozen.contains(name)) {
                        return; // no gradient array for a frozen weight: LoRA's memory is the adapters'
                    }
                    INDArray g = Nd4j.zeros(p.dataType(), p.shape());
                    gradients.put(name, g);
                    gradBufs.put(name, Buf.of(g));
                });
                Map<String, INDArray> linear = new LinkedHashMap<>();
                linearGradients.forEach(name -> linear.put(name, gradients.get(name)));
                shares = new GradientShares(linear, parallel.threads()); // scratch for the linear layers' only
            }
            return gradients;
        }

        /** The gradient with respect to the memory {@code [B, S, C]} of the last backward (decoder blocks). */
        public INDArray memoryGradient() {
            if (a == null || a.dmem == null) {
                return null;
            }
            return a.memStarts != null ? view(a.dmem, a.m, config.dModel()) : view(a.dmem, a.b, a.s, config.dModel());
        }

        Buf grad(String name) {
            return gradBufs.get(name); // backward has called gradients() first
        }
    }

    /** A new, empty state for forward and backward calls of one caller. */
    public State newState() {
        return new State();
    }

    private State own() {
        if (own == null) {
            own = new State();
        }
        return own;
    }

    /** Gradients of the last state-less {@link #backward(INDArray)} by parameter name. */
    public Map<String, INDArray> gradients() {
        return own().gradients();
    }

    /** {@link #forward(State, INDArray, AttentionMask)} on this object's own state. */
    public AttentionOutput<INDArray> forward(INDArray x, AttentionMask<INDArray> mask) {
        return forward(own(), x, mask);
    }

    /** {@link #backward(State, INDArray)} on this object's own state. */
    public INDArray backward(INDArray gradOutput) {
        return backward(own(), gradOutput);
    }

    /**
     * Forward of a self-attention block on {@code x [B, T, C]} under any {@link AttentionMask} (key padding
     * {@code [B, T]}, keep {@code [T, T]} or {@code [B, T, T]}, additive {@code [T, T]}, {@code [B, T, T]} or
     * {@code [B, H, T, T]}, causal); the activations are kept in {@code state} for
     * {@link #backward}. Output {@code [B, T, C]} and attention weights {@code [B, H, T, T]}, views of
     * the state's arrays.
     */
    public AttentionOutput<INDArray> forward(State state, INDArray x, AttentionMask<INDArray> mask) {
        if (cross) {
            throw new IllegalArgumentException("a block with cross-attention attends to a memory: call "
                    + "forward(state, x, mask, memory, memoryKeep)");
        }
        return forward(state, x, mask, null, null);
    }

    /** {@link #forward(State, INDArray, AttentionMask, INDArray, INDArray, DropoutSeed, int)} without dropout. */
    public AttentionOutput<INDArray> forward(State state, INDArray x, AttentionMask<INDArray> mask, INDArray memory,
            INDArray memoryKeep) {
        return forward(state, x, mask, memory, memoryKeep, null, 0);
    }

    /**
     * Forward on {@code x [B, T, C]}; for a decoder block also over {@code memory [B, S, C]} with its key
     * padding {@code memoryKeep [B, S]} (1 = real token; null: every position). Returns the output and
     * the self-attention weights {@code [B, H, T, T]} (before dropout, as PyTorch returns them);
     * {@link #crossWeights} gives the cross-attention's. With {@code dropout} (null: inference, nothing
     * dropped) the config's dropout is applied with the masks of that seed and this block's {@code layer}
     * (its index in the model, so no two blocks share masks), and the backward pass uses the same masks.
     */
    public AttentionOutput<INDArray> forward(State state, INDArray x, AttentionMask<INDArray> mask, INDArray memory,
            INDArray memoryKeep, DropoutSeed dropout, int layer) {
        return forward(state, x, mask, memory, memoryKeep == null ? AttentionMask.none()
                : AttentionMask.ofPadding(memoryKeep), dropout, layer, true);
    }

    /**
     * Forward of a decoder block on {@code x [B, T, C]} and {@code memory [B, S, C]} under any self-attention
     * mask and any cross-attention {@code memoryMask} (its parts {@code [B, S]}, {@code [T, S]},
     * {@code [B, T, S]}, {@code [B, H, T, S]}); without dropout. As {@code TransformerBlock.forward(x, memory,
     * selfMask, memoryMask)}.
     */
    public AttentionOutput<INDArray> forward(State state, INDArray x, INDArray memory, AttentionMask<INDArray> mask,
            AttentionMask<INDArray> memoryMask) {
        return forward(state, x, mask, memory, memoryMask, null, 0, true);
    }

    /**
     * {@code finiteChecks} false: inputs computed by the engine itself (a model's blocks), where a NaN is a
     * diverging model for the trainer to refuse, not a caller's bad input.
     */
    public AttentionOutput<INDArray> forward(State state, INDArray x, AttentionMask<INDArray> mask, INDArray memory,
            AttentionMask<INDArray> memoryMask, DropoutSeed dropout, int layer, boolean finiteChecks) {
        Shapes.check(x, mask, config, type);
        int b = (int) x.size(0), t = (int) x.size(1), s = 0;
        if (cross) {
            if (memory == null || memory.rank() != 3 || memory.size(0) != b || memory.size(2) != config.dModel()
                    || memory.size(1) == 0) {
                throw new IllegalArgumentException("memory: expected [B=" + b + ", S, dModel=" + config.dModel()
                        + "], given " + (memory == null ? "null" : Arrays.toString(memory.shape())));
            }
            s = (int) memory.size(1);
            Shapes.mask(memoryMask, b, config.heads(), t, s);
        }
        Activations a = state.a = fit(state.a, b, t, s);
        copy(x, a.xb);
        if (finiteChecks) {
            Shapes.finite("x", a.xb, x.shape());
        }
        // as the graph: a causal block is causal under any mask
        a.mask = MaskRows.of(mask, t, t, config.heads(), config.causal(), type);
        if (cross) {
            copy(memory, a.memb);
            if (finiteChecks) {
                Shapes.finite("memory", a.memb, memory.shape());
            }
            a.memMask = MaskRows.of(memoryMask, t, s, config.heads(), false, type);
        }
        run(a, dropout, layer);
        return new AttentionOutput<>(view(a.y, b, t, config.dModel()), view(a.p, b, config.heads(), t, t));
    }

    /**
     * A model's training pass on packed rows: each sequence's trailing padding (positions that are padding as
     * keys and whose outputs nothing reads: no loss, no later query) is left out of the rows, so the
     * products, norms and activations run on real tokens only. The gradients equal those of the padded rows
     * (whose contributions are exactly zero) up to rounding.
     *
     * @param starts    B + 1 offsets: sequence bi is rows [starts[bi], starts[bi + 1]), its first positions
     * @param rowPos    each row's position in its sequence
     * @param t         the padded length T, of the masks and the weights {@code [B, H, T, T]}
     * @param memStarts a decoder block's memory rows, as {@code starts} (null for a self-attention block)
     * @param s         the memory's padded length S
     */
    record Packing(int[] starts, int[] rowPos, int t, int[] memStarts, int s) {
    }

    /**
     * Forward on packed rows {@code x [N, C]} (and a decoder block's packed {@code memory [M, C]}): as
     * {@link #forward(State, INDArray, AttentionMask, INDArray, AttentionMask, DropoutSeed, int, boolean)} on the
     * padded rows, whose masks ({@code [B, ...]} over T and S) must exclude every left-out position as a key.
     * Returns the output rows {@code [N, C]} (a view); the state's attention weights are those of the real rows
     * only, so this is for training, not for reading weights. Inputs are the engine's own: no finite checks.
     */
    INDArray forward(State state, INDArray x, AttentionMask<INDArray> mask, INDArray memory,
            AttentionMask<INDArray> memoryMask, DropoutSeed dropout, int layer, Packing packing) {
        int b = packing.starts().length - 1, t = packing.t(), s = cross ? packing.s() : 0;
        Activations a = state.a = fit(state.a, b, t, s);
        a.n = packing.starts()[b];
        a.starts = packing.starts();
        a.rowPos = packing.rowPos();
        if (x.length() != (long) a.n * config.dModel()) {
            throw new IllegalArgumentException("packed rows: expected " + a.n + " x " + config.dModel() + ", given "
                    + Arrays.toString(x.shape()));
        }
        copy(x, a.xb);
        a.mask = MaskRows.of(mask, t, t, config.heads(), config.causal(), type);
        if (cross) {
            a.memStarts = packing.memStarts();
            a.m = a.memStarts[b];
            if (memory == null || memory.length() != (long) a.m * config.dModel()) {
                throw new IllegalArgumentException("packed memory: expected " + a.m + " x " + config.dModel()
                        + ", given " + (memory == null ? "null" : Arrays.toString(memory.shape())));
            }
            copy(memory, a.memb);
            a.memMask = MaskRows.of(memoryMask, t, s, config.heads(), false, type);
        }
        run(a, dropout, layer);
        return rows(a, a.y);
    }

    /** The rows in {@code buf}, {@link #rowShape} (a view). */
    private INDArray rows(Activations a, Buf buf) {
        return view(buf, rowShape(a));
    }

    /** The shape of the forward's rows: {@code [N, C]} after a packed forward, else {@code [B, T, C]}. */
    private long[] rowShape(Activations a) {
        return a.starts != null ? new long[] {a.n, config.dModel()} : new long[] {a.b, a.t, config.dModel()};
    }

    /** The key rows' starts of a packed forward's attention at {@code site} (the memory's for cross-attention). */
    private static int[] keyStarts(Activations a, int site) {
        return site == DropoutSeed.CROSS_WEIGHTS ? a.memStarts : a.starts;
    }

    /** Runs the forward phases on activations whose inputs and masks are in place, with these dropout masks. */
    private void run(Activations a, DropoutSeed dropout, int layer) {
        a.forwarded = true;
        a.dropout = dropout;
        a.layer = layer;
        a.rotaryTable(0);
        Blas.singleThreaded();
        forwardPhases(a);
    }

    /** The self-attention weights {@code [B, H, T, T]} of the state's last forward (a view). */
    public INDArray selfWeights(State state) {
        Activations a = state.a;
        return a == null ? null : view(a.p, a.b, config.heads(), a.t, a.t);
    }

    /** The cross-attention weights {@code [B, H, T, S]} of the state's last forward (decoder blocks). */
    public INDArray crossWeights(State state) {
        Activations a = state.a;
        return a == null || !cross ? null : view(a.p2, a.b, config.heads(), a.t, a.s);
    }

    /**
     * Inference into arrays of the caller's own (what {@code TransformerBlock.apply} returns): a forward on
     * a state no other call uses while this one runs (taken from the spare states, or new), the results
     * copied out of it, so concurrent calls share nothing they can see. {@code memory [B, S, C]} and
     * {@code memoryMask} are a decoder block's (null for a self-attention block); {@code finiteChecks} false
     * skips the scan of x and memory for NaN and infinity.
     */
    public BlockOutput<INDArray> apply(INDArray x, INDArray memory, AttentionMask<INDArray> mask,
            AttentionMask<INDArray> memoryMask, boolean finiteChecks) {
        if (cross != (memory != null)) {
            throw new IllegalArgumentException(cross
                    ? "a block with cross-attention attends to a memory: give memory [B, S, C]"
                    : "a self-attention block has no memory: give null");
        }
        State state = spareStates.pollFirst();
        if (state == null) {
            state = new State();
        }
        try {
            AttentionOutput<INDArray> out = forward(state, x, mask, memory,
                    memoryMask == null ? AttentionMask.none() : memoryMask, null, 0, finiteChecks);
            INDArray crossWeights = crossWeights(state);
            return new BlockOutput<>(out.output().dup('c'), out.weights().dup('c'),
                    crossWeights == null ? null : crossWeights.dup('c'));
        } finally {
            if (spareStates.size() < SPARE_STATES) {
                spareStates.offerFirst(state);
            } else {
                state.close();
            }
        }
    }

    /**
     * States {@link #apply} reuses, one per call running at once (up to {@link #SPARE_STATES} kept): fresh
     * activations on every call cost page faults (the C allocator maps large arrays fresh each time: the
     * standard block's apply took 38-46 ms instead of 27), and left to the garbage collector they pile up.
     * A kept state holds activations for the largest input it has seen.
     */
    private final java.util.concurrent.ConcurrentLinkedDeque<State> spareStates =
            new java.util.concurrent.ConcurrentLinkedDeque<>();
    private static final int SPARE_STATES = 4;

    /**
     * Gradients of the loss given its gradient {@code gradOutput [B, T, C]} with respect to the last
     * forward's output: the parameters' into the state's {@link State#gradients()}, the memory's into
     * {@link State#memoryGradient()} (decoder blocks), the input's returned {@code [B, T, C]}.
     */
    public INDArray backward(State state, INDArray gradOutput) {
        return backward(state, gradOutput, true);
    }

    /** {@code finiteChecks} false: a gradient computed by the engine itself (see {@link #forward}). */
    public INDArray backward(State state, INDArray gradOutput, boolean finiteChecks) {
        Activations a = state.a;
        if (a == null || !a.forwarded) {
            throw new IllegalStateException("backward needs a forward first");
        }
        Shapes.same("gradOutput", gradOutput, rowShape(a), type);
        a.ensureBackward();
        state.gradients();
        copy(gradOutput, a.dyb);
        if (finiteChecks) {
            Shapes.finite("gradOutput", a.dyb, gradOutput.shape());
        }
        Blas.singleThreaded();
        backwardPhases(state, a);
        return rows(a, a.dx);
    }

    /**
     * {@code to} = the elements of {@code from} in c order, by a Java copy: an ND4J op here would leave
     * OpenMP threads spinning on the cores the workers need next.
     */
    private void copy(INDArray from, Buf to) {
        Buf src = Buf.of(from, type);
        parallel.forRange(src.length, COPY_GRAIN, (i0, i1) -> RowMath.copy(src, i0, to, i0, i1 - i0));
    }

    // ---- sublayers: pre-LN s' = s + f(norm(s)), post-LN s' = norm(s + f(s)) -------------------------

    /** Rows [r0, r1) of a sublayer's input to its function: norm(s) for pre-LN (kept for backward), s itself for post-LN. */
    private Buf subIn(Sub u, SublayerNorm n, int r0, int r1) {
        if (config.normFirst()) {
            n.op().forward(u.s, u.a, u.xhat, u.rstd, r0, r1, config.dModel());
            return u.a;
        }
        return u.s;
    }

    /** Rows [r0, r1) of z = s + drop(f), and for post-LN the norm of it: the sublayer's output. */
    private void subOut(Activations a, Sub u, SublayerNorm n, int site, int r0, int r1) {
        int c = config.dModel();
        if (a.drops(site)) {
            DropoutSeed.apply(a.base(site), config.dropout(), u.z, r0 * c, r1 * c);
        }
        RowMath.add(u.s, u.z, u.z, r0, r1, c); // z holds f; z = s + f
        if (!config.normFirst()) {
            n.op().forward(u.z, u.out, u.xhat, u.rstd, r0, r1, c);
        }
    }

    /** Rows [r0, r1) of the gradient at the branch f: dz itself, or drop'(dz) into df where the branch drops. */
    private Buf subDf(Activations a, Sub u, Buf dz, int site, int r0, int r1) {
        if (!a.drops(site)) {
            return dz;
        }
        int c = config.dModel();
        RowMath.copy(dz, r0 * c, u.df, r0 * c, (r1 - r0) * c);
        DropoutSeed.apply(a.base(site), config.dropout(), u.df, r0 * c, r1 * c);
        return u.df;
    }

    /** Gradient at z (for pre-LN, dOut itself; for post-LN, norm'(dOut) into dz). */
    private Buf subDz(Sub u, SublayerNorm n, Buf dOut, int r0, int r1) {
        if (config.normFirst()) {
            return dOut;
        }
        n.op().backward(dOut, u.xhat, u.rstd, u.dz, null, r0, r1, config.dModel());
        return u.dz;
    }

    /** dS = dz + (pre-LN ? norm'(dFin) : dFin), the gradient at the sublayer's input stream. */
    private void subDs(Sub u, SublayerNorm n, Buf dz, Buf dFin, Buf ds, int r0, int r1) {
        if (config.normFirst()) {
            n.op().backward(dFin, u.xhat, u.rstd, ds, dz, r0, r1, config.dModel());
        } else {
            RowMath.add(dFin, dz, ds, r0, r1, config.dModel());
        }
    }

    /** The norm's parameter gradients for columns [c0, c1): from dFin (pre-LN) or dOut (post-LN). */
    private void subNormParams(State state, Sub u, SublayerNorm n, Buf dOut, Buf dFin, int c0, int c1, int rows) {
        n.op().backwardParams(config.normFirst() ? dFin : dOut, u.xhat, state.grad(n.weightName()),
                state.grad(n.biasName()), rows, config.dModel(), c0, c1);
    }

    // ---- forward -------------------------------------------------------------------------------

    private void forwardPhases(Activations s) {
        int c = config.dModel(), h = config.heads();
        // 1. Rows: a1 = in(x), q, k, v; q and k rotated to their positions (rotary).
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> {
            Buf in = subIn(s.self, norm1, r0, r1);
            q.forward(in, s.q, r0, r1);
            k.forward(in, s.k, r0, r1);
            v.forward(in, s.v, r0, r1);
            rotate(s, s.q, r0, r0, r1, false, c);
            rotate(s, s.k, r0, r0, r1, false, kvWidth());
        });
        if (cross) { // memory rows: its keys and values
            parallel.forRange(s.m, ROW_GRAIN, (r0, r1) -> {
                ck.forward(s.memb, s.ck, r0, r1);
                cv.forward(s.memb, s.cv, r0, r1);
            });
        }
        // 2. (batch, head) pairs: P = softmax(q k^T / sqrt(D) + mask), o = drop(P) v.
        AttentionKernel.Operands self = new AttentionKernel.Operands(s.q, s.k, s.v, s.p, s.pd, s.o, s.t, s.t, s.starts,
                s.starts);
        AttentionKernel.Drop selfDrop = s.drop(DropoutSeed.SELF_WEIGHTS);
        parallel.forRange(s.b * h, selfAttention.pairGrain(s.t, s.t), (p0, p1) -> selfAttention.forward(self, s.mask,
                selfDrop, p0, p1));
        if (cross) {
            // 3. Rows: s1 = self sublayer's output; cq of the cross sublayer's input.
            parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> selfOutCrossIn(s, r0, r1));
            // 4. Pairs: P2 = softmax(cq ck^T / sqrt(D) + memory mask), o2 = drop(P2) cv.
            AttentionKernel.Operands crs = new AttentionKernel.Operands(s.cq, s.ck, s.cv, s.p2, s.pd2, s.o2, s.t, s.s,
                    s.starts, s.memStarts);
            AttentionKernel.Drop crossDrop = s.drop(DropoutSeed.CROSS_WEIGHTS);
            parallel.forRange(s.b * h, crossAttention.pairGrain(s.t, s.s), (p0, p1) -> crossAttention.forward(crs,
                    s.memMask, crossDrop, p0, p1));
        }
        // 5. Rows: the last attention's out-projection and residual, then the feed-forward sublayer.
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> lastOutFeedForward(s, r0, r1));
    }

    /** Rows [r0, r1) of a decoder block's self sublayer's output, and cq of the cross sublayer's input. */
    private void selfOutCrossIn(Activations s, int r0, int r1) {
        out.forward(s.o, s.self.z, r0, r1);
        subOut(s, s.self, norm1, DropoutSeed.SELF_RESIDUAL, r0, r1);
        cq.forward(subIn(s.crs, norm2, r0, r1), s.cq, r0, r1);
    }

    /** Rows [r0, r1) of the last attention's out-projection and residual, then the feed-forward sublayer. */
    private void lastOutFeedForward(Activations s, int r0, int r1) {
        Sub last = cross ? s.crs : s.self;
        (cross ? cout : out).forward(cross ? s.o2 : s.o, last.z, r0, r1);
        subOut(s, last, cross ? norm2 : norm1, cross ? DropoutSeed.CROSS_RESIDUAL : DropoutSeed.SELF_RESIDUAL, r0, r1);
        feedForward(s, r0, r1);
    }

    /** Rows [r0, r1) of the feed-forward sublayer: y from its input stream. */
    private void feedForward(Activations s, int r0, int r1) {
        int f = config.ffDim();
        Buf in = subIn(s.ff, ffNorm, r0, r1);
        linear1.forward(in, s.h, r0, r1);
        if (gate != null) { // g = silu(h) hg, hg = in Wgate^T + bgate
            gate.forward(in, s.hg, r0, r1);
            RowMath.swiglu(s.h, s.hg, s.g, s.aux, r0 * f, r1 * f);
        } else {
            RowMath.activation(act, s.h, s.g, s.aux, r0 * f, r1 * f);
        }
        if (s.drops(DropoutSeed.FF_HIDDEN)) {
            DropoutSeed.apply(s.base(DropoutSeed.FF_HIDDEN), config.dropout(), s.g, r0 * f, r1 * f);
        }
        linear2.forward(s.g, s.ff.z, r0, r1);
        subOut(s, s.ff, ffNorm, DropoutSeed.FF_RESIDUAL, r0, r1);
    }

    /**
     * Rows [r0, r1) of queries or keys {@code x} ({@code width} wide: keys have kvHeads heads) rotated to their
     * positions (the state's rotary table), kept in x from row {@code xRow} on; {@code back}: a gradient's way
     * back. Nothing without rotary.
     */
    private void rotate(Activations a, Buf x, int xRow, int r0, int r1, boolean back, int width) {
        if (a.rotary == null) {
            return;
        }
        for (int r = r0; r < r1; r++) {
            a.rotary.rotate(x, (xRow + r - r0) * width, width, a.rowPos != null ? a.rowPos[r] : r % a.t, back);
        }
    }

    /** Width of the self-attention's keys and values: kvHeads * D. */
    private int kvWidth() {
        return kvHeads * (config.dModel() / config.heads());
    }

    // ---- backward ------------------------------------------------------------------------------

    private void backwardPhases(State state, Activations s) {
        int c = config.dModel(), f = config.ffDim(), h = config.heads();
        Sub att = cross ? s.crs : s.self; // the attention sublayer right before the feed-forward
        LinearKernel attOut = cross ? cout : out;
        SublayerNorm attNorm = cross ? norm2 : norm1;
        int attSite = cross ? DropoutSeed.CROSS_RESIDUAL : DropoutSeed.SELF_RESIDUAL;
        // 1. Rows: back through the feed-forward sublayer, then into the last attention's output.
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> {
            Buf dz = subDz(s.ff, ffNorm, s.dyb, r0, r1);
            Buf df = subDf(s, s.ff, dz, DropoutSeed.FF_RESIDUAL, r0, r1);
            linear2.backwardInput(df, s.dg, false, r0, r1);
            if (s.drops(DropoutSeed.FF_HIDDEN)) {
                DropoutSeed.apply(s.base(DropoutSeed.FF_HIDDEN), config.dropout(), s.dg, r0 * f, r1 * f);
            }
            if (gate != null) { // dg becomes dh; dhg = dg silu(h)
                RowMath.swigluBack(s.h, s.hg, s.aux, s.dg, s.dg, s.dhg, r0 * f, r1 * f);
            } else {
                RowMath.activationBack(act, s.h, s.aux, s.dg, s.dg, r0 * f, r1 * f); // dg becomes dh
            }
            linear1.backwardInput(s.dg, s.ff.dfin, false, r0, r1);
            if (gate != null) {
                gate.backwardInput(s.dhg, s.ff.dfin, true, r0, r1);
            }
            subDs(s.ff, ffNorm, dz, s.ff.dfin, att.dOut, r0, r1); // gradient at the feed-forward's input stream
            Buf dza = subDf(s, att, subDz(att, attNorm, att.dOut, r0, r1), attSite, r0, r1);
            attOut.backwardInput(dza, cross ? s.do2 : s.dout, false, r0, r1);
        });
        if (cross) {
            // 2. Pairs: back through cross-attention into dcq, dck, dcv.
            AttentionKernel.Operands crs = new AttentionKernel.Operands(s.cq, s.ck, s.cv, s.p2, s.pd2, s.o2, s.t, s.s,
                    s.starts, s.memStarts);
            AttentionKernel.Gradients dCrs = new AttentionKernel.Gradients(s.do2, s.dp2, s.dcq, s.dck, s.dcv);
            AttentionKernel.Drop crossDrop = s.drop(DropoutSeed.CROSS_WEIGHTS);
            parallel.forRange(s.b * h, crossAttention.pairGrain(s.t, s.s), (p0, p1) -> crossAttention.backward(crs, dCrs,
                    crossDrop, p0, p1));
            // 3. Rows: gradient at the cross sublayer's input stream (= the self sublayer's output), then into o.
            parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> {
                Buf dz = config.normFirst() ? s.crs.dOut : s.crs.dz;
                cq.backwardInput(s.dcq, s.crs.dfin, false, r0, r1);
                subDs(s.crs, norm2, dz, s.crs.dfin, s.self.dOut, r0, r1);
                Buf df1 = subDf(s, s.self, subDz(s.self, norm1, s.self.dOut, r0, r1), DropoutSeed.SELF_RESIDUAL, r0, r1);
                out.backwardInput(df1, s.dout, false, r0, r1);
            });
            // Memory rows: dmem = dck Wk + dcv Wv.
            parallel.forRange(s.m, ROW_GRAIN, (r0, r1) -> {
                ck.backwardInput(s.dck, s.dmem, false, r0, r1);
                cv.backwardInput(s.dcv, s.dmem, true, r0, r1);
            });
        }
        // 4. Pairs: back through self-attention into dq, dk, dv.
        AttentionKernel.Operands self = new AttentionKernel.Operands(s.q, s.k, s.v, s.p, s.pd, s.o, s.t, s.t, s.starts,
                s.starts);
        AttentionKernel.Gradients dSelf = new AttentionKernel.Gradients(s.dout, s.dp, s.dq, s.dk, s.dv);
        AttentionKernel.Drop selfDrop = s.drop(DropoutSeed.SELF_WEIGHTS);
        parallel.forRange(s.b * kvHeads, selfAttention.pairGrain(s.t, s.t), (p0, p1) -> selfAttention.backward(self,
                dSelf, selfDrop, p0, p1));
        // 5. Rows: dq and dk rotated back (rotary); dfin = dq Wq + dk Wk + dv Wv; dx = gradient at the block's input.
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> {
            rotate(s, s.dq, r0, r0, r1, true, c);
            rotate(s, s.dk, r0, r0, r1, true, kvWidth());
            q.backwardInput(s.dq, s.self.dfin, false, r0, r1);
            k.backwardInput(s.dk, s.self.dfin, true, r0, r1);
            v.backwardInput(s.dv, s.self.dfin, true, r0, r1);
            Buf dz1 = config.normFirst() ? s.self.dOut : s.self.dz;
            subDs(s.self, norm1, dz1, s.self.dfin, s.dx, r0, r1);
        });
        weightGradients(state, s); // 6.
    }

    /** Phase 6: parameter gradients, each worker a share of every weight's rows and every bias's columns. */
    private void weightGradients(State state, Activations s) {
        int c = config.dModel();
        Buf dfFf = branchGradient(s, s.ff, config.normFirst() ? s.dyb : s.ff.dz, DropoutSeed.FF_RESIDUAL);
        Buf dfSelf = branchGradient(s, s.self, config.normFirst() ? s.self.dOut : s.self.dz, DropoutSeed.SELF_RESIDUAL);
        Buf dfCross = cross ? branchGradient(s, s.crs, config.normFirst() ? s.crs.dOut : s.crs.dz,
                DropoutSeed.CROSS_RESIDUAL) : null;
        Buf in1 = config.normFirst() ? s.self.a : s.self.s, inFf = config.normFirst() ? s.ff.a : s.ff.s;
        Buf inCross = cross ? (config.normFirst() ? s.crs.a : s.crs.s) : null;
        int parts = parallel.threads(), memRows = s.m;
        parallel.forRange(parts, (w0, w1) -> {
            for (int w = w0; w < w1; w++) {
                linear2.backwardWeights(state.shares, dfFf, s.g, s.n, w);
                linear1.backwardWeights(state.shares, s.dg, inFf, s.n, w);
                if (gate != null) {
                    gate.backwardWeights(state.shares, s.dhg, inFf, s.n, w);
                }
                out.backwardWeights(state.shares, dfSelf, s.o, s.n, w);
                q.backwardWeights(state.shares, s.dq, in1, s.n, w);
                k.backwardWeights(state.shares, s.dk, in1, s.n, w);
                v.backwardWeights(state.shares, s.dv, in1, s.n, w);
                int c0 = Parallel.split(c, parts, w), c1 = Parallel.split(c, parts, w + 1);
                subNormParams(state, s.self, norm1, s.self.dOut, s.self.dfin, c0, c1, s.n);
                subNormParams(state, s.ff, ffNorm, s.dyb, s.ff.dfin, c0, c1, s.n);
                if (cross) {
                    subNormParams(state, s.crs, norm2, s.crs.dOut, s.crs.dfin, c0, c1, s.n);
                    cout.backwardWeights(state.shares, dfCross, s.o2, s.n, w);
                    cq.backwardWeights(state.shares, s.dcq, inCross, s.n, w);
                    ck.backwardWeights(state.shares, s.dck, s.memb, memRows, w);
                    cv.backwardWeights(state.shares, s.dcv, s.memb, memRows, w);
                }
            }
        });
        state.shares.reduce(linearGradients, parallel);
    }

    /** The gradient at a sublayer's branch f that {@link #subDf} left: df where the branch drops, else dz. */
    private static Buf branchGradient(Activations a, Sub u, Buf dz, int site) {
        return a.drops(site) ? u.df : dz;
    }

    /**
     * This block's self-attention keys and values for incremental decoding: rows {@code [B, capacity, KV]}
     * (KV = kvHeads D; key/value head j in columns [j D, (j + 1) D)), of which the first {@link #stored()} per batch
     * row are filled; with a sliding window, only the last positions are kept.
     */
    public final class Cache {
        final int batch, limit;
        int capacity, length; // length: positions held per row (after a window's eviction, the last ones)
        int evicted; // positions per row dropped from the front (sliding window): length() = evicted + length
        Buf keys, values;
        Buf scores; // [B, H, Tnew, length + Tnew], grown on demand
        Activations acts; // the last step's, this decoding's own
        int memoryLength; // S: a decoder block's memory positions per row (0 for a self-attention block)
        Buf memoryKeys, memoryValues, memoryKeep; // [B, S, C] each, computed once; keep [B, S] or null

        /** The memory's key padding for {@code t} new queries. */
        MaskRows memoryMask(int t) {
            return MaskRows.padding(memoryKeep, t, memoryLength, config.heads(), false);
        }

        private Cache(int batch, int limit) {
            this.batch = batch;
            this.limit = limit;
            allocate(Math.min(limit, 64));
        }

        /** The memory's keys and values through the cross-attention's projections, once for the whole decoding. */
        private void attendTo(INDArray memory, INDArray keep) {
            int c = config.dModel();
            memoryLength = (int) memory.size(1);
            Buf m = Buf.of(memory, type);
            Shapes.finite("memory", m, memory.shape());
            memoryKeys = Buf.of(Nd4j.create(type, (long) batch * memoryLength, c));
            memoryValues = Buf.of(Nd4j.create(type, (long) batch * memoryLength, c));
            parallel.forRange(batch * memoryLength, ROW_GRAIN, (r0, r1) -> {
                ck.forward(m, memoryKeys, r0, r1);
                cv.forward(m, memoryValues, r0, r1);
            });
            memoryKeep = keep == null ? null : Buf.of(keep.dup('c').castTo(type));
        }

        /** New arrays of {@code newCapacity} positions per row, holding row {@code rows[i]}'s cache as row i. */
        private void allocate(int newCapacity, int[] rows) {
            Buf k = Buf.of(Nd4j.create(type, (long) rows.length * newCapacity, kvWidth()));
            Buf v = Buf.of(Nd4j.create(type, (long) rows.length * newCapacity, kvWidth()));
            int c = kvWidth();
            for (int i = 0; i < rows.length && length > 0; i++) {
                RowMath.copy(keys, rows[i] * capacity * c, k, i * newCapacity * c, length * c);
                RowMath.copy(values, rows[i] * capacity * c, v, i * newCapacity * c, length * c);
            }
            if (keys != null) {
                keys.close();
                values.close();
            }
            keys = k;
            values = v;
            capacity = newCapacity;
        }

        /** Frees this cache's arrays now: the decoding is over. */
        public void close() {
            for (Buf b : new Buf[] {keys, values, scores, memoryKeys, memoryValues, memoryKeep}) {
                if (b != null) {
                    b.close();
                }
            }
            if (acts != null) {
                acts.close();
            }
        }

        private void allocate(int newCapacity) {
            allocate(newCapacity, java.util.stream.IntStream.range(0, batch).toArray());
        }

        /** Room for {@code total} positions per row, doubling the arrays when needed. */
        void ensure(int total) {
            if (total > capacity) {
                allocate((int) Math.min(limit, grow(total, capacity)));
            }
        }

        /** Positions decoded per batch row (the next token stands at this position). */
        public int length() {
            return evicted + length;
        }

        /** Keys (and values) held per batch row: length() unless a sliding window dropped the oldest. */
        public int stored() {
            return length;
        }

        /** Elements of the key and value arrays: 2 batch capacity kvHeads D (grouped-query: H / kvHeads times less). */
        public long elements() {
            return 2L * batch * capacity * kvWidth();
        }

        /**
         * Keeps only the last window - 1 positions of each row, all the next query can see (itself is the
         * window's last): a sliding-window decoding holds at most window keys whatever its length.
         */
        void evict() {
            int keep = config.window() - 1;
            if (config.window() == 0 || length <= keep) {
                return;
            }
            int c = kvWidth(), drop = length - keep;
            for (int bi = 0; bi < batch; bi++) {
                int row = bi * capacity * c;
                for (int i = 0; i < keep * c; i++) { // ascending: the source lies after the target
                    keys.put(row + i, keys.get(row + (drop * c) + i));
                    values.put(row + i, values.get(row + (drop * c) + i));
                }
            }
            evicted += drop;
            length = keep;
        }

        /** Keeps batch rows {@code rows} (repeats allowed), in that order: beam search's reordering. */
        void select(int[] rows) {
            allocate(capacity, rows);
            if (memoryKeys != null) {
                memoryKeys = pick(memoryKeys, rows, memoryLength * config.dModel());
                memoryValues = pick(memoryValues, rows, memoryLength * config.dModel());
                memoryKeep = memoryKeep == null ? null : pick(memoryKeep, rows, memoryLength);
            }
        }

        /** Rows {@code rows} of {@code from} in a new array; {@code from} is freed. */
        private Buf pick(Buf from, int[] rows, int rowLength) {
            Buf to = Buf.of(Nd4j.create(type, (long) rows.length * rowLength));
            for (int i = 0; i < rows.length; i++) {
                RowMath.copy(from, rows[i] * rowLength, to, i * rowLength, rowLength);
            }
            from.close();
            return to;
        }
    }

    /** An empty cache for {@code batch} sequences of at most {@code capacity} positions (grown as needed). */
    public Cache newCache(int batch, int capacity) {
        if (cross) {
            throw new IllegalArgumentException("a cross-attention block's cache needs the memory: "
                    + "newCache(capacity, memory, memoryKeep)");
        }
        return checkedCache(batch, capacity);
    }

    /**
     * An empty cache of a decoder block for the sequences attending to {@code memory [B, S, C]} with its
     * key padding {@code memoryKeep [B, S]} (1 = real; null: every position): the memory's keys and values
     * are computed here, once.
     */
    public Cache newCache(int capacity, INDArray memory, INDArray memoryKeep) {
        if (!cross) {
            throw new IllegalArgumentException("a self-attention block has no memory: newCache(batch, capacity)");
        }
        if (memory == null || memory.rank() != 3 || memory.size(2) != config.dModel() || memory.size(1) == 0) {
            throw new IllegalArgumentException("memory: expected [B, S, dModel=" + config.dModel() + "], given "
                    + (memory == null ? "null" : Arrays.toString(memory.shape())));
        }
        if (memoryKeep != null) {
            Shapes.same("memory padding (1 = real key)", memoryKeep, new long[] {memory.size(0), memory.size(1)}, null);
        }
        Cache cache = checkedCache((int) memory.size(0), capacity);
        cache.attendTo(memory, memoryKeep);
        return cache;
    }

    private Cache checkedCache(int batch, int capacity) {
        if (batch < 1 || capacity < 1) {
            throw new IllegalArgumentException("cache: batch and capacity must be positive, given " + batch + " and "
                    + capacity);
        }
        return new Cache(batch, capacity);
    }

    /**
     * Incremental inference: the new tokens {@code x [B, Tnew, C]} attend to the cached positions and to
     * each other (causally if the block is causal); their keys and values are appended to {@code cache}.
     * Returns the output {@code [B, Tnew, C]}, a view of the cache's arrays until its next step.
     */
    public INDArray step(INDArray x, Cache cache) {
        Shapes.check(x, AttentionMask.none(), config, type);
        int b = (int) x.size(0), t = (int) x.size(1);
        if (b != cache.batch || cache.length() + t > cache.limit) {
            throw new IllegalArgumentException("step: the cache holds " + cache.batch + " rows of " + cache.length()
                    + " of " + cache.limit + " positions; given x " + Arrays.toString(x.shape()));
        }
        cache.ensure(cache.length + t);
        Activations s = cache.acts = fit(cache.acts, b, t, cache.memoryLength);
        s.dropout = null; // inference drops nothing
        s.rotaryTable(cache.length());
        copy(x, s.xb);
        Shapes.finite("x", s.xb, x.shape());
        int total = cache.length + t, heads = config.heads();
        long need = (long) b * heads * t * total;
        if (cache.scores == null || cache.scores.length < need) {
            Buf old = cache.scores;
            cache.scores = Buf.of(Nd4j.create(type, grow(need, old == null ? 0 : old.length)));
            if (old != null) {
                old.close();
            }
        }
        Blas.singleThreaded();
        stepPhases(s, cache, total);
        cache.length = total;
        cache.evict();
        return view(s.y, b, t, config.dModel());
    }

    private void stepPhases(Activations s, Cache cache, int total) {
        int c = config.dModel(), t = s.t, past = cache.length;
        // 1. Rows of the new tokens: the sublayer's input, q, and k and v appended to the cache after each row's past.
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> {
            Buf in = subIn(s.self, norm1, r0, r1);
            q.forward(in, s.q, r0, r1);
            rotate(s, s.q, r0, r0, r1, false, c);
            for (int r = r0; r < r1; ) { // one GEMM per batch row's run of new tokens in [r0, r1)
                int bi = r / t, end = Math.min(r1, (bi + 1) * t), at = bi * cache.capacity + past + (r - bi * t);
                k.project(in, r, end - r, cache.keys, at);
                v.project(in, r, end - r, cache.values, at);
                rotate(s, cache.keys, at, r, end, false, kvWidth()); // keys are cached rotated
                r = end;
            }
        });
        // 2. Pairs: the new queries against every cached key.
        int h = config.heads();
        MaskRows mask = MaskRows.padding(null, t, total, h, config.causal()); // query i stands at past + i
        AttentionKernel.Cached cached = new AttentionKernel.Cached(cache.keys, cache.values, cache.capacity,
                cache.scores);
        parallel.forRange(s.b * h, selfAttention.pairGrain(t, total), (p0, p1) -> selfAttention.forwardCached(s.q,
                cached, s.o, t, total, mask, p0, p1));
        if (cross) {
            // 3. Rows: the self sublayer's output; cq of the cross sublayer's input.
            parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> selfOutCrossIn(s, r0, r1));
            // 4. Pairs: the new queries against the memory's keys and values.
            AttentionKernel.Operands crs = new AttentionKernel.Operands(s.cq, cache.memoryKeys, cache.memoryValues, s.p2,
                    null, s.o2, t, cache.memoryLength);
            MaskRows memoryMask = cache.memoryMask(t);
            parallel.forRange(s.b * h, crossAttention.pairGrain(t, cache.memoryLength), (p0, p1) -> crossAttention
                    .forward(crs, memoryMask, AttentionKernel.Drop.NONE, p0, p1));
        }
        // 5. Rows: the last attention's out-projection and residual, then the feed-forward sublayer.
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> lastOutFeedForward(s, r0, r1));
    }

    // ---- parameters ----------------------------------------------------------------------------

    /** A projection's arrays (the layer's own, shared), recorded under their parameter names. */
    private LinearKernel lin(LinearWeights l) {
        if (l.weight() != null) { // a compact weight (inference only) is no parameter
            parameters.put(l.name() + ".weight", l.weight());
        }
        if (l.bias() != null) {
            parameters.put(l.name() + ".bias", l.bias());
        }
        LinearKernel kernel = LinearKernel.of(l);
        if (adapters == null) {
            return kernel;
        }
        frozen.add(l.name() + ".weight");
        frozen.add(l.name() + ".bias");
        LoraKernel.Part p = adapters.get(l.name() + ".weight");
        if (p != null) {
            parameters.put(p.kernel().nameA(), p.kernel().a().array);
            parameters.put(p.kernel().nameB(), p.kernel().b().array);
        }
        return kernel.adapted(p == null ? null : p.kernel(), p == null ? 0 : p.index());
    }

    /** A norm's arrays (RMSNorm: no bias), recorded under their parameter names. */
    private SublayerNorm norm(NormWeights n) {
        INDArray gamma = n.weight(), beta = n.bias();
        parameters.put(n.name() + ".weight", gamma);
        if (beta != null) {
            parameters.put(n.name() + ".bias", beta);
        }
        return new SublayerNorm(new NormKernel(Buf.of(gamma), beta == null ? null : Buf.of(beta), n.eps()),
                n.name() + ".weight", beta == null ? null : n.name() + ".bias");
    }

    /** A norm's kernel and the names of its gradients (bias null: RMSNorm). */
    private record SublayerNorm(NormKernel op, String weightName, String biasName) {
    }

    /**
     * One sublayer's rows [N, C]: its input stream {@code s}, the function's input {@code a} (= norm(s),
     * pre-LN), the norm's xhat and rstd, {@code z} = s + f (first f itself), the output {@code out} (= z
     * pre-LN, norm(z) post-LN); backward: the gradient at the output {@code dOut}, at z {@code dz}
     * (post-LN), at the branch f where it drops {@code df}, at the function's input {@code dfin}.
     */
    private final class Sub {
        Buf s, a, xhat, rstd, z, out, dOut, dz, df, dfin;
    }

    /**
     * The activations of one call, in flat arrays with room for {@code rowCap} rows, {@code pairCap} self
     * scores, {@code memCap} memory rows and {@code crossCap} cross scores: rows [N, C] or [N, F], scores
     * [B, H, T, T] and [B, H, T, S]. Reused while a new shape fits, so decoding (T = 1, then the prompt's T)
     * and variable batches allocate rarely; the backward pass's arrays are made on its first call.
     */
    private final class Activations {
        private final java.util.List<Buf> owned = new java.util.ArrayList<>(); // every array made here, to free
        final int rowCap, memCap;
        final long pairCap, crossCap;
        int b, t, s, n, m; // n query rows (B T, or fewer when packed), m memory rows (B S, or fewer)
        int[] starts, memStarts, rowPos; // packed rows (null: [B, T] and [B, S]): see Packing
        final Sub self = new Sub(), crs, ff = new Sub();
        final Buf xb, q, k, v, p, pd, o, cq, ck, cv, p2, pd2, o2, memb, h, hg, g, aux, y; // pd, pd2: dropped weights; hg: SwiGLU's gate branch
        Buf dyb, dg, dhg, dout, dp, dq, dk, dv, dx, do2, dp2, dcq, dck, dcv, dmem;
        boolean forwarded;
        MaskRows mask, memMask; // the self-attention's and the cross-attention's
        DropoutSeed dropout; // this call's masks, or null: nothing dropped
        int layer;
        final RotaryKernel rotary = inverseFrequency == null ? null : new RotaryKernel(inverseFrequency); // its table: [T, D/2]

        /** Whether this call drops at {@code site}. */
        boolean drops(int site) {
            boolean weights = site == DropoutSeed.SELF_WEIGHTS || site == DropoutSeed.CROSS_WEIGHTS;
            return dropout != null && (weights ? config.attnDropout() : config.dropout()) > 0;
        }

        /** The hash base of this call's masks at {@code site}. */
        long base(int site) {
            return dropout.base(DropoutSeed.stream(layer, site));
        }

        /** The rotary table of positions past .. past + t - 1 (nothing without rotary). */
        void rotaryTable(int past) {
            if (rotary != null) {
                rotary.table(past, t);
            }
        }

        /** This call's dropout on the attention weights at {@code site}: none, or the config's with its masks. */
        AttentionKernel.Drop drop(int site) {
            return drops(site) ? new AttentionKernel.Drop(config.attnDropout(), base(site)) : AttentionKernel.Drop.NONE;
        }

        Activations(int rowCap, long pairCap, int memCap, long crossCap) {
            this.rowCap = rowCap;
            this.pairCap = pairCap;
            this.memCap = memCap;
            this.crossCap = crossCap;
            int c = config.dModel(), f = config.ffDim();
            xb = rows(c);
            crs = cross ? new Sub() : null;
            forwardSub(self, xb);
            q = rows(c);
            k = rows(c);
            v = rows(c);
            p = flat(pairCap);
            boolean weightsDrop = config.attnDropout() > 0;
            pd = weightsDrop ? flat(pairCap) : null;
            o = rows(c);
            if (cross) {
                forwardSub(crs, self.out);
                cq = rows(c);
                memb = flat((long) memCap * c);
                ck = flat((long) memCap * c);
                cv = flat((long) memCap * c);
                p2 = flat(crossCap);
                pd2 = weightsDrop ? flat(crossCap) : null;
                o2 = rows(c);
            } else {
                cq = ck = cv = p2 = pd2 = o2 = memb = null;
            }
            forwardSub(ff, cross ? crs.out : self.out);
            h = rows(f);
            hg = gate != null ? rows(f) : null;
            g = rows(f);
            aux = act != Activation.RELU ? rows(f) : null;
            y = ff.out;
        }

        private void forwardSub(Sub u, Buf input) {
            int c = config.dModel();
            u.s = input;
            u.a = config.normFirst() ? rows(c) : input;
            u.xhat = rows(c);
            u.rstd = rows(1);
            u.z = rows(c);
            u.out = config.normFirst() ? u.z : rows(c);
        }

        /** Whether (b, t, s) fits; if so, it becomes the current shape. */
        boolean fit(int b, int t, int s) {
            long heads = config.heads();
            if ((long) b * t > rowCap || b * heads * t * t > pairCap || (long) b * s > memCap
                    || b * heads * t * s > crossCap) {
                return false;
            }
            this.b = b;
            this.t = t;
            this.s = s;
            this.n = b * t;
            this.m = b * s;
            this.starts = this.memStarts = this.rowPos = null;
            return true;
        }

        void ensureBackward() {
            if (dx != null) {
                return;
            }
            int c = config.dModel(), f = config.ffDim();
            dyb = rows(c);
            backwardSub(self, rows(c));
            if (cross) {
                backwardSub(crs, rows(c));
                do2 = rows(c);
                dp2 = flat(crossCap);
                dcq = rows(c);
                dck = flat((long) memCap * c);
                dcv = flat((long) memCap * c);
                dmem = flat((long) memCap * c);
            }
            backwardSub(ff, dyb);
            dg = rows(f);
            dhg = gate != null ? rows(f) : null;
            dout = rows(c);
            dp = flat(pairCap);
            dq = rows(c);
            dk = rows(c);
            dv = rows(c);
            dx = rows(c);
        }

        private void backwardSub(Sub u, Buf dOut) {
            int c = config.dModel();
            u.dOut = dOut;
            u.dz = config.normFirst() ? null : rows(c);
            u.df = config.dropout() > 0 ? rows(c) : null;
            u.dfin = rows(c);
        }

        private Buf rows(int width) {
            return flat((long) rowCap * width);
        }

        private Buf flat(long length) {
            Buf b = Buf.of(Nd4j.create(type, Math.max(1, length)));
            owned.add(b);
            return b;
        }

        /** Frees every array of these activations. */
        void close() {
            owned.forEach(Buf::close);
            owned.clear();
        }
    }

    /**
     * Activations with room for (b, t, s): the current ones if they fit, else new ones; what outgrew its room
     * gets up to twice what is needed, so a growing T (recomputing a prefix) reallocates only now and then.
     */
    private Activations fit(Activations current, int b, int t, int s) {
        if (current != null && current.fit(b, t, s)) {
            return current;
        }
        if (current != null) {
            current.close(); // outgrown: its arrays (and views of them handed out) are done with
        }
        long heads = config.heads();
        Activations fresh = new Activations((int) grow((long) b * t, current == null ? 0 : current.rowCap),
                grow(b * heads * t * t, current == null ? 0 : current.pairCap),
                (int) grow((long) b * s, current == null ? 0 : current.memCap),
                grow(b * heads * t * s, current == null ? 0 : current.crossCap));
        fresh.fit(b, t, s);
        return fresh;
    }

    /** Room for {@code need}: {@code have} if it is enough, else twice {@code have} but at least need, at most 2 need. */
    private static long grow(long need, long have) {
        return need <= have ? have : Math.min(2 * need, Math.max(need, 2 * have));
    }

    /** The first elements of {@code buf} as an array of {@code shape} (a view). */
    static INDArray view(Buf buf, long... shape) {
        long length = 1;
        for (long d : shape) {
            length *= d;
        }
        INDArray flat = buf.array.reshape(buf.array.length());
        return (length == flat.length() ? flat : flat.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, length)))
                .reshape('c', shape);
    }}
