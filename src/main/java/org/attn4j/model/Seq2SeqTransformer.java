package org.attn4j.model;

import java.util.List;
import java.util.Map;
import org.attn4j.nn.Embedding;
import org.attn4j.nn.Positions;
import org.nd4j.autodiff.samediff.SDVariable;
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
    /** Placeholders of the source ids {@code [B, S]} and the decoder input ids {@code [B, T]}. */
    public static final String SOURCE = "source", TARGET_INPUT = "target_input";

    private final Embedding sourceEmbedding;
    private final Positions sourcePositions;
    private final Encoder encoder;
    private SDVariable memory, memoryKeep; // [B, S, C], [B, S]
    private List<SDVariable> encoderSelf;

    public Seq2SeqTransformer(ModelConfig config, DataType dataType) {
        super(requireEncoder(config), dataType);
        this.sourceEmbedding = child(new Embedding(sd, "source_embedding", config.sourceVocab(), config.dModel(),
                dataType));
        this.sourcePositions = child(new Positions(sd, "source_positions", config.positions(), config.maxLen(),
                config.dModel(), dataType));
        this.encoder = child(new Encoder(sd, "encoder", config, dataType));
        buildTrainingGraph();
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

    @Override
    protected String inputName() {
        return TARGET_INPUT;
    }

    @Override
    protected Map<String, SDVariable> trainingContext() {
        SDVariable source = sd.placeHolder(SOURCE, DataType.INT, -1, -1);
        this.memoryKeep = sd.neq(source, config.padId()).castTo(dataType).rename("memory_keep"); // [B, S]
        Encoder.Output o = encoder.forward(embed(sourceEmbedding, sourcePositions, source, null), memoryKeep);
        this.memory = o.output().rename("memory"); // [B, S, C]
        this.encoderSelf = o.selfWeights();
        return Map.of("memory", memory, "memoryKeep", memoryKeep);
    }

    /** The training graph's encoder output {@code [B, S, C]} and source key padding {@code [B, S]}. */
    Map<String, SDVariable> encoderOutputs() {
        return Map.of("memory", memory, "memoryKeep", memoryKeep);
    }

    @Override
    protected EncoderParts encoderParts() {
        return new EncoderParts(sourceEmbedding, sourcePositions, encoder.blocks(), encoder.norm());
    }

    @Override
    protected List<SDVariable> encoderSelfWeights() {
        return encoderSelf;
    }

    @Override
    public Map<String, INDArray> feeds(INDArray source, INDArray input, INDArray target) {
        checkIds("source", source, config.sourceVocab());
        Map<String, INDArray> feeds = decoderFeeds("target input", input, target);
        if (source.size(0) != input.size(0)) {
            throw new IllegalArgumentException("source has batch size " + source.size(0) + " but the target input has "
                    + input.size(0));
        }
        feeds.put(SOURCE, source.castTo(DataType.INT));
        return feeds;
    }

    /** Encodes {@code source [B, S]} once; the session then decodes against it. */
    @Override
    public DecodingSession startDecoding(INDArray source) {
        checkIds("source", source, config.sourceVocab());
        return new DecodingSession(this, encodeOnEngine(source));
    }
}
