package org.attn4j.model;

import java.util.List;
import java.util.Map;
import org.attn4j.nn.Embedding;
import org.attn4j.nn.Positions;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The encoder-decoder Transformer (Vaswani et al. 2017): the encoder reads the source, the decoder
 * writes the target one token at a time, attending to its own past (causal self-attention) and to
 * the encoded source (cross-attention). Parameters: {@code source_embedding.weight},
 * {@code source_positions.*}, {@code encoder.*}, {@code embedding.weight}, {@code positions.*},
 * {@code decoder.*}, {@code head.*} (untied).
 */
public final class Seq2SeqTransformer extends TransformerModel {
    private final Embedding sourceEmbedding;
    private final Positions sourcePositions;
    private final Encoder encoder;

    public Seq2SeqTransformer(ModelConfig config, DataType dataType) {
        super(requireEncoder(config), dataType);
        this.sourceEmbedding = child(new Embedding("source_embedding", config.sourceVocab(), config.dModel(),
                dataType));
        this.sourcePositions = child(new Positions("source_positions", config.positions(), config.maxLen(),
                config.dModel(), dataType));
        this.encoder = child(new Encoder("encoder", config, dataType));
    }

    public Seq2SeqTransformer(ModelConfig config) {
        this(config, DataType.FLOAT);
    }

    private static ModelConfig requireEncoder(ModelConfig config) {
        if (!config.isSeq2Seq()) {
            throw new IllegalArgumentException("A Seq2SeqTransformer needs an encoder: use ModelConfig.seq2seq(...), "
                    + "got encoderLayers=0");
        }
        return config;
    }

    /** The source-side token embedding. */
    public Embedding sourceEmbedding() {
        return sourceEmbedding;
    }

    /** The source-side positions. */
    public Positions sourcePositions() {
        return sourcePositions;
    }

    /** The encoder's blocks and final norm. */
    public Encoder encoder() {
        return encoder;
    }

    @Override
    protected EncoderParts encoderParts() {
        return new EncoderParts(sourceEmbedding, sourcePositions, encoder.blocks(), encoder.norm());
    }

    /** Encodes {@code source [B, S]} once; the session then decodes against it. */
    @Override
    public DecodingSession startDecoding(INDArray source) {
        checkIds("source", source, config.sourceVocab());
        return decodingSession(encodeOnEngine(source));
    }
}
