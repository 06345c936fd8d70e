package org.attn4j.engine;

import java.util.List;
import org.attn4j.config.BlockConfig;
import org.attn4j.kernels.AttentionKernel;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.MaskRows;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RotaryKernel;
import org.attn4j.kernels.RowMath;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The activations of one block call: the block's rows and each sublayer's ({@link SublayerBuffers}), in flat
 * arrays of an {@link Arena}. Reused while a new shape fits, so decoding (T = 1, then the prompt's T) and variable
 * batches allocate rarely; the backward pass's arrays are a {@link BackwardScratch}'s, taken at each call.
 * <pre>
 *   x        [N, C]   the block's input rows (N = B T, or fewer when packed)
 *   memory   [M, C]   a decoder block's memory rows (M = B S, or fewer)
 *   y        [N, C]   the output: the last sublayer's out
 *   dy, dx   [N, C]   gradients at y and x
 *   dMemory  [M, C]   gradient at the memory
 * </pre>
 */
final class BlockActivations {
    /** What every activations of one block share: its config, dtype, rotary frequencies and sublayer kinds. */
    record Layout(BlockConfig config, DataType type, double[] inverseFrequency, List<SublayerBuffers.Factory> kinds) {
    }

    /** Least elements per worker for a copy. */
    private static final int COPY_GRAIN = 1 << 15;
    final Layout layout;
    final BlockConfig config;
    final Arena arena;
    int b, t, s, n, m;
    int[] starts, memStarts, rowPos; // packed rows (null: [B, T] and [B, S]): see Packing
    final Buf x, memory, y;
    Buf dy, dx, dMemory;
    final SublayerBuffers[] subs;
    boolean forwarded;
    MaskRows mask, memoryMask; // the self-attention's and the cross-attention's
    DropoutSeed dropout; // this call's masks, or null: nothing dropped
    int layer;
    CacheRows step; // a decoding step's cache (keys and values to read and append to); null outside decoding
    final RotaryKernel rotary; // its table: [T, D/2]; null without rotary

    private BlockActivations(Layout layout, Arena arena) {
        this.layout = layout;
        this.config = layout.config();
        this.arena = arena;
        int c = config.dModel();
        rotary = layout.inverseFrequency() == null ? null : new RotaryKernel(layout.inverseFrequency());
        x = arena.rows(c);
        memory = config.crossAttention() ? arena.memoryRows(c) : null;
        subs = new SublayerBuffers[layout.kinds().size()];
        Buf stream = x;
        for (int i = 0; i < subs.length; i++) {
            subs[i] = layout.kinds().get(i).make(arena, stream);
            stream = subs[i].out;
        }
        y = stream;
    }

    /** Whether this call drops at {@code site}. */
    boolean drops(int site) {
        boolean weights = site == DropoutSeed.SELF_WEIGHTS || site == DropoutSeed.CROSS_WEIGHTS;
        return dropout != null && (weights ? config.attnDropout() : config.dropout()) > 0;
    }

    /** The hash base of this call's masks at {@code site}. */
    long base(int site) {
        return dropout.base(DropoutSeed.stream(layer, site));
    }

    /** This call's dropout on the attention weights at {@code site}: none, or the config's with its masks. */
    AttentionKernel.Drop drop(int site) {
        return drops(site) ? new AttentionKernel.Drop(config.attnDropout(), base(site)) : AttentionKernel.Drop.NONE;
    }

    /** The rotary table of positions past .. past + t - 1 (nothing without rotary). */
    void rotaryTable(int past) {
        if (rotary != null) {
            rotary.table(past, t);
        }
    }

    /** Whether (b, t, s) fits (with self scores [B, H, T, T] when selfScores); if so, it becomes the current shape. */
    private boolean fit(int b, int t, int s, boolean selfScores) {
        long heads = config.heads();
        if ((long) b * t > arena.rowCap || (selfScores ? b * heads * t * t : 0) > arena.pairCap
                || (long) b * s > arena.memCap
                || b * heads * t * s > arena.crossCap) {
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

    /**
     * The backward pass's arrays, taken from {@code scratch} for this call (shared by a model's blocks: every call
     * takes them again, see {@link BackwardScratch}).
     */
    void takeBackward(BackwardScratch scratch) {
        scratch.nextCall();
        Arena back = arena.backward(scratch);
        int c = config.dModel();
        dy = back.rows(c);
        dx = back.rows(c);
        Buf[] dOut = new Buf[subs.length];
        for (int i = 0; i < subs.length; i++) {
            dOut[i] = i == subs.length - 1 ? dy : back.rows(c);
        }
        for (int i = 0; i < subs.length; i++) {
            subs[i].backward(back, dOut[i], i == 0 ? dx : dOut[i - 1], config.dropout() > 0);
        }
        dMemory = memory == null ? null : back.memoryRows(c);
    }

    /** Bytes of the forward's arrays of {@code kind} (the backward's are a {@link BackwardScratch}'s). */
    long bytes(Arena.Kind kind) {
        return arena.bytes(kind);
    }

    /** Frees every array of these activations. */
    void close() {
        arena.close();
    }

    /**
     * Activations with room for (b, t, s): {@code current} if they fit, else new ones; what outgrew its room
     * gets up to twice what is needed, so a growing T (recomputing a prefix) reallocates only now and then.
     */
    static BlockActivations fit(BlockActivations current, Layout layout, int b, int t, int s) {
        return fit(current, layout, b, t, s, true);
    }

    /**
     * As {@link #fit(BlockActivations, Layout, int, int, int)}; without selfScores, no room for the self-attention's
     * scores {@code [B, H, T, T]}: a decoding step's are its cache's ({@link CacheRows#scores}), whose keys run past
     * the new tokens (a 1,024-token prompt of GPT-2-small would hold 50 MB a block twice).
     */
    static BlockActivations fit(BlockActivations current, Layout layout, int b, int t, int s, boolean selfScores) {
        if (current != null && current.fit(b, t, s, selfScores)) {
            return current;
        }
        if (current != null) {
            current.close(); // outgrown: its arrays (and views of them handed out) are done with
        }
        long heads = layout.config().heads();
        Arena old = current == null ? null : current.arena;
        Arena arena = new Arena(layout.type(), (int) Arena.grow((long) b * t, old == null ? 0 : old.rowCap),
                selfScores ? Arena.grow(b * heads * t * t, old == null ? 0 : old.pairCap) : 0,
                (int) Arena.grow((long) b * s, old == null ? 0 : old.memCap),
                Arena.grow(b * heads * t * s, old == null ? 0 : old.crossCap));
        BlockActivations fresh = new BlockActivations(layout, arena);
        fresh.fit(b, t, s, selfScores);
        return fresh;
    }

    /**
     * {@code to} = the elements of {@code from} in c order, by a Java copy: an ND4J op here would leave
     * OpenMP threads spinning on the cores the workers need next.
     */
    static void copy(INDArray from, Buf to, DataType type, Parallel parallel) {
        Buf src = Buf.of(from, type);
        parallel.forRange(src.length, COPY_GRAIN, (i0, i1) -> RowMath.copy(src, i0, to, i0, i1 - i0));
    }

}
