package org.attn4j.examples.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import org.attn4j.config.Activation;
import org.attn4j.examples.BadOptions;
import org.attn4j.examples.Stdout;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.text.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Smoke test: generate on a tiny random GPT-2 saved with savePretrained beside the real GPT-2 tokenizer streams the
 * greedy continuation that full forward passes (no cache) pick, stops at the context, and refuses a bad directory.
 */
class GenerateTest {
    @TempDir
    static Path model;
    private static LanguageModel lm;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void tinyGpt2() throws Exception {
        Nd4j.getRandom().setSeed(5);
        lm = new LanguageModel(ModelConfig.languageModel(50257, 16, 2, 32, 1, 24).withoutPadding()
                .withActivation(Activation.GELU_TANH));
        lm.parameters().forEach((name, p) -> p.muli(name.contains("norm") ? 1 : 40)); // logits far apart
        lm.savePretrained(model);
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(Path.of("src/test/resources/tokenizers/gpt2").resolve(f), model.resolve(f));
        }
        tokenizer = Tokenizer.fromPretrained(model);
    }

    @Test
    void streamsTheGreedyContinuation() throws Exception {
        String out = Stdout.capture(() -> Generate.main(new String[] {"--model", model.toString(), "--prompt",
                "Hello world", "--max-new-tokens", "6", "--greedy"}));
        int[] ids = tokenizer.encode("Hello world"), all = Arrays.copyOf(ids, ids.length + 6);
        for (int t = ids.length; t < all.length; t++) { // full forward passes over the growing prefix
            INDArray logits = lm.predict(null, Nd4j.createFromArray(Arrays.copyOf(all, t)).castTo(DataType.INT)
                    .reshape(1, t));
            all[t] = Generate.argmax(logits.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(t - 1)).toDoubleVector());
        }
        String expected = "Hello world" + tokenizer.decode(Arrays.copyOfRange(all, ids.length, all.length), true);
        assertEquals(expected, out.lines().findFirst().orElse(""));
        Matcher m = result(out);
        assertEquals("2", m.group(1));
        assertEquals("6", m.group(2));
    }

    /** Without --model: the committed BPE Shakespeare GPT (models/shakespeare-bpe) and its own tokenizer. */
    @Test
    void runsTheCommittedModelByDefault() throws Exception {
        String out = Stdout.capture(() -> Generate.main(new String[] {"--max-new-tokens", "5", "--greedy"}));
        Tokenizer shakespeare = Tokenizer.fromPretrained(Path.of("models/shakespeare-bpe"));
        assertTrue(out.startsWith("ROMEO:"), out);
        Matcher m = result(out);
        assertEquals(String.valueOf(shakespeare.encode("ROMEO:").length), m.group(1));
        assertEquals("5", m.group(2));
    }

    @Test
    void stopsWhenPromptAndNewTokensFillTheContext() throws Exception {
        String prompt = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                + "sixteen seventeen eighteen nineteen twenty";
        int promptTokens = tokenizer.encode(prompt).length;
        String out = Stdout.capture(() -> Generate.main(new String[] {"--model", model.toString(), "--prompt", prompt,
                "--max-new-tokens", "50", "--temperature", "0.8", "--top-k", "20", "--seed", "3"}));
        Matcher m = result(out);
        assertEquals(String.valueOf(promptTokens), m.group(1));
        assertEquals(String.valueOf(24 - promptTokens), m.group(2), out);
    }

    @Test
    void refusesADirectoryWithoutAModel(@TempDir Path empty) throws Exception {
        BadOptions.rejected("generate", Generate::run, empty.resolve("none"), new String[] {"--model", empty.toString()},
                "no config.json");
        BadOptions.rejected("generate", Generate::run, empty.resolve("none"), new String[] {"--model", model.toString(),
                "--max-new-tokens", "0"}, "--max-new-tokens must be a positive whole number, given '0'");
    }

    private static Matcher result(String out) {
        return Stdout.lastLine(out, "RESULT prompt_tokens=(\\d+) new_tokens=(\\d+) time_to_first_token_ms=\\S+ "
                + "tokens_per_second=\\S+ peak_rss_mb=\\d+");
    }
}
