package org.attn4j.examples.translate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.examples.BadOption;
import org.attn4j.examples.Flags;

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
        d.put("steps", "600");
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

    /** @throws BadOption for an unknown flag, a malformed value or flags that contradict each other */
    static Options parse(String[] args) {
        Flags o = Flags.parse(args, DEFAULTS);
        String model = o.text("model"), sentence = o.text("sentence"), evalFile = o.text("eval-file");
        boolean pretrained = o.flag("pretrained") || !model.isEmpty();
        Flags.require(sentence.isBlank() || evalFile.isEmpty(), "eval-file", "either --sentence or --eval-file, not "
                + "both", "both ('" + evalFile + "' and '" + sentence + "')");
        if (!evalFile.isEmpty() && !Files.isReadable(o.path("eval-file"))) {
            throw BadOption.of("eval-file", "a readable file", "'" + evalFile + "' ("
                    + (Files.exists(o.path("eval-file")) ? "not readable" : "no such file") + ")");
        }
        Flags.require(!pretrained || o.text("save").equals(DEFAULTS.get("save")), "save", "no --save with --pretrained "
                + "or --model (nothing is trained)", "'" + o.text("save") + "'");
        int dModel = o.integer("d-model", 1), heads = o.integer("heads", 1);
        Flags.require(dModel % heads == 0, "d-model", "a multiple of --heads " + heads, dModel);
        return new Options(pretrained, model.isEmpty() ? COMMITTED_MODEL : o.path("model"), o.path("out"),
                o.path("save"), sentence, evalFile.isEmpty() ? null : o.path("eval-file"), o.integer("steps", 1),
                o.integer("batch", 1), dModel, heads, o.integer("ff", 1), o.integer("encoder-layers", 1),
                o.integer("decoder-layers", 1), o.real("lr", 0), o.integer("warmup", 1), o.seed("seed"),
                o.integer("validation", 1), o.integer("test", 1), o.integer("pictures", 0));
    }
}
