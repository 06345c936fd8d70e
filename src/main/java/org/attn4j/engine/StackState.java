package org.attn4j.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.attn4j.config.AttentionMask;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One stack's activations and gradients in a {@link ModelEngine.State}: its blocks' states, the rows
 * {@code [N, C]} (N = B T, or the packed rows' number) of its embedding, output and final norm, the last forward's
 * ids, packing, masks and dropout, and the gradients of its embedding, positions and final norm. Reused while the
 * batch shape fits.
 */
final class StackState {
    final List<BlockState> blockStates = new ArrayList<>();
    final List<Map<String, INDArray>> blockGradients; // null: an inference state
    // null with LoRA (frozen) or for inference; positions also when they are not learned, the norm's without one
    final INDArray embeddingGradient, positionsGradient, normWeightGradient, normBiasGradient;
    final Buf dEmbedding, dPositions, dNormW, dNormB;
    private final DataType type;
    private final int width;
    private final boolean normed; // a final norm: the output is h, else x
    int capacity, b, t, n;
    Buf x0, x, h, xhat, rstd, dh, dx;
    DropoutSeed dropout; // the last forward's masks, or null
    int[] ids; // the rows' ids
    int[] starts, rowPos; // packed rows (null: [B, T]): sequence bi is rows [starts[bi], starts[bi + 1])
    INDArray keep; // [B, T] key padding (1 = real token), or null
    // the last forward's block arguments, which a checkpointed backward runs each block's forward with again
    AttentionMask<INDArray> mask, memoryMask;
    INDArray memory;
    Packing packing;
    boolean checkpoint; // keep each block's input [N, C] only (inputs), not its activations
    Buf[] inputs; // checkpointing: block i's input rows
    Buf carry; // checkpointing: the gradient passed from a block to the one before

    /**
     * The state of a stack of {@code blocks} on {@code sw}; {@code scratch} null for inference (no gradient arrays),
     * else the backward scratch its blocks share with the model's other blocks; {@code frozen} (LoRA) for no
     * gradients outside the blocks.
     */
    StackState(List<BlockEngine> blocks, StackWeights sw, boolean frozen, BackwardScratch scratch) {
        this.type = sw.embedding().dataType();
        this.width = (int) sw.embedding().size(1);
        this.normed = sw.normWeight() != null;
        boolean withGradients = scratch != null;
        blockGradients = withGradients ? new ArrayList<>() : null;
        for (BlockEngine block : blocks) {
            BlockState s = block.newState();
            blockStates.add(s);
            if (withGradients) {
                s.share(scratch); // before its gradients, whose shares are the scratch's
                blockGradients.add(s.gradients());
            }
        }
        boolean learns = withGradients && !frozen;
        embeddingGradient = learns ? zerosLike(sw.embedding()) : null;
        positionsGradient = learns && sw.learnedPositions() ? zerosLike(sw.positions()) : null;
        normWeightGradient = learns ? zerosLike(sw.normWeight()) : null;
        normBiasGradient = learns ? zerosLike(sw.normBias()) : null;
        dEmbedding = buf(embeddingGradient);
        dPositions = buf(positionsGradient);
        dNormW = buf(normWeightGradient);
        dNormB = buf(normBiasGradient);
    }

    void fit(int batch, int time) {
        b = batch;
        t = time;
        n = batch * time;
        if (n <= capacity) {
            return;
        }
        capacity = n;
        for (Buf old : new Buf[] {x0, x, h, xhat, rstd, dh, dx, carry}) {
            if (old != null) {
                old.close();
            }
        }
        closeInputs();
        carry = null;
        x0 = rows(capacity, width);
        x = rows(capacity, width);
        h = rows(capacity, width);
        xhat = rows(capacity, width);
        rstd = rows(capacity, 1);
        dh = rows(capacity, width);
        dx = rows(capacity, width);
    }

    /** Block i's input rows, kept by a checkpointed forward (made on first use at this capacity). */
    Buf input(int i) {
        if (inputs == null) {
            inputs = new Buf[blockStates.size()];
        }
        if (inputs[i] == null) {
            inputs[i] = rows(capacity, width);
        }
        return inputs[i];
    }

    /** The gradient rows a checkpointed backward passes on (made on first use at this capacity). */
    Buf carry() {
        if (carry == null) {
            carry = rows(capacity, width);
        }
        return carry;
    }

    /** Bytes of the blocks' forward arrays of {@code kind}. */
    long blockBytes(Arena.Kind kind) {
        return blockStates.stream().mapToLong(bs -> bs.bytes(kind)).sum();
    }

    /** Bytes of the stack's own gradients (the embedding's, positions', final norm's) and its blocks'. */
    long gradientBytes() {
        long own = 0;
        for (INDArray g : new INDArray[] {embeddingGradient, positionsGradient, normWeightGradient, normBiasGradient}) {
            own += g == null ? 0 : g.length() * g.dataType().width();
        }
        return own + blockStates.stream().mapToLong(BlockState::gradientBytes).sum();
    }

    private void closeInputs() {
        for (int i = 0; inputs != null && i < inputs.length; i++) {
            if (inputs[i] != null) {
                inputs[i].close();
            }
        }
        inputs = null;
    }

    /** Frees this stack's activations and gradients now. */
    void close() {
        blockStates.forEach(BlockState::close);
        closeInputs();
        for (Buf b : new Buf[] {x0, x, h, xhat, rstd, dh, dx, carry}) {
            if (b != null) {
                b.close();
            }
        }
        if (keep != null && keep.closeable()) {
            keep.close();
        }
    }

    /** The stack's output rows: the final norm's, or the last block's. */
    Buf output() {
        return normed ? h : x;
    }

    /**
     * Packs the rows (see {@code StackEngine.forward}): sequence bi keeps its first len_bi positions, len_bi the
     * last position whose id ({@link #ids} {@code [B * T]}) or target ({@code targets [B * T]}, or null) is not
     * {@code padId}, plus one (at least 1); its rows become [starts[bi], starts[bi + 1]), {@link #ids} the kept
     * ids and {@link #n} their number.
     */
    void pack(int[] targets, int padId) {
        int[] starts = new int[b + 1];
        for (int bi = 0; bi < b; bi++) {
            int len = 1;
            for (int j = 0, r = bi * t; j < t; j++, r++) {
                if (ids[r] != padId || targets != null && targets[r] != padId) {
                    len = j + 1;
                }
            }
            starts[bi + 1] = starts[bi] + len;
        }
        this.starts = starts;
        n = starts[b];
        rowPos = new int[n];
        for (int bi = 0; bi < b; bi++) {
            for (int r = starts[bi]; r < starts[bi + 1]; r++) {
                rowPos[r] = r - starts[bi];
            }
        }
        ids = packed(ids);
    }

    /** The packed rows' elements of {@code flat [B * T]} (see {@link #pack}). */
    int[] packed(int[] flat) {
        int[] kept = new int[n];
        for (int bi = 0; bi < b; bi++) {
            for (int r = starts[bi]; r < starts[bi + 1]; r++) {
                kept[r] = flat[bi * t + r - starts[bi]];
            }
        }
        return kept;
    }

    private Buf rows(int count, int cols) {
        return Buf.of(Nd4j.create(type, (long) Math.max(1, count) * cols));
    }

    static INDArray zerosLike(INDArray a) {
        return a == null ? null : Nd4j.zeros(a.dataType(), a.shape());
    }

    static Buf buf(INDArray a) {
        return a == null ? null : Buf.of(a);
    }
}
