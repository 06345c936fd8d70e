package org.attn4j.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.nn.Dropout;
import org.attn4j.nn.Embedding;
import org.attn4j.nn.KvCache;
import org.attn4j.nn.Norm;
import org.attn4j.nn.Linear;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.nn.Module;
import org.attn4j.nn.Positions;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;

/**
 * What the encoder-decoder and the language model share: the target embedding, positions, the
 * decoder stack, the output projection, and the graphs for training and decoding — all in one
 * SameDiff graph built once (the decoding graphs on first use).
 */
public abstract class TransformerModel extends Module {
    /** Placeholder of the training targets {@code [B, T]}; padding positions are ignored by the loss. */
    public static final String TARGETS = "targets";

    protected final ModelConfig config;
    protected final Embedding embedding;
    protected final Positions positions;
    protected final Decoder decoder;
    private final Linear head; // null when tied to the embedding
    private SDVariable logits; // [B, T, V], the training graph's output
    private SDVariable targets;
    private final List<SDVariable> decoderSelf = new ArrayList<>(), decoderCross = new ArrayList<>();
    private DecodeGraph full, step;
    private volatile boolean fastDecoding = true;
    private org.attn4j.fast.FastDecoder fast; // built on first use where it covers the model
    private org.attn4j.fast.FastTransformer engine; // built with the first engine state

    protected TransformerModel(ModelConfig config, DataType dataType) {
        super(SameDiff.create(), "", dataType);
        this.config = config;
        this.embedding = child(new Embedding(sd, "embedding", config.targetVocab(), config.dModel(), dataType));
        this.positions = child(new Positions(sd, "positions", config.positions(), config.maxLen(), config.dModel(),
                dataType));
        this.decoder = child(new Decoder(sd, "decoder", config, config.isSeq2Seq(), dataType));
        this.head = config.tieEmbeddings() ? null : child(new Linear(sd, "head",
                new Linear.Config(config.dModel(), config.targetVocab(), config.bias()), Linear.Init.TORCH_DEFAULT, dataType));
    }

    /** Builds the training graph; subclasses call it at the end of their constructor. */
    protected final void buildTrainingGraph() {
        SDVariable input = sd.placeHolder(inputName(), DataType.INT, -1, -1);
        this.targets = sd.placeHolder(TARGETS, DataType.INT, -1, -1);
        SDVariable keep = sd.neq(input, config.padId()).castTo(dataType); // [B, T]
        Map<String, SDVariable> context = trainingContext();
        Decoder.Output o = decoder.forward(embed(embedding, positions, input, null), keep, null,
                context.get("memory"), context.get("memoryKeep"));
        this.logits = project(o.output()).rename("logits");
        decoderSelf.addAll(o.selfWeights());
        decoderCross.addAll(o.crossWeights());
    }

    public ModelConfig config() {
        return config;
    }

    /** The training graph's logits {@code [B, T, V]}. */
    public SDVariable logits() {
        return logits;
    }

    /** The placeholder of the training targets {@code [B, T]} (INT). */
    public SDVariable targets() {
        return targets;
    }

    /** Name of the placeholder of the decoder's (or language model's) input ids {@code [B, T]}. */
    protected abstract String inputName();

    /** Graph variables the decoder attends to in training: "memory" and "memoryKeep", or none. */
    protected abstract Map<String, SDVariable> trainingContext();

    /** Placeholders for what the decoder attends to while decoding, named under {@code prefix}. */
    protected abstract Map<String, SDVariable> decodingContext(String prefix);

    /** Embeds ids {@code [B, T]} standing after {@code offset} earlier tokens (null: none). */
    protected final SDVariable embed(Embedding e, Positions p, SDVariable ids, SDVariable offset) {
        SDVariable x = e.forward(ids);
        if (config.scaleEmbedding()) {
            x = x.mul(Math.sqrt(config.dModel()));
        }
        return Dropout.apply(p.forward(x, offset), config.dropout());
    }

    private SDVariable project(SDVariable h) {
        return head == null ? embedding.logits(h) : head.forward(h);
    }

    /** Feeds for the training graph: the source (null for a language model), input and target ids. */
    public abstract Map<String, INDArray> feeds(INDArray source, INDArray input, INDArray target);

    /** Checked feeds of the decoder's input ids and (if given) the training targets. */
    protected final Map<String, INDArray> decoderFeeds(String what, INDArray input, INDArray target) {
        checkIds(what, input, config.targetVocab());
        Map<String, INDArray> feeds = new java.util.HashMap<>();
        feeds.put(inputName(), input.castTo(DataType.INT));
        if (target != null) {
            checkIds("target", target, config.targetVocab());
            feeds.put(TARGETS, target.castTo(DataType.INT));
        }
        return feeds;
    }

    /** Logits {@code [B, T, V]} of one forward pass (no dropout). */
    public INDArray predict(INDArray source, INDArray input) {
        if (fastDecoder() != null) {
            return inferOnEngine(source, input, s -> s.logits().dup('c'));
        }
        Map<String, INDArray> feeds = feeds(source, input, null);
        return graphLock().read(() -> sd.output(feeds, logits.name()).get(logits.name()));
    }

    /** A forward pass on the engine (ids checked and converted once), read by {@code result} before its state is freed. */
    private <R> R inferOnEngine(INDArray source, INDArray input,
            java.util.function.Function<org.attn4j.fast.FastTransformer.State, R> result) {
        int[][] sources = checkedSource(source, input), inputs = checkedRows("input", input, config.targetVocab());
        org.attn4j.fast.FastTransformer e = engine();
        return graphLock().read(() -> {
            try (org.attn4j.fast.FastTransformer.State s = e.newInferenceState()) {
                e.forward(s, sources, inputs, null, config.padId(), 0);
                return result.apply(s);
            }
        });
    }

    /** Every attention weight of one forward pass, in one call. */
    public AttentionMaps attention(INDArray source, INDArray input) {
        if (fastDecoder() != null) {
            return inferOnEngine(source, input,
                    s -> new AttentionMaps(s.encoderSelfWeights(), s.selfWeights(), s.crossWeights()));
        }
        List<String> names = new ArrayList<>();
        List<SDVariable> encoderSelf = encoderSelfWeights();
        for (List<SDVariable> group : List.of(encoderSelf, decoderSelf, decoderCross)) {
            group.forEach(v -> names.add(v.name()));
        }
        Map<String, INDArray> feeds = feeds(source, input, null);
        Map<String, INDArray> r = graphLock().read(() -> sd.output(feeds, names));
        return new AttentionMaps(values(encoderSelf, r), values(decoderSelf, r), values(decoderCross, r));
    }

    protected List<SDVariable> encoderSelfWeights() {
        return List.of();
    }

    private static List<INDArray> values(List<SDVariable> vars, Map<String, INDArray> computed) {
        return vars.stream().map(v -> computed.get(v.name())).toList();
    }

    /** Checks ids {@code [B, T]} against the vocabulary and the position table. */
    protected final void checkIds(String what, INDArray ids, int vocab) {
        checkedRows(what, ids, vocab);
    }

    /** The checked source rows of an encoder-decoder (matching the input's batch), null for a language model. */
    private int[][] checkedSource(INDArray source, INDArray input) {
        if (!config.isSeq2Seq()) {
            if (source != null) {
                throw new IllegalArgumentException("A LanguageModel takes no source sequence; pass null");
            }
            return null;
        }
        int[][] rows = checkedRows("source", source, config.sourceVocab());
        if (input != null && source.size(0) != input.size(0)) {
            throw new IllegalArgumentException("source has batch size " + source.size(0) + " but the target input has "
                    + input.size(0));
        }
        return rows;
    }

    /** {@link #checkIds}, returning the ids as rows of Java ints (one copy, used for both). */
    private int[][] checkedRows(String what, INDArray ids, int vocab) {
        if (ids == null || ids.rank() != 2 || ids.length() == 0) {
            throw new IllegalArgumentException(what + " must be non-empty token ids [B, T], got "
                    + (ids == null ? "null" : java.util.Arrays.toString(ids.shape())));
        }
        if (ids.size(1) > positions.maxLen()) {
            throw new IllegalArgumentException(what + " has length " + ids.size(1) + " but the model's positions cover "
                    + positions.maxLen() + " (maxLen)");
        }
        if (ids.dataType().isFPType()) {
            INDArray rounded = org.nd4j.linalg.ops.transforms.Transforms.round(ids, true);
            if (ids.isNaN().any() || ids.isInfinite().any() || !rounded.equals(ids)) {
                throw new IllegalArgumentException(what + " must hold whole token ids; it is " + ids.dataType()
                        + " with NaN, infinite or fractional values");
            }
        }
        int[][] rows = rows(ids);
        for (int[] row : rows) {
            for (int id : row) {
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException(what + " holds token id " + id + " outside the vocabulary [0, "
                            + vocab + ")");
                }
            }
        }
        return rows;
    }

    /** Checked ids as rows of Java ints ({@link org.attn4j.fast.FastTransformer#rows}). */
    static int[][] rows(INDArray ids) {
        return org.attn4j.fast.FastTransformer.rows(ids);
    }

    /**
     * Tests only (package-private): false makes decoding, {@code predict} and {@code attention} run the
     * model's SameDiff graphs, the independent reference the engine is checked against. Users always
     * run the engine.
     */
    void setFastDecoding(boolean on) {
        this.fastDecoding = on;
    }

    /** The engine's decoder of this model, or null where the tests switched to the graphs. */
    final org.attn4j.fast.FastDecoder fastDecoder() {
        if (!fastDecoding) {
            return null;
        }
        synchronized (this) {
            if (fast == null) {
                fast = new org.attn4j.fast.FastDecoder(decoder.blocks(), engineWeights(),
                        org.attn4j.fast.Parallel.shared());
            }
            return fast;
        }
    }

    /**
     * A caller's workspace for {@link #lossAndGradients}: the engine's activations and gradients of one
     * batch. One per thread.
     */
    public static final class EngineState {
        private final org.attn4j.fast.FastTransformer.State state;
        private final Map<String, INDArray> gradients = new LinkedHashMap<>();

        private EngineState(org.attn4j.fast.FastTransformer.State state) {
            this.state = state;
        }
    }

    /**
     * The loss of a batch and its gradients.
     *
     * @param loss      mean loss over the non-padding targets
     * @param gradients by parameter name: views of the state's arrays, overwritten by its next call
     * @param tokens    non-padding targets
     */
    public record LossAndGradients(double loss, Map<String, INDArray> gradients, long tokens) {
    }


    /**
     * What an encoder-decoder adds: the source embedding and positions, the encoder's blocks and final
     * norm (null: post-LN).
     */
    protected record EncoderParts(Embedding embedding, Positions positions, List<org.attn4j.nn.TransformerBlock> blocks,
            Norm norm) {
    }

    /** The encoder's parts, or null for a language model. */
    protected EncoderParts encoderParts() {
        return null;
    }

    /** The engine of this model (made on first use); callers check first that it covers the model. */
    private synchronized org.attn4j.fast.FastTransformer engine() {
        if (engine == null) {
            EncoderParts e = encoderParts();
            engine = e == null ? new org.attn4j.fast.FastTransformer(decoder.blocks(), engineWeights(),
                    org.attn4j.fast.Parallel.shared())
                    : new org.attn4j.fast.FastTransformer(e.blocks(), weights(e.embedding(), e.positions(), e.norm(), null),
                            decoder.blocks(), engineWeights(), org.attn4j.fast.Parallel.shared());
        }
        return engine;
    }

    /** A new engine workspace for {@link #lossAndGradients}: one per thread. */
    public EngineState newEngineState() {
        EngineState s = new EngineState(engine().newState());
        EncoderParts e = encoderParts();
        if (e != null) {
            org.attn4j.fast.FastTransformer.Gradients g = s.state.encoderGradients();
            put(s.gradients, e.embedding(), g.embedding());
            if (g.positions() != null) {
                put(s.gradients, e.positions(), g.positions());
            }
            if (e.norm() != null) {
                e.norm().parameters().keySet().forEach(k -> s.gradients.put(k, k.endsWith("weight") ? g.normWeight()
                        : g.normBias()));
            }
            g.blocks().forEach(s.gradients::putAll);
        }
        org.attn4j.fast.FastTransformer.Gradients g = s.state.gradients();
        put(s.gradients, embedding, g.embedding());
        if (g.positions() != null) {
            put(s.gradients, positions, g.positions());
        }
        if (decoder.norm() != null) {
            Map<String, SDVariable> norm = decoder.norm().parameters();
            norm.keySet().forEach(k -> s.gradients.put(k, k.endsWith("weight") ? g.normWeight() : g.normBias()));
        }
        g.blocks().forEach(s.gradients::putAll);
        if (head != null) {
            head.parameters().keySet().forEach(k -> s.gradients.put(k, k.endsWith("weight") ? g.headWeight() : g.headBias()));
        }
        return s;
    }

    private static void put(Map<String, INDArray> into, Module m, INDArray gradient) {
        into.put(m.parameters().keySet().iterator().next(), gradient);
    }

    /**
     * Mean loss of {@code target [B, T]} given {@code input [B, T]} with label smoothing, on the engine,
     * and (when {@code withGradients}) every parameter's gradient. Targets equal to the padding id are
     * not counted; inputs equal to it are masked as keys.
     */
    public LossAndGradients lossAndGradients(EngineState s, INDArray source, INDArray input, INDArray target,
            double smoothing, boolean withGradients) {
        return lossAndGradients(s, source, input, target, smoothing, withGradients, null);
    }

    /**
     * {@link #lossAndGradients(EngineState, INDArray, INDArray, INDArray, double, boolean)} while training:
     * dropout applies, with the masks of {@code dropout} (a run's seed and step; null: no dropout).
     */
    public LossAndGradients lossAndGradients(EngineState s, INDArray source, INDArray input, INDArray target,
            double smoothing, boolean withGradients, org.attn4j.fast.DropoutSeed dropout) {
        int[][] sourceRows = checkedSource(source, input);
        int[][] inputRows = checkedRows("input", input, config.targetVocab());
        int[][] targetRows = checkedRows("target", target, config.targetVocab());
        if (!java.util.Arrays.equals(input.shape(), target.shape())) {
            throw new IllegalArgumentException("input " + java.util.Arrays.toString(input.shape())
                    + " and target " + java.util.Arrays.toString(target.shape()) + " must have the same shape");
        }
        if (!(smoothing >= 0 && smoothing < 1)) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + smoothing);
        }
        int pad = config.padId();
        double loss = engine.forward(s.state, sourceRows, inputRows, targetRows, pad, smoothing, dropout);
        if (withGradients) {
            engine.backward(s.state, pad, smoothing);
        }
        return new LossAndGradients(loss, s.gradients, s.state.counted());
    }

    private org.attn4j.fast.FastDecoder.Weights engineWeights() {
        return weights(embedding, positions, decoder.norm(), head);
    }

    /** The engine's view of one stack's arrays: embedding, positions, final norm (or null), head (null: tied or none). */
    private org.attn4j.fast.FastDecoder.Weights weights(Embedding e, Positions p, Norm norm, Linear head) {
        INDArray table = switch (config.positions()) {
            case LEARNED -> p.parameters().values().iterator().next().getArr();
            case SINUSOIDAL -> Positions.sinusoidal(config.maxLen(), config.dModel()).castTo(dataType);
            default -> null;
        };
        INDArray embeddingTable = e.parameters().values().iterator().next().getArr();
        Map<String, SDVariable> normP = norm == null ? Map.of() : norm.parameters();
        Map<String, SDVariable> headP = head == null ? Map.of() : head.parameters();
        boolean tied = head == null && e == embedding;
        return new org.attn4j.fast.FastDecoder.Weights(embeddingTable, config.scaleEmbedding(), table,
                config.positions() == PositionalEncoding.LEARNED,
                norm == null ? null : arr(normP, "weight"), norm == null ? null : arr(normP, "bias"), config.eps(),
                head == null ? (tied ? embeddingTable : null) : arr(headP, "weight"), head == null ? null : arr(headP, "bias"),
                p.maxLen(), config.dropout());
    }

    private static INDArray arr(Map<String, SDVariable> params, String suffix) {
        return params.entrySet().stream().filter(e -> e.getKey().endsWith("." + suffix)).findFirst()
                .map(e -> e.getValue().getArr()).orElse(null);
    }

    /**
     * The encoder's output {@code [B, S, C]} and key padding {@code [B, S]} (1 = real token) of
     * {@code source}, on the engine: an encoder-decoder's decoding context. Null where the engine does not
     * cover the model.
     */
    protected final Map<String, INDArray> encodeOnEngine(INDArray source) {
        if (fastDecoder() == null) {
            return null;
        }
        INDArray memory = graphLock().read(() -> engine().encode(rows(source), config.padId()));
        INDArray keep = source.neq(config.padId()).castTo(dataType);
        return Map.of("memory", memory, "memoryKeep", keep);
    }

    /** A decoding session for a batch; {@code source [B, S]} for an encoder-decoder, null for a language model. */
    public abstract DecodingSession startDecoding(INDArray source);

    /** The full-prefix decoding graph (also used for a session's first step). */
    final DecodeGraph fullGraph() {
        return graphLock().write(() -> {
            if (full == null) {
                full = buildDecodeGraph("full", false);
            }
            return full;
        });
    }

    /** The one-token-at-a-time decoding graph with a key/value cache. */
    final DecodeGraph stepGraph() {
        return graphLock().write(() -> {
            if (step == null) {
                step = buildDecodeGraph("step", true);
            }
            return step;
        });
    }

    /**
     * @param tokens  placeholder name of the ids {@code [B, T]}
     * @param context placeholder names of the memory feeds ("memory", "memoryKeep"), if any
     * @param past    per layer, placeholder names of the cached keys and values (empty for "full")
     * @param logProbs name of the log-probabilities {@code [B, V]} of the last position
     * @param caches  per layer, the names of the grown keys and values
     */
    record DecodeGraph(String tokens, Map<String, String> context, List<KvCache<String>> past, String logProbs,
            List<KvCache<String>> caches) {
    }

    private DecodeGraph buildDecodeGraph(String prefix, boolean cached) {
        SDVariable ids = sd.placeHolder(prefix + ".tokens", DataType.INT, -1, -1);
        Map<String, SDVariable> context = decodingContext(prefix);
        List<KvCache<SDVariable>> past = null;
        List<KvCache<String>> pastNames = new ArrayList<>();
        SDVariable offset = null;
        if (cached) {
            past = new ArrayList<>();
            int h = config.heads(), d = config.dModel() / config.heads();
            for (int i = 0; i < decoder.layers(); i++) {
                KvCache<SDVariable> c = new KvCache<>(
                        sd.placeHolder(prefix + ".cache." + i + ".keys", dataType, -1, h, -1, d),
                        sd.placeHolder(prefix + ".cache." + i + ".values", dataType, -1, h, -1, d));
                past.add(c);
                pastNames.add(new KvCache<>(c.keys().name(), c.values().name()));
            }
            offset = sd.sizeAt(past.get(0).keys(), 2).castTo(DataType.LONG);
        }
        Decoder.Output o = decoder.forward(embed(embedding, positions, ids, offset), null, past,
                context.get("memory"), context.get("memoryKeep"));
        SDVariable all = project(o.output()); // [B, T, V]
        SDVariable last = sd.reshape(sd.gather(all, sd.sizeAt(all, 1).sub(1).castTo(DataType.INT).reshape(1), 1),
                -1, config.targetVocab()); // [B, V]
        SDVariable shifted = last.sub(new StopGradient(sd, sd.max(last, true, 1)).outputVariable());
        SDVariable logProbs = shifted.sub(sd.math.log(sd.math.exp(shifted).sum(true, 1)));
        Map<String, String> contextNames = new LinkedHashMap<>();
        context.forEach((k, v) -> contextNames.put(k, v.name()));
        List<KvCache<String>> cacheNames = o.caches().stream()
                .map(c -> new KvCache<>(c.keys().name(), c.values().name())).toList();
        return new DecodeGraph(ids.name(), contextNames, pastNames, logProbs.name(), cacheNames);
    }
}
