package org.attn4j.model;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.nn.Module;
import org.attn4j.nn.Norm;
import org.attn4j.nn.Norms;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.linalg.api.buffer.DataType;

/** N encoder blocks ({@code layers.0} ... ) and, for pre-LN, a final LayerNorm or RMSNorm ({@code norm}). */
public final class Encoder extends Module {
    private final List<TransformerBlock> layers = new ArrayList<>();
    private final Norm norm;

    public Encoder(String name, ModelConfig config, DataType dataType) {
        super(name, dataType);
        for (int i = 0; i < config.encoderLayers(); i++) {
            layers.add(child(new TransformerBlock(qualify("layers." + i), config.block(false), dataType)));
        }
        this.norm = config.normFirst()
                ? (Norm) child((Module) Norms.of(config.norm(), qualify("norm"), config.dModel(), config.eps(), dataType))
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
}
