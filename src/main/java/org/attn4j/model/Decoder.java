package org.attn4j.model;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.config.BlockConfig;
import org.attn4j.nn.Module;
import org.attn4j.nn.Norm;
import org.attn4j.nn.Norms;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * N causal blocks ({@code layers.0} ...) and, for pre-LN, a final LayerNorm or RMSNorm ({@code norm}). With
 * cross-attention they are decoder blocks attending to an encoder's memory; without, they form a
 * decoder-only language model.
 */
public final class Decoder extends Module {
    private final List<TransformerBlock> layers = new ArrayList<>();
    private final Norm norm;
    private final boolean cross;

    public Decoder(String name, ModelConfig config, boolean crossAttention, DataType dataType) {
        super(name, dataType);
        this.cross = crossAttention;
        BlockConfig block = config.block(crossAttention).withCausal(true);
        for (int i = 0; i < config.decoderLayers(); i++) {
            layers.add(child(new TransformerBlock(qualify("layers." + i), block, dataType)));
        }
        this.norm = config.normFirst()
                ? (Norm) child((Module) Norms.of(config.norm(), qualify("norm"), config.dModel(), config.eps(), dataType))
                : null;
    }

    public int layers() {
        return layers.size();
    }

    /** Whether the blocks attend to an encoder's memory. */
    public boolean crossAttention() {
        return cross;
    }

    /** The blocks, first to last. */
    public List<TransformerBlock> blocks() {
        return List.copyOf(layers);
    }

    /** The final norm (pre-LN), or null. */
    public Norm norm() {
        return norm;
    }
}
