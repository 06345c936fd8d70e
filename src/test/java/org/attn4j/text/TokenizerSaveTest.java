package org.attn4j.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * savePretrained writes a tokenizer.json that encodes as HF did on the fixtures. The files stay in
 * target/tokenizer-roundtrip/ so that src/test/python/check_saved_tokenizers.py can show HF loads them and
 * encodes identically.
 */
class TokenizerSaveTest {
    static final Path OUT = Path.of("target/tokenizer-roundtrip");

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama3", "qwen2", "llama2", "metaspace"})
    void savedFileReadsBackAndEncodesAsHuggingFace(String kind) throws IOException {
        Tokenizer original = Tokenizer.fromPretrained(Fixtures.DIR.resolve(kind));
        Path dir = OUT.resolve(kind);
        original.savePretrained(dir);
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer_config.json")));
        Tokenizer reread = Tokenizer.fromPretrained(dir);
        JsonObject expected = Fixtures.expected(kind);
        JsonArray ids = expected.getAsJsonArray("ids");
        List<String> texts = Fixtures.texts();
        for (int i = 0; i < texts.size(); i++) {
            assertArrayEquals(Fixtures.ints(ids.get(i)), reread.encode(texts.get(i)),
                    kind + " " + TokenizerParityTest.quote(texts.get(i)));
        }
        assertEquals(original.vocabSize(), reread.vocabSize());
        assertEquals(original.bosId(), reread.bosId());
        assertEquals(original.eosId(), reread.eosId());
    }
}
