package org.attn4j.model;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.attn4j.config.Activation;
import org.attn4j.config.Normalization;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.config.Rope;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The Hugging Face causal language models attn4j reads and writes, each as a {@link ModelConfig} and a
 * tensor mapping. GPT-2 is {@code languageModel(...)} with its activation, no padding, tied head; Llama,
 * Mistral and Qwen2 are {@code modernLanguageModel(...)} with grouped-query heads, RMSNorm eps, rotary
 * frequencies, Mistral's sliding window and Qwen2's q/k/v biases (these reproduce transformers' logits to
 * 1e-14 in float64: HuggingFaceModelsTest).
 */
enum HfArchitecture {
    GPT2("gpt2", "GPT2LMHeadModel"),
    LLAMA("llama", "LlamaForCausalLM"),
    MISTRAL("mistral", "MistralForCausalLM"),
    QWEN2("qwen2", "Qwen2ForCausalLM");

    final String modelType, className;

    HfArchitecture(String modelType, String className) {
        this.modelType = modelType;
        this.className = className;
    }

    /** The architecture {@code config.json} names with its {@code model_type}. */
    static HfArchitecture of(HfJson config) {
        String type = config.string("model_type", null);
        if (type == null) {
            throw config.error("key 'model_type' is missing (supported: " + supported() + ")");
        }
        return Arrays.stream(values()).filter(a -> a.modelType.equals(type)).findFirst()
                .orElseThrow(() -> config.error("model_type '" + type + "' is not supported (supported: "
                        + supported() + ")"));
    }

    private static String supported() {
        return String.join(", ", Arrays.stream(values()).map(a -> a.modelType).toList());
    }

    /** The attn4j configuration of {@code config.json}; anything attn4j cannot compute is refused by key. */
    ModelConfig config(HfJson c) {
        return this == GPT2 ? gpt2(c) : modern(c);
    }

    private static ModelConfig gpt2(HfJson c) {
        int width = c.size("n_embd");
        String act = c.string("activation_function", "gelu_new");
        Activation activation = switch (act) {
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> Activation.GELU_TANH;
            case "gelu" -> Activation.GELU;
            case "relu" -> Activation.RELU;
            case "silu", "swish" -> Activation.SILU;
            default -> throw c.error("activation_function '" + act + "' is not supported (supported: gelu_new, "
                    + "gelu_pytorch_tanh, gelu, relu, silu)");
        };
        refuse(c, "tie_word_embeddings", false, true, "GPT-2's head is its embedding");
        refuse(c, "scale_attn_by_inverse_layer_idx", true, false, "attn4j scales every layer by 1/sqrt(D)");
        refuse(c, "scale_attn_weights", false, true, "attn4j scales every layer by 1/sqrt(D)");
        refuse(c, "add_cross_attention", true, false, "a causal language model has no encoder");
        return ModelConfig.languageModel(c.size("vocab_size"), width, c.size("n_head"),
                c.has("n_inner") ? c.size("n_inner") : 4 * width, c.size("n_layer"), c.size("n_positions"))
                .withoutPadding().withActivation(activation).withEps(c.number("layer_norm_epsilon", 1e-5))
                .withDropout(c.number("resid_pdrop", 0.1)).withAttnDropout(c.number("attn_pdrop", 0.1));
    }

    private ModelConfig modern(HfJson c) {
        int width = c.size("hidden_size"), heads = c.size("num_attention_heads");
        int kvHeads = c.has("num_key_value_heads") ? c.size("num_key_value_heads") : heads;
        if (c.has("head_dim") && c.size("head_dim") * heads != width) {
            throw c.error("head_dim " + c.size("head_dim") + " is not supported: attn4j's heads are hidden_size "
                    + width + " / num_attention_heads " + heads + " = " + width / heads + " wide");
        }
        String act = c.string("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw c.error("hidden_act '" + act + "' is not supported (supported: silu)");
        }
        refuse(c, "attention_bias", true, false, "only Qwen2's q/k/v biases are supported");
        refuse(c, "mlp_bias", true, false, "the feed-forward has no biases");
        int window = 0;
        if (this == MISTRAL) {
            window = c.integer("sliding_window", 0);
        } else if (this == QWEN2 && c.bool("use_sliding_window", false)) {
            throw c.error("use_sliding_window true is not supported (Qwen2 windows only some layers)");
        }
        return ModelConfig.modernLanguageModel(c.size("vocab_size"), width, heads, c.size("intermediate_size"),
                c.size("num_hidden_layers"), c.has("max_position_embeddings") ? c.size("max_position_embeddings") : 2048)
                .withKvHeads(kvHeads).withEps(c.number("rms_norm_eps", 1e-6)).withoutPadding()
                .withTiedEmbeddings(c.bool("tie_word_embeddings", false)).withRope(rope(c)).withWindow(window)
                .withQkvBias(this == QWEN2).withAttnDropout(c.number("attention_dropout", 0));
    }

    /** Refuses a key whose value is {@code bad} (absent: {@code absent}), saying why. */
    private static void refuse(HfJson c, String key, boolean bad, boolean absent, String why) {
        if (c.bool(key, absent) == bad) {
            throw c.error(key + " " + bad + " is not supported (" + why + ")");
        }
    }

    /**
     * Rotary frequencies: transformers 5 writes {@code rope_parameters} ({@code rope_theta}, {@code rope_type} and
     * the scaling's keys together), 4.x a top-level {@code rope_theta} and a {@code rope_scaling} object (type in
     * {@code rope_type}, or {@code type} in older files).
     */
    private static Rope rope(HfJson c) {
        HfJson parameters = c.object("rope_parameters");
        HfJson scaling = parameters != null ? parameters : c.object("rope_scaling");
        double theta = (parameters != null ? parameters : c).number("rope_theta", 10_000);
        String key = parameters != null ? "rope_parameters" : "rope_scaling";
        String type = scaling == null ? "default" : scaling.string("rope_type", scaling.string("type", "default"));
        if (c.number("partial_rotary_factor", 1) != 1) {
            throw c.error("partial_rotary_factor " + c.number("partial_rotary_factor", 1) + " is not supported (1)");
        }
        return switch (type) {
            case "default" -> Rope.theta(theta);
            case "llama3" -> Rope.theta(theta).llama3(scaling.number("factor", 0), scaling.number("low_freq_factor", 0),
                    scaling.number("high_freq_factor", 0), scaling.size("original_max_position_embeddings"));
            default -> throw c.error(key + " type '" + type + "' is not supported (supported: default, llama3)");
        };
    }

    /** The architecture that writes {@code c}, or an error naming the setting no Hugging Face model has. */
    static HfArchitecture of(ModelConfig c, HfArchitecture loadedAs) {
        String no = c.isSeq2Seq() ? "an encoder-decoder (encoderLayers " + c.encoderLayers() + ")"
                : !c.normFirst() ? "post-LN (normFirst false)"
                : c.scaleEmbedding() ? "embeddings scaled by sqrt(dModel) (scaleEmbedding true)"
                : c.padId() >= 0 ? "padding id " + c.padId() + " (attn4j masks it as a key; use withoutPadding())"
                : null;
        if (no == null && c.positions() == PositionalEncoding.LEARNED) {
            no = c.norm() != Normalization.LAYER ? "norm " + c.norm() + " with learned positions (GPT-2: LAYER)"
                    : c.activation() == Activation.SWIGLU ? "activation SWIGLU with learned positions (GPT-2)"
                    : !c.bias() ? "bias false with learned positions (GPT-2 has biases)"
                    : !c.tieEmbeddings() ? "tieEmbeddings false with learned positions (GPT-2 ties its head)"
                    : c.kvHeads() != c.heads() ? "kvHeads " + c.kvHeads() + " with learned positions (GPT-2 is multi-head)"
                    : c.window() > 0 ? "window " + c.window() + " with learned positions" : null;
            if (no == null) {
                return GPT2;
            }
        } else if (no == null && c.positions() == PositionalEncoding.ROTARY) {
            no = c.norm() != Normalization.RMS ? "norm " + c.norm() + " with rotary positions (Llama: RMS)"
                    : c.activation() != Activation.SWIGLU ? "activation " + c.activation() + " with rotary positions"
                    + " (Llama: SWIGLU)"
                    : c.bias() ? "bias true with rotary positions (Llama has none; Qwen2: qkvBias)"
                    : c.qkvBias() && c.window() > 0 ? "qkvBias with a window"
                    : (c.qkvBias() || c.window() > 0) && c.rope().scaled() ? "Llama 3 rotary scaling with "
                    + (c.qkvBias() ? "qkvBias" : "a window") : null;
            if (no == null) {
                return c.qkvBias() ? QWEN2 : c.window() > 0 ? MISTRAL
                        : loadedAs == MISTRAL || loadedAs == QWEN2 ? loadedAs : LLAMA;
            }
        } else if (no == null) {
            no = "positions " + c.positions();
        }
        throw new IllegalArgumentException("This model cannot be saved as a Hugging Face model: " + no
                + " has no equivalent in gpt2, llama, mistral or qwen2");
    }

    /**
     * The tensors of a model of {@code c}, in the file's names ({@code prefix}: GPT-2's {@code transformer.} or
     * nothing) and shapes. The caller has checked that the files hold at least as many tensors as there are layers,
     * so a config claiming a billion layers fails before this list is made.
     */
    List<HfTensor> tensors(ModelConfig c, String prefix) {
        List<HfTensor> t = new ArrayList<>();
        long v = c.targetVocab(), w = c.dModel(), f = c.ffDim(), kv = (long) c.kvHeads() * (w / c.heads());
        if (this == GPT2) {
            t.add(HfTensor.same(prefix + "wte.weight", "embedding.weight", v, w));
            t.add(HfTensor.same(prefix + "wpe.weight", "positions.weight", c.maxLen(), w));
            for (int i = 0; i < c.decoderLayers(); i++) {
                String h = prefix + "h." + i + ".", b = "decoder.layers." + i + ".";
                t.add(HfTensor.same(h + "ln_1.weight", b + "norm1.weight", w));
                t.add(HfTensor.same(h + "ln_1.bias", b + "norm1.bias", w));
                t.add(new HfTensor(h + "attn.c_attn.weight", new long[] {w, 3 * w}, List.of(
                        new HfTensor.Part(b + "self_attn.q.weight", true), new HfTensor.Part(b + "self_attn.k.weight", true),
                        new HfTensor.Part(b + "self_attn.v.weight", true))));
                t.add(new HfTensor(h + "attn.c_attn.bias", new long[] {3 * w}, List.of(
                        new HfTensor.Part(b + "self_attn.q.bias", false), new HfTensor.Part(b + "self_attn.k.bias", false),
                        new HfTensor.Part(b + "self_attn.v.bias", false))));
                t.add(HfTensor.transposed(h + "attn.c_proj.weight", b + "self_attn.out.weight", w, w));
                t.add(HfTensor.same(h + "attn.c_proj.bias", b + "self_attn.out.bias", w));
                t.add(HfTensor.same(h + "ln_2.weight", b + "norm2.weight", w));
                t.add(HfTensor.same(h + "ln_2.bias", b + "norm2.bias", w));
                t.add(HfTensor.transposed(h + "mlp.c_fc.weight", b + "ff.linear1.weight", w, f));
                t.add(HfTensor.same(h + "mlp.c_fc.bias", b + "ff.linear1.bias", f));
                t.add(HfTensor.transposed(h + "mlp.c_proj.weight", b + "ff.linear2.weight", f, w));
                t.add(HfTensor.same(h + "mlp.c_proj.bias", b + "ff.linear2.bias", w));
            }
            t.add(HfTensor.same(prefix + "ln_f.weight", "decoder.norm.weight", w));
            t.add(HfTensor.same(prefix + "ln_f.bias", "decoder.norm.bias", w));
            return t;
        }
        t.add(HfTensor.same("model.embed_tokens.weight", "embedding.weight", v, w));
        for (int i = 0; i < c.decoderLayers(); i++) {
            String h = "model.layers." + i + ".", b = "decoder.layers." + i + ".";
            t.add(HfTensor.same(h + "input_layernorm.weight", b + "norm1.weight", w));
            t.add(HfTensor.same(h + "self_attn.q_proj.weight", b + "self_attn.q.weight", w, w));
            t.add(HfTensor.same(h + "self_attn.k_proj.weight", b + "self_attn.k.weight", kv, w));
            t.add(HfTensor.same(h + "self_attn.v_proj.weight", b + "self_attn.v.weight", kv, w));
            if (c.qkvBias()) {
                t.add(HfTensor.same(h + "self_attn.q_proj.bias", b + "self_attn.q.bias", w));
                t.add(HfTensor.same(h + "self_attn.k_proj.bias", b + "self_attn.k.bias", kv));
                t.add(HfTensor.same(h + "self_attn.v_proj.bias", b + "self_attn.v.bias", kv));
            }
            t.add(HfTensor.same(h + "self_attn.o_proj.weight", b + "self_attn.out.weight", w, w));
            t.add(HfTensor.same(h + "post_attention_layernorm.weight", b + "norm2.weight", w));
            t.add(HfTensor.same(h + "mlp.gate_proj.weight", b + "ff.linear1.weight", f, w)); // silu(gate x) * up x
            t.add(HfTensor.same(h + "mlp.up_proj.weight", b + "ff.gate.weight", f, w));
            t.add(HfTensor.same(h + "mlp.down_proj.weight", b + "ff.linear2.weight", w, f));
        }
        t.add(HfTensor.same("model.norm.weight", "decoder.norm.weight", w));
        if (!c.tieEmbeddings()) {
            t.add(HfTensor.same("lm_head.weight", "head.weight", v, w));
        }
        return t;
    }

    /**
     * The linear layers of the blocks of a model of {@code c}, by transformers' module names (GPT-2's always under
     * {@code transformer.}, as PEFT names them): what LoRA adapters can target. The output head is not among them.
     */
    List<HfLinear> linears(ModelConfig c) {
        List<HfLinear> linears = new ArrayList<>();
        for (HfTensor t : tensors(c, this == GPT2 ? "transformer." : "")) {
            if (t.shape().length == 2 && t.parts().get(0).parameter().startsWith("decoder.layers.")) {
                boolean conv1d = t.parts().get(0).transposed(); // GPT-2 stores [in, out]
                linears.add(new HfLinear(t.name().substring(0, t.name().length() - ".weight".length()),
                        (int) t.shape()[conv1d ? 0 : 1], (int) t.shape()[conv1d ? 1 : 0],
                        t.parts().stream().map(HfTensor.Part::parameter).toList()));
            }
        }
        return linears;
    }

    /** Tensors files carry that the model does not need: GPT-2's causal-mask buffers, a tied model's head. */
    boolean ignored(String name, ModelConfig c) {
        return name.endsWith(".attn.bias") && this == GPT2 || name.endsWith(".attn.masked_bias")
                || name.endsWith("rotary_emb.inv_freq") || name.equals("lm_head.weight") && c.tieEmbeddings();
    }

    /**
     * {@code config.json} for {@code c}, over {@code base} (the loaded file's keys, so a model saved back keeps
     * what attn4j does not read: token ids, versions); rotary keys in the base's form (4.x when new).
     */
    JsonObject write(ModelConfig c, JsonObject base, DataType type) {
        JsonObject j = base == null ? new JsonObject() : base.deepCopy();
        if (base == null) { // not the class defaults (GPT-2's 50256 lies outside a small vocabulary)
            j.add("bos_token_id", JsonNull.INSTANCE);
            j.add("eos_token_id", JsonNull.INSTANCE);
        }
        JsonArray classes = new JsonArray();
        classes.add(className);
        j.add("architectures", classes);
        j.addProperty("model_type", modelType);
        j.addProperty("vocab_size", c.targetVocab());
        j.addProperty(j.has("dtype") ? "dtype" : "torch_dtype", type == DataType.DOUBLE ? "float64" : "float32");
        j.addProperty("tie_word_embeddings", c.tieEmbeddings());
        if (this == GPT2) {
            j.addProperty("n_embd", c.dModel());
            j.addProperty("n_head", c.heads());
            j.addProperty("n_layer", c.decoderLayers());
            j.addProperty("n_positions", c.maxLen());
            if (c.ffDim() != 4 * c.dModel() || j.has("n_inner") && !j.get("n_inner").isJsonNull()) {
                j.addProperty("n_inner", c.ffDim());
            }
            String tanh = j.has("activation_function") && j.get("activation_function").getAsString()
                    .equals("gelu_pytorch_tanh") ? "gelu_pytorch_tanh" : "gelu_new";
            j.addProperty("activation_function", switch (c.activation()) {
                case GELU_TANH -> tanh;
                default -> c.activation().name().toLowerCase(Locale.ROOT);
            });
            j.addProperty("layer_norm_epsilon", c.eps());
            j.addProperty("resid_pdrop", c.dropout());
            j.addProperty("embd_pdrop", c.dropout());
            j.addProperty("attn_pdrop", c.attnDropout());
            return j;
        }
        j.addProperty("hidden_size", c.dModel());
        j.addProperty("intermediate_size", c.ffDim());
        j.addProperty("num_hidden_layers", c.decoderLayers());
        j.addProperty("num_attention_heads", c.heads());
        j.addProperty("num_key_value_heads", c.kvHeads());
        if (this == LLAMA || j.has("head_dim")) {
            j.addProperty("head_dim", c.dModel() / c.heads());
        }
        j.addProperty("max_position_embeddings", c.maxLen());
        j.addProperty("rms_norm_eps", c.eps());
        j.addProperty("hidden_act", "silu");
        j.addProperty("attention_dropout", c.attnDropout());
        if (this == LLAMA) {
            j.addProperty("attention_bias", false);
            j.addProperty("mlp_bias", false);
        }
        if (this == MISTRAL) {
            if (c.window() > 0) {
                j.addProperty("sliding_window", c.window());
            } else {
                j.add("sliding_window", JsonNull.INSTANCE);
            }
        }
        if (this == QWEN2) {
            j.addProperty("use_sliding_window", false);
        }
        writeRope(j, c.rope());
        return j;
    }

    private static void writeRope(JsonObject j, Rope rope) {
        JsonObject p = new JsonObject();
        if (j.has("rope_parameters")) { // transformers 5
            p.addProperty("rope_theta", rope.theta());
            p.addProperty("rope_type", rope.scaled() ? "llama3" : "default");
        } else {
            j.addProperty("rope_theta", rope.theta());
            p.addProperty("rope_type", "llama3");
        }
        if (rope.scaled()) {
            p.addProperty("factor", rope.factor());
            p.addProperty("low_freq_factor", rope.lowFreqFactor());
            p.addProperty("high_freq_factor", rope.highFreqFactor());
            p.addProperty("original_max_position_embeddings", rope.originalContext());
        }
        if (j.has("rope_parameters")) {
            j.add("rope_parameters", p);
        } else {
            j.add("rope_scaling", rope.scaled() ? p : JsonNull.INSTANCE);
        }
    }
}
