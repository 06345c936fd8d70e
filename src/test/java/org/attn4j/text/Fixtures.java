package org.attn4j.text;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The fixtures of src/test/python/gen_tokenizer_fixtures.py: HF tokenizers' own ids and texts. */
final class Fixtures {
    static final Path DIR = Path.of("src/test/resources/tokenizers");

    private Fixtures() {
    }

    static List<String> texts() throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonElement e : JsonParser.parseString(Files.readString(DIR.resolve("texts.json"))).getAsJsonArray()) {
            out.add(e.getAsString());
        }
        return out;
    }

    static JsonObject expected(String kind) throws IOException {
        return JsonParser.parseString(Files.readString(DIR.resolve(kind).resolve("expected.json"))).getAsJsonObject();
    }

    static int[] ints(JsonElement e) {
        JsonArray a = e.getAsJsonArray();
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }
}
