package org.attn4j.model;

import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A decoder-only language model (GPT-style): token embedding, positions, N causal blocks, final
 * norm (pre-LN), output projection. Parameters: {@code embedding.weight}, {@code positions.weight}
 * (learned positions), {@code decoder.layers.i.*}, {@code decoder.norm.*}, {@code head.*} (untied).
 */
public final class LanguageModel extends TransformerModel {
    /** Placeholder of the input ids {@code [B, T]}. */
    public static final String TOKENS = "tokens";

    public LanguageModel(ModelConfig config, DataType dataType) {
        super(requireDecoderOnly(config), dataType);
        buildTrainingGraph();
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
    protected String inputName() {
        return TOKENS;
    }

    @Override
    protected Map<String, SDVariable> trainingContext() {
        return Map.of();
    }

    @Override
    protected Map<String, SDVariable> decodingContext(String prefix) {
        return Map.of();
    }

    /** {@code source} must be null: a language model reads only its input. */
    @Override
    public Map<String, INDArray> feeds(INDArray source, INDArray input, INDArray target) {
        if (source != null) {
            throw new IllegalArgumentException("A LanguageModel takes no source sequence; pass null");
        }
        return decoderFeeds("input", input, target);
    }

    @Override
    public DecodingSession startDecoding(INDArray source) {
        if (source != null) {
            throw new IllegalArgumentException("A LanguageModel takes no source sequence; pass null");
        }
        return new DecodingSession(this, Map.of());
    }
}
