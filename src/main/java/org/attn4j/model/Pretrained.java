package org.attn4j.model;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
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
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import org.attn4j.formats.Safetensors;
import org.attn4j.kernels.Buf;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Hugging Face model directories in and out ({@link LanguageModel#fromPretrained},
 * {@link LanguageModel#savePretrained}). Loading checks everything it can before it allocates: the config's
 * keys, every file's header, and each tensor's presence, shape and dtype against what the config implies; then it
 * builds the model without initializing it and reads each tensor once into its parameter.
 */
final class Pretrained {
    static final String CONFIG = "config.json", WEIGHTS = "model.safetensors", INDEX = "model.safetensors.index.json",
            GENERATION = "generation_config.json";
    /** Files saved back as they were loaded: the tokenizer's, and decoding defaults. */
    static final List<String> CARRIED = List.of(GENERATION, "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json",
            "chat_template.jinja");
    /** transformers' default shard size (5 GB). */
    static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

    /**
     * What a model loaded from a directory keeps for saving it back: its architecture, config.json, the end
     * token ids (config.json's, or generation_config.json's when it has them) and the carried files' bytes.
     */
    record Origin(HfArchitecture architecture, JsonObject config, int[] endIds, Map<String, byte[]> files) {
    }

    /** A model read from a directory, and what it keeps for saving it back. */
    record Loaded<M extends TransformerModel>(M model, Origin origin) {
    }

    private Pretrained() {
    }

    /** Reads {@code dir} into the model {@code create} builds, without initializing it, for the config there. */
    static <M extends TransformerModel> Loaded<M> load(Path dir, DataType type, Function<ModelConfig, M> create) {
        if (type != DataType.FLOAT && type != DataType.DOUBLE) {
            throw new IllegalArgumentException("A model loads as FLOAT or DOUBLE, not " + type);
        }
        if (!Files.isRegularFile(dir.resolve(CONFIG))) {
            throw new IllegalArgumentException(dir + ": no " + CONFIG + " (a Hugging Face model directory holds "
                    + CONFIG + " and " + WEIGHTS + " or " + INDEX + ")");
        }
        HfJson json = HfJson.read(dir, CONFIG);
        HfArchitecture architecture = HfArchitecture.of(json);
        ModelConfig config = architecture.config(json);
        Map<String, Safetensors.Header> where = headers(dir);
        String prefix = architecture == HfArchitecture.GPT2 && where.containsKey("transformer.wte.weight")
                ? "transformer." : "";
        if (config.decoderLayers() > where.size()) {
            throw json.error("num_hidden_layers/n_layer " + config.decoderLayers() + " but the weights hold only "
                    + where.size() + " tensors");
        }
        List<HfTensor> tensors = architecture.tensors(config, prefix);
        check(tensors, where, Files.isRegularFile(dir.resolve(WEIGHTS)) ? WEIGHTS : INDEX, architecture, config);
        M model = org.attn4j.nn.Module.unfilled(() -> create.apply(config));
        Map<String, INDArray> parameters = model.parameters();
        for (HfTensor t : tensors) {
            read(t, where.get(t.name()), parameters, type);
        }
        return new Loaded<>(model, new Origin(architecture, json.json(), endIds(dir, json), carried(dir)));
    }

    /** Where each tensor is: model.safetensors, or the shards model.safetensors.index.json lists. */
    private static Map<String, Safetensors.Header> headers(Path dir) {
        Map<String, Safetensors.Header> where = new LinkedHashMap<>();
        if (Files.isRegularFile(dir.resolve(WEIGHTS))) {
            Safetensors.Header h = Safetensors.header(dir.resolve(WEIGHTS));
            h.tensors().keySet().forEach(name -> where.put(name, h));
            return where;
        }
        if (!Files.isRegularFile(dir.resolve(INDEX))) {
            throw new IllegalArgumentException(dir + ": no " + WEIGHTS + " or " + INDEX
                    + " (only safetensors weights are read)");
        }
        HfJson index = HfJson.read(dir, INDEX);
        HfJson map = index.object("weight_map");
        if (map == null) {
            throw index.error("key 'weight_map' is missing");
        }
        Map<String, Safetensors.Header> shards = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : map.json().entrySet()) {
            String file = map.string(e.getKey(), null);
            if (file == null || !file.matches("[A-Za-z0-9._-]+") || file.startsWith(".")) {
                throw index.error("tensor '" + e.getKey() + "' is in shard " + e.getValue()
                        + ", not a plain file name in this directory");
            }
            if (!Files.isRegularFile(dir.resolve(file))) {
                throw index.error("shard '" + file + "' (holding '" + e.getKey() + "') is missing");
            }
            Safetensors.Header h = shards.computeIfAbsent(file, f -> Safetensors.header(dir.resolve(f)));
            if (!h.tensors().containsKey(e.getKey())) {
                throw index.error("tensor '" + e.getKey() + "' is listed in '" + file + "', which does not hold it");
            }
            where.put(e.getKey(), h);
        }
        return where;
    }

    /** Every tensor there, of its shape and a floating-point dtype, and nothing unexpected, before allocating. */
    private static void check(List<HfTensor> tensors, Map<String, Safetensors.Header> where, String source,
            HfArchitecture architecture, ModelConfig config) {
        Set<String> expected = new java.util.HashSet<>();
        for (HfTensor t : tensors) {
            expected.add(t.name());
            Safetensors.Header h = where.get(t.name());
            if (h == null) {
                throw new IllegalArgumentException(source + ": tensor '" + t.name()
                        + "' is missing (config.json implies it, " + Arrays.toString(t.shape()) + ")");
            }
            Safetensors.Spec s = h.tensors().get(t.name());
            String file = h.file().getFileName().toString();
            if (!Arrays.equals(s.shape(), t.shape())) {
                throw new IllegalArgumentException(file + ": tensor '" + t.name() + "' has shape "
                        + Arrays.toString(s.shape()) + ", config.json implies " + Arrays.toString(t.shape()));
            }
            if (!Set.of("F32", "F16", "BF16", "F64").contains(s.dtype())) {
                throw new IllegalArgumentException(file + ": tensor '" + t.name() + "' has dtype " + s.dtype()
                        + "; expected F32, F16, BF16 or F64");
            }
        }
        for (Map.Entry<String, Safetensors.Header> e : where.entrySet()) {
            if (!expected.contains(e.getKey()) && !architecture.ignored(e.getKey(), config)) {
                throw new IllegalArgumentException(e.getValue().file().getFileName() + ": unexpected tensor '"
                        + e.getKey() + "' (a " + architecture.modelType + " model of this config.json has none)");
            }
        }
    }

    /** One tensor into its parameters: straight into the array, or through one array of the file's shape. */
    private static void read(HfTensor t, Safetensors.Header h, Map<String, INDArray> parameters, DataType type) {
        if (t.direct()) {
            h.readInto(t.name(), parameters.get(t.parts().get(0).parameter()));
            return;
        }
        INDArray file = Nd4j.create(type, t.shape());
        h.readInto(t.name(), file);
        Buf from = Buf.of(file);
        int rows = t.shape().length == 1 ? 1 : (int) t.shape()[0], columns = (int) t.shape()[t.shape().length - 1];
        int width = columns / t.parts().size();
        for (int part = 0; part < t.parts().size(); part++) {
            HfTensor.Part p = t.parts().get(part);
            Buf to = Buf.of(parameters.get(p.parameter()));
            // the part's columns [part * width, (part + 1) * width) of the file's [rows, columns]; transposed: to[c, r]
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < width; c++) {
                    to.put(p.transposed() ? c * rows + r : r * width + c, from.get(r * columns + part * width + c));
                }
            }
        }
        file.close();
    }

    private static int[] endIds(Path dir, HfJson config) {
        if (Files.isRegularFile(dir.resolve(GENERATION))) {
            HfJson generation = HfJson.read(dir, GENERATION);
            if (generation.has("eos_token_id")) {
                return generation.ids("eos_token_id");
            }
        }
        return config.ids("eos_token_id");
    }

    private static Map<String, byte[]> carried(Path dir) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String name : CARRIED) {
            Path f = dir.resolve(name);
            if (Files.isRegularFile(f)) {
                try {
                    files.put(name, Files.readAllBytes(f));
                } catch (IOException e) {
                    throw new IllegalArgumentException(f + ": cannot read (" + e + ")");
                }
            }
        }
        return files;
    }

    /** Writes {@code model} into {@code dir}, with what it kept of the directory it was loaded from (or null). */
    static void save(TransformerModel model, Origin origin, Path dir, long maxShardBytes) {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        if (model.weightFormat() != org.attn4j.config.WeightFormat.FLOAT32) {
            throw new IllegalStateException("this model holds " + model.weightFormat() + " weights for inference; "
                    + "savePretrained writes float32 models (save it before convertWeights)");
        }
        ModelConfig config = model.config();
        HfArchitecture architecture = HfArchitecture.of(config, origin == null ? null : origin.architecture());
        Map<String, INDArray> parameters = model.parameters();
        Map<String, INDArray> tensors = new TreeMap<>();
        for (HfTensor t : architecture.tensors(config, architecture == HfArchitecture.GPT2 ? "transformer." : "")) {
            List<INDArray> parts = new ArrayList<>();
            for (HfTensor.Part p : t.parts()) {
                INDArray a = parameters.get(p.parameter());
                parts.add(p.transposed() ? a.transpose() : a);
            }
            tensors.put(t.name(), parts.size() == 1 ? parts.get(0) // the writer copies each tensor out in C order
                    : Nd4j.concat(t.shape().length - 1, parts.toArray(INDArray[]::new)));
        }
        try {
            Files.createDirectories(dir);
            writeShards(dir, tensors, maxShardBytes);
            JsonObject json = architecture.write(config, origin == null ? null : origin.config(), model.dataType());
            Files.writeString(dir.resolve(CONFIG), new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(json) + "\n");
            if (origin != null) {
                for (Map.Entry<String, byte[]> f : origin.files().entrySet()) {
                    Files.write(dir.resolve(f.getKey()), f.getValue());
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(dir + ": cannot write the model (" + e + ")");
        }
    }

    /** model.safetensors, or shards of at most {@code maxShardBytes} (a larger tensor alone) with their index. */
    private static void writeShards(Path dir, Map<String, INDArray> tensors, long maxShardBytes) throws IOException {
        List<Map<String, INDArray>> shards = new ArrayList<>();
        long bytes = 0, total = 0;
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            long size = e.getValue().length() * e.getValue().dataType().width();
            if (shards.isEmpty() || bytes > 0 && bytes + size > maxShardBytes) {
                shards.add(new TreeMap<>());
                bytes = 0;
            }
            shards.get(shards.size() - 1).put(e.getKey(), e.getValue());
            bytes += size;
            total += size;
        }
        Files.deleteIfExists(dir.resolve(WEIGHTS));
        Files.deleteIfExists(dir.resolve(INDEX));
        if (shards.size() == 1) {
            write(dir.resolve(WEIGHTS), shards.get(0));
            return;
        }
        JsonObject map = new JsonObject(), index = new JsonObject(), metadata = new JsonObject();
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            write(dir.resolve(name), shards.get(i));
            shards.get(i).keySet().forEach(k -> map.addProperty(k, name));
        }
        metadata.addProperty("total_size", total);
        index.add("metadata", metadata);
        index.add("weight_map", map);
        Files.writeString(dir.resolve(INDEX), new GsonBuilder().setPrettyPrinting().create().toJson(index) + "\n",
                StandardCharsets.UTF_8);
    }

    private static void write(Path file, Map<String, INDArray> tensors) throws IOException {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            Safetensors.write(tensors, out, false);
        }
    }
}
