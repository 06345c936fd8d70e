package org.attn4j.samediff;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.config.AttentionMask;
import org.attn4j.model.Encoder;
import org.attn4j.config.BlockOutput;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/** An {@link Encoder} in a SameDiff graph: its blocks, then the final norm (pre-LN). */
public final class EncoderGraph {
    /** The encoded sequence {@code [B, S, C]} and each layer's self-attention weights {@code [B, H, S, S]}. */
    public record Output(SDVariable output, List<SDVariable> selfWeights) {
    }

    private final List<TransformerBlockGraph> layers = new ArrayList<>();
    private final NormGraph norm;

    public EncoderGraph(SameDiff sd, Encoder encoder) {
        for (TransformerBlock block : encoder.blocks()) {
            layers.add(new TransformerBlockGraph(sd, block));
        }
        this.norm = encoder.norm() == null ? null : new NormGraph(sd, encoder.norm());
    }

    /** {@code x [B, S, C]} with its padding mask {@code keep [B, S]} (1 = real token). */
    public Output forward(SDVariable x, SDVariable keep) {
        List<SDVariable> weights = new ArrayList<>();
        for (TransformerBlockGraph layer : layers) {
            BlockOutput<SDVariable> o = layer.forward(x, AttentionMask.ofPadding(keep));
            x = o.output();
            weights.add(o.selfWeights());
        }
        return new Output(norm == null ? x : norm.forward(x), weights);
    }
}
