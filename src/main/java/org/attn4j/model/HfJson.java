package org.attn4j.model;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One JSON file of a Hugging Face directory ({@code config.json}, {@code generation_config.json}, the index),
 * read key by key: every error names the file, the key and the value found.
 */
final class HfJson {
    private final String file;
    private final JsonObject json;

    HfJson(String file, JsonObject json) {
        this.file = file;
        this.json = json;
    }

    /** Reads {@code dir/name}; the file must hold one JSON object. */
    static HfJson read(Path dir, String name) {
        try {
            JsonElement e = JsonParser.parseString(Files.readString(dir.resolve(name), StandardCharsets.UTF_8));
            if (!e.isJsonObject()) {
                throw new IllegalArgumentException(name + ": expected a JSON object, found " + brief(e));
            }
            return new HfJson(name, e.getAsJsonObject());
        } catch (IOException e) {
            throw new IllegalArgumentException(dir.resolve(name) + ": cannot read (" + e + ")");
        } catch (com.google.gson.JsonParseException e) {
            throw new IllegalArgumentException(name + ": not valid JSON (" + e.getMessage() + ")");
        }
    }

    JsonObject json() {
        return json;
    }

    String file() {
        return file;
    }

    boolean has(String key) {
        return json.has(key) && !json.get(key).isJsonNull();
    }

    /** A whole number that must be there and positive. */
    int size(String key) {
        if (!has(key)) {
            throw error("key '" + key + "' is missing");
        }
        int v = integer(key, 0);
        if (v <= 0) {
            throw error("key '" + key + "' must be positive, got " + v);
        }
        return v;
    }

    int integer(String key, int absent) {
        if (!has(key)) {
            return absent;
        }
        JsonElement e = json.get(key);
        try {
            double d = e.getAsDouble();
            if (d == Math.rint(d) && Math.abs(d) <= Integer.MAX_VALUE) {
                return (int) d;
            }
        } catch (RuntimeException ignored) {
            // reported below with the value
        }
        throw error("key '" + key + "' must be a whole number, got " + brief(e));
    }

    double number(String key, double absent) {
        if (!has(key)) {
            return absent;
        }
        JsonElement e = json.get(key);
        try {
            double d = e.getAsDouble();
            if (Double.isFinite(d) && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
                return d;
            }
        } catch (RuntimeException ignored) {
            // reported below with the value
        }
        throw error("key '" + key + "' must be a number, got " + brief(e));
    }

    boolean bool(String key, boolean absent) {
        if (!has(key)) {
            return absent;
        }
        JsonElement e = json.get(key);
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean()) {
            return e.getAsBoolean();
        }
        throw error("key '" + key + "' must be true or false, got " + brief(e));
    }

    String string(String key, String absent) {
        if (!has(key)) {
            return absent;
        }
        JsonElement e = json.get(key);
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) {
            return e.getAsString();
        }
        throw error("key '" + key + "' must be a string, got " + brief(e));
    }

    /** A nested object (null when absent or null), read with the same messages under {@code key.}. */
    HfJson object(String key) {
        if (!has(key)) {
            return null;
        }
        JsonElement e = json.get(key);
        if (!e.isJsonObject()) {
            throw error("key '" + key + "' must be an object, got " + brief(e));
        }
        return new HfJson(file + " " + key, e.getAsJsonObject());
    }

    /** Token ids written as one number or a list ({@code eos_token_id}); empty when absent. */
    int[] ids(String key) {
        if (!has(key)) {
            return new int[0];
        }
        JsonElement e = json.get(key);
        try {
            if (e.isJsonArray()) {
                int[] ids = new int[e.getAsJsonArray().size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = e.getAsJsonArray().get(i).getAsInt();
                }
                return ids;
            }
            return new int[] {e.getAsInt()};
        } catch (RuntimeException ex) {
            throw error("key '" + key + "' must be a token id or a list of them, got " + brief(e));
        }
    }

    IllegalArgumentException error(String what) {
        return new IllegalArgumentException(file + ": " + what);
    }

    private static String brief(JsonElement e) {
        String s = String.valueOf(e);
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
