package org.attn4j.engine;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.config.Activation;
import org.attn4j.config.BlockConfig;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.LinearKernel;
import org.attn4j.kernels.RowMath;

/**
 * The feed-forward sublayer: {@code f(a) = drop(act(a W1^T + b1)) W2^T + b2}, with SwiGLU
 * {@code silu(a W1^T) * (a Wgate^T)} for the activation. Row work only: {@code in} is the whole function,
 * {@code out} the residual.
 */
final class FeedForwardSublayer extends Sublayer<FeedForwardSublayer.Buffers> {
    /** Hidden rows [N, F]: h = a W1^T, hg = a Wgate^T (SwiGLU), g = act(h) (dropped), aux (the activation's). */
    static final class Buffers extends SublayerBuffers {
        final Buf h, hg, g, aux;
        Buf dg, dhg;
        private final int f;

        Buffers(Arena arena, Buf input, BlockConfig config, boolean gated) {
            super(arena, input, config.dModel(), config.normFirst());
            f = config.ffDim();
            h = arena.hidden(f);
            hg = gated ? arena.hidden(f) : null;
            g = arena.hidden(f);
            aux = config.activation() != Activation.RELU ? arena.hidden(f) : null;
        }

        @Override
        void backwardOwn(Arena arena) {
            dg = arena.hidden(f);
            dhg = hg != null ? arena.hidden(f) : null;
        }
    }

    private final LinearKernel linear1, linear2, gate; // gate: SwiGLU only
    private final Activation act;

    /** The block's feed-forward, sublayer {@code index}; {@code gate} null unless the activation is SwiGLU. */
    FeedForwardSublayer(int index, BlockConfig config, Norm norm, LinearKernel linear1, LinearKernel linear2,
            LinearKernel gate) {
        super("ff", index, config, norm, DropoutSeed.FF_RESIDUAL);
        this.linear1 = linear1;
        this.linear2 = linear2;
        this.gate = gate;
        this.act = config.activation();
    }

    @Override
    SublayerBuffers.Factory buffers() {
        return (arena, input) -> new Buffers(arena, input, config, gate != null);
    }

    @Override
    List<LinearKernel> linears() {
        List<LinearKernel> all = new ArrayList<>(List.of(linear2, linear1));
        if (gate != null) {
            all.add(gate);
        }
        return all;
    }

    @Override
    void in(BlockActivations a, Buffers u, int r0, int r1) {
        int f = u.f;
        Buf in = normIn(u, r0, r1);
        linear1.forward(in, u.h, r0, r1, a.dropout);
        if (gate != null) { // g = silu(h) hg, hg = in Wgate^T + bgate
            gate.forward(in, u.hg, r0, r1, a.dropout);
            RowMath.swiglu(u.h, u.hg, u.g, u.aux, r0 * f, r1 * f);
        } else {
            RowMath.activation(act, u.h, u.g, u.aux, r0 * f, r1 * f);
        }
        if (a.drops(DropoutSeed.FF_HIDDEN)) {
            DropoutSeed.apply(a.base(DropoutSeed.FF_HIDDEN), config.dropout(), u.g, r0 * f, r1 * f);
        }
        linear2.forward(u.g, u.z, r0, r1, a.dropout);
    }

    @Override
    void out(BlockActivations a, Buffers u, int r0, int r1) {
        residual(a, u, r0, r1);
    }

    /** From dOut back to dfin: dg = df W2, dropped as forward, through the activation, dfin = dh W1 (+ dhg Wgate). */
    @Override
    void outBack(BlockActivations a, Buffers u, int r0, int r1) {
        int f = u.f;
        linear2.backwardInput(branchBack(a, u, r0, r1), u.dg, false, r0, r1, a.dropout);
        if (a.drops(DropoutSeed.FF_HIDDEN)) {
            DropoutSeed.apply(a.base(DropoutSeed.FF_HIDDEN), config.dropout(), u.dg, r0 * f, r1 * f);
        }
        if (gate != null) { // dg becomes dh; dhg = dg silu(h)
            RowMath.swigluBack(u.h, u.hg, u.aux, u.dg, u.dg, u.dhg, r0 * f, r1 * f);
        } else {
            RowMath.activationBack(act, u.h, u.aux, u.dg, u.dg, r0 * f, r1 * f); // dg becomes dh
        }
        linear1.backwardInput(u.dg, u.dfin, false, r0, r1, a.dropout);
        if (gate != null) {
            gate.backwardInput(u.dhg, u.dfin, true, r0, r1, a.dropout);
        }
    }

    @Override
    void inBack(BlockActivations a, Buffers u, int r0, int r1) {
        residualBack(u, r0, r1);
    }

    @Override
    void weightGrads(GradientBuffers g, BlockActivations a, Buffers u, int part) {
        linear2.backwardWeights(g.shares, branchGradient(a, u), u.g, a.n, part, a.dropout);
        linear1.backwardWeights(g.shares, u.dg, u.a, a.n, part, a.dropout);
        if (gate != null) {
            gate.backwardWeights(g.shares, u.dhg, u.a, a.n, part, a.dropout);
        }
        normGrads(g, a, u, part);
    }
}
