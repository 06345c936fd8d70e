package org.attn4j.model;

import java.nio.file.Path;
import java.util.Map;
import org.attn4j.config.WeightFormat;
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
    Pretrained.Origin origin; // set by fromPretrained: what savePretrained writes back

    public LanguageModel(ModelConfig config, DataType dataType) {
        this(config, dataType, true);
    }

    /** A model whose weights the caller fills ({@code initialize} false: fromPretrained reads them over). */
    LanguageModel(ModelConfig config, DataType dataType, boolean initialize) {
        super(requireDecoderOnly(config), dataType);
        if (initialize) {
            initialize();
        }
    }

    /**
     * Loads a Hugging Face model directory in float32: {@code config.json} and {@code model.safetensors} (or the
     * shards {@code model.safetensors.index.json} lists), as written by transformers' {@code save_pretrained}, for
     * {@code GPT2LMHeadModel}, {@code LlamaForCausalLM}, {@code MistralForCausalLM} and {@code Qwen2ForCausalLM}
     * (the manual's "Hugging Face models" lists the config keys read). Weights stored as F32, F16, BF16 or F64 are
     * converted as they are read, each tensor once into its parameter.
     *
     * @throws IllegalArgumentException before anything is allocated, in one line naming the file, the key or tensor
     *                                  and the value, for anything missing, malformed or not supported
     */
    public static LanguageModel fromPretrained(Path dir) {
        return fromPretrained(dir, DataType.FLOAT);
    }

    /**
     * {@link #fromPretrained(Path)} with the blocks' weight matrices held in {@code format} for inference
     * ({@link #convertWeights}): BFLOAT16 or INT8 decode reading half or a little over a quarter of float32's bytes.
     * The float32 model is read first, then each matrix converted and its float32 array freed.
     */
    public static LanguageModel fromPretrained(Path dir, WeightFormat format) {
        LanguageModel model = fromPretrained(dir, DataType.FLOAT);
        model.convertWeights(format);
        return model;
    }

    /** {@link #fromPretrained(Path)} into a model of {@code dataType} (FLOAT, or DOUBLE for checks). */
    public static LanguageModel fromPretrained(Path dir, DataType dataType) {
        Pretrained.Loaded<LanguageModel> loaded = Pretrained.load(dir, dataType,
                config -> new LanguageModel(config, dataType, false));
        loaded.model().origin = loaded.origin();
        return loaded.model();
    }

    /**
     * Writes this model as a Hugging Face directory that transformers' {@code AutoModelForCausalLM.from_pretrained}
     * loads with the same logits: {@code config.json} in its architecture's own form, {@code model.safetensors} in
     * this model's data type (sharded above 5 GB, {@link #savePretrained(Path, long)}), and, for a model loaded with
     * {@link #fromPretrained}, the files it came with (tokenizer, {@code generation_config.json}) and the keys of its
     * config.json attn4j does not read. A model attn4j trained saves as GPT-2 (pre-LN LayerNorm, learned positions,
     * biases, tied head) or as Llama, Mistral (a window) or Qwen2 (qkvBias) (RMSNorm, SwiGLU, rotary, no biases).
     *
     * @throws IllegalArgumentException naming the setting no Hugging Face architecture expresses (post-LN,
     *                                  sinusoidal positions, a padding id, ...), before writing anything
     */
    public void savePretrained(Path dir) {
        savePretrained(dir, Pretrained.DEFAULT_SHARD_BYTES);
    }

    /** {@link #savePretrained(Path)} in shards of at most {@code maxShardBytes} (a larger tensor gets one alone). */
    public void savePretrained(Path dir, long maxShardBytes) {
        Pretrained.save(this, origin, dir, maxShardBytes);
    }

    /**
     * The ids that end a generation: generation_config.json's {@code eos_token_id}, else config.json's (one id or a
     * list); empty for a model not loaded with {@link #fromPretrained}.
     */
    public int[] endTokenIds() {
        return origin == null ? new int[0] : origin.endIds().clone();
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
                Nd4j.randn(p).muli(intoResidual ? residual : std); // in place: no second copy of the model
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
        return decodingSession(Map.of());
    }
}
