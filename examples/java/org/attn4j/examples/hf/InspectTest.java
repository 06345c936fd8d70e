package org.attn4j.examples.hf;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.attn4j.config.Activation;
import org.attn4j.examples.BadOptions;
import org.attn4j.examples.Stdout;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Smoke test: inspect writes a page with a layer and head picker over one heatmap per head and per layer. */
class InspectTest {
    @Test
    void writesEveryLayersAndHeadsHeatmapAndThePicker(@TempDir Path model, @TempDir Path out) throws Exception {
        new LanguageModel(ModelConfig.languageModel(50257, 16, 2, 32, 3, 24).withoutPadding()
                .withActivation(Activation.GELU_TANH)).savePretrained(model);
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(Path.of("src/test/resources/tokenizers/gpt2").resolve(f), model.resolve(f));
        }
        String printed = Stdout.capture(() -> Inspect.main(new String[] {"--model", model.toString(), "--text",
                "Hello brave new world", "--out", out.toString()}));
        assertTrue(printed.strip().endsWith("RESULT tokens=4 layers=3 heads=2 page=" + out.resolve("index.html")),
                printed);
        String page = Files.readString(out.resolve("index.html"));
        assertTrue(page.contains("<option value=\"2\">2</option>") && page.contains("id=\"head\"")
                && !page.contains("http"), page);
        for (int l = 0; l < 3; l++) {
            assertTrue(Files.size(out.resolve("layer" + l + ".svg")) > 1000);
            for (int h = 0; h < 2; h++) {
                String svg = Files.readString(out.resolve("layer" + l + "-head" + h + ".svg"));
                assertTrue(svg.contains(" brave") && svg.contains("Hello"), "token strings on the axes");
                assertTrue(Files.size(out.resolve("layer" + l + "-head" + h + ".png")) > 500);
            }
        }
        BadOptions.rejected("inspect", Inspect::run, out.resolve("none"), new String[] {"--model", out.toString()},
                "no config.json");
    }
}
