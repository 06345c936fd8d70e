package org.attn4j.model;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.config.AttentionMask;
import org.attn4j.nn.BlockOutput;
import org.attn4j.nn.Module;
import org.attn4j.nn.Norm;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/** N encoder blocks ({@code layers.0} ... ) and, for pre-LN, a final LayerNorm or RMSNorm ({@code norm}). */
public final class Encoder extends Module {
    /** The encoded sequence {@code [B, S, C]} and each layer's self-attention weights {@code [B, H, S, S]}. */
    public record Output(SDVariable output, List<SDVariable> selfWeights) {
    }

    private final List<TransformerBlock> layers = new ArrayList<>();
    private final Norm norm;

    public Encoder(SameDiff sd, String name, ModelConfig config, DataType dataType) {
        super(sd, name, dataType);
        for (int i = 0; i < config.encoderLayers(); i++) {
            layers.add(child(new TransformerBlock(sd, qualify("layers." + i),
                    config.block(false), dataType)));
        }
        this.norm = config.normFirst()
                ? (Norm) child((Module) Norm.of(config.norm(), sd, qualify("norm"), config.dModel(), config.eps(), dataType))
                : null;
    }

    /** The blocks, first to last. */
    public List<TransformerBlock> blocks() {
        return List.copyOf(layers);
    }

    /** The final norm (pre-LN), or null. */
    public Norm norm() {
        return norm;
    }

    /** {@code x [B, S, C]} with its padding mask {@code keep [B, S]} (1 = real token). */
    public Output forward(SDVariable x, SDVariable keep) {
        List<SDVariable> weights = new ArrayList<>();
        for (TransformerBlock layer : layers) {
            BlockOutput<SDVariable> o = layer.forward(x, AttentionMask.ofPadding(keep));
            x = o.output();
            weights.add(o.selfWeights());
        }
        return new Output(norm == null ? x : norm.forward(x), weights);
    }
}
