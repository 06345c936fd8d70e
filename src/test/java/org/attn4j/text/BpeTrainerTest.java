package org.attn4j.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BpeTrainer against HF's BpeTrainer (gen_tokenizer_fixtures.py, kind "trained"): the same corpus (the first
 * 200,000 characters of Shakespeare, a sequence per line), vocabulary 1000, min frequency 2, two specials. The
 * merges, the vocabulary and the ids of every fixture text must be HF's. The written files stay in
 * target/tokenizer-roundtrip/trained for check_saved_tokenizers.py.
 */
class BpeTrainerTest {
    @TempDir
    Path tmp;

    @Test
    void learnsHuggingFacesMergesAndVocabulary() throws IOException {
        Path corpus = tmp.resolve("corpus.txt");
        String text = Files.readString(Path.of("examples/data/tinyshakespeare.txt")).substring(0, 200_000);
        Files.writeString(corpus, text, StandardCharsets.UTF_8);
        Tokenizer trained = BpeTrainer.of(1000).withMinFrequency(2).withSpecialTokens(List.of("<|endoftext|>", "<pad>"))
                .trainFiles(List.of(corpus));
        Path dir = TokenizerSaveTest.OUT.resolve("trained");
        trained.savePretrained(dir);

        JsonObject hf = json(Fixtures.DIR.resolve("trained/tokenizer.json")).getAsJsonObject("model");
        JsonObject ours = json(dir.resolve("tokenizer.json")).getAsJsonObject("model");
        JsonArray hfMerges = hf.getAsJsonArray("merges");
        JsonArray ourMerges = ours.getAsJsonArray("merges");
        int agree = 0;
        while (agree < Math.min(hfMerges.size(), ourMerges.size()) && hfMerges.get(agree).equals(ourMerges.get(agree))) {
            agree++;
        }
        assertEquals(hfMerges.size(), agree, "merges agreeing with HF's before the first difference (HF has "
                + hfMerges.size() + ", attn4j " + ourMerges.size() + ")");
        assertEquals(hfMerges.size(), ourMerges.size());
        assertEquals(hf.getAsJsonObject("vocab"), ours.getAsJsonObject("vocab"));

        JsonArray ids = Fixtures.expected("trained").getAsJsonArray("ids");
        List<String> texts = Fixtures.texts();
        Tokenizer reread = Tokenizer.fromPretrained(dir);
        for (int i = 0; i < texts.size(); i++) {
            assertArrayEquals(Fixtures.ints(ids.get(i)), reread.encode(texts.get(i)),
                    TokenizerParityTest.quote(texts.get(i)));
        }
    }

    @Test
    void badSettingsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BpeTrainer.of(0));
        assertEquals("vocabSize 0 must be at least 1", e.getMessage());
    }

    private static JsonObject json(Path file) throws IOException {
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    }
}
