package org.attn4j.samediff;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.model.TransformerModel;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A {@link LanguageModel} or {@link Seq2SeqTransformer} as one SameDiff graph, built from the model's config and
 * weights (its parameters become variables holding the model's arrays, named as the parameters): ids in,
 * logits {@code [B, T, V]} out, with every attention weight, for users who extend a model inside SameDiff and
 * as the tests' independent reference. Dropout acts only while SameDiff trains ({@link Dropout}). Training,
 * prediction and decoding of the model itself run on the engine; nothing here is on their path.
 *
 * <pre>{@code
 * ModelGraph g = new ModelGraph(model);
 * INDArray logits = g.sameDiff().output(g.feeds(source, input, null), g.logits().name()).get(g.logits().name());
 * }</pre>
 */
public final class ModelGraph {
    /** Placeholder of the training targets {@code [B, T]} (INT). */
    public static final String TARGETS = "targets";
    /** Placeholder of a language model's input ids {@code [B, T]} (INT). */
    public static final String TOKENS = "tokens";
    /** Placeholders of an encoder-decoder's source ids {@code [B, S]} and decoder input ids {@code [B, T]} (INT). */
    public static final String SOURCE = "source", TARGET_INPUT = "target_input";

    private final TransformerModel model;
    private final ModelConfig config;
    private final SameDiff sd;
    private final EmbeddingGraph embedding;
    private final PositionsGraph positions;
    private final DecoderGraph decoder;
    private final LinearGraph head; // null when tied
    private final SDVariable logits, targets; // [B, T, V], [B, T]
    private SDVariable memory, memoryKeep; // [B, S, C], [B, S]: encoder-decoder only
    private List<SDVariable> encoderSelf = List.of();
    private final List<SDVariable> decoderSelf, cross;

    /** The model in a new graph of its own. */
    public ModelGraph(TransformerModel model) {
        this(SameDiff.create(), model);
    }

    /** The model in {@code sd}, whose variable names must not clash with the model's parameter names. */
    public ModelGraph(SameDiff sd, TransformerModel model) {
        this.model = model;
        this.config = model.config();
        this.sd = sd;
        DataType type = model.dataType();
        this.embedding = new EmbeddingGraph(sd, model.embedding());
        this.positions = new PositionsGraph(sd, model.positions());
        this.decoder = new DecoderGraph(sd, model.decoder());
        this.head = model.head() == null ? null : new LinearGraph(sd, model.head());
        SDVariable input = sd.placeHolder(inputName(), DataType.INT, -1, -1);
        this.targets = sd.placeHolder(TARGETS, DataType.INT, -1, -1);
        if (model instanceof Seq2SeqTransformer s2s) {
            SDVariable source = sd.placeHolder(SOURCE, DataType.INT, -1, -1);
            this.memoryKeep = sd.neq(source, config.padId()).castTo(type).rename("memory_keep"); // [B, S]
            EncoderGraph.Output o = new EncoderGraph(sd, s2s.encoder()).forward(
                    embed(new EmbeddingGraph(sd, s2s.sourceEmbedding()), new PositionsGraph(sd, s2s.sourcePositions()),
                            source, null), memoryKeep);
            this.memory = o.output().rename("memory");
            this.encoderSelf = o.selfWeights();
        }
        SDVariable keep = sd.neq(input, config.padId()).castTo(type); // [B, T]
        DecoderGraph.Output o = decoder.forward(embed(input, null), keep, null, memory, memoryKeep);
        this.logits = project(o.output()).rename("logits");
        this.decoderSelf = o.selfWeights();
        this.cross = o.crossWeights();
    }

    public SameDiff sameDiff() {
        return sd;
    }

    public TransformerModel model() {
        return model;
    }

    /** The logits {@code [B, T, V]}. */
    public SDVariable logits() {
        return logits;
    }

    /** The placeholder of the training targets {@code [B, T]} (INT), for a loss such as {@link Losses#crossEntropy}. */
    public SDVariable targets() {
        return targets;
    }

    /** Name of the placeholder of the decoder's (or language model's) input ids {@code [B, T]}. */
    public String inputName() {
        return config.isSeq2Seq() ? TARGET_INPUT : TOKENS;
    }

    /** Feeds: the source (null for a language model), the input and (if not null) the target ids, checked. */
    public Map<String, INDArray> feeds(INDArray source, INDArray input, INDArray target) {
        model.checkInputs(source, input);
        Map<String, INDArray> feeds = new HashMap<>();
        if (source != null) {
            feeds.put(SOURCE, source.castTo(DataType.INT));
        }
        feeds.put(inputName(), input.castTo(DataType.INT));
        if (target != null) {
            model.checkIds("target", target, config.targetVocab());
            feeds.put(TARGETS, target.castTo(DataType.INT));
        }
        return feeds;
    }

    /** The encoder's self-attention weights, one per layer (none for a language model). */
    public List<SDVariable> encoderSelfWeights() {
        return encoderSelf;
    }

    /** The decoder's self-attention weights, one per layer. */
    public List<SDVariable> decoderSelfWeights() {
        return decoderSelf;
    }

    /** The cross-attention weights, one per layer (none for a language model). */
    public List<SDVariable> crossWeights() {
        return cross;
    }

    /** An encoder-decoder's "memory" {@code [B, S, C]} and "memoryKeep" {@code [B, S]}; empty for a language model. */
    public Map<String, SDVariable> encoderOutputs() {
        return memory == null ? Map.of() : Map.of("memory", memory, "memoryKeep", memoryKeep);
    }

    /** The decoder's blocks in this graph (for graphs of one's own: decoding steps with a cache). */
    public DecoderGraph decoder() {
        return decoder;
    }

    /** Target-side embedding of ids {@code [B, T]} standing after {@code offset} earlier tokens (null: none). */
    public SDVariable embed(SDVariable ids, SDVariable offset) {
        return embed(embedding, positions, ids, offset);
    }

    private SDVariable embed(EmbeddingGraph e, PositionsGraph p, SDVariable ids, SDVariable offset) {
        SDVariable x = e.forward(ids);
        if (config.scaleEmbedding()) {
            x = x.mul(Math.sqrt(config.dModel()));
        }
        return Dropout.apply(p.forward(x, offset), config.dropout());
    }

    /** Logits {@code [B, T, V]} of the decoder's output {@code h [B, T, C]}. */
    public SDVariable project(SDVariable h) {
        return head == null ? embedding.logits(h) : head.forward(h);
    }
}
