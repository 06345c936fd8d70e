package org.attn4j.text;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer.Form;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Reads and writes HF's {@code tokenizer.json}; every component type it does not know is refused by name. */
final class TokenizerJson {
    static final String NORMALIZERS = "NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence";
    static final String PRE_TOKENIZERS = "ByteLevel, Split, Metaspace, Sequence";
    static final String DECODERS = "ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence";
    static final String POST_PROCESSORS = "TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence";

    private TokenizerJson() {
    }

    private static final TypeAdapter<JsonElement> ELEMENT = new Gson().getAdapter(JsonElement.class);

    /**
     * tokenizer.json as read: everything but the model's vocabulary and merges as a tree; those two, the bulk of
     * the file, streamed straight into a map and a list.
     */
    record Parsed(JsonObject json, Map<String, Integer> vocab, List<String[]> merges) {
    }

    static Parsed parseTokenizer(Path file) {
        return read(file, reader -> {
            JsonObject json = new JsonObject();
            Map<String, Integer> vocab = null;
            List<String[]> merges = null;
            reader.beginObject();
            while (reader.hasNext()) {
                String key = reader.nextName();
                if (!key.equals("model") || reader.peek() != JsonToken.BEGIN_OBJECT) {
                    json.add(key, ELEMENT.read(reader));
                    continue;
                }
                JsonObject settings = new JsonObject();
                reader.beginObject();
                while (reader.hasNext()) {
                    String field = reader.nextName();
                    if (field.equals("vocab") && reader.peek() == JsonToken.BEGIN_OBJECT) {
                        vocab = new HashMap<>(1 << 16);
                        reader.beginObject();
                        while (reader.hasNext()) {
                            vocab.put(reader.nextName(), reader.nextInt());
                        }
                        reader.endObject();
                    } else if (field.equals("merges") && reader.peek() == JsonToken.BEGIN_ARRAY) {
                        merges = readMerges(reader);
                    } else {
                        settings.add(field, ELEMENT.read(reader));
                    }
                }
                reader.endObject();
                json.add("model", settings);
            }
            reader.endObject();
            return new Parsed(json, vocab, merges);
        });
    }

    private static List<String[]> readMerges(JsonReader reader) throws IOException {
        List<String[]> merges = new ArrayList<>(1 << 16);
        reader.beginArray();
        while (reader.hasNext()) {
            if (reader.peek() == JsonToken.BEGIN_ARRAY) {
                reader.beginArray();
                List<String> parts = new ArrayList<>(2);
                while (reader.hasNext()) {
                    parts.add(reader.nextString());
                }
                reader.endArray();
                merges.add(parts.toArray(new String[0]));
            } else {
                String line = reader.nextString();
                int space = line.indexOf(' ');
                merges.add(space < 0 || line.indexOf(' ', space + 1) >= 0 ? new String[] {line}
                        : new String[] {line.substring(0, space), line.substring(space + 1)});
            }
        }
        reader.endArray();
        return merges;
    }

    /** Parses a JSON file into an object (tokenizer_config.json), with the file named in any error. */
    static JsonObject parse(Path file) {
        return read(file, reader -> {
            JsonElement e = ELEMENT.read(reader);
            if (!e.isJsonObject()) {
                throw new TokenizerFormatException(file + ": expected a JSON object at the top level, found " + e);
            }
            return e.getAsJsonObject();
        });
    }

    private interface Body<T> {
        T read(JsonReader reader) throws IOException;
    }

    /** Strict JSON (no unquoted strings, nothing after the end), every failure one line naming the file. */
    private static <T> T read(Path file, Body<T> body) {
        if (!Files.exists(file)) {
            throw new TokenizerFormatException(file + ": file not found");
        }
        try (JsonReader reader = new JsonReader(Files.newBufferedReader(file, StandardCharsets.UTF_8))) {
            reader.setLenient(false);
            if (reader.peek() != JsonToken.BEGIN_OBJECT) {
                throw new TokenizerFormatException(file + ": expected a JSON object at the top level, found "
                        + reader.peek());
            }
            T result = body.read(reader);
            if (reader.peek() != JsonToken.END_DOCUMENT) {
                throw new TokenizerFormatException(file + ": not valid JSON: text after the top-level object");
            }
            return result;
        } catch (EOFException e) {
            throw new TokenizerFormatException(file + ": not valid JSON (truncated or corrupted?): it ends early ("
                    + e.getMessage() + ")");
        } catch (IOException | IllegalStateException | NumberFormatException | JsonParseException e) {
            throw new TokenizerFormatException(file + ": not valid JSON (truncated or corrupted?): "
                    + rootMessage(e));
        }
    }

    private static String rootMessage(Throwable e) {
        while (e.getCause() != null) {
            e = e.getCause();
        }
        return e.getMessage();
    }

    static Normalizer normalizer(JsonElement json, String where) {
        if (json == null || json.isJsonNull()) {
            return null;
        }
        JsonObject o = json.getAsJsonObject();
        String type = type(o, where);
        return switch (type) {
            case "NFC" -> new Normalizer.Unicode(Form.NFC);
            case "NFD" -> new Normalizer.Unicode(Form.NFD);
            case "NFKC" -> new Normalizer.Unicode(Form.NFKC);
            case "NFKD" -> new Normalizer.Unicode(Form.NFKD);
            case "Lowercase" -> new Normalizer.Lowercase();
            case "Prepend" -> new Normalizer.Prepend(string(o, "prepend", where));
            case "Replace" -> new Normalizer.Replace(pattern(o, where), string(o, "content", where));
            case "Strip" -> new Normalizer.Strip(bool(o, "strip_left", false), bool(o, "strip_right", false));
            case "Sequence" -> {
                List<Normalizer> steps = new ArrayList<>();
                JsonArray list = array(o, "normalizers", where);
                for (int i = 0; i < list.size(); i++) {
                    steps.add(normalizer(list.get(i), where + ".normalizers[" + i + "]"));
                }
                yield new Normalizer.Sequence(steps);
            }
            default -> throw unsupported(where, type, NORMALIZERS);
        };
    }

    static PreTokenizer preTokenizer(JsonElement json, String where) {
        if (json == null || json.isJsonNull()) {
            return null;
        }
        JsonObject o = json.getAsJsonObject();
        String type = type(o, where);
        return switch (type) {
            case "ByteLevel" -> new PreTokenizer.ByteLevelSplit(bool(o, "add_prefix_space", true),
                    bool(o, "use_regex", true), true);
            case "Split" -> {
                PreTokenizer.Behavior behavior = behavior(string(o, "behavior", where), where);
                boolean invert = bool(o, "invert", false);
                if (invert && behavior != PreTokenizer.Behavior.ISOLATED && behavior != PreTokenizer.Behavior.REMOVED) {
                    throw new TokenizerFormatException("tokenizer.json: " + where + ": Split with invert=true and "
                            + "behavior " + behavior + " is not supported; supported with invert: Isolated, Removed");
                }
                yield new PreTokenizer.Split(pattern(o, where), behavior, invert);
            }
            case "Metaspace" -> new PreTokenizer.Metaspace(string(o, "replacement", where), prependScheme(o),
                    bool(o, "split", true));
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                JsonArray list = array(o, "pretokenizers", where);
                for (int i = 0; i < list.size(); i++) {
                    steps.add(preTokenizer(list.get(i), where + ".pretokenizers[" + i + "]"));
                }
                yield new PreTokenizer.Sequence(steps);
            }
            default -> throw unsupported(where, type, PRE_TOKENIZERS);
        };
    }

    static Decoder decoder(JsonElement json, String where) {
        if (json == null || json.isJsonNull()) {
            return null;
        }
        JsonObject o = json.getAsJsonObject();
        String type = type(o, where);
        return switch (type) {
            case "ByteLevel" -> new Decoder.ByteLevelJoin();
            case "Replace" -> new Decoder.Replace(pattern(o, where), string(o, "content", where));
            case "ByteFallback" -> new Decoder.ByteFallback();
            case "Fuse" -> new Decoder.Fuse();
            case "Strip" -> new Decoder.Strip(string(o, "content", where).codePointAt(0),
                    o.get("start").getAsInt(), o.get("stop").getAsInt());
            case "Metaspace" -> new Decoder.Metaspace(string(o, "replacement", where).codePointAt(0),
                    !prependScheme(o).equals("never"));
            case "Sequence" -> {
                List<Decoder> steps = new ArrayList<>();
                JsonArray list = array(o, "decoders", where);
                for (int i = 0; i < list.size(); i++) {
                    steps.add(decoder(list.get(i), where + ".decoders[" + i + "]"));
                }
                yield new Decoder.Sequence(steps);
            }
            default -> throw unsupported(where, type, DECODERS);
        };
    }

    static PostProcessor postProcessor(JsonElement json, String where) {
        if (json == null || json.isJsonNull()) {
            return null;
        }
        JsonObject o = json.getAsJsonObject();
        String type = type(o, where);
        return switch (type) {
            case "TemplateProcessing" -> template(o, where);
            case "RobertaProcessing", "BertProcessing" -> new PostProcessor.Template(
                    new int[] {o.getAsJsonArray("cls").get(1).getAsInt()},
                    new int[] {o.getAsJsonArray("sep").get(1).getAsInt()});
            case "ByteLevel" -> new PostProcessor.Template(new int[0], new int[0]);
            case "Sequence" -> {
                List<PostProcessor> steps = new ArrayList<>();
                JsonArray list = array(o, "processors", where);
                for (int i = 0; i < list.size(); i++) {
                    steps.add(postProcessor(list.get(i), where + ".processors[" + i + "]"));
                }
                yield new PostProcessor.Sequence(steps);
            }
            default -> throw unsupported(where, type, POST_PROCESSORS);
        };
    }

    /** The single-sequence template: the special tokens' ids before and after {@code $A}. */
    private static PostProcessor template(JsonObject o, String where) {
        JsonObject specials = o.getAsJsonObject("special_tokens");
        List<Integer> before = new ArrayList<>();
        List<Integer> after = new ArrayList<>();
        boolean seenSequence = false;
        JsonArray single = array(o, "single", where);
        for (int i = 0; i < single.size(); i++) {
            JsonObject piece = single.get(i).getAsJsonObject();
            if (piece.has("Sequence")) {
                seenSequence = true;
                continue;
            }
            String name = piece.getAsJsonObject("SpecialToken").get("id").getAsString();
            JsonObject special = specials == null ? null : specials.getAsJsonObject(name);
            if (special == null) {
                throw new TokenizerFormatException("tokenizer.json: " + where + ".single[" + i
                        + "]: special token '" + name + "' is missing from " + where + ".special_tokens");
            }
            for (JsonElement id : special.getAsJsonArray("ids")) {
                (seenSequence ? after : before).add(id.getAsInt());
            }
        }
        return new PostProcessor.Template(before.stream().mapToInt(Integer::intValue).toArray(),
                after.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The model: BPE only, its vocabulary and merges in either of HF's two spellings. */
    static BpeModel model(Parsed parsed) {
        JsonObject m = parsed.json().getAsJsonObject("model");
        if (m == null) {
            throw new TokenizerFormatException("tokenizer.json: no 'model' object at the top level");
        }
        String type = m.has("type") ? m.get("type").getAsString() : (parsed.merges() != null ? "BPE" : "(none)");
        if (!type.equals("BPE")) {
            throw unsupported("model", type, "BPE");
        }
        if (m.has("dropout") && !m.get("dropout").isJsonNull() && m.get("dropout").getAsDouble() != 0) {
            throw new TokenizerFormatException("tokenizer.json: model.dropout " + m.get("dropout")
                    + " is not supported (encoding would be random); expected null");
        }
        for (String key : new String[] {"continuing_subword_prefix", "end_of_word_suffix"}) {
            if (m.has(key) && !m.get(key).isJsonNull() && !m.get(key).getAsString().isEmpty()) {
                throw new TokenizerFormatException("tokenizer.json: model." + key + " '" + m.get(key).getAsString()
                        + "' is not supported; expected null or \"\" (byte-level and SentencePiece BPE)");
            }
        }
        if (parsed.vocab() == null || parsed.merges() == null) {
            throw new TokenizerFormatException("tokenizer.json: model needs 'vocab' (an object) and 'merges' "
                    + "(an array); found keys " + m.keySet());
        }
        Map<String, Integer> vocab = parsed.vocab();
        List<String[]> merges = parsed.merges();
        int[] left = new int[merges.size()];
        int[] right = new int[merges.size()];
        for (int r = 0; r < left.length; r++) {
            String[] merge = merges.get(r);
            if (merge.length != 2) {
                throw new TokenizerFormatException("tokenizer.json: model.merges[" + r + "] is "
                        + String.join(" ", merge) + "; expected \"a b\" or [\"a\", \"b\"]");
            }
            left[r] = vocabId(vocab, merge[0], r);
            right[r] = vocabId(vocab, merge[1], r);
        }
        String unk = m.has("unk_token") && !m.get("unk_token").isJsonNull() ? m.get("unk_token").getAsString() : null;
        return new BpeModel(vocab, left, right, unk, bool(m, "byte_fallback", false), bool(m, "fuse_unk", false),
                bool(m, "ignore_merges", false));
    }

    private static int vocabId(Map<String, Integer> vocab, String token, int rank) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new TokenizerFormatException("tokenizer.json: model.merges[" + rank + "] names '" + token
                    + "', which is not in model.vocab");
        }
        return id;
    }

    static List<AddedTokens.Token> addedTokens(JsonObject root) {
        List<AddedTokens.Token> out = new ArrayList<>();
        JsonArray list = root.has("added_tokens") && root.get("added_tokens").isJsonArray()
                ? root.getAsJsonArray("added_tokens") : new JsonArray();
        for (JsonElement e : list) {
            JsonObject t = e.getAsJsonObject();
            out.add(new AddedTokens.Token(t.get("id").getAsInt(), t.get("content").getAsString(),
                    bool(t, "single_word", false), bool(t, "lstrip", false), bool(t, "rstrip", false),
                    bool(t, "normalized", true), bool(t, "special", false)));
        }
        return out;
    }

    /** The model object as HF writes it: the original's settings, vocabulary in id order, merges as pairs. */
    static JsonObject modelJson(JsonObject settings, BpeModel model) {
        JsonObject m = new JsonObject();
        settings.entrySet().forEach(e -> m.add(e.getKey(), e.getValue()));
        JsonObject vocab = new JsonObject();
        model.vocabInIdOrder().forEach(vocab::addProperty);
        JsonArray merges = new JsonArray(model.mergeLeft.length);
        for (int r = 0; r < model.mergeLeft.length; r++) {
            JsonArray pair = new JsonArray(2);
            pair.add(model.idToToken[model.mergeLeft[r]]);
            pair.add(model.idToToken[model.mergeRight[r]]);
            merges.add(pair);
        }
        m.add("vocab", vocab);
        m.add("merges", merges);
        return m;
    }

    static void write(JsonObject json, Path file) throws IOException {
        Gson gson = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().serializeNulls().create();
        Files.writeString(file, gson.toJson(json) + "\n", StandardCharsets.UTF_8);
    }

    static JsonElement nullable(String s) {
        return s == null ? JsonNull.INSTANCE : new com.google.gson.JsonPrimitive(s);
    }

    private static String type(JsonObject o, String where) {
        JsonElement t = o.get("type");
        if (t == null || !t.isJsonPrimitive()) {
            throw new TokenizerFormatException("tokenizer.json: " + where + " has no 'type'; found keys " + o.keySet());
        }
        return t.getAsString();
    }

    private static TokenizerFormatException unsupported(String where, String type, String supported) {
        return new TokenizerFormatException("tokenizer.json: " + where + " type '" + type
                + "' is not supported; supported: " + supported);
    }

    private static Pattern pattern(JsonObject o, String where) {
        JsonObject p = o.getAsJsonObject("pattern");
        if (p != null && p.has("String")) {
            return Pattern.compile(Pattern.quote(p.get("String").getAsString()));
        }
        if (p != null && p.has("Regex")) {
            return Regexes.compile(p.get("Regex").getAsString(), "tokenizer.json: " + where + ".pattern.Regex");
        }
        throw new TokenizerFormatException("tokenizer.json: " + where + ".pattern: expected {\"String\": ...} or "
                + "{\"Regex\": ...}, found " + p);
    }

    private static PreTokenizer.Behavior behavior(String name, String where) {
        return switch (name) {
            case "Isolated" -> PreTokenizer.Behavior.ISOLATED;
            case "Removed" -> PreTokenizer.Behavior.REMOVED;
            case "MergedWithPrevious" -> PreTokenizer.Behavior.MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> PreTokenizer.Behavior.MERGED_WITH_NEXT;
            default -> throw new TokenizerFormatException("tokenizer.json: " + where + ".behavior '" + name
                    + "' is not supported; supported: Isolated, Removed, MergedWithPrevious, MergedWithNext");
        };
    }

    /** {@code prepend_scheme}, or the older {@code add_prefix_space} it replaced. */
    private static String prependScheme(JsonObject o) {
        if (o.has("prepend_scheme") && !o.get("prepend_scheme").isJsonNull()) {
            return o.get("prepend_scheme").getAsString();
        }
        return bool(o, "add_prefix_space", true) ? "always" : "never";
    }

    private static String string(JsonObject o, String key, String where) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonPrimitive()) {
            throw new TokenizerFormatException("tokenizer.json: " + where + "." + key + ": expected a string, found "
                    + e);
        }
        return e.getAsString();
    }

    private static JsonArray array(JsonObject o, String key, String where) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonArray()) {
            throw new TokenizerFormatException("tokenizer.json: " + where + "." + key + ": expected an array, found "
                    + e);
        }
        return e.getAsJsonArray();
    }

    static boolean bool(JsonObject o, String key, boolean absent) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? absent : e.getAsBoolean();
    }
}
