package org.attn4j.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every kind of tokenizer.json against HF tokenizers' own output (gen_tokenizer_fixtures.py): 2,000 fuzz strings
 * and 20,000 characters of Shakespeare encoded with and without special tokens, decoded back, and random id lists
 * decoded with and without special tokens. Exact equality throughout.
 */
class TokenizerParityTest {
    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama3", "qwen2", "llama2", "metaspace", "trained"})
    void encodesAndDecodesAsHuggingFace(String kind) throws IOException {
        Tokenizer tok = Tokenizer.fromPretrained(Fixtures.DIR.resolve(kind));
        JsonObject expected = Fixtures.expected(kind);
        List<String> texts = Fixtures.texts();
        JsonArray ids = expected.getAsJsonArray("ids");
        JsonArray plain = expected.getAsJsonArray("ids_plain");
        JsonArray decoded = expected.getAsJsonArray("decoded");
        assertEquals(texts.size(), ids.size(), "fixture texts and ids");
        assertEquals(expected.get("vocab_size").getAsInt(), tok.vocabSize(), kind + " vocabSize");
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            int[] want = Fixtures.ints(ids.get(i));
            int[] got = tok.encode(text);
            if (!Arrays.equals(want, got)) {
                wrong.add("encode " + quote(text) + ": HF " + Arrays.toString(want) + ", attn4j " + Arrays.toString(got));
                continue;
            }
            if (i < plain.size() && !Arrays.equals(Fixtures.ints(plain.get(i)), tok.encode(text, false))) {
                wrong.add("encode(addSpecialTokens=false) " + quote(text) + ": HF " + plain.get(i) + ", attn4j "
                        + Arrays.toString(tok.encode(text, false)));
            }
            String wantText = decoded.get(i).isJsonNull() ? text : decoded.get(i).getAsString();
            String gotText = tok.decode(want);
            if (!wantText.equals(gotText)) {
                wrong.add("decode " + Arrays.toString(want) + ": HF " + quote(wantText) + ", attn4j " + quote(gotText));
            }
        }
        JsonArray random = expected.getAsJsonArray("random_ids");
        for (int i = 0; i < random.size(); i++) {
            int[] r = Fixtures.ints(random.get(i));
            check(wrong, "decode", r, expected.getAsJsonArray("random_decoded").get(i), tok.decode(r));
            check(wrong, "decode(skip specials)", r, expected.getAsJsonArray("random_decoded_skip").get(i),
                    tok.decode(r, true));
        }
        assertTrue(wrong.isEmpty(), kind + ": " + wrong.size() + " differences from HF, the first: "
                + wrong.subList(0, Math.min(5, wrong.size())));
    }

    private static void check(List<String> wrong, String what, int[] ids, JsonElement want, String got) {
        if (!want.getAsString().equals(got)) {
            wrong.add(what + " " + Arrays.toString(ids) + ": HF " + quote(want.getAsString()) + ", attn4j " + quote(got));
        }
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(c -> {
            if (c < 0x20 || c > 0x7E) {
                sb.append(String.format("\\u{%x}", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return sb.append('"').toString();
    }
}
