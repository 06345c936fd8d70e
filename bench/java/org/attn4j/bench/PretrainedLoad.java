package org.attn4j.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.attn4j.examples.Args;
import org.attn4j.examples.BadOption;
import org.attn4j.examples.Cli;
import org.attn4j.model.LanguageModel;

/**
 * How long {@link LanguageModel#fromPretrained} takes on a Hugging Face directory and how much memory the process
 * then holds at its peak (VmHWM), against the size of the weights' files: a load that reads each tensor once into
 * its place peaks near the model's size plus the JVM's own. The directory is a GPT-2-small-shaped random model
 * (124 M parameters, 498 MB of float32) written by {@code src/test/python/gen_hf_fixtures.py --gpt2-small DIR},
 * which also times transformers' {@code from_pretrained} on the same files.
 *
 * <p>Run: {@code mvn -q test-compile exec:java@pretrained-load -Dexec.args="--model DIR"}. Last line:
 * {@code RESULT load_seconds=... peak_rss_mb=... files_mb=... parameters=...}.
 */
public final class PretrainedLoad {
    private PretrainedLoad() {
    }

    public static void main(String[] args) throws Exception {
        Cli.main("pretrained-load", args, PretrainedLoad::run);
    }

    static void run(String[] args) throws Exception {
        Map<String, String> o = Args.parse(args, Map.of("model", ""));
        Path dir = Path.of(o.get("model"));
        if (!Files.isDirectory(dir)) {
            throw new BadOption("--model DIR: a Hugging Face directory is needed, given '" + o.get("model") + "'");
        }
        long files;
        try (var list = Files.list(dir)) {
            files = list.filter(f -> f.toString().endsWith(".safetensors")).mapToLong(f -> f.toFile().length()).sum();
        }
        long start = System.nanoTime();
        LanguageModel lm = LanguageModel.fromPretrained(dir);
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "RESULT load_seconds=%.2f peak_rss_mb=%.0f files_mb=%.0f parameters=%d%n",
                seconds, TrainMemory.peakResidentMb(), files / 1e6, lm.parameterCount());
    }
}
