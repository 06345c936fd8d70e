package org.attn4j.engine;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionWeights;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.BlockWeights;
import org.attn4j.config.FeedForwardWeights;
import org.attn4j.config.LinearWeights;
import org.attn4j.config.NormWeights;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.LinearKernel;
import org.attn4j.kernels.LoraKernel;
import org.attn4j.kernels.NormKernel;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A block's sublayers on its weights, {@code [self-attention, (cross-attention), feed-forward]}, and its
 * parameter arrays by full name (the block's own, shared: an update changes the block). With LoRA adapters, every
 * linear weight and bias is frozen (no gradient) and the adapters' A and B are parameters.
 */
final class BlockParts {
    final List<Sublayer<?>> sublayers = new ArrayList<>();
    final AttentionSublayer self, cross; // cross: null without
    final Map<String, INDArray> parameters = new LinkedHashMap<>();
    final Set<String> frozen = new HashSet<>();
    private final Map<String, LoraKernel.Part> adapters; // by weight name; null: every weight trains

    BlockParts(BlockConfig config, BlockWeights weights, Map<String, LoraKernel.Part> adapters) {
        this.adapters = adapters;
        boolean hasCross = config.crossAttention();
        if (hasCross != (weights.crossAttention() != null)) {
            throw new IllegalArgumentException("a block " + (hasCross ? "with" : "without")
                    + " cross-attention given weights " + (hasCross ? "without" : "with") + " cross-attention");
        }
        // in the order the parameters were always listed: the linears, then the norms
        LinearKernel[] selfProjections = projections(weights.selfAttention());
        LinearKernel[] crossProjections = hasCross ? projections(weights.crossAttention()) : null;
        FeedForwardWeights ff = weights.feedForward();
        LinearKernel linear1 = lin(ff.linear1()), linear2 = lin(ff.linear2());
        LinearKernel gate = config.activation() == Activation.SWIGLU ? lin(ff.gate()) : null;
        this.self = AttentionSublayer.self(0, config, norm(weights.selfNorm()), selfProjections);
        this.cross = hasCross ? AttentionSublayer.cross(1, config, norm(weights.crossNorm()), crossProjections) : null;
        sublayers.add(this.self);
        if (hasCross) {
            sublayers.add(this.cross);
        }
        sublayers.add(new FeedForwardSublayer(sublayers.size(), config, norm(weights.feedForwardNorm()), linear1,
                linear2, gate));
    }

    /** An attention's q, k, v and out. */
    private LinearKernel[] projections(AttentionWeights w) {
        return new LinearKernel[] {lin(w.q()), lin(w.k()), lin(w.v()), lin(w.out())};
    }

    /** A projection's kernel, its arrays recorded under their parameter names. */
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

    /** A norm's kernel (RMSNorm: no bias), its arrays recorded under their parameter names. */
    private Sublayer.Norm norm(NormWeights n) {
        INDArray gamma = n.weight(), beta = n.bias();
        parameters.put(n.name() + ".weight", gamma);
        if (beta != null) {
            parameters.put(n.name() + ".bias", beta);
        }
        return new Sublayer.Norm(new NormKernel(Buf.of(gamma), beta == null ? null : Buf.of(beta), n.eps()),
                n.name() + ".weight", beta == null ? null : n.name() + ".bias");
    }
}
