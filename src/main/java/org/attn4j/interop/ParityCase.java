package org.attn4j.interop;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.attn4j.io.Npz;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One PyTorch layer exported for a parity check: {@code NAME.json} (the configuration) and
 * {@code NAME.npz} beside it ({@code param/}, {@code in/}, {@code out/} and {@code grad/} entries).
 * The format is described in the README and written by {@code src/test/python/gen_parity_fixtures.py}.
 */
public record ParityCase(String name, JsonObject config, Map<String, INDArray> arrays) {

    /** A case that cannot be read: the message names the file and the missing or malformed entry. */
    public static final class FormatException extends RuntimeException {
        public FormatException(String message) {
            super(message);
        }
    }

    /** Reads {@code NAME.json} and the {@code NAME.npz} beside it. */
    public static ParityCase load(Path json) {
        String file = json.getFileName().toString();
        if (!file.endsWith(".json")) {
            throw new FormatException(json + ": expected a NAME.json file");
        }
        String name = file.substring(0, file.length() - ".json".length());
        JsonObject config;
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(json));
            if (!parsed.isJsonObject()) {
                throw new FormatException(json + ": expected a JSON object");
            }
            config = parsed.getAsJsonObject();
        } catch (IOException e) {
            throw new FormatException(json + ": cannot read (" + e.getMessage() + ")");
        } catch (JsonParseException e) {
            throw new FormatException(json + ": not valid JSON (" + e.getMessage() + ")");
        }
        Path npz = json.resolveSibling(name + ".npz");
        if (!Files.isRegularFile(npz)) {
            throw new FormatException(json + ": the arrays file " + npz + " is missing");
        }
        Map<String, INDArray> arrays;
        try {
            arrays = new TreeMap<>(Npz.read(npz));
        } catch (IllegalArgumentException e) {
            throw new FormatException(e.getMessage());
        }
        return new ParityCase(name, config, arrays);
    }

    /** The {@code kind}: mha, encoder_layer or decoder_layer. */
    public String kind() {
        String kind = string("kind");
        if (!kind.equals("mha") && !kind.equals("encoder_layer") && !kind.equals("decoder_layer")) {
            throw new FormatException(name + ".json: kind '" + kind + "' is not one of mha, encoder_layer, decoder_layer");
        }
        return kind;
    }

    public int integer(String key) {
        JsonElement e = require(key);
        try {
            double d = e.getAsDouble();
            if (d != Math.rint(d) || d <= 0) {
                throw new NumberFormatException();
            }
            return (int) d;
        } catch (RuntimeException ex) {
            throw new FormatException(name + ".json: '" + key + "' must be a positive integer, got " + e);
        }
    }

    public int integer(String key, int fallback) {
        return config.has(key) && !config.get(key).isJsonNull() ? integer(key) : fallback;
    }

    public double number(String key, double fallback) {
        if (!config.has(key)) {
            return fallback;
        }
        try {
            return config.get(key).getAsDouble();
        } catch (RuntimeException e) {
            throw new FormatException(name + ".json: '" + key + "' must be a number, got " + config.get(key));
        }
    }

    public boolean flag(String key, boolean fallback) {
        if (!config.has(key)) {
            return fallback;
        }
        JsonElement e = config.get(key);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw new FormatException(name + ".json: '" + key + "' must be true or false, got " + e);
        }
        return e.getAsBoolean();
    }

    public String string(String key, String fallback) {
        return config.has(key) ? string(key) : fallback;
    }

    public String string(String key) {
        JsonElement e = require(key);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new FormatException(name + ".json: '" + key + "' must be a string, got " + e);
        }
        return e.getAsString();
    }

    private JsonElement require(String key) {
        if (!config.has(key) || config.get(key).isJsonNull()) {
            throw new FormatException(name + ".json: required entry '" + key + "' is missing");
        }
        return config.get(key);
    }

    /** The array {@code key}, which must exist and have the given rank (or any rank when rank &lt; 0). */
    public INDArray array(String key, int rank) {
        INDArray a = arrays.get(key);
        if (a == null) {
            throw new FormatException(name + ".npz: required entry '" + key + "' is missing (has "
                    + arrays.keySet() + ")");
        }
        if (rank >= 0 && a.rank() != rank) {
            throw new FormatException(name + ".npz: '" + key + "' must be rank " + rank + ", got shape "
                    + Arrays.toString(a.shape()));
        }
        return a;
    }

    public boolean has(String key) {
        return arrays.containsKey(key);
    }

    /** All arrays under {@code prefix/}, keyed by the rest of their name. */
    public Map<String, INDArray> group(String prefix) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        arrays.forEach((k, v) -> {
            if (k.startsWith(prefix + "/")) {
                out.put(k.substring(prefix.length() + 1), v);
            }
        });
        return out;
    }

    /** The case's floating-point type, taken from {@code out/output}. */
    public DataType dataType() {
        DataType t = array("out/output", -1).dataType();
        if (t != DataType.FLOAT && t != DataType.DOUBLE) {
            throw new FormatException(name + ".npz: 'out/output' must be float32 or float64, got " + t);
        }
        return t;
    }
}
