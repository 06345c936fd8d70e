package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.attn4j.formats.Safetensors;
import org.attn4j.io.Npz;
import org.attn4j.testing.Exact;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * PEFT adapters written by peft 0.21 ({@code src/test/python/gen_lora_fixtures.py}: random non-zero A and B on the
 * hf fixtures' bases, float64 reference logits of base + adapter from transformers + peft): attn4j loads each,
 * merged into the base it computes PEFT's logits, and it saves the adapters back with the same tensors. The saved
 * directories stay in {@code target/lora-saved} (with the base's path and attn4j's logits) for the script's
 * {@code --check}, which loads them in PEFT.
 */
class LoraAdaptersTest {
    static final Path FIXTURES = Path.of("src/test/resources/lora"), BASES = Path.of("src/test/resources/hf");
    private static final Path SAVED = Path.of("target/lora-saved");

    @ParameterizedTest
    @CsvSource({"llama-qv, llama-gqa-4x, 8", "llama-all, llama-gqa-4x, 28", "gpt2-all, gpt2, 16"})
    void mergedAdaptersGivePeftsLogitsAndSaveBackTheSameTensors(String name, String baseName, int tensors)
            throws IOException {
        LanguageModel base = LanguageModel.fromPretrained(BASES.resolve(baseName), DataType.DOUBLE);
        LoraAdapters lora = LoraAdapters.load(base, FIXTURES.resolve(name));
        assertEquals(tensors, lora.parameters().size());
        Path out = SAVED.resolve(name);
        lora.save(out);
        Map<String, INDArray> original = Safetensors.read(FIXTURES.resolve(name).resolve(LoraAdapters.WEIGHTS)),
                saved = Safetensors.read(out.resolve(LoraAdapters.WEIGHTS));
        assertEquals(original.keySet(), saved.keySet());
        original.forEach((k, v) -> Exact.assertSameBits(k, v.castTo(DataType.DOUBLE), saved.get(k)));

        INDArray logits = lora.merge().predict(null, reference(name, "input_ids").castTo(DataType.INT));
        HuggingFaceModelsTest.assertClose(name + " merged", reference(name, "logits"), logits, 1e-10);
        try (OutputStream f = Files.newOutputStream(SAVED.resolve(name + ".npz"))) {
            Npz.write(Map.of("input_ids", reference(name, "input_ids"), "logits", logits), f);
        }
        Files.writeString(SAVED.resolve(name + ".json"), "{\"base\": \"" + BASES.resolve(baseName) + "\"}\n");
    }

    @Test
    void newAdaptersStartAtTheBaseModelAndTargetWhatPeftWould() {
        LanguageModel llama = LanguageModel.fromPretrained(BASES.resolve("llama-gqa-4x"), DataType.DOUBLE);
        INDArray ids = reference("llama-qv", "input_ids").castTo(DataType.INT), before = llama.predict(null, ids);
        LoraAdapters qv = LoraAdapters.create(llama, LoraConfig.of(8, 16, "q_proj,v_proj"));
        assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"),
                qv.adapters().stream().map(LoraAdapters.Adapter::module).toList());
        assertEquals(2 * (8 * 32 + 32 * 8) + 2 * (8 * 32 + 16 * 8), qv.parameterCount()); // v: 2 kv heads of 8
        Exact.assertSameBits("B = 0: the merged model is the base", before, qv.merge().predict(null, ids));

        assertEquals(14, LoraAdapters.create(llama, LoraConfig.of(2, 4, "all-linear")).adapters().size());
        LanguageModel gpt2 = LanguageModel.fromPretrained(BASES.resolve("gpt2"), DataType.DOUBLE);
        LoraAdapters attn = LoraAdapters.create(gpt2, LoraConfig.of(4, 8, "c_attn"));
        assertEquals(List.of("decoder.layers.0.self_attn.q.weight", "decoder.layers.0.self_attn.k.weight",
                "decoder.layers.0.self_attn.v.weight"), attn.adapters().get(0).weights());
        assertEquals(96, attn.adapters().get(0).out());
        assertEquals(8, LoraAdapters.create(gpt2, LoraConfig.of(4, 8, "all-linear")).adapters().size());
        assertEquals(1, LoraAdapters.create(gpt2, new LoraConfig(4, 8, 0,
                new LoraConfig.Targets(null, ".*\\.1\\.mlp\\.c_proj"), false)).adapters().size());
    }

    /** Adapters attn4j made (B drawn non-zero) save with an adapter_config.json of their own, for PEFT's --check. */
    @ParameterizedTest
    @CsvSource({"fresh-llama-qv, llama-gqa-4x, 'q_proj,v_proj', false", "fresh-gpt2-all, gpt2, all-linear, true"})
    void newAdaptersSaveForPeft(String name, String baseName, String targets, boolean rsLora) throws IOException {
        LanguageModel base = LanguageModel.fromPretrained(BASES.resolve(baseName), DataType.DOUBLE);
        LoraAdapters lora = LoraAdapters.create(base, LoraConfig.of(3, 5, targets).withRsLora(rsLora));
        lora.adapters().forEach(a -> a.b().assign(Nd4j.randn(DataType.DOUBLE, a.b().shape()).muli(0.3)));
        Path out = SAVED.resolve(name);
        lora.save(out);
        LoraAdapters back = LoraAdapters.load(LanguageModel.fromPretrained(BASES.resolve(baseName), DataType.DOUBLE), out);
        assertEquals(lora.config(), back.config());
        lora.parameters().forEach((k, v) -> Exact.assertSameBits(k, v, back.parameters().get(k)));
        INDArray ids = reference("llama-qv", "input_ids");
        try (OutputStream f = Files.newOutputStream(SAVED.resolve(name + ".npz"))) {
            Npz.write(Map.of("input_ids", ids, "logits", lora.merge().predict(null, ids.castTo(DataType.INT))), f);
        }
        Files.writeString(SAVED.resolve(name + ".json"), "{\"base\": \"" + BASES.resolve(baseName) + "\"}\n");
    }

    @Test
    void targetNamesMatchAsPeftMatchesThem() {
        LoraConfig.Targets qv = LoraConfig.Targets.parse("q_proj, v_proj");
        assertTrue(qv.matches("model.layers.3.self_attn.q_proj"));
        assertTrue(qv.matches("v_proj"));
        assertTrue(!qv.matches("model.layers.3.self_attn.xq_proj") && !qv.matches("model.layers.3.self_attn.q_proj.x"));
        assertTrue(LoraConfig.Targets.parse("self_attn.q_proj").matches("model.layers.0.self_attn.q_proj"));
        LoraConfig.Targets regex = new LoraConfig.Targets(null, "model\\.layers\\.0\\..*_proj");
        assertTrue(regex.matches("model.layers.0.mlp.up_proj") && !regex.matches("model.layers.10.mlp.up_proj"));
        assertEquals(2.0, LoraConfig.of(4, 8, "q_proj").scale());
        assertEquals(4.0, LoraConfig.of(4, 8, "q_proj").withRsLora(true).scale());
    }

    @Test
    void anAdapterOfAnotherRankOrForModulesTheBaseHasNotIsRefusedInOneLine(@TempDir Path dir) throws IOException {
        LanguageModel llama = LanguageModel.fromPretrained(BASES.resolve("llama-gqa-4x"));
        refused(llama, copy("llama-qv", dir.resolve("rank"), c -> c.addProperty("r", 8)),
                "adapter_model.safetensors: tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' "
                        + "has shape [4, 32]; r 8 of adapter_config.json and the base model's "
                        + "model.layers.0.self_attn.q_proj (in 32, out 32) imply [8, 32]");
        Path targets = copy("llama-qv", dir.resolve("targets"), c -> c.add("target_modules",
                JsonParser.parseString("[\"query_key_value\"]")));
        refused(llama, targets, "adapter_config.json: target_modules 'query_key_value' match no linear layer of this "
                + "llama model (its linear layers: self_attn.q_proj, self_attn.k_proj, self_attn.v_proj, self_attn.o_proj, mlp.gate_proj, "
                + "mlp.up_proj, mlp.down_proj, in 2 "
                + "blocks, e.g. model.layers.0.self_attn.q_proj)");
        refused(llama, copy("llama-qv", dir.resolve("fewer"), c -> c.add("target_modules",
                JsonParser.parseString("[\"q_proj\"]"))), "adapter_model.safetensors: unexpected tensor "
                + "'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight' (target_modules q_proj of "
                + "adapter_config.json do not give this base model such an adapter)");
        refused(llama, copy("llama-qv", dir.resolve("more"), c -> c.add("target_modules",
                JsonParser.parseString("[\"q_proj\", \"v_proj\", \"o_proj\"]"))), "adapter_model.safetensors: tensor "
                + "'base_model.model.model.layers.0.self_attn.o_proj.lora_A.weight' is missing (target_modules "
                + "q_proj,v_proj,o_proj of adapter_config.json match model.layers.0.self_attn.o_proj of the base model)");
        refused(llama, copy("llama-qv", dir.resolve("dora"), c -> c.addProperty("use_dora", true)),
                "adapter_config.json: use_dora true is not supported (plain LoRA only)");
        refused(llama, copy("llama-qv", dir.resolve("ia3"), c -> c.addProperty("peft_type", "IA3")),
                "adapter_config.json: peft_type 'IA3' is not supported (supported: LORA)");
        refused(llama, dir, dir + ": no adapter_config.json (a PEFT adapter directory holds adapter_config.json and "
                + "adapter_model.safetensors)");
    }

    /** The adapter of a grouped-query Llama (v_proj out 16) on a multi-query one (v_proj out 8): the base changed. */
    @Test
    void aBaseModelOfOtherShapesIsRefusedInOneLine() {
        LanguageModel mqa = LanguageModel.fromPretrained(BASES.resolve("llama-mqa-tied"));
        refused(mqa, FIXTURES.resolve("llama-qv"), "adapter_model.safetensors: tensor "
                + "'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight' has shape [16, 4]; r 4 of "
                + "adapter_config.json and the base model's model.layers.0.self_attn.v_proj (in 32, out 8) imply [8, 4]");
        LanguageModel gpt2 = LanguageModel.fromPretrained(BASES.resolve("gpt2"));
        refused(gpt2, FIXTURES.resolve("llama-qv"), "adapter_config.json: target_modules 'q_proj,v_proj' match no "
                + "linear layer of this gpt2 model (its linear layers: attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj, in 2 blocks, e.g. "
                + "transformer.h.0.attn.c_attn)");
    }

    private static void refused(LanguageModel base, Path dir, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraAdapters.load(base, dir));
        assertEquals(message, e.getMessage());
    }

    /** The fixture {@code name} copied to {@code to}, its adapter_config.json changed by {@code change}. */
    private static Path copy(String name, Path to, java.util.function.Consumer<JsonObject> change) throws IOException {
        Files.createDirectories(to);
        Files.copy(FIXTURES.resolve(name).resolve(LoraAdapters.WEIGHTS), to.resolve(LoraAdapters.WEIGHTS));
        JsonObject config = JsonParser.parseString(Files.readString(FIXTURES.resolve(name).resolve(LoraAdapters.CONFIG)))
                .getAsJsonObject();
        change.accept(config);
        Files.writeString(to.resolve(LoraAdapters.CONFIG), config.toString());
        return to;
    }

    static INDArray reference(String name, String key) {
        return Npz.read(FIXTURES.resolve(name + ".npz")).get(key);
    }

    static {
        Nd4j.getRandom().setSeed(3);
    }
}
