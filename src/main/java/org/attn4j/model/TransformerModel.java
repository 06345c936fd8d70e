package org.attn4j.model;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.config.NormWeights;
import org.attn4j.config.WeightFormat;
import org.attn4j.engine.BlockEngine;
import org.attn4j.engine.DecodeEngine;
import org.attn4j.engine.ModelEngine;
import org.attn4j.engine.StateMemory;
import org.attn4j.kernels.CompactMatrices;
import org.attn4j.kernels.CompactMatrix;
import org.attn4j.nn.Embedding;
import org.attn4j.nn.Norm;
import org.attn4j.nn.Linear;
import org.attn4j.nn.Module;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.nn.Positions;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the encoder-decoder and the language model share: the target embedding, positions, the
 * decoder stack and the output projection. Everything a user runs — {@link #lossAndGradients} (what
 * {@code Trainer} calls), {@link #predict}, {@link #attention} and decoding ({@link #startDecoding}) — runs
 * on the engine ({@code ModelEngine}, {@code DecodeEngine}) with per-call state. The model holds
 * weights only; {@code org.attn4j.samediff.ModelGraph} builds the same model as a SameDiff graph, for users who
 * extend it inside SameDiff, and as the tests' independent reference.
 */
public abstract class TransformerModel extends Module {
    protected final ModelConfig config;
    protected final Embedding embedding;
    protected final Positions positions;
    protected final Decoder decoder;
    private final Linear head; // null when tied to the embedding
    private DecodeEngine fast; // built on first use
    private WeightFormat weightFormat = WeightFormat.FLOAT32;
    private CompactMatrix compactHead; // the head's [V, C] in weightFormat for decoding, or null
    private ModelEngine engine; // built with the first engine state

    protected TransformerModel(ModelConfig config, DataType dataType) {
        super("", dataType);
        this.config = config;
        this.embedding = child(new Embedding("embedding", config.targetVocab(), config.dModel(), dataType));
        this.positions = child(new Positions("positions", config.positions(), config.maxLen(), config.dModel(),
                dataType));
        this.decoder = child(new Decoder("decoder", config, config.isSeq2Seq(), dataType));
        this.head = config.tieEmbeddings() ? null : child(new Linear("head",
                new Linear.Config(config.dModel(), config.targetVocab(), config.bias()), Linear.Init.TORCH_DEFAULT, dataType));
    }

    public ModelConfig config() {
        return config;
    }

    /** The target-side token embedding (the output projection too when tied). */
    public Embedding embedding() {
        return embedding;
    }

    /** The target-side positions. */
    public Positions positions() {
        return positions;
    }

    /** The decoder's blocks and final norm (a language model's whole stack). */
    public Decoder decoder() {
        return decoder;
    }

    /** The output projection, or null when it is tied to {@link #embedding()}. */
    public Linear head() {
        return head;
    }

    /** The format the blocks' weight matrices are held in: FLOAT32 until {@link #convertWeights}. */
    public WeightFormat weightFormat() {
        return weightFormat;
    }

    /**
     * Holds this model's weight matrices in {@code format} from now on, for inference: every linear layer of the
     * blocks is converted ({@link Linear#convertWeight}: bfloat16, or int8 blocks of 32 with a float32 scale each,
     * as llama.cpp's Q8_0) and its float32 array freed; decoding, sampling, beam search, {@link #predict} and
     * {@link #attention} then read the compact weights directly, widened to float32 in registers. Activations,
     * embeddings, positions, norms and biases stay float32; the output head gets a compact copy that the decoding
     * step's {@code [V, C]} product reads, and keeps its float32 array (the embedding lookup reads the rows of a tied
     * head, and {@code predict}'s head product over every position is a float32 GEMM). Afterwards the model cannot
     * be trained ({@link #lossAndGradients} refuses) or saved, and {@link #parameters()} no longer lists the
     * converted weights. FLOAT32, or the format the model already has, changes nothing.
     *
     * @throws IllegalStateException for a float64 model, or one already converted to another format
     */
    public void convertWeights(WeightFormat format) {
        if (format == weightFormat || format == WeightFormat.FLOAT32) {
            if (format != weightFormat) {
                throw new IllegalStateException("this model holds " + weightFormat + " weights; they do not convert "
                        + "back to FLOAT32 (load or build the model again)");
            }
            return;
        }
        if (weightFormat != WeightFormat.FLOAT32 || dataType != DataType.FLOAT) {
            throw new IllegalStateException("only a float32 model converts to " + format + "; this one is "
                    + (weightFormat != WeightFormat.FLOAT32 ? weightFormat : dataType));
        }
        weightsLock().write(() -> {
            for (Module m : modules()) {
                if (m instanceof Linear l && l != head) {
                    l.convertWeight(format);
                }
            }
            INDArray headWeight = head == null ? embedding.table() : head.weightArray();
            compactHead = CompactMatrices.of(org.attn4j.kernels.Buf.of(headWeight), (int) headWeight.size(0),
                    (int) headWeight.size(1), format);
            weightFormat = format;
            synchronized (this) { // the engines read the old arrays: built again on next use
                fast = null;
                engine = null;
            }
            return null;
        });
    }

    /** The head's compact copy the decoding step reads, or null (FLOAT32). */
    final CompactMatrix compactHead() {
        return compactHead;
    }

    /** Refuses training a model converted to a compact format, in one line. */
    final void requireTrainable() {
        if (weightFormat != WeightFormat.FLOAT32) {
            throw new IllegalStateException("this model holds " + weightFormat + " weights for inference; training "
                    + "needs FLOAT32 (build or load the model without converting it)");
        }
    }

    /** Logits {@code [B, T, V]} of one forward pass (no dropout). */
    public INDArray predict(INDArray source, INDArray input) {
        return inferOnEngine(source, input, s -> s.logits().dup('c'));
    }

    /** A forward pass on the engine (ids checked and converted once), read by {@code result} before its state is freed. */
    private <R> R inferOnEngine(INDArray source, INDArray input,
            java.util.function.Function<ModelEngine.State, R> result) {
        return inferOnEngine(engine(), source, input, result);
    }

    private <R> R inferOnEngine(ModelEngine e, INDArray source, INDArray input,
            java.util.function.Function<ModelEngine.State, R> result) {
        int[][] sources = checkedSource(source, input), inputs = checkedRows("input", input, config.targetVocab());
        return weightsLock().read(() -> {
            try (ModelEngine.State s = e.newInferenceState()) {
                e.forward(s, sources, inputs, null, config.padId(), 0);
                return result.apply(s);
            }
        });
    }

    /** Every attention weight of one forward pass, in one call. */
    public AttentionMaps attention(INDArray source, INDArray input) {
        return inferOnEngine(source, input,
                s -> new AttentionMaps(s.encoderSelfWeights(), s.selfWeights(), s.crossWeights()));
    }

    /** Checks ids {@code [B, T]} against the vocabulary and the position table. */
    public final void checkIds(String what, INDArray ids, int vocab) {
        checkedRows(what, ids, vocab);
    }

    /**
     * Checks what {@link #predict} takes: the source (an encoder-decoder's ids, of the input's batch; null for a
     * language model) and the input ids, as {@link #checkIds} does.
     */
    public final void checkInputs(INDArray source, INDArray input) {
        checkedRows("input", input, config.targetVocab());
        checkedSource(source, input);
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

    /** Checked ids as rows of Java ints ({@link org.attn4j.engine.Ids#rows}). */
    static int[][] rows(INDArray ids) {
        return org.attn4j.engine.Ids.rows(ids);
    }

    /** The engine's decoder of this model (its weights; every session has its own caches). */
    final DecodeEngine fastDecoder() {
        synchronized (this) {
            if (fast == null) {
                fast = new DecodeEngine(engines(decoder.blocks()), engineWeights(),
                        org.attn4j.kernels.Parallel.shared(), compactHead);
            }
            return fast;
        }
    }

    /** A decoding on this model's engine against {@code context}: an encoder-decoder's encoded source, or empty. */
    final DecodingSession decodingSession(Map<String, INDArray> context) {
        return new DecodingSession(fastDecoder(), weightsLock(), positions.maxLen(),
                (what, ids) -> checkIds(what, ids, config.targetVocab()), context);
    }

    /**
     * A caller's workspace for {@link #lossAndGradients}: the engine's activations and gradients of one
     * batch. One per thread.
     */
    public static final class EngineState {
        private final ModelEngine engine;
        private final ModelEngine.State state;
        private final Map<String, INDArray> gradients = new LinkedHashMap<>();
        private boolean adapted; // on an adapted engine: the base is frozen, and may be held in a compact format

        private EngineState(ModelEngine engine) {
            this.engine = engine;
            this.state = engine.newState();
        }

        /**
         * Gradient (activation) checkpointing from the next call on ({@link ModelEngine.State#checkpointActivations}):
         * only each block's input is kept through the forward and the block's forward runs again just before its
         * backward; the same gradients, one block's activations held at a time instead of all, one more forward.
         */
        public void checkpointActivations(boolean on) {
            state.checkpointActivations(on);
        }

        /**
         * Bytes of this workspace's arrays by what they hold, as they are now: after a training step, all it keeps
         * (with checkpointing, a block's activations exist only while it runs, and none are counted after a step).
         */
        public EngineMemory memory() {
            StateMemory m = state.memory();
            return new EngineMemory(m.gradients(), m.blockRows(), m.attention(), m.hidden(), m.stackRows(), m.logits(),
                    m.backwardScratch(), m.gradientShares());
        }
    }

    /**
     * Bytes of an {@link EngineState}'s arrays by what they hold.
     *
     * @param gradients       every trained parameter's gradient
     * @param blockRows       the blocks' kept rows {@code [N, C]}: inputs, norms' outputs and xhat, q, k, v, o, the
     *                        residual stream (and a decoder block's memory rows)
     * @param attention       the blocks' attention probabilities {@code [B, H, T, T]} (and {@code [B, H, T, S]})
     * @param hidden          the blocks' feed-forward hidden rows {@code [N, F]}: pre-activation, activation, aux
     * @param stackRows       rows outside the blocks: the embedding's output, the final norm's (and with
     *                        checkpointing every block's input)
     * @param logits          logits {@code [N, V]} (the backward turns them into their gradient in place) and row losses
     * @param backwardScratch gradient rows: the blocks' backward arrays (one set, which the blocks share) and the
     *                        stacks' own
     * @param gradientShares  the workers' row shares of the weight gradients (one set for the head and every block)
     */
    public record EngineMemory(long gradients, long blockRows, long attention, long hidden, long stackRows,
            long logits, long backwardScratch, long gradientShares) {
        /** The activations a backward reads: blockRows + attention + hidden + stackRows + logits. */
        public long activations() {
            return blockRows + attention + hidden + stackRows + logits;
        }

        /** Every array counted here. */
        public long total() {
            return gradients + activations() + backwardScratch + gradientShares;
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
    private synchronized ModelEngine engine() {
        if (engine == null) {
            EncoderParts e = encoderParts();
            engine = e == null ? new ModelEngine(engines(decoder.blocks()), engineWeights(),
                    org.attn4j.kernels.Parallel.shared())
                    : new ModelEngine(engines(e.blocks()), weights(e.embedding(), e.positions(),
                            e.norm(), null), engines(decoder.blocks()), engineWeights(),
                            org.attn4j.kernels.Parallel.shared());
        }
        return engine;
    }

    /** The engine's blocks on {@code blocks}' own arrays. */
    private static List<BlockEngine> engines(List<org.attn4j.nn.TransformerBlock> blocks) {
        return blocks.stream().map(b -> BlockEngine.of(b.config(), b.weights())).toList();
    }

    /** A new engine workspace for {@link #lossAndGradients}: one per thread. */
    public EngineState newEngineState() {
        requireTrainable();
        EngineState s = new EngineState(engine());
        EncoderParts e = encoderParts();
        if (e != null) {
            ModelEngine.Gradients g = s.state.encoderGradients();
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
        ModelEngine.Gradients g = s.state.gradients();
        put(s.gradients, embedding, g.embedding());
        if (g.positions() != null) {
            put(s.gradients, positions, g.positions());
        }
        if (decoder.norm() != null) {
            decoder.norm().parameters().keySet().forEach(k -> s.gradients.put(k, k.endsWith("weight") ? g.normWeight() : g.normBias()));
        }
        g.blocks().forEach(s.gradients::putAll);
        if (head != null) {
            head.parameters().keySet().forEach(k -> s.gradients.put(k, k.endsWith("weight") ? g.headWeight() : g.headBias()));
        }
        return s;
    }

    /**
     * An engine of this (decoder-only) model with LoRA paths beside the weights named in {@code adapters}, every
     * weight frozen: what {@link LoraAdapters} train and run on. The model's weights are shared, not copied.
     */
    final ModelEngine adaptedEngine(Map<String, org.attn4j.kernels.LoraKernel.Part> adapters) {
        org.attn4j.kernels.Parallel parallel = org.attn4j.kernels.Parallel.shared();
        List<BlockEngine> blocks = decoder.blocks().stream()
                .map(b -> BlockEngine.adapted(b.config(), b.weights(), parallel, adapters)).toList();
        return new ModelEngine(blocks, engineWeights(), parallel, adapters);
    }

    /** A workspace on an adapted engine whose gradients are the adapters' ({@code names}) only. */
    final EngineState newEngineState(ModelEngine adapted, java.util.Set<String> names) {
        EngineState s = new EngineState(adapted);
        s.adapted = true;
        s.state.gradients().blocks().forEach(g -> g.forEach((k, v) -> {
            if (names.contains(k)) {
                s.gradients.put(k, v);
            }
        }));
        return s;
    }

    /** Logits {@code [B, T, V]} of one forward pass (no dropout) on an adapted engine. */
    final INDArray predictAdapted(ModelEngine adapted, INDArray input) {
        return inferOnEngine(adapted, null, input, s -> s.logits().dup('c'));
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
            double smoothing, boolean withGradients, org.attn4j.kernels.DropoutSeed dropout) {
        if (!s.adapted) {
            requireTrainable();
        }
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
        double loss = s.engine.forward(s.state, sourceRows, inputRows, targetRows, pad, smoothing, dropout);
        if (withGradients) {
            s.engine.backward(s.state, pad, smoothing);
        }
        return new LossAndGradients(loss, s.gradients, s.state.counted());
    }

    private org.attn4j.engine.StackWeights engineWeights() {
        return weights(embedding, positions, decoder.norm(), head);
    }

    /** The engine's view of one stack's arrays: embedding, positions, final norm (or null), head (null: tied or none). */
    private org.attn4j.engine.StackWeights weights(Embedding e, Positions p, Norm norm, Linear head) {
        INDArray table = switch (config.positions()) {
            case LEARNED -> p.learnedTable();
            case SINUSOIDAL -> Positions.sinusoidal(config.maxLen(), config.dModel()).castTo(dataType);
            default -> null;
        };
        INDArray embeddingTable = e.table();
        boolean tied = head == null && e == embedding;
        return new org.attn4j.engine.StackWeights(embeddingTable, config.scaleEmbedding(), table,
                config.positions() == PositionalEncoding.LEARNED,
                norm == null ? null : new NormWeights(norm.name(), norm.weightArray(), norm.biasArray(), config.eps()),
                head == null ? (tied ? embeddingTable : null) : head.weightArray(), head == null ? null : head.biasArray(),
                p.maxLen(), config.dropout());
    }

    /**
     * The encoder's output {@code [B, S, C]} and key padding {@code [B, S]} (1 = real token) of
     * {@code source}, on the engine: an encoder-decoder's decoding context.
     */
    protected final Map<String, INDArray> encodeOnEngine(INDArray source) {
        INDArray memory = weightsLock().read(() -> engine().encode(rows(source), config.padId()));
        INDArray keep = source.neq(config.padId()).castTo(dataType);
        return Map.of("memory", memory, "memoryKeep", keep);
    }

    /** A decoding session for a batch; {@code source [B, S]} for an encoder-decoder, null for a language model. */
    public abstract DecodingSession startDecoding(INDArray source);
}
