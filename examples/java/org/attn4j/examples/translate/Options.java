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
record Options(boolean pretrained, Path model, Path out, Path save, String sentence, Path evalFile, Path trainFile,
        Path validFile, Path writeCorpus, int corpusPairs, int steps,
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
        d.put("train-file", ""); // a user's parallel text to train on instead of the toy grammar
        d.put("valid-file", ""); // pairs for choosing the alignment (default: held out of --train-file)
        d.put("write-corpus", ""); // a folder: write MarketFrench's train.txt and test.txt there, and stop
        d.put("corpus-pairs", "40000");
        d.put("steps", "1000");
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
        Path eval = readable(o, "eval-file"), train = readable(o, "train-file"), valid = readable(o, "valid-file");
        Flags.require(train == null || !pretrained, "train-file", "no --pretrained or --model with --train-file (it "
                + "trains a new model)", "'" + o.text("train-file") + "' and " + (model.isEmpty() ? "--pretrained"
                : "--model '" + model + "'"));
        String corpus = o.text("write-corpus");
        Flags.require(corpus.isEmpty() || (!pretrained && train == null && eval == null && valid == null
                && sentence.isBlank()), "write-corpus", "--write-corpus without --pretrained, --model, --train-file, "
                + "--valid-file, --eval-file or --sentence (it only writes the corpus)", "'" + corpus + "' with them");
        Flags.require(!pretrained || o.text("save").equals(DEFAULTS.get("save")), "save", "no --save with --pretrained "
                + "or --model (nothing is trained)", "'" + o.text("save") + "'");
        int dModel = o.integer("d-model", 1), heads = o.integer("heads", 1);
        Flags.require(dModel % heads == 0, "d-model", "a multiple of --heads " + heads, dModel);
        return new Options(pretrained, model.isEmpty() ? COMMITTED_MODEL : o.path("model"), o.path("out"),
                o.path("save"), sentence, eval, train, valid, corpus.isEmpty() ? null : o.path("write-corpus"),
                o.integer("corpus-pairs", 1), o.integer("steps", 1),
                o.integer("batch", 1), dModel, heads, o.integer("ff", 1), o.integer("encoder-layers", 1),
                o.integer("decoder-layers", 1), o.real("lr", 0), o.integer("warmup", 1), o.seed("seed"),
                o.integer("validation", 1), o.integer("test", 1), o.integer("pictures", 0));
    }

    /** The file an option names, checked to be readable; null when the option is not given. */
    private static Path readable(Flags o, String option) {
        if (o.text(option).isEmpty()) {
            return null;
        }
        Path file = o.path(option);
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw BadOption.of(option, "a readable file", "'" + o.text(option) + "' (" + (!Files.exists(file)
                    ? "no such file" : Files.isDirectory(file) ? "a folder" : "not readable") + ")");
        }
        return file;
    }
}
