package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.attn4j.formats.Safetensors;
import org.attn4j.io.Npz;
import org.attn4j.testing.Exact;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Hugging Face directories written by transformers ({@code src/test/python/gen_hf_fixtures.py}: random weights,
 * logits far from zero, float64 reference logits): attn4j loads each and computes the same logits, and
 * savePretrained writes the same tensors and config back. The saved directories stay in
 * {@code target/hf-saved} for the script's {@code --reload}, which loads them in transformers.
 */
class HuggingFaceModelsTest {
    static final Path FIXTURES = Path.of("src/test/resources/hf");
    private static final Path SAVED = Path.of("target/hf-saved");

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt2-noprefix-f16", "llama-gqa-4x", "llama-mqa-tied", "llama3-scaled-4x",
            "mistral-window", "qwen2", "llama-bf16", "llama-sharded"})
    void float64LogitsMatchTransformersAndSavingWritesTheSameModel(String name) throws IOException {
        LanguageModel lm = LanguageModel.fromPretrained(FIXTURES.resolve(name), DataType.DOUBLE);
        assertClose(name, reference(name, "logits"), logits(lm, name), 1e-10);
        Path out = SAVED.resolve(name);
        lm.savePretrained(out);
        assertSameTensors(FIXTURES.resolve(name), out);
        assertSameConfig(FIXTURES.resolve(name), out);
        assertClose(name + " reloaded", reference(name, "logits"),
                logits(LanguageModel.fromPretrained(out, DataType.DOUBLE), name), 1e-10);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama-gqa-4x", "qwen2"})
    void float32LogitsMatchTransformers(String name) {
        LanguageModel lm = LanguageModel.fromPretrained(FIXTURES.resolve(name));
        assertEquals(DataType.FLOAT, lm.dataType());
        assertClose(name + " float32", reference(name, "logits"), logits(lm, name), 1e-5);
    }

    @Test
    void theConfigsKeysReachTheModel() {
        ModelConfig llama3 = LanguageModel.fromPretrained(FIXTURES.resolve("llama3-scaled-4x")).config();
        assertEquals(new org.attn4j.config.Rope(500_000, 8, 1, 4, 64), llama3.rope());
        assertEquals(1, llama3.kvHeads());
        assertEquals(512, llama3.maxLen());
        ModelConfig mistral = LanguageModel.fromPretrained(FIXTURES.resolve("mistral-window")).config();
        assertEquals(4, mistral.window());
        LanguageModel mqa = LanguageModel.fromPretrained(FIXTURES.resolve("llama-mqa-tied"));
        assertTrue(mqa.config().tieEmbeddings());
        assertEquals(1e-6, mqa.config().eps());
        assertEquals(500_000, mqa.config().rope().theta());
        assertArrayEquals(new int[] {2, 3}, mqa.endTokenIds());
        assertTrue(LanguageModel.fromPretrained(FIXTURES.resolve("qwen2")).config().qkvBias());
    }

    @Test
    void savesShardsAboveTheSizeItIsGiven(@TempDir Path dir) throws IOException {
        LanguageModel lm = LanguageModel.fromPretrained(FIXTURES.resolve("mistral-window"), DataType.DOUBLE);
        lm.savePretrained(dir, 30_000);
        try (Stream<Path> files = Files.list(dir)) {
            long shards = files.filter(f -> f.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors"))
                    .count();
            assertTrue(shards > 3, "shards of 30 kB: " + shards);
        }
        assertTrue(Files.exists(dir.resolve("model.safetensors.index.json")));
        assertTrue(Files.notExists(dir.resolve("model.safetensors")));
        assertClose("sharded", reference("mistral-window", "logits"),
                logits(LanguageModel.fromPretrained(dir, DataType.DOUBLE), "mistral-window"), 1e-10);
    }

    /**
     * Models attn4j made from a ModelConfig save as the architecture they match, with a config.json of their own
     * (rotary keys in transformers 4.x's form, which 5.x reads too) and load back with the same logits; the
     * directories and {@code <name>.npz} (ids, attn4j's float64 logits) stay in target/hf-saved for
     * {@code gen_hf_fixtures.py --reload}, which checks them in transformers.
     */
    @Test
    void modelsAttn4jMadeSaveAsTheirArchitecture() throws IOException {
        ModelConfig llama = ModelConfig.modernLanguageModel(48, 32, 4, 64, 2, 64).withKvHeads(2).withoutPadding()
                .withEps(1e-5);
        Map<String, ModelConfig> configs = new TreeMap<>(Map.of(
                "fresh-gpt2", ModelConfig.languageModel(48, 32, 4, 96, 2, 16).withoutPadding()
                        .withActivation(org.attn4j.config.Activation.GELU_TANH),
                "fresh-llama3", llama.withRope(org.attn4j.config.Rope.theta(500_000).llama3(8, 1, 4, 16)),
                "fresh-mistral", llama.withWindow(3).withTiedEmbeddings(true),
                "fresh-qwen2", llama.withQkvBias(true)));
        Map<String, String> types = Map.of("fresh-gpt2", "gpt2", "fresh-llama3", "llama", "fresh-mistral", "mistral",
                "fresh-qwen2", "qwen2");
        INDArray ids = Nd4j.createFromArray(new int[][] {{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}, {2, 7, 1, 8, 2, 8, 1, 8, 2, 8}});
        for (Map.Entry<String, ModelConfig> e : configs.entrySet()) {
            Nd4j.getRandom().setSeed(11);
            LanguageModel lm = new LanguageModel(e.getValue(), DataType.DOUBLE);
            lm.parameters().forEach((k, p) -> p.muli(k.contains("norm") ? 1 : 30)); // logits far from zero
            lm.parameters().forEach((k, p) -> {
                if (k.contains("norm") || k.endsWith("bias")) {
                    p.addi(Nd4j.randn(DataType.DOUBLE, p.shape()).muli(0.3));
                }
            });
            INDArray logits = lm.predict(null, ids);
            Path out = SAVED.resolve(e.getKey());
            lm.savePretrained(out);
            JsonObject config = json(out.resolve("config.json"));
            assertEquals(types.get(e.getKey()), config.get("model_type").getAsString());
            assertEquals(e.getValue(), LanguageModel.fromPretrained(out, DataType.DOUBLE).config()
                    .withDropout(e.getValue().dropout()).withAttnDropout(e.getValue().attnDropout()));
            assertClose(e.getKey() + " saved and loaded", logits,
                    LanguageModel.fromPretrained(out, DataType.DOUBLE).predict(null, ids), 1e-14);
            try (java.io.OutputStream f = Files.newOutputStream(SAVED.resolve(e.getKey() + ".npz"))) {
                Npz.write(Map.of("input_ids", ids.castTo(DataType.LONG), "logits", logits), f);
            }
        }
    }

    @Test
    void savingALoadedModelCarriesItsTokenizerAndGenerationConfig(@TempDir Path dir) throws IOException {
        Path in = dir.resolve("in"), out = dir.resolve("out");
        Files.createDirectories(in);
        try (Stream<Path> files = Files.list(FIXTURES.resolve("qwen2"))) {
            for (Path f : files.toList()) {
                Files.copy(f, in.resolve(f.getFileName()));
            }
        }
        Files.copy(Path.of("src/test/resources/tokenizers/qwen2/tokenizer.json"), in.resolve("tokenizer.json"));
        LanguageModel.fromPretrained(in).savePretrained(out);
        for (String f : new String[] {"tokenizer.json", "generation_config.json"}) {
            assertArrayEquals(Files.readAllBytes(in.resolve(f)), Files.readAllBytes(out.resolve(f)), f);
        }
    }

    static INDArray reference(String name, String key) {
        return Npz.read(FIXTURES.resolve(name + ".npz")).get(key);
    }

    static INDArray logits(LanguageModel lm, String name) {
        return lm.predict(null, reference(name, "input_ids").castTo(DataType.INT));
    }

    static void assertClose(String what, INDArray expected, INDArray actual, double relative) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        double scale = Math.abs(expected.castTo(DataType.DOUBLE).amaxNumber().doubleValue());
        double error = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue()
                / scale;
        System.out.printf("%s: relative logit error %.1e (bound %.0e)%n", what, error, relative);
        assertTrue(error <= relative, what + ": relative logit error " + error + " above " + relative);
    }

    /** Every tensor of the original, the same values (GPT-2 names with or without its prefix); none added. */
    private static void assertSameTensors(Path original, Path saved) {
        Map<String, INDArray> a = tensors(original), b = tensors(saved);
        a.keySet().removeIf(k -> k.endsWith(".attn.bias"));
        assertEquals(a.keySet(), b.keySet(), "tensor names");
        a.forEach((k, v) -> Exact.assertSameBits(k, v.castTo(DataType.DOUBLE), b.get(k).castTo(DataType.DOUBLE)));
    }

    private static Map<String, INDArray> tensors(Path dir) {
        Map<String, INDArray> all = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            files.filter(f -> f.toString().endsWith(".safetensors")).forEach(f -> Safetensors.read(f)
                    .forEach((k, v) -> all.put(k.startsWith("h.") || k.startsWith("w") || k.startsWith("ln_f")
                            ? "transformer." + k : k, v)));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return all;
    }

    /** The saved config.json holds the original's keys and values; only the data type differs (float64 here). */
    private static void assertSameConfig(Path original, Path saved) throws IOException {
        JsonObject a = json(original.resolve("config.json")), b = json(saved.resolve("config.json"));
        for (String key : Set.of("dtype", "torch_dtype")) {
            assertEquals(a.has(key), b.has(key), key);
            a.remove(key);
            b.remove(key);
        }
        assertEquals(a, b);
    }

    static JsonObject json(Path file) throws IOException {
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    }
}
