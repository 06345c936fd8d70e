package org.attn4j.engine;

import java.util.List;
import java.util.Locale;
import org.attn4j.config.BlockConfig;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.LinearKernel;
import org.attn4j.kernels.NormKernel;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RowMath;

/**
 * One sublayer of a block, a function f with its norm and residual: pre-LN {@code s' = s + drop(f(norm(s)))},
 * post-LN {@code s' = norm(s + drop(f(s)))}. A kind ({@link AttentionSublayer}, {@link FeedForwardSublayer})
 * writes f as pieces that {@link BlockSchedule} runs in parallel regions: row work before and after an optional
 * (batch, head) pairs step, work on the memory's rows, and the mirror of each for backward, then its share of the
 * weight gradients. The residual and norm algebra, the same for every kind, is here.
 *
 * @param <B> the kind's buffers
 */
abstract class Sublayer<B extends SublayerBuffers> {
    /** A piece of row work, as the schedule names it ({@code self.in}, {@code ff.out}, ...). */
    enum Piece {
        IN, OUT, KV, OUT_BACK, IN_BACK, KV_BACK;

        String label() {
            return name().toLowerCase(Locale.ROOT).replace("_back", "Back");
        }
    }

    /** A norm's kernel and the names of its gradients (bias null: RMSNorm). */
    record Norm(NormKernel op, String weightName, String biasName) {
    }

    final String name;
    final BlockConfig config;
    final int index, c;
    final boolean normFirst;
    private final Norm norm;
    private final int residualSite;

    /** Sublayer {@code index} of the block, named {@code name}, with its norm and residual dropout site. */
    Sublayer(String name, int index, BlockConfig config, Norm norm, int residualSite) {
        this.name = name;
        this.index = index;
        this.config = config;
        this.c = config.dModel();
        this.normFirst = config.normFirst();
        this.norm = norm;
        this.residualSite = residualSite;
    }

    /** Makes this kind's buffers. */
    abstract SublayerBuffers.Factory buffers();

    /** The linear layers, in the order of their weight gradients. */
    abstract List<LinearKernel> linears();

    /** Rows [r0, r1) before the pairs step (or the whole function): z holds f where there is no pairs step. */
    abstract void in(BlockActivations a, B u, int r0, int r1);

    /** Rows [r0, r1) after the pairs step, ending with the residual. */
    abstract void out(BlockActivations a, B u, int r0, int r1);

    /** Back through {@link #out}: from dOut to the gradient the pairs step (or {@link #inBack}) reads. */
    abstract void outBack(BlockActivations a, B u, int r0, int r1);

    /** Back through {@link #in}, ending at ds. */
    abstract void inBack(BlockActivations a, B u, int r0, int r1);

    /** Worker {@code part}'s share of the weight gradients. */
    abstract void weightGrads(GradientBuffers g, BlockActivations a, B u, int part);

    /** Whether a (batch, head) pairs step sits between {@link #in} and {@link #out}. */
    boolean attends() {
        return false;
    }

    /** Whether this sublayer works on the memory's rows ({@link Piece#KV}). */
    boolean readsMemory() {
        return false;
    }

    /** The pairs step, its own parallel region (a decoding step's too). */
    void attend(BlockActivations a, B u, Parallel parallel) {
    }

    void attendBack(BlockActivations a, B u, Parallel parallel) {
    }

    void kv(BlockActivations a, B u, int r0, int r1) {
    }

    void kvBack(BlockActivations a, B u, int r0, int r1) {
    }

    /** This sublayer's buffers in {@code a}. */
    @SuppressWarnings("unchecked")
    final B buffers(BlockActivations a) {
        return (B) a.subs[index];
    }

    /** Runs {@code piece} on rows [r0, r1) (the memory's rows for KV and KV_BACK). */
    final void rows(Piece piece, BlockActivations a, int r0, int r1) {
        B u = buffers(a);
        switch (piece) {
            case IN -> in(a, u, r0, r1);
            case OUT -> out(a, u, r0, r1);
            case KV -> kv(a, u, r0, r1);
            case OUT_BACK -> outBack(a, u, r0, r1);
            case IN_BACK -> inBack(a, u, r0, r1);
            case KV_BACK -> kvBack(a, u, r0, r1);
        }
    }

    /** The pairs step ({@code back}: its backward) on {@code a}. */
    final void pairs(boolean back, BlockActivations a, Parallel parallel) {
        if (back) {
            attendBack(a, buffers(a), parallel);
        } else {
            attend(a, buffers(a), parallel);
        }
    }

    /** Worker {@code part}'s share of the weight gradients of {@code a}'s backward. */
    final void weightGrads(GradientBuffers g, BlockActivations a, int part) {
        weightGrads(g, a, buffers(a), part);
    }

    // ---- the residual and norm algebra ------------------------------------------------------------

    /** Rows [r0, r1) of the function's input: norm(s) pre-LN (xhat and rstd kept for backward), s post-LN. */
    final Buf normIn(B u, int r0, int r1) {
        if (normFirst) {
            norm.op().forward(u.s, u.a, u.xhat, u.rstd, r0, r1, c);
        }
        return u.a;
    }

    /** Rows [r0, r1) of z = s + drop(f) (z holds f), and post-LN out = norm(z). */
    final void residual(BlockActivations a, B u, int r0, int r1) {
        if (a.drops(residualSite)) {
            DropoutSeed.apply(a.base(residualSite), config.dropout(), u.z, r0 * c, r1 * c);
        }
        RowMath.add(u.s, u.z, u.z, r0, r1, c);
        if (!normFirst) {
            norm.op().forward(u.z, u.out, u.xhat, u.rstd, r0, r1, c);
        }
    }

    /** Rows [r0, r1) of dz (post-LN: norm'(dOut)) and of the gradient at f: dz, or drop'(dz) into df. */
    final Buf branchBack(BlockActivations a, B u, int r0, int r1) {
        if (!normFirst) {
            norm.op().backward(u.dOut, u.xhat, u.rstd, u.dz, null, r0, r1, c);
        }
        if (!a.drops(residualSite)) {
            return u.dz;
        }
        RowMath.copy(u.dz, r0 * c, u.df, r0 * c, (r1 - r0) * c);
        DropoutSeed.apply(a.base(residualSite), config.dropout(), u.df, r0 * c, r1 * c);
        return u.df;
    }

    /** The gradient at f that {@link #branchBack} left, for the weight gradients. */
    final Buf branchGradient(BlockActivations a, B u) {
        return a.drops(residualSite) ? u.df : u.dz;
    }

    /** Rows [r0, r1) of ds = dz + (pre-LN ? norm'(dfin) : dfin). */
    final void residualBack(B u, int r0, int r1) {
        if (normFirst) {
            norm.op().backward(u.dfin, u.xhat, u.rstd, u.ds, u.dz, r0, r1, c);
        } else {
            RowMath.add(u.dfin, u.dz, u.ds, r0, r1, c);
        }
    }

    /** Worker {@code part}'s columns of the norm's parameter gradients: from dfin (pre-LN) or dOut (post-LN). */
    final void normGrads(GradientBuffers g, BlockActivations a, B u, int part) {
        int parts = g.shares.parts(), c0 = Parallel.split(c, parts, part), c1 = Parallel.split(c, parts, part + 1);
        norm.op().backwardParams(normFirst ? u.dfin : u.dOut, u.xhat, g.grad(norm.weightName()),
                g.grad(norm.biasName()), a.n, c, c0, c1);
    }
}
