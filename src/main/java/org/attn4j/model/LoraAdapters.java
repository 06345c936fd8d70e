package org.attn4j.model;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.attn4j.formats.Safetensors;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * LoRA adapters on a {@link LanguageModel}'s linear layers, in PEFT's format: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} with PEFT's tensor names ({@code base_model.model.<module>.lora_A.weight}
 * {@code [r, in]}, {@code ...lora_B.weight} {@code [out, r]}), as {@code peft.PeftModel.save_pretrained} writes them
 * and {@code PeftModel.from_pretrained(base, dir)} reads them. The base model's weights stay as they are; the
 * adapters are arrays of their own, in the base model's data type. {@link #merge()} folds them into the base.
 *
 * <p>Modules are named as transformers names them ({@code model.layers.0.self_attn.q_proj},
 * {@code transformer.h.0.attn.c_attn}); an adapter on GPT-2's fused {@code c_attn} adapts q, k and v with one A and
 * the thirds of one B.
 *
 * <p>The base may hold its blocks' weights in bfloat16 or int8 ({@link TransformerModel#convertWeights}): the
 * adapters then train on the compact weights as they are (QLoRA-style), never widened to a float32 copy of a whole
 * matrix; such a base does not {@link #merge()}.
 */
public final class LoraAdapters implements Trainable {
    /** The files of a PEFT adapter directory. */
    public static final String CONFIG = "adapter_config.json", WEIGHTS = "adapter_model.safetensors";
    /** What PEFT puts before a module's name in the tensor names it saves. */
    static final String PREFIX = "base_model.model.";

    /**
     * The adapter of one linear layer: {@code y = x W^T + scale x A^T B^T}.
     *
     * @param module  the layer's Hugging Face module name
     * @param in      its input width
     * @param out     its output width
     * @param weights the attn4j weights its output rows are ({@link HfLinear#weights()})
     * @param a       A {@code [r, in]}
     * @param b       B {@code [out, r]}
     */
    public record Adapter(String module, int in, int out, List<String> weights, INDArray a, INDArray b) {
        /** PEFT's name of A in the file. */
        public String nameA() {
            return PREFIX + module + ".lora_A.weight";
        }

        /** PEFT's name of B in the file. */
        public String nameB() {
            return PREFIX + module + ".lora_B.weight";
        }
    }

    private final LanguageModel base;
    private final LoraConfig config;
    private final List<Adapter> adapters;
    private final JsonObject loadedConfig; // adapter_config.json as read (its other keys are saved back), or null
    private boolean merged;
    private org.attn4j.engine.ModelEngine engine; // the base's weights with the LoRA paths beside them, made on first use

    private LoraAdapters(LanguageModel base, LoraConfig config, List<Adapter> adapters, JsonObject loadedConfig) {
        this.base = base;
        this.config = config;
        this.adapters = List.copyOf(adapters);
        this.loadedConfig = loadedConfig;
    }

    /**
     * New adapters on every linear layer of {@code base} that {@code config} targets, initialized as PEFT does:
     * A uniform in [-1/sqrt(in), 1/sqrt(in)] (kaiming-uniform with a = sqrt(5)) from ND4J's random generator,
     * B zero, so the adapted model computes exactly what the base does until B is trained.
     *
     * @throws IllegalArgumentException when the targets match no linear layer of the base
     */
    public static LoraAdapters create(LanguageModel base, LoraConfig config) {
        List<Adapter> adapters = new ArrayList<>();
        for (HfLinear l : targeted(base, config.targets(), "LoRA targets")) {
            double bound = 1 / Math.sqrt(l.in());
            INDArray a = Nd4j.rand(base.dataType(), config.rank(), l.in()).muli(2 * bound).subi(bound);
            adapters.add(new Adapter(l.module(), l.in(), l.out(), l.weights(), a,
                    Nd4j.zeros(base.dataType(), l.out(), config.rank())));
        }
        return new LoraAdapters(base, config, adapters, null);
    }

    /**
     * Loads the adapters PEFT (or {@link #save}) wrote in {@code dir} onto {@code base}. Everything is checked
     * before an array is made: the config's keys (settings attn4j does not compute are refused by key), that the
     * targets match linear layers of the base, and each tensor's presence, shape (r by the layer's widths) and dtype.
     *
     * @throws IllegalArgumentException in one line naming the file, the key or tensor and the value
     */
    public static LoraAdapters load(LanguageModel base, Path dir) {
        if (!Files.isRegularFile(dir.resolve(CONFIG))) {
            throw new IllegalArgumentException(dir + ": no " + CONFIG + " (a PEFT adapter directory holds " + CONFIG
                    + " and " + WEIGHTS + ")");
        }
        if (!Files.isRegularFile(dir.resolve(WEIGHTS))) {
            throw new IllegalArgumentException(dir + ": no " + WEIGHTS + " (only safetensors adapters are read)");
        }
        HfJson json = HfJson.read(dir, CONFIG);
        LoraConfig config = config(json);
        List<HfLinear> linears = targeted(base, config.targets(), CONFIG + ": target_modules");
        Safetensors.Header header = Safetensors.header(dir.resolve(WEIGHTS));
        Set<String> expected = new LinkedHashSet<>();
        for (HfLinear l : linears) {
            check(header, PREFIX + l.module() + ".lora_A.weight", new long[] {config.rank(), l.in()}, config, l, expected);
            check(header, PREFIX + l.module() + ".lora_B.weight", new long[] {l.out(), config.rank()}, config, l, expected);
        }
        for (String name : header.tensors().keySet()) {
            if (!expected.contains(name)) {
                throw new IllegalArgumentException(WEIGHTS + ": unexpected tensor '" + name + "' (target_modules "
                        + config.targets() + " of " + CONFIG + " do not give this base model such an adapter)");
            }
        }
        List<Adapter> adapters = new ArrayList<>();
        for (HfLinear l : linears) {
            INDArray a = Nd4j.create(base.dataType(), config.rank(), l.in()), b = Nd4j.create(base.dataType(),
                    l.out(), config.rank());
            header.readInto(PREFIX + l.module() + ".lora_A.weight", a);
            header.readInto(PREFIX + l.module() + ".lora_B.weight", b);
            adapters.add(new Adapter(l.module(), l.in(), l.out(), l.weights(), a, b));
        }
        return new LoraAdapters(base, config, adapters, json.json());
    }

    /** adapter_config.json's LoRA settings; any setting attn4j does not compute is refused by its key. */
    private static LoraConfig config(HfJson json) {
        String type = json.string("peft_type", null);
        if (!"LORA".equals(type)) {
            throw json.error("peft_type " + (type == null ? "is missing" : "'" + type + "' is not supported")
                    + " (supported: LORA)");
        }
        String bias = json.string("bias", "none");
        if (!bias.equals("none")) {
            throw json.error("bias '" + bias + "' is not supported (supported: none: the adapters train no biases)");
        }
        for (String key : List.of("use_dora", "lora_bias")) {
            if (json.bool(key, false)) {
                throw json.error(key + " true is not supported (plain LoRA only)");
            }
        }
        for (String key : List.of("modules_to_save", "layers_to_transform", "layers_pattern", "exclude_modules",
                "target_parameters", "layer_replication", "trainable_token_indices")) {
            JsonElement e = json.json().get(key);
            if (e != null && !e.isJsonNull() && !(e.isJsonArray() && e.getAsJsonArray().isEmpty())) {
                throw json.error(key + " " + brief(e) + " is not supported (attn4j adapts the targeted linear "
                        + "layers of every block and nothing else)");
            }
        }
        for (String key : List.of("rank_pattern", "alpha_pattern")) {
            HfJson o = json.object(key);
            if (o != null && !o.json().isEmpty()) {
                throw json.error(key + " " + brief(o.json()) + " is not supported (one r and alpha for all modules)");
            }
        }
        JsonElement t = json.json().get("target_modules");
        LoraConfig.Targets targets;
        if (t != null && t.isJsonPrimitive() && t.getAsJsonPrimitive().isString()) {
            targets = new LoraConfig.Targets(null, t.getAsString());
        } else if (t != null && t.isJsonArray() && !t.getAsJsonArray().isEmpty()) {
            List<String> names = new ArrayList<>();
            t.getAsJsonArray().forEach(e -> names.add(e.isJsonPrimitive() ? e.getAsString() : String.valueOf(e)));
            targets = new LoraConfig.Targets(names, null);
        } else {
            throw json.error("key 'target_modules' must be a list of module names or a string, got "
                    + (t == null ? "nothing" : brief(t)));
        }
        try {
            return new LoraConfig(json.size("r"), json.number("lora_alpha", 8), json.number("lora_dropout", 0), targets,
                    json.bool("use_rslora", false));
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(json.file()) ? e : json.error(e.getMessage());
        }
    }

    private static void check(Safetensors.Header header, String name, long[] shape, LoraConfig config, HfLinear l,
            Set<String> expected) {
        expected.add(name);
        Safetensors.Spec s = header.tensors().get(name);
        if (s == null) {
            throw new IllegalArgumentException(WEIGHTS + ": tensor '" + name + "' is missing (target_modules "
                    + config.targets() + " of " + CONFIG + " match " + l.module() + " of the base model)");
        }
        if (!Arrays.equals(s.shape(), shape)) {
            throw new IllegalArgumentException(WEIGHTS + ": tensor '" + name + "' has shape " + Arrays.toString(s.shape())
                    + "; r " + config.rank() + " of " + CONFIG + " and the base model's " + l.module() + " (in " + l.in()
                    + ", out " + l.out() + ") imply " + Arrays.toString(shape));
        }
        if (!Set.of("F32", "F16", "BF16", "F64").contains(s.dtype())) {
            throw new IllegalArgumentException(WEIGHTS + ": tensor '" + name + "' has dtype " + s.dtype()
                    + "; expected F32, F16, BF16 or F64");
        }
    }

    /**
     * PEFT's default targets for the base's architecture (its {@code TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING}):
     * GPT-2's {@code c_attn}, the query and value projections {@code q_proj, v_proj} of Llama, Mistral and Qwen2.
     */
    public static LoraConfig.Targets defaultTargets(LanguageModel base) {
        return LoraConfig.Targets.parse(architecture(base) == HfArchitecture.GPT2 ? "c_attn" : "q_proj,v_proj");
    }

    /** The base's linear layers the targets match, in the model's order; none is an error naming them all. */
    private static List<HfLinear> targeted(LanguageModel base, LoraConfig.Targets targets, String where) {
        HfArchitecture architecture = architecture(base);
        List<HfLinear> all = architecture.linears(base.config());
        List<HfLinear> matched = all.stream().filter(l -> targets.matches(l.module())).toList();
        if (matched.isEmpty()) {
            Set<String> kinds = new LinkedHashSet<>();
            all.forEach(l -> kinds.add(l.kind()));
            throw new IllegalArgumentException(where + " '" + targets + "' match no linear layer of this "
                    + architecture.modelType + " model (its linear layers: " + String.join(", ", kinds) + ", in "
                    + base.config().decoderLayers() + " blocks, e.g. " + all.get(0).module() + ")");
        }
        return matched;
    }

    private static HfArchitecture architecture(LanguageModel base) {
        try {
            return HfArchitecture.of(base.config(), base.origin == null ? null : base.origin.architecture());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("LoRA adapters are named after a Hugging Face architecture's layers; "
                    + e.getMessage().replace("This model cannot be saved as a Hugging Face model: ", "this model has "));
        }
    }

    /** The base model (its weights are not changed, except by {@link #merge()}). */
    public LanguageModel base() {
        return base;
    }

    /** The base model, whose forward pass these adapters join. */
    @Override
    public TransformerModel model() {
        return base;
    }

    /** Logits {@code [B, T, V]} of the base model with the adapters beside its weights (unmerged; no dropout). */
    public INDArray predict(INDArray input) {
        return base.predictAdapted(engine(), input);
    }

    /** A workspace for {@link #lossAndGradients}, whose gradients are the adapters' only: one per thread. */
    @Override
    public TransformerModel.EngineState newEngineState() {
        return base.newEngineState(engine(), parameters().keySet());
    }

    /**
     * The loss of a batch through the base model with the adapters, and the gradients of the adapters only (the
     * base's weights are frozen: the engine computes no gradient for them). With {@code dropout} the config's LoRA
     * dropout drops each adapter's input (PEFT's {@code lora_dropout}), each module its own mask, beside the base
     * model's own dropout; without it nothing drops.
     */
    @Override
    public TransformerModel.LossAndGradients lossAndGradients(TransformerModel.EngineState s, INDArray source,
            INDArray input, INDArray target, double smoothing, boolean withGradients,
            org.attn4j.kernels.DropoutSeed dropout) {
        checkNotMerged();
        return base.lossAndGradients(s, source, input, target, smoothing, withGradients, dropout);
    }

    private synchronized org.attn4j.engine.ModelEngine engine() {
        checkNotMerged();
        if (engine == null) {
            Map<String, org.attn4j.kernels.LoraKernel.Part> paths = new LinkedHashMap<>();
            for (Adapter a : adapters) {
                org.attn4j.kernels.LoraKernel k = new org.attn4j.kernels.LoraKernel(a.module() + ".lora_A.weight",
                        a.module() + ".lora_B.weight", org.attn4j.kernels.Buf.of(a.a()), org.attn4j.kernels.Buf.of(a.b()),
                        a.in(), config.rank(), a.out(), a.weights().size(), config.scale(), config.dropout());
                for (int part = 0; part < a.weights().size(); part++) {
                    paths.put(a.weights().get(part), new org.attn4j.kernels.LoraKernel.Part(k, part));
                }
            }
            engine = base.adaptedEngine(paths);
        }
        return engine;
    }

    public LoraConfig config() {
        return config;
    }

    /** The adapters, in the base model's layer order. */
    public List<Adapter> adapters() {
        return adapters;
    }

    /** The adapters' arrays by PEFT's tensor names without its prefix ({@code <module>.lora_A.weight}). */
    @Override
    public Map<String, INDArray> parameters() {
        Map<String, INDArray> p = new LinkedHashMap<>();
        for (Adapter a : adapters) {
            p.put(a.module() + ".lora_A.weight", a.a());
            p.put(a.module() + ".lora_B.weight", a.b());
        }
        return p;
    }

    /** Elements of all adapters: the trainable parameters of LoRA fine-tuning. */
    public long parameterCount() {
        return adapters.stream().mapToLong(a -> a.a().length() + a.b().length()).sum();
    }

    /**
     * Writes {@code adapter_config.json} and {@code adapter_model.safetensors} (in the base's data type) into
     * {@code dir}, as PEFT's {@code save_pretrained} does; a loaded adapter keeps the keys of its config.json.
     */
    public void save(Path dir) {
        checkNotMerged();
        Map<String, INDArray> tensors = new TreeMap<>();
        for (Adapter a : adapters) {
            tensors.put(a.nameA(), a.a());
            tensors.put(a.nameB(), a.b());
        }
        try {
            Files.createDirectories(dir);
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(dir.resolve(WEIGHTS)), 1 << 20)) {
                Safetensors.write(tensors, out, false);
            }
            Files.writeString(dir.resolve(CONFIG), new GsonBuilder().setPrettyPrinting().serializeNulls().create()
                    .toJson(configJson()) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(dir + ": cannot write the adapters (" + e + ")");
        }
    }

    private JsonObject configJson() {
        JsonObject j = loadedConfig == null ? new JsonObject() : loadedConfig.deepCopy();
        if (loadedConfig == null) {
            j.add("alpha_pattern", new JsonObject());
            j.add("base_model_name_or_path", JsonNull.INSTANCE);
            j.addProperty("bias", "none");
            j.addProperty("fan_in_fan_out", architecture(base) == HfArchitecture.GPT2); // Conv1D stores [in, out]
            j.addProperty("inference_mode", true);
            j.addProperty("init_lora_weights", true);
            j.add("layers_to_transform", JsonNull.INSTANCE);
            j.add("modules_to_save", JsonNull.INSTANCE);
            j.add("rank_pattern", new JsonObject());
            j.addProperty("task_type", "CAUSAL_LM");
            j.addProperty("use_dora", false);
        }
        j.addProperty("peft_type", "LORA");
        j.addProperty("r", config.rank());
        if (config.alpha() == Math.rint(config.alpha())) {
            j.addProperty("lora_alpha", (long) config.alpha());
        } else {
            j.addProperty("lora_alpha", config.alpha());
        }
        j.addProperty("lora_dropout", config.dropout());
        j.addProperty("use_rslora", config.rsLora());
        if (config.targets().names() == null) {
            j.addProperty("target_modules", config.targets().pattern());
        } else {
            JsonArray names = new JsonArray();
            config.targets().names().forEach(names::add);
            j.add("target_modules", names);
        }
        return j;
    }

    /**
     * Folds every adapter into the base weights, {@code W += scale B A} (each of GPT-2's q, k and v its third of
     * B's rows), and returns the base model, which then computes what base and adapters did together and saves
     * with {@code savePretrained} as a plain model. These adapters cannot be used afterwards.
     */
    public LanguageModel merge() {
        checkNotMerged();
        if (base.weightFormat() != org.attn4j.config.WeightFormat.FLOAT32) {
            throw new IllegalStateException("merge folds the adapters into float32 base weights; this base holds "
                    + base.weightFormat() + " weights (save the adapters, load them onto the float32 model and merge there)");
        }
        Map<String, INDArray> parameters = base.parameters();
        base.weightsLock().write(() -> {
            for (Adapter a : adapters) {
                INDArray delta = a.b().mmul(a.a()).muli(config.scale()); // [out, in]
                int rows = a.out() / a.weights().size();
                for (int part = 0; part < a.weights().size(); part++) {
                    parameters.get(a.weights().get(part)).addi(delta.get(NDArrayIndex.interval(part * rows,
                            (part + 1) * rows), NDArrayIndex.all()));
                }
            }
            return null;
        });
        merged = true;
        return base;
    }

    private void checkNotMerged() {
        if (merged) {
            throw new IllegalStateException("These LoRA adapters were merged into the base model; use the base model");
        }
    }

    private static String brief(Object e) {
        String s = String.valueOf(e);
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
