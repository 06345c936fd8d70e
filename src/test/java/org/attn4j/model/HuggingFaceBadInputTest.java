package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.attn4j.formats.Safetensors;
import org.attn4j.nn.PositionalEncoding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What fromPretrained refuses, each in one line naming the file, the key or tensor, and the value, before it
 * allocates the model; and what savePretrained refuses, naming the setting.
 */
class HuggingFaceBadInputTest {
    @TempDir
    Path dir;

    private Path copy(String fixture) throws IOException {
        try (Stream<Path> files = Files.list(HuggingFaceModelsTest.FIXTURES.resolve(fixture))) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }

    private String refusal(Path model) {
        String m = assertThrows(IllegalArgumentException.class, () -> LanguageModel.fromPretrained(model)).getMessage();
        assertTrue(!m.contains("\n"), "one line: " + m);
        return m;
    }

    private void editConfig(Consumer<JsonObject> edit) throws IOException {
        JsonObject c = JsonParser.parseString(Files.readString(dir.resolve("config.json"))).getAsJsonObject();
        edit.accept(c);
        Files.writeString(dir.resolve("config.json"), c.toString());
    }

    @Test
    void aDirectoryWithoutConfig() throws IOException {
        Files.delete(copy("gpt2").resolve("config.json"));
        assertEquals(dir + ": no config.json (a Hugging Face model directory holds config.json and model.safetensors "
                + "or model.safetensors.index.json)", refusal(dir));
    }

    @Test
    void aDirectoryWithoutWeights() throws IOException {
        Files.delete(copy("gpt2").resolve("model.safetensors"));
        assertEquals(dir + ": no model.safetensors or model.safetensors.index.json (only safetensors weights are read)",
                refusal(dir));
    }

    @Test
    void anUnknownModelType() throws IOException {
        copy("llama-gqa-4x");
        editConfig(c -> c.addProperty("model_type", "bert"));
        assertEquals("config.json: model_type 'bert' is not supported (supported: gpt2, llama, mistral, qwen2)",
                refusal(dir));
    }

    @Test
    void anUnsupportedRopeScaling() throws IOException {
        copy("llama-gqa-4x");
        editConfig(c -> c.add("rope_scaling", JsonParser.parseString("{\"rope_type\": \"yarn\", \"factor\": 4.0}")));
        assertEquals("config.json: rope_scaling type 'yarn' is not supported (supported: default, llama3)", refusal(dir));
    }

    @Test
    void aKeyOfTheWrongKind() throws IOException {
        copy("mistral-window");
        editConfig(c -> c.addProperty("num_key_value_heads", "two"));
        assertEquals("config.json: key 'num_key_value_heads' must be a whole number, got \"two\"", refusal(dir));
    }

    @Test
    void aShardListedInTheIndexButMissing() throws IOException {
        Files.delete(copy("llama-sharded").resolve("model-00002-of-00003.safetensors"));
        String m = refusal(dir);
        assertTrue(m.startsWith("model.safetensors.index.json: shard 'model-00002-of-00003.safetensors' (holding '"), m);
        assertTrue(m.endsWith("') is missing"), m);
    }

    @Test
    void aTensorMissing() throws IOException {
        copy("llama-gqa-4x");
        rewrite(dir.resolve("model.safetensors"), "model.layers.1.mlp.up_proj.weight", null);
        assertEquals("model.safetensors: tensor 'model.layers.1.mlp.up_proj.weight' is missing (config.json implies "
                + "it, [64, 32])", refusal(dir));
    }

    @Test
    void aTensorOfTheWrongShape() throws IOException {
        copy("llama-gqa-4x");
        editConfig(c -> c.addProperty("intermediate_size", 48));
        assertEquals("model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape [64, 32], config.json "
                + "implies [48, 32]", refusal(dir));
    }

    @Test
    void aTensorOfTheWrongDtype() throws IOException {
        copy("gpt2");
        rewrite(dir.resolve("model.safetensors"), "transformer.h.1.mlp.c_fc.weight", "I32");
        assertEquals("model.safetensors: tensor 'transformer.h.1.mlp.c_fc.weight' has dtype I32; expected F32, F16, "
                + "BF16 or F64", refusal(dir));
    }

    @Test
    void aTruncatedFile() throws IOException {
        copy("qwen2");
        Path f = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        String m = refusal(dir);
        assertTrue(m.startsWith(f + ": ") && m.contains("bytes"), m);
    }

    @Test
    void aConfigImplyingHundredsOfGigabytesIsRefusedByShapeNotByMemory() throws IOException {
        copy("llama-gqa-4x");
        editConfig(c -> c.addProperty("vocab_size", 2_000_000_000));
        assertEquals("model.safetensors: tensor 'model.embed_tokens.weight' has shape [64, 32], config.json implies "
                + "[2000000000, 32]", refusal(dir));
        editConfig(c -> {
            c.addProperty("vocab_size", 64);
            c.addProperty("num_hidden_layers", 1_000_000_000);
        });
        assertEquals("config.json: num_hidden_layers/n_layer 1000000000 but the weights hold only 21 tensors",
                refusal(dir));
    }

    @Test
    void anUnexpectedTensor() throws IOException {
        copy("mistral-window");
        rewrite(dir.resolve("model.safetensors"), "model.layers.0.self_attn.o_proj.weight", "F32",
                "model.layers.0.self_attn.o_proj.bias");
        assertEquals("model.safetensors: unexpected tensor 'model.layers.0.self_attn.o_proj.bias' (a mistral model of "
                + "this config.json has none)", refusal(dir));
    }

    @Test
    void savingRefusesWhatNoHuggingFaceArchitectureExpresses() {
        ModelConfig gpt = ModelConfig.languageModel(16, 8, 2, 16, 1, 8).withoutPadding();
        String[] cases = {"post-LN (normFirst false)", "positions SINUSOIDAL",
            "padding id 0 (attn4j masks it as a key; use withoutPadding())"};
        ModelConfig[] configs = {gpt.withNormFirst(false), gpt.withPositions(PositionalEncoding.SINUSOIDAL),
            gpt.withPadId(0)};
        for (int i = 0; i < configs.length; i++) {
            LanguageModel lm = new LanguageModel(configs[i]);
            String m = assertThrows(IllegalArgumentException.class, () -> lm.savePretrained(dir)).getMessage();
            assertEquals("This model cannot be saved as a Hugging Face model: " + cases[i]
                    + " has no equivalent in gpt2, llama, mistral or qwen2", m);
        }
        assertTrue(!Files.exists(dir.resolve("config.json")), "nothing written");
    }

    /**
     * Writes {@code file} again without tensor {@code name} (dtype null), or with its dtype relabelled, or (given
     * another name) with a copy of it under that name too.
     */
    private static void rewrite(Path file, String name, String dtype, String... rename) throws IOException {
        Map<String, INDArray> tensors = new TreeMap<>(Safetensors.read(file));
        INDArray changed = tensors.remove(name);
        StringBuilder header = new StringBuilder("{");
        ByteBuffer data = ByteBuffer.allocate(2 * Math.toIntExact(Files.size(file))).order(ByteOrder.LITTLE_ENDIAN);
        if (dtype != null) {
            tensors.put(name, changed);
        }
        if (rename.length > 0) {
            tensors.put(rename[0], changed.dup());
        }
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            boolean relabel = rename.length == 0 && dtype != null && e.getValue() == changed;
            int begin = data.position();
            for (float v : e.getValue().dup('c').data().asFloat()) {
                data.putFloat(v);
            }
            header.append(header.length() > 1 ? "," : "").append('"').append(e.getKey()).append("\":{\"dtype\":\"")
                    .append(relabel ? dtype : "F32").append("\",\"shape\":").append(java.util.Arrays.toString(
                            e.getValue().shape()).replace(" ", "")).append(",\"data_offsets\":[").append(begin)
                    .append(',').append(data.position()).append("]}");
        }
        byte[] json = header.append('}').toString().getBytes(StandardCharsets.UTF_8);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
            out.write(json);
            out.write(data.array(), 0, data.position());
        }
    }
}
