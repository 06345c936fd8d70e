package org.attn4j.io;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.reflect.TypeToken;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.attn4j.data.Vocabulary;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.model.TransformerModel;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * What a checkpoint's {@code model.json} says, checked for agreement with itself: a valid
 * configuration, a kind that matches it, a floating-point data type, and vocabularies with one token
 * per embedding row. (Agreement with the weights is {@link WeightsCheck}'s.)
 *
 * @param sourceVocabulary null when not saved
 * @param targetVocabulary null when not saved
 * @param files            file name to sha256
 */
record ModelJson(ModelConfig config, boolean seq2seq, DataType dataType, int step, Vocabulary sourceVocabulary,
        Vocabulary targetVocabulary, Map<String, String> files) {
    /** The {@code format} every checkpoint's {@code model.json} names. */
    static final String FORMAT = "attn4j-checkpoint";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
            .create();

    /** The {@code model.json} of a checkpoint of {@code model} whose other files have these sha256 sums. */
    static byte[] write(TransformerModel model, Vocabulary source, Vocabulary target, int step,
            Map<String, String> checksums) {
        JsonObject json = new JsonObject();
        json.addProperty("format", FORMAT);
        json.addProperty("version", 1);
        json.addProperty("kind", model instanceof Seq2SeqTransformer ? "seq2seq" : "language_model");
        json.addProperty("dataType", model.dataType().name());
        json.add("config", GSON.toJsonTree(model.config()));
        json.addProperty("step", step);
        if (source != null) {
            json.add("sourceVocabulary", GSON.toJsonTree(source.tokens()));
        }
        if (target != null) {
            json.add("targetVocabulary", GSON.toJsonTree(target.tokens()));
        }
        json.add("files", GSON.toJsonTree(checksums));
        return GSON.toJson(json).getBytes(StandardCharsets.UTF_8);
    }

    /** Parses {@code bytes}, read from {@code file}; a CheckpointException names the file and the problem. */
    static ModelJson parse(byte[] bytes, Path file) {
        JsonObject json;
        ModelConfig config;
        DataType type;
        boolean seq2seq;
        int step;
        Map<String, String> files;
        try {
            json = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8)).getAsJsonObject();
            if (!FORMAT.equals(required(json, "format", file).getAsString())) {
                throw new CheckpointException(file + ": not an attn4j checkpoint (format " + json.get("format") + ")");
            }
            config = config(json, file);
            type = DataType.valueOf(required(json, "dataType", file).getAsString());
            String kind = required(json, "kind", file).getAsString();
            seq2seq = kind.equals("seq2seq");
            step = required(json, "step", file).getAsInt();
            files = GSON.fromJson(json.get("files"), new TypeToken<Map<String, String>>() { }.getType());
            if (config == null || (!seq2seq && !kind.equals("language_model"))) {
                throw new CheckpointException(file + ": expected a config and kind \"seq2seq\" or \"language_model\", "
                        + "found " + (config == null ? "no config" : "kind \"" + kind + "\""));
            }
        } catch (CheckpointException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CheckpointException(file + ": malformed (" + e.getMessage() + ")", e);
        }
        if (seq2seq != config.isSeq2Seq()) {
            throw new CheckpointException(file + ": kind " + (seq2seq ? "seq2seq needs" : "language_model has no")
                    + " encoder, but the config has encoderLayers " + config.encoderLayers());
        }
        if (!type.isFPType()) {
            throw new CheckpointException(file + ": dataType " + type + " is not a floating-point type");
        }
        return new ModelJson(config, seq2seq, type, step, vocabulary(json, "sourceVocabulary", file, config.sourceVocab()),
                vocabulary(json, "targetVocabulary", file, config.targetVocab()), files);
    }

    /**
     * The configuration, with ModelConfig's own reason when it refuses the values (Gson wraps it). A model.json
     * written before the norm, kvHeads, bias and window fields existed describes LayerNorm, multi-head attention,
     * biases and no window: ModelConfig reads a missing norm and kvHeads so, and a missing bias is true here.
     */
    private static ModelConfig config(JsonObject json, Path file) {
        try {
            JsonElement config = json.get("config");
            if (config != null && config.isJsonObject() && !config.getAsJsonObject().has("bias")) {
                config = config.deepCopy();
                config.getAsJsonObject().addProperty("bias", true);
            }
            return GSON.fromJson(config, ModelConfig.class);
        } catch (RuntimeException e) {
            Throwable reason = e;
            while (reason.getCause() != null) {
                reason = reason.getCause();
            }
            throw new CheckpointException(file + ": invalid config (" + reason.getMessage() + ")", e);
        }
    }

    private static JsonElement required(JsonObject json, String key, Path file) {
        if (json.get(key) == null || json.get(key).isJsonNull()) {
            throw new CheckpointException(file + ": has no \"" + key + "\"");
        }
        return json.get(key);
    }

    /** The vocabulary under {@code key}, or null; it must have {@code size} tokens, one per embedding row. */
    private static Vocabulary vocabulary(JsonObject json, String key, Path file, int size) {
        if (!json.has(key)) {
            return null;
        }
        Vocabulary v;
        try {
            List<String> tokens = GSON.fromJson(json.get(key), new TypeToken<List<String>>() { }.getType());
            v = Vocabulary.fromTokens(tokens);
        } catch (RuntimeException e) {
            throw new CheckpointException(file + ": malformed " + key + " (" + e.getMessage() + ")", e);
        }
        if (v.size() != size) {
            throw new CheckpointException(file + ": " + key + " has " + v.size() + " tokens, the config's vocabulary "
                    + size);
        }
        return v;
    }
}
