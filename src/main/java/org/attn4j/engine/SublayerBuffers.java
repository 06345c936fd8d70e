package org.attn4j.engine;

import org.attn4j.kernels.Buf;

/**
 * One sublayer's residual rows, each [N, C] (rstd [N, 1]); a sublayer kind adds the rows of its function.
 * <pre>
 *   forward:   s       the input stream (the block's x, or the sublayer before's out)
 *              a       the function's input: norm(s) pre-LN (xhat, rstd kept for backward), s itself post-LN
 *              z       first f(a), then s + drop(f)
 *              out     z pre-LN, norm(z) post-LN
 *   backward:  dOut    gradient at out (the sublayer after's ds, or the block's dy)
 *              dz      at z: dOut itself pre-LN, norm'(dOut) post-LN
 *              df      at f, where the residual branch drops (else dz is it)
 *              dfin    at the function's input a
 *              ds      at s: dz + (pre-LN ? norm'(dfin) : dfin), the sublayer before's dOut or the block's dx
 * </pre>
 */
class SublayerBuffers {
    /** Makes a kind's buffers on {@code input}, the stream it reads. */
    interface Factory {
        SublayerBuffers make(Arena arena, Buf input);
    }

    final Buf s, a, xhat, rstd, z, out;
    Buf dOut, dz, df, dfin, ds;
    final int c;
    private final boolean normFirst;

    SublayerBuffers(Arena arena, Buf input, int c, boolean normFirst) {
        this.c = c;
        this.normFirst = normFirst;
        s = input;
        a = normFirst ? arena.rows(c) : input;
        xhat = arena.rows(c);
        rstd = arena.rows(1);
        z = arena.rows(c);
        out = normFirst ? z : arena.rows(c);
    }

    /** The backward rows: {@code dOut} and {@code ds} are the neighbours' (see the class comment). */
    final void backward(Arena arena, Buf dOut, Buf ds, boolean residualDrops) {
        this.dOut = dOut;
        this.ds = ds;
        dz = normFirst ? dOut : arena.rows(c);
        df = residualDrops ? arena.rows(c) : null;
        dfin = arena.rows(c);
        backwardOwn(arena);
    }

    /** The kind's own backward rows. */
    void backwardOwn(Arena arena) {
    }
}
