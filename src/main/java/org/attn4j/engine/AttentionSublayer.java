package org.attn4j.engine;

import java.util.List;
import org.attn4j.config.BlockConfig;
import org.attn4j.kernels.Alibi;
import org.attn4j.kernels.AttentionKernel;
import org.attn4j.kernels.AttentionGradientRows;
import org.attn4j.kernels.AttentionOperands;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.LinearKernel;
import org.attn4j.kernels.MaskRows;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RowMath;

/**
 * Self- or cross-attention as a sublayer: {@code f(a) = out(softmax(q(a) k(kv)^T / sqrt(D) + mask) v(kv))} per
 * head, kv = a itself (self-attention: grouped-query heads, rotary positions, ALiBi, a sliding window as the
 * config says) or the block's memory (cross-attention: its keys and values are the memory rows' piece KV).
 * <pre>
 *   in:      q = a Wq^T (+ self: k, v; q and k rotated)     attend:  P = softmax(q k^T / sqrt(D) + mask), o = drop(P) v
 *   kv:      k, v = memory Wk^T, memory Wv^T (cross)        out:     z = o Wout^T, then the residual
 * </pre>
 * A decoding step reads and appends to the cache ({@link BlockActivations#step}) instead of k and v.
 */
final class AttentionSublayer extends Sublayer<AttentionSublayer.Buffers> {
    /** The rows of one attention: q [N, C], k and v [N or M, C], scores p (pd: dropped) [B, H, T, T or S], o [N, C]. */
    static final class Buffers extends SublayerBuffers {
        final Buf q, k, v, p, pd, o;
        Buf dO, dp, dq, dk, dv;
        private final boolean memory;

        Buffers(Arena arena, Buf input, BlockConfig config, boolean memory) {
            super(arena, input, config.dModel(), config.normFirst());
            this.memory = memory;
            int c = config.dModel();
            q = arena.rows(c);
            k = memory ? arena.memoryRows(c) : arena.rows(c);
            v = memory ? arena.memoryRows(c) : arena.rows(c);
            p = arena.scores(memory);
            pd = config.attnDropout() > 0 ? arena.scores(memory) : null;
            o = arena.rows(c);
        }

        @Override
        void backwardOwn(Arena arena) {
            dO = arena.rows(c);
            dp = arena.scores(memory);
            dq = arena.rows(c);
            dk = memory ? arena.memoryRows(c) : arena.rows(c);
            dv = memory ? arena.memoryRows(c) : arena.rows(c);
        }
    }

    private final LinearKernel q, k, v, out;
    private final AttentionKernel kernel;
    private final boolean memory; // cross-attention: keys and values from the memory
    private final int weightsSite, kvWidth;

    private AttentionSublayer(String name, int index, BlockConfig config, Norm norm, LinearKernel[] qkvOut,
            boolean memory) {
        super(name, index, config, norm, memory ? DropoutSeed.CROSS_RESIDUAL : DropoutSeed.SELF_RESIDUAL);
        this.q = qkvOut[0];
        this.k = qkvOut[1];
        this.v = qkvOut[2];
        this.out = qkvOut[3];
        this.memory = memory;
        int heads = config.heads(), d = c / heads, kvHeads = memory ? heads : config.kvHeads();
        kernel = memory ? new AttentionKernel(heads, heads, d, null, 0)
                : new AttentionKernel(heads, kvHeads, d, config.alibi() ? Alibi.slopes(heads) : null, config.window());
        weightsSite = memory ? DropoutSeed.CROSS_WEIGHTS : DropoutSeed.SELF_WEIGHTS;
        kvWidth = kvHeads * d;
    }

    /** The block's self-attention, sublayer {@code index}, on projections q, k, v, out. */
    static AttentionSublayer self(int index, BlockConfig config, Norm norm, LinearKernel... qkvOut) {
        return new AttentionSublayer("self", index, config, norm, qkvOut, false);
    }

    /** The block's cross-attention over its memory, sublayer {@code index}, on projections q, k, v, out. */
    static AttentionSublayer cross(int index, BlockConfig config, Norm norm, LinearKernel... qkvOut) {
        return new AttentionSublayer("cross", index, config, norm, qkvOut, true);
    }

    @Override
    SublayerBuffers.Factory buffers() {
        return (arena, input) -> new Buffers(arena, input, config, memory);
    }

    @Override
    List<LinearKernel> linears() {
        return List.of(out, q, k, v);
    }

    @Override
    boolean attends() {
        return true;
    }

    @Override
    boolean readsMemory() {
        return memory;
    }

    /** Width of the keys and values: kvHeads * D. */
    int kvWidth() {
        return kvWidth;
    }

    @Override
    void in(BlockActivations a, Buffers u, int r0, int r1) {
        Buf in = normIn(u, r0, r1);
        q.forward(in, u.q, r0, r1, a.dropout);
        if (memory) {
            return;
        }
        rotate(a, u.q, r0, r0, r1, false, c);
        if (a.step != null) {
            appendToCache(a, u, in, r0, r1);
            return;
        }
        k.forward(in, u.k, r0, r1, a.dropout);
        v.forward(in, u.v, r0, r1, a.dropout);
        rotate(a, u.k, r0, r0, r1, false, kvWidth);
    }

    /**
     * A decoding step's keys and values of rows [r0, r1), after each batch row's past in the cache (rotated). A step
     * of few rows (a token a sequence) projects them all first, so that Wk and Wv are read once for the whole batch,
     * then copies each sequence's rows into its cache; a prompt's rows go straight into the cache, one GEMM per
     * sequence.
     */
    private void appendToCache(BlockActivations a, Buffers u, Buf in, int r0, int r1) {
        CacheRows cache = a.step;
        boolean few = a.n <= LinearKernel.SPLIT_ROWS;
        if (few) {
            k.forward(in, u.k, r0, r1);
            v.forward(in, u.v, r0, r1);
        }
        for (int r = r0; r < r1; ) { // one GEMM or copy per batch row's run of new tokens in [r0, r1)
            int bi = r / a.t, end = Math.min(r1, (bi + 1) * a.t);
            int at = bi * cache.capacity + cache.length + (r - bi * a.t);
            if (few) {
                RowMath.copy(u.k, r * kvWidth, cache.keys, at * kvWidth, (end - r) * kvWidth);
                RowMath.copy(u.v, r * kvWidth, cache.values, at * kvWidth, (end - r) * kvWidth);
            } else {
                k.project(in, r, end - r, cache.keys, at);
                v.project(in, r, end - r, cache.values, at);
            }
            rotate(a, cache.keys, at, r, end, false, kvWidth);
            r = end;
        }
    }

    /** Rows [r0, r1) of the memory's keys and values (cross-attention; a decoding computes them once). */
    @Override
    void kv(BlockActivations a, Buffers u, int r0, int r1) {
        k.forward(a.memory, u.k, r0, r1, a.dropout);
        v.forward(a.memory, u.v, r0, r1, a.dropout);
    }

    /** Memory rows [r0, r1) of {@code memory} through k and v into {@code keys} and {@code values}. */
    void projectMemory(Buf memory, Buf keys, Buf values, int r0, int r1) {
        k.forward(memory, keys, r0, r1);
        v.forward(memory, values, r0, r1);
    }

    @Override
    void attend(BlockActivations a, Buffers u, Parallel parallel) {
        int pairs = a.b * config.heads();
        if (a.step != null) {
            attendCached(a, u, parallel, pairs);
            return;
        }
        AttentionOperands x = operands(a, u);
        AttentionKernel.Drop drop = a.drop(weightsSite);
        MaskRows mask = memory ? a.memoryMask : a.mask;
        parallel.forRange(pairs, kernel.pairGrain(a.t, x.tk()), (p0, p1) -> kernel.forward(x, mask, drop, p0, p1));
    }

    /** The pairs' operands on {@code a}'s rows: keys and values of the stream (self) or of the memory (cross). */
    private AttentionOperands operands(BlockActivations a, Buffers u) {
        return new AttentionOperands(u.q, u.k, u.v, u.p, u.pd, u.o, a.t, memory ? a.s : a.t, a.starts,
                memory ? a.memStarts : a.starts);
    }

    /** A decoding step's new queries against the cached keys (self: the past and themselves; cross: the memory). */
    private void attendCached(BlockActivations a, Buffers u, Parallel parallel, int pairs) {
        CacheRows cache = a.step;
        int t = a.t;
        if (memory) {
            AttentionOperands x = new AttentionOperands(u.q, cache.memoryKeys, cache.memoryValues, u.p,
                    null, u.o, t, cache.memoryLength);
            MaskRows mask = cache.memoryMask(t, config.heads());
            parallel.forRange(pairs, kernel.pairGrain(t, cache.memoryLength), (p0, p1) -> kernel.forward(x, mask,
                    AttentionKernel.Drop.NONE, p0, p1));
            return;
        }
        int total = cache.length + t;
        MaskRows mask = MaskRows.padding(null, t, total, config.heads(), config.causal()); // query i is at past + i
        AttentionKernel.Cached cached = new AttentionKernel.Cached(cache.keys, cache.values, cache.capacity,
                cache.scores());
        parallel.forRange(pairs, kernel.pairGrain(t, total), (p0, p1) -> kernel.forwardCached(u.q, cached, u.o, t,
                total, mask, p0, p1));
    }

    @Override
    void out(BlockActivations a, Buffers u, int r0, int r1) {
        out.forward(u.o, u.z, r0, r1, a.dropout);
        residual(a, u, r0, r1);
    }

    @Override
    void outBack(BlockActivations a, Buffers u, int r0, int r1) {
        out.backwardInput(branchBack(a, u, r0, r1), u.dO, false, r0, r1, a.dropout);
    }

    /** Back through the pairs into dq, dk, dv: one pair per (batch, key/value head). */
    @Override
    void attendBack(BlockActivations a, Buffers u, Parallel parallel) {
        AttentionOperands x = operands(a, u);
        AttentionGradientRows g = new AttentionGradientRows(u.dO, u.dp, u.dq, u.dk, u.dv);
        AttentionKernel.Drop drop = a.drop(weightsSite);
        parallel.forRange(a.b * kernel.kvHeads(), kernel.pairGrain(a.t, x.tk()), (p0, p1) -> kernel.backward(x, g,
                drop, p0, p1));
    }

    /** dfin = dq Wq (+ self: dk Wk + dv Wv, dq and dk rotated back), then ds. */
    @Override
    void inBack(BlockActivations a, Buffers u, int r0, int r1) {
        if (!memory) {
            rotate(a, u.dq, r0, r0, r1, true, c);
            rotate(a, u.dk, r0, r0, r1, true, kvWidth);
        }
        q.backwardInput(u.dq, u.dfin, false, r0, r1, a.dropout);
        if (!memory) {
            k.backwardInput(u.dk, u.dfin, true, r0, r1, a.dropout);
            v.backwardInput(u.dv, u.dfin, true, r0, r1, a.dropout);
        }
        residualBack(u, r0, r1);
    }

    /** Memory rows [r0, r1) of dMemory = dk Wk + dv Wv (cross-attention). */
    @Override
    void kvBack(BlockActivations a, Buffers u, int r0, int r1) {
        k.backwardInput(u.dk, a.dMemory, false, r0, r1, a.dropout);
        v.backwardInput(u.dv, a.dMemory, true, r0, r1, a.dropout);
    }

    @Override
    void weightGrads(GradientBuffers g, BlockActivations a, Buffers u, int part) {
        out.backwardWeights(g.shares, branchGradient(a, u), u.o, a.n, part, a.dropout);
        q.backwardWeights(g.shares, u.dq, u.a, a.n, part, a.dropout);
        Buf kvIn = memory ? a.memory : u.a;
        int kvRows = memory ? a.m : a.n;
        k.backwardWeights(g.shares, u.dk, kvIn, kvRows, part, a.dropout);
        v.backwardWeights(g.shares, u.dv, kvIn, kvRows, part, a.dropout);
        normGrads(g, a, u, part);
    }

    /**
     * Rows [r0, r1) of queries or keys {@code x} ({@code width} wide: keys have kvHeads heads) rotated to their
     * positions (the activations' rotary table), kept in x from row {@code xRow} on; {@code back}: a gradient's way
     * back. Nothing without rotary (and never for cross-attention, whose caller skips it).
     */
    private static void rotate(BlockActivations a, Buf x, int xRow, int r0, int r1, boolean back, int width) {
        if (a.rotary == null) {
            return;
        }
        for (int r = r0; r < r1; r++) {
            a.rotary.rotate(x, (xRow + r - r0) * width, width, a.rowPos != null ? a.rowPos[r] : r % a.t, back);
        }
    }
}
