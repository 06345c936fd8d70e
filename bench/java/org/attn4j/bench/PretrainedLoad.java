package org.attn4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.attn4j.config.WeightFormat;
import org.attn4j.examples.Args;
import org.attn4j.examples.BadOption;
import org.attn4j.examples.Cli;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.nd4j.linalg.factory.Nd4j;

/**
 * How much memory building and loading a real-size model take, and how long loading takes. First the process's
 * resident memory with ND4J started and nothing built ({@code base_rss_mb}); then the peak while a randomly
 * initialized {@link LanguageModel} of the directory's shape is built ({@code build_peak_mb}); then, after that
 * model is freed and the peak reset, the peak while {@link LanguageModel#fromPretrained} reads the directory
 * ({@code load_peak_mb}). Each is set against the weights' bytes: a model whose parameters live in memory once
 * peaks near {@code base + weights}. The directory is a GPT-2-small-shaped random model (124 M parameters, 498 MB
 * of float32) written by {@code src/test/python/gen_hf_fixtures.py --gpt2-small DIR}, which also times
 * transformers' {@code from_pretrained} on the same files.
 *
 * <p>Run: {@code mvn -q test-compile exec:java@pretrained-load -Dexec.args="--model DIR"} (add {@code --build=false}
 * to skip the build phase, {@code --format int8} or {@code bfloat16} to load into that format: then
 * {@code after_load_mb} shows what the converted model keeps). Last line: {@code RESULT format=... load_seconds=...
 * base_rss_mb=... build_peak_mb=... load_peak_mb=... after_load_mb=... weights_mb=... load_ratio=...}, where
 * {@code weights_mb} is the safetensors files' size and {@code load_ratio} is
 * {@code (load_peak_mb - base_rss_mb) / weights_mb}. The peaks are VmHWM, reset between phases through
 * {@code /proc/self/clear_refs} (Linux); where that cannot be reset the build's peak carries into the load's.
 */
public final class PretrainedLoad {
    private PretrainedLoad() {
    }

    public static void main(String[] args) throws Exception {
        Cli.main("pretrained-load", args, PretrainedLoad::run);
    }

    static void run(String[] args) throws Exception {
        Map<String, String> o = Args.parse(args, Map.of("model", "", "build", "true", "format", "float32"));
        WeightFormat format;
        try {
            format = WeightFormat.valueOf(o.get("format").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new BadOption("--format: float32, bfloat16 or int8, given '" + o.get("format") + "'");
        }
        Path dir = Path.of(o.get("model"));
        if (!Files.isDirectory(dir)) {
            throw new BadOption("--model DIR: a Hugging Face directory is needed, given '" + o.get("model") + "'");
        }
        long files;
        try (var list = Files.list(dir)) {
            files = list.filter(f -> f.toString().endsWith(".safetensors")).mapToLong(f -> f.toFile().length()).sum();
        }
        Nd4j.create(1).addi(1); // ND4J's natives loaded: the baseline is the JVM with ND4J, before any model
        settle();
        double base = residentMb();
        double build = Double.NaN;
        if (Boolean.parseBoolean(o.get("build"))) {
            ModelConfig config = LanguageModel.fromPretrained(dir).config();
            settle();
            resetPeak();
            LanguageModel built = new LanguageModel(config);
            build = TrainMemory.peakResidentMb();
            System.out.printf(Locale.ROOT, "build: %d parameters, peak %.0f MB%n", built.parameterCount(), build);
            built = null;
            settle();
        }
        resetPeak();
        long start = System.nanoTime();
        LanguageModel lm = LanguageModel.fromPretrained(dir, format);
        double seconds = (System.nanoTime() - start) / 1e9;
        double load = TrainMemory.peakResidentMb(), weights = files / 1e6; // a float32 directory: its weights' bytes
        settle();
        System.out.printf(Locale.ROOT, "RESULT format=%s load_seconds=%.2f base_rss_mb=%.0f build_peak_mb=%.0f "
                + "load_peak_mb=%.0f after_load_mb=%.0f weights_mb=%.0f load_ratio=%.3f%n", o.get("format"), seconds, base,
                build, load, residentMb(), weights, (load - base) / weights);
    }

    /** Frees what is unreachable, native memory included (ND4J frees an array's memory when it is collected). */
    private static void settle() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
    }

    /** Resets VmHWM to the current resident size (Linux 4.0+: writing 5 to clear_refs), where allowed. */
    private static void resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | UnsupportedOperationException e) {
            System.out.println("peak not reset (" + e.getMessage() + "): the next peak includes the earlier ones");
        }
    }

    private static double residentMb() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmRSS:"))
                .mapToDouble(l -> Long.parseLong(l.replaceAll("\\D+", "")) / 1024.0).findFirst().orElse(Double.NaN);
    }
}
