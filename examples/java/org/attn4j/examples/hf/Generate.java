package org.attn4j.examples.hf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import org.attn4j.decode.Sampler;
import org.attn4j.examples.Args;
import org.attn4j.examples.BadOption;
import org.attn4j.examples.Cli;
import org.attn4j.model.DecodingSession;
import org.attn4j.model.LanguageModel;
import org.attn4j.text.Tokenizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runs a Hugging Face model directory (GPT-2, Llama, Mistral or Qwen2 safetensors with its {@code tokenizer.json})
 * on a prompt and streams the text as it is generated, token by token against the key/value cache.
 *
 * <p>Run: {@code mvn -q test-compile exec:java@generate -Dexec.args="--model DIR --prompt 'text'"} (without
 * {@code --model}: {@code models/shakespeare-bpe}, a small GPT-2 that the Shakespeare example trained on BPE tokens
 * and saved with {@code savePretrained}; prompt {@code ROMEO:}) with
 * {@code --max-new-tokens N} (64), {@code --greedy} (the most likely token each step) or sampling with
 * {@code --temperature T} (1), {@code --top-k K} (0: all), {@code --top-p P} (1) and {@code --seed S} (0).
 * Generation stops at the first of: an end id (generation_config.json's or config.json's {@code eos_token_id}, a
 * number or a list, and the tokenizer's eos token), {@code --max-new-tokens}, or the model's context
 * ({@code max_position_embeddings} / {@code n_positions}: the prompt and the new tokens together never pass it; there
 * is no sliding window over older tokens, and a prompt longer than the context is refused). A bad option or
 * model directory ends the run with one line on standard error and exit status 2. The last line is
 * {@code RESULT prompt_tokens=... new_tokens=... time_to_first_token_ms=... tokens_per_second=... peak_rss_mb=...}
 * (tokens per second over the new tokens after the first; peak resident memory from the kernel's VmHWM, Linux).
 */
public final class Generate {
    static final Map<String, String> DEFAULTS = defaults();

    private Generate() {
    }

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("model", "models/shakespeare-bpe");
        d.put("prompt", "ROMEO:");
        d.put("max-new-tokens", "64");
        d.put("temperature", "1");
        d.put("top-k", "0");
        d.put("top-p", "1");
        d.put("seed", "0");
        d.put("greedy", "false");
        return d;
    }

    public static void main(String[] args) throws Exception {
        Cli.main("generate", args, Generate::run);
    }

    static void run(String[] args) throws IOException {
        Map<String, String> o = Args.parse(args, DEFAULTS);
        Path dir = Path.of(o.get("model"));
        int maxNew = positive(o, "max-new-tokens");
        Sampler sampler;
        try {
            sampler = new Sampler(new Sampler.Config(Double.parseDouble(o.get("temperature")),
                    Integer.parseInt(o.get("top-k")), Double.parseDouble(o.get("top-p"))), Long.parseLong(o.get("seed")));
        } catch (IllegalArgumentException e) {
            throw new BadOption("bad sampling option: " + e.getMessage() + " (given --temperature "
                    + o.get("temperature") + " --top-k " + o.get("top-k") + " --top-p " + o.get("top-p") + " --seed "
                    + o.get("seed") + ")");
        }
        boolean greedy = Boolean.parseBoolean(o.get("greedy"));
        ModelText opened = ModelText.open(dir, o.get("prompt"), "prompt");
        LanguageModel lm = opened.lm();
        Tokenizer tokenizer = opened.tokenizer();
        int[] prompt = opened.ids();
        int context = lm.config().maxLen();
        int[] ends = IntStream.concat(Arrays.stream(lm.endTokenIds()), tokenizer.eosId().stream()).distinct().toArray();

        // 1. The prompt in one step, then one token at a time against the cache, printing each as it decodes.
        System.out.print(o.get("prompt"));
        System.out.flush();
        Tokenizer.StreamDecoder text = tokenizer.streamDecoder(true);
        long start = System.nanoTime(), first = 0;
        int made = 0;
        try (DecodingSession session = lm.startDecoding(null)) {
            INDArray logProbs = session.advance(row(prompt));
            while (made < maxNew) {
                double[] p = logProbs.toDoubleVector();
                int next = greedy ? argmax(p) : sampler.sample(p);
                made++;
                if (made == 1) {
                    first = System.nanoTime();
                }
                if (contains(ends, next)) {
                    break;
                }
                System.out.print(text.next(next));
                System.out.flush();
                if (prompt.length + made == context) {
                    break; // the context is full: prompt and new tokens fill every position
                }
                logProbs = session.advance(row(new int[] {next}));
            }
        }
        System.out.println(text.finish());
        long end = System.nanoTime();
        double ttft = (first - start) / 1e6, perSecond = made > 1 ? (made - 1) / ((end - first) / 1e9) : 0;
        System.out.printf(Locale.ROOT, "RESULT prompt_tokens=%d new_tokens=%d time_to_first_token_ms=%.1f "
                + "tokens_per_second=%.1f peak_rss_mb=%.0f%n", prompt.length, made, ttft, perSecond, peakRssMb());
    }

    private static int positive(Map<String, String> o, String key) {
        try {
            int v = Integer.parseInt(o.get(key));
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new BadOption("--" + key + " must be a positive whole number, given '" + o.get(key) + "'");
    }

    static int argmax(double[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }

    private static boolean contains(int[] ids, int id) {
        return Arrays.stream(ids).anyMatch(x -> x == id);
    }

    private static INDArray row(int[] ids) { // [1, T]
        return Nd4j.createFromArray(ids).castTo(DataType.INT).reshape(1, ids.length);
    }

    /** The largest resident set this process has had (VmHWM), in MB; NaN where /proc is absent. */
    static double peakRssMb() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmHWM:"))
                    .mapToDouble(l -> Double.parseDouble(l.replaceAll("[^0-9]", "")) / 1024).findFirst().orElse(Double.NaN);
        } catch (IOException e) {
            return Double.NaN;
        }
    }
}
