package org.attn4j.model;

import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A decoder-only language model (GPT-style): token embedding, positions, N causal blocks, final
 * norm (pre-LN), output projection. Parameters: {@code embedding.weight}, {@code positions.weight}
 * (learned positions), {@code decoder.layers.i.*}, {@code decoder.norm.*}, {@code head.*} (untied).
 *
 * <p>Initialized as GPT-2 and nanoGPT are: the embedding and position tables and every weight matrix
 * N(0, 0.02²), the two projections that write into the residual stream of each block (attention's
 * {@code out} and the feed-forward's {@code linear2}) N(0, (0.02 / sqrt(2 L))²) for L blocks, biases 0,
 * norms 1 and 0 (draws from ND4J's random generator: seed it with {@code Nd4j.getRandom().setSeed}).
 * The initial logits are then small, so the initial loss is about ln(V), the loss of a uniform guess.
 */
public final class LanguageModel extends TransformerModel {
    public LanguageModel(ModelConfig config, DataType dataType) {
        super(requireDecoderOnly(config), dataType);
        initialize();
    }

    private void initialize() {
        double std = 0.02, residual = std / Math.sqrt(2.0 * config.decoderLayers());
        parameters().forEach((name, p) -> {
            if (name.contains(".norm")) {
                return; // LayerNorm: 1 and 0 already
            }
            if (name.endsWith(".bias")) {
                p.assign(0);
            } else {
                boolean intoResidual = name.endsWith("self_attn.out.weight") || name.endsWith("ff.linear2.weight");
                p.assign(Nd4j.randn(dataType, p.shape()).muli(intoResidual ? residual : std));
            }
        });
    }

    public LanguageModel(ModelConfig config) {
        this(config, DataType.FLOAT);
    }

    private static ModelConfig requireDecoderOnly(ModelConfig config) {
        if (config.isSeq2Seq()) {
            throw new IllegalArgumentException("A LanguageModel has no encoder: use ModelConfig.languageModel(...) "
                    + "(encoderLayers=0, sourceVocab=0), got encoderLayers=" + config.encoderLayers());
        }
        return config;
    }

    @Override
    public DecodingSession startDecoding(INDArray source) {
        if (source != null) {
            throw new IllegalArgumentException("A LanguageModel takes no source sequence; pass null");
        }
        return new DecodingSession(this, Map.of());
    }
}
