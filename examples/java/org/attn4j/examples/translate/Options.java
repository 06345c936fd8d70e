package org.attn4j.examples.translate;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.examples.Args;

/**
 * The translation demo's command line: {@code --flag value}, {@code --flag=value} or {@code flag=value};
 * {@code --pretrained} alone.
 */
record Options(boolean pretrained, Path model, Path out, Path save, String sentence, Path evalFile, int steps,
        int batch, int dModel, int heads, int ffDim, int encoderLayers, int decoderLayers, double lr, int warmup,
        long seed, int validation, int test, int pictures) {

    static final Map<String, String> DEFAULTS = defaults();
    /** The committed model, used with {@code --pretrained} when no {@code --model} is given. */
    static final Path COMMITTED_MODEL = Path.of("models/translate");

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("pretrained", "false");
        d.put("model", ""); // another checkpoint directory: implies --pretrained
        d.put("out", "target/translate");
        d.put("save", "target/translate/model");
        d.put("sentence", "");
        d.put("eval-file", "");
        d.put("steps", "400");
        d.put("batch", "128");
        d.put("d-model", "64");
        d.put("heads", "4");
        d.put("ff", "256");
        d.put("encoder-layers", "1");
        d.put("decoder-layers", "2");
        d.put("lr", "5e-3");
        d.put("warmup", "100");
        d.put("seed", "1");
        d.put("validation", "300");
        d.put("test", "1000");
        d.put("pictures", "3");
        return d;
    }

    /** @throws IllegalArgumentException for an unknown flag or a malformed value, listing the flags */
    static Options parse(String[] args) {
        Map<String, String> o = Args.parse(args, DEFAULTS);
        String model = o.get("model");
        try {
            return new Options(Boolean.parseBoolean(o.get("pretrained")) || !model.isEmpty(),
                    model.isEmpty() ? COMMITTED_MODEL : Path.of(model), Path.of(o.get("out")),
                    Path.of(o.get("save")), o.get("sentence"), o.get("eval-file").isEmpty() ? null
                            : Path.of(o.get("eval-file")), positive(o, "steps"), positive(o, "batch"),
                    positive(o, "d-model"), positive(o, "heads"), positive(o, "ff"), positive(o, "encoder-layers"),
                    positive(o, "decoder-layers"), Double.parseDouble(o.get("lr")), Integer.parseInt(o.get("warmup")),
                    Long.parseLong(o.get("seed")), positive(o, "validation"), positive(o, "test"),
                    Integer.parseInt(o.get("pictures")));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("A numeric flag has a malformed value (" + e.getMessage() + "); given "
                    + o);
        }
    }

    private static int positive(Map<String, String> o, String key) {
        int v = Integer.parseInt(o.get(key));
        if (v < 1) {
            throw new IllegalArgumentException("--" + key + " must be at least 1, given " + v);
        }
        return v;
    }
}
