package org.attn4j.engine;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedDeque;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionOutput;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.BlockOutput;
import org.attn4j.config.BlockWeights;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.LoraKernel;
import org.attn4j.kernels.MaskRows;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The engine's {@code nn.TransformerBlock}: forward, backward and (self-attention blocks) an incremental
 * step with a key/value cache, on the block's own parameter arrays (an update changes the block, and a
 * change to the block is seen here). Pre- or post-norm with LayerNorm or RMSNorm, any {@link Activation}, with or
 * without biases, rotary positions or none, grouped-query self-attention (kvHeads key/value heads, each read by
 * H / kvHeads query heads; the decoding cache holds only those), ALiBi biases and a sliding window, every
 * {@link AttentionMask} (key padding, boolean keep masks, additive masks, causal, and their combinations, as the
 * SameDiff graph applies them); a block with cross-attention also attends to a memory (an encoder's output).
 *
 * <p>The block is a list of sublayers, {@code [self-attention, (cross-attention), feed-forward]}
 * ({@code AttentionSublayer}, {@code FeedForwardSublayer}), each {@code s' = s + f(norm(s))} (pre-LN) or
 * {@code s' = norm(s + f(s))} (post-LN), with seeded dropout ({@link DropoutSeed}) on the attention weights,
 * the residual branches and the feed-forward's hidden units while training. The passes run them in order and
 * back in reverse, as parallel regions over rows (N = B T) or (batch, head) pairs that {@code BlockSchedule}
 * derives from the list once (row work merged until the next pairs step); GEMMs on OpenBLAS, row loops in Java,
 * no allocation after the first call of a shape ({@link #schedule()} prints the regions; {@code BlockSchedule}
 * lists them for both kinds of block).
 * A decoding {@link #step} runs the forward schedule with the cache in place of the memory rows and of the
 * self-attention's keys and values.
 *
 * <p>Weights and state are separate: a {@link BlockState} holds one caller's activations and parameter
 * gradients, a {@link BlockCache} one decoding's keys, values and step activations, so any number of threads
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
    private final BlockParts parts;
    private final BlockSchedule schedule;
    private final BlockActivations.Layout layout;
    private final AttentionSublayer selfAttention, crossAttention; // cross: null without
    private final BlockDecoding decoding;
    /** States {@link #apply} keeps for reuse (fresh activations cost page faults on every call). */
    private static final int SPARE_STATES = 4;
    private final ConcurrentLinkedDeque<BlockState> spareStates = new ConcurrentLinkedDeque<>();
    private BlockState own; // the state of the state-less calls, made on first use

    private BlockEngine(BlockConfig config, BlockWeights weights, Parallel parallel,
            Map<String, LoraKernel.Part> adapters) {
        this.config = config;
        this.type = weights.selfNorm().weight().dataType(); // a norm's: a compact linear has no array
        this.parallel = parallel;
        this.cross = config.crossAttention();
        parts = new BlockParts(config, weights, adapters);
        schedule = new BlockSchedule(parts.sublayers);
        layout = new BlockActivations.Layout(config, type, config.rotary()
                ? config.rope().inverseFrequencies(config.dModel() / config.heads()) : null,
                parts.sublayers.stream().map(Sublayer::buffers).toList());
        selfAttention = parts.self;
        crossAttention = parts.cross;
        decoding = new BlockDecoding(new BlockDecoding.Block(config, type, layout, schedule, parallel, selfAttention,
                crossAttention));
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
        return new BlockEngine(config, weights, parallel, Objects.requireNonNull(adapters, "adapters"));
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
        return parts.parameters;
    }

    /** The parallel regions of this block's forward and backward, one pass a line (as in the class comment). */
    public String schedule() {
        return schedule.toString();
    }

    /** A new, empty state for forward and backward calls of one caller. */
    public BlockState newState() {
        return new BlockState(parts, schedule, parallel, config.dModel());
    }

    private BlockState own() {
        if (own == null) {
            own = new BlockState(parts, schedule, parallel, config.dModel());
        }
        return own;
    }

    /** Gradients of the last state-less {@link #backward(INDArray)} by parameter name. */
    public Map<String, INDArray> gradients() {
        return own().gradients();
    }

    /** {@link #forward(BlockState, INDArray, AttentionMask)} on this object's own state. */
    public AttentionOutput<INDArray> forward(INDArray x, AttentionMask<INDArray> mask) {
        return forward(own(), x, mask);
    }

    /** {@link #backward(BlockState, INDArray)} on this object's own state. */
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
    public AttentionOutput<INDArray> forward(BlockState state, INDArray x, AttentionMask<INDArray> mask) {
        if (cross) {
            throw new IllegalArgumentException("a block with cross-attention attends to a memory: call "
                    + "forward(state, x, mask, memory, memoryKeep)");
        }
        return forward(state, x, mask, null, null);
    }

    /** {@link #forward(BlockState, INDArray, AttentionMask, INDArray, INDArray, DropoutSeed, int)} without dropout. */
    public AttentionOutput<INDArray> forward(BlockState state, INDArray x, AttentionMask<INDArray> mask, INDArray memory,
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
    public AttentionOutput<INDArray> forward(BlockState state, INDArray x, AttentionMask<INDArray> mask, INDArray memory,
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
    public AttentionOutput<INDArray> forward(BlockState state, INDArray x, INDArray memory, AttentionMask<INDArray> mask,
            AttentionMask<INDArray> memoryMask) {
        return forward(state, x, mask, memory, memoryMask, null, 0, true);
    }

    /**
     * {@code finiteChecks} false: inputs computed by the engine itself (a model's blocks), where a NaN is a
     * diverging model for the trainer to refuse, not a caller's bad input.
     */
    public AttentionOutput<INDArray> forward(BlockState state, INDArray x, AttentionMask<INDArray> mask, INDArray memory,
            AttentionMask<INDArray> memoryMask, DropoutSeed dropout, int layer, boolean finiteChecks) {
        BlockActivations a = state.a = BlockInputs.padded(state.a, layout, parallel, x, mask, memory, memoryMask,
                finiteChecks);
        run(a, mask, memoryMask, dropout, layer);
        return new AttentionOutput<>(Shapes.view(a.y, a.b, a.t, config.dModel()),
                Shapes.view(selfAttention.buffers(a).p, a.b, config.heads(), a.t, a.t));
    }

    /**
     * Forward on packed rows {@code x [N, C]} (and a decoder block's packed {@code memory [M, C]}): as
     * {@link #forward(BlockState, INDArray, AttentionMask, INDArray, AttentionMask, DropoutSeed, int, boolean)} on the
     * padded rows, whose masks ({@code [B, ...]} over T and S) must exclude every left-out position as a key.
     * Returns the output rows {@code [N, C]} (a view); the state's attention weights are those of the real rows
     * only, so this is for training, not for reading weights. Inputs are the engine's own: no finite checks.
     */
    INDArray forward(BlockState state, INDArray x, AttentionMask<INDArray> mask, INDArray memory,
            AttentionMask<INDArray> memoryMask, DropoutSeed dropout, int layer, Packing packing) {
        BlockActivations a = state.a = BlockInputs.packed(state.a, layout, parallel, x, memory, packing);
        run(a, mask, memoryMask, dropout, layer);
        return rows(a, a.y);
    }

    /** Runs the forward schedule on activations whose inputs are in place, under these masks and dropout. */
    private void run(BlockActivations a, AttentionMask<INDArray> mask, AttentionMask<INDArray> memoryMask,
            DropoutSeed dropout, int layer) {
        a.mask = MaskRows.of(mask, a.t, a.t, config.heads(), config.causal(), type); // a causal block: under any mask
        a.memoryMask = cross ? MaskRows.of(memoryMask, a.t, a.s, config.heads(), false, type) : null;
        a.forwarded = true;
        a.dropout = dropout;
        a.layer = layer;
        a.step = null;
        a.rotaryTable(0);
        Blas.singleThreaded();
        schedule.forward(a, parallel);
    }

    /** The rows in {@code buf}: {@code [N, C]} after a packed forward, else {@code [B, T, C]} (a view). */
    private INDArray rows(BlockActivations a, Buf buf) {
        return Shapes.view(buf, rowShape(a));
    }

    private long[] rowShape(BlockActivations a) {
        return a.starts != null ? new long[] {a.n, config.dModel()} : new long[] {a.b, a.t, config.dModel()};
    }

    /** The self-attention weights {@code [B, H, T, T]} of the state's last forward (a view). */
    public INDArray selfWeights(BlockState state) {
        BlockActivations a = state.a;
        return a == null ? null : Shapes.view(selfAttention.buffers(a).p, a.b, config.heads(), a.t, a.t);
    }

    /** The cross-attention weights {@code [B, H, T, S]} of the state's last forward (decoder blocks). */
    public INDArray crossWeights(BlockState state) {
        BlockActivations a = state.a;
        return a == null || !cross ? null : Shapes.view(crossAttention.buffers(a).p, a.b, config.heads(), a.t, a.s);
    }

    /**
     * Inference into arrays of the caller's own (what {@code TransformerBlock.apply} returns): a forward on
     * a state no other call uses while this one runs (a spare one, or new), the results copied out of it, so
     * concurrent calls share nothing they can see. {@code memory [B, S, C]} and {@code memoryMask} are a decoder
     * block's (null for a self-attention block); {@code finiteChecks} false skips the scan for NaN and infinity.
     */
    public BlockOutput<INDArray> apply(INDArray x, INDArray memory, AttentionMask<INDArray> mask,
            AttentionMask<INDArray> memoryMask, boolean finiteChecks) {
        if (cross != (memory != null)) {
            throw new IllegalArgumentException(cross
                    ? "a block with cross-attention attends to a memory: give memory [B, S, C]"
                    : "a self-attention block has no memory: give null");
        }
        BlockState state = spareStates.pollFirst();
        if (state == null) {
            state = new BlockState(parts, schedule, parallel, config.dModel());
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
     * Gradients of the loss given its gradient {@code gradOutput [B, T, C]} with respect to the last
     * forward's output: the parameters' into the state's {@link BlockState#gradients()}, the memory's into
     * {@link BlockState#memoryGradient()} (decoder blocks), the input's returned {@code [B, T, C]}.
     */
    public INDArray backward(BlockState state, INDArray gradOutput) {
        return backward(state, gradOutput, true);
    }

    /** {@code finiteChecks} false: a gradient computed by the engine itself (see {@link #forward}). */
    public INDArray backward(BlockState state, INDArray gradOutput, boolean finiteChecks) {
        BlockActivations a = state.a;
        if (a == null || !a.forwarded) {
            throw new IllegalStateException("backward needs a forward first");
        }
        Shapes.same("gradOutput", gradOutput, rowShape(a), type);
        a.takeBackward(state.scratch());
        GradientBuffers g = state.buffers();
        copy(gradOutput, a.dy);
        if (finiteChecks) {
            Shapes.finite("gradOutput", a.dy, gradOutput.shape());
        }
        Blas.singleThreaded();
        schedule.backward(a, g, parallel);
        state.endPass();
        return rows(a, a.dx);
    }

    private void copy(INDArray from, Buf to) {
        BlockActivations.copy(from, to, type, parallel);
    }

    // ---- decoding ---------------------------------------------------------------------------------

    /** An empty cache for {@code batch} sequences of at most {@code capacity} positions (grown as needed). */
    public BlockCache newCache(int batch, int capacity) {
        if (cross) {
            throw new IllegalArgumentException("a cross-attention block's cache needs the memory: "
                    + "newCache(capacity, memory, memoryKeep)");
        }
        return new BlockCache(decoding.rows(batch, capacity));
    }

    /**
     * An empty cache of a decoder block for the sequences attending to {@code memory [B, S, C]} with its
     * key padding {@code memoryKeep [B, S]} (1 = real; null: every position): the memory's keys and values
     * are computed here, once.
     */
    public BlockCache newCache(int capacity, INDArray memory, INDArray memoryKeep) {
        if (!cross) {
            throw new IllegalArgumentException("a self-attention block has no memory: newCache(batch, capacity)");
        }
        return new BlockCache(decoding.rows(capacity, memory, memoryKeep));
    }

    /** The layout of this block's activations (a decoding's blocks of one layout share them: BlockCache). */
    BlockActivations.Layout layout() {
        return layout;
    }

    /**
     * Incremental inference: the new tokens {@code x [B, Tnew, C]} attend to the cached positions and to
     * each other (causally if the block is causal); their keys and values are appended to {@code cache}.
     * Returns the output {@code [B, Tnew, C]}, a view of the cache's arrays until its next step.
     */
    public INDArray step(INDArray x, BlockCache cache) {
        BlockActivations a = cache.acts = decoding.step(x, cache.rows, cache.acts);
        return Shapes.view(a.y, a.b, a.t, config.dModel());
    }
}
