package org.attn4j.examples.shakespeare;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.attn4j.decode.Sampler;
import org.attn4j.examples.Args;
import org.attn4j.io.Checkpoint;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.text.BpeTrainer;
import org.attn4j.text.Tokenizer;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.attn4j.viz.Heatmap;
import org.attn4j.viz.LinePlot;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A character-level GPT on Tiny Shakespeare: nanoGPT's CPU recipe on attn4j's engine.
 *
 * <p>The vocabulary is the text's characters (65 for Tiny Shakespeare); the first 90% of the text trains, the
 * last 10% validates. The model is a GPT-2-style decoder ({@code ModelConfig.languageModel(...).withoutPadding()}:
 * 4 layers, 4 heads, d=128, ff=512, context 64, learned positions, tied embeddings, no dropout). It trains on
 * random windows of 64 characters, 12 per batch, 2,000 steps of AdamW (lr 1e-3 after 100 warm-up steps, cosine to
 * 1e-4, beta2 0.99, weight decay 0.1 on weight matrices and embeddings only), clipping at 1.0. Every 250 steps
 * it prints the mean train and validation loss over a fixed set of 20 batches per split. At the end it draws the
 * loss curve, samples text with the key/value cache ({@link Sampler}) and draws the last layer's attention over
 * a sampled line.
 *
 * <p>{@code --tokenizer bpe} trains on byte-level BPE tokens instead of characters: {@link BpeTrainer} learns a
 * vocabulary of {@code bpeVocab} tokens (default 512) on the training split, the same splits become token ids,
 * and the vocabulary is saved beside the model ({@code tokenizer.json}, read back by {@code --pretrained}). A
 * token's loss is not a character's, so both modes also report the validation loss per character
 * ({@code val_loss_per_char}: the loss per token times validation tokens per validation character; the same as
 * {@code val_loss} for characters).
 *
 * <p>Run: {@code mvn -q test-compile exec:java@shakespeare}; {@code -Dexec.args="--pretrained"} samples from
 * the committed model ({@code models/shakespeare/}) and reports its validation loss; {@code --text FILE}
 * trains on any UTF-8 text; {@code --resume} continues from the last checkpoint of a killed run (saved every
 * {@code checkpointEvery} steps under {@code out}) and ends with exactly the weights of an uninterrupted run.
 * Everything is written under {@code out} (default {@code target/shakespeare}); the model is saved elsewhere only
 * with {@code --save DIR}, and as a Hugging Face directory (config.json, model.safetensors, tokenizer.json;
 * BPE only) with {@code --hf DIR}. A bad option ends the run with one line on standard error and exit status 2. The last
 * line is {@code RESULT val_loss=... train_loss=... steps=... train_seconds=... tokens_per_second=... tokenizer=...
 * val_loss_per_char=...}.
 */
public final class ShakespeareExample {
    static final Map<String, String> DEFAULTS = defaults();
    /** Options that change what training computes: a resumed run must repeat them. */
    private static final List<String> TRAINING = List.of("text", "seed", "layers", "heads", "dModel", "ff", "context",
            "batch", "steps", "lr", "minLr", "warmup", "beta2", "weightDecay", "clip", "evalEvery", "evalBatches",
            "tokenizer", "bpeVocab");
    static final String CHARACTERS = "characters.txt", TOKENIZER = "tokenizer.json", TRAINING_FILE = "training.txt";

    private ShakespeareExample() {
    }

    private static Map<String, String> defaults() {
        Map<String, String> d = new TreeMap<>();
        d.put("text", "examples/data/tinyshakespeare.txt"); // any UTF-8 text
        d.put("out", "target/shakespeare");  // loss curve, attention heatmap, checkpoints
        d.put("save", "none");               // also save the trained model in this directory (models/shakespeare)
        d.put("hf", "none");                 // also write it as a Hugging Face directory (needs --tokenizer bpe)
        d.put("pretrained", "false");        // sample from the model in `model` instead of training
        d.put("model", "models/shakespeare");
        d.put("resume", "false");            // continue from out/checkpoint
        d.put("checkpointEvery", "250");     // steps between checkpoints (0: none)
        d.put("seed", "1337");               // weights, batches and sampling
        d.put("tokenizer", "char");          // char: one id per character; bpe: BpeTrainer's vocabulary
        d.put("bpeVocab", "512");            // --tokenizer bpe: vocabulary size (256 byte symbols + merges)
        d.put("layers", "4");
        d.put("heads", "4");
        d.put("dModel", "128");
        d.put("ff", "512");
        d.put("context", "64");
        d.put("batch", "12");
        d.put("steps", "2000");
        d.put("lr", "1e-3");
        d.put("minLr", "1e-4");
        d.put("warmup", "100");
        d.put("beta2", "0.99");
        d.put("weightDecay", "0.1");
        d.put("clip", "1.0");
        d.put("evalEvery", "250");
        d.put("evalBatches", "20");
        d.put("prompt", "\n");               // sampling starts after this text
        d.put("tokens", "500");              // characters to sample
        d.put("temperature", "1.0");
        d.put("top-k", "0");                 // 0: no limit
        d.put("top-p", "1.0");               // 1: no limit
        return d;
    }

    /** A bad option or input: one line, exit status 2. */
    static final class BadOption extends RuntimeException {
        BadOption(String message) {
            super(message);
        }
    }

    public static void main(String[] args) throws Exception {
        int status = run(args, System.err);
        if (status != 0) {
            System.exit(status);
        }
    }

    /** Runs the example; returns 0, or 2 after printing one line to {@code err} for a bad option. */
    static int run(String[] args, PrintStream err) throws Exception {
        try {
            Options o = Options.parse(args);
            if (o.pretrained) {
                sample(o);
            } else {
                train(o);
            }
            return 0;
        } catch (BadOption e) {
            err.println("shakespeare: " + e.getMessage());
            return 2;
        }
    }

    /** Every option, checked before anything is printed or written. */
    record Options(Map<String, String> raw, boolean pretrained, boolean resume, Path out, Path save, Path model,
            String text, int layers, int heads, int dModel, int ff, int context, int batch, int steps, double lr,
            double minLr, int warmup, double beta2, double weightDecay, double clip, int evalEvery, int evalBatches,
            int checkpointEvery, long seed, String prompt, int tokens, Sampler.Config sampling, boolean bpe,
            int bpeVocab, Path hf) {

        static Options parse(String[] args) {
            Map<String, String> o;
            try {
                o = Args.parse(args, DEFAULTS);
            } catch (IllegalArgumentException e) {
                throw new BadOption(e.getMessage());
            }
            Sampler.Config sampling;
            try {
                sampling = new Sampler.Config(real(o, "temperature"), whole(o, "top-k", 0), real(o, "top-p"));
            } catch (IllegalArgumentException e) {
                throw new BadOption("--" + e.getMessage().replace("topK", "top-k").replace("topP", "top-p"));
            }
            boolean pretrained = Boolean.parseBoolean(o.get("pretrained"));
            if (pretrained && !o.get("save").equals("none")) {
                throw new BadOption("--save needs training, but --pretrained loads a model: give one of them");
            }
            if (o.get("prompt").isEmpty()) {
                throw new BadOption("--prompt must have at least one character, given none");
            }
            int steps = whole(o, "steps", 1), warmup = whole(o, "warmup", 1);
            if (!pretrained && steps <= warmup) {
                throw new BadOption("--steps must exceed --warmup (the cosine needs steps after warm-up), given steps="
                        + steps + ", warmup=" + warmup);
            }
            if (!o.get("tokenizer").equals("char") && !o.get("tokenizer").equals("bpe")) {
                throw new BadOption("--tokenizer must be char or bpe, given '" + o.get("tokenizer") + "'");
            }
            if (!o.get("hf").equals("none") && (pretrained || !o.get("tokenizer").equals("bpe"))) {
                throw new BadOption("--hf writes a trained model with its tokenizer.json: it needs training with "
                        + "--tokenizer bpe, given tokenizer=" + o.get("tokenizer") + ", pretrained=" + pretrained);
            }
            double lr = real(o, "lr"), minLr = real(o, "minLr");
            if (!(lr > 0) || !(minLr >= 0 && minLr <= lr)) {
                throw new BadOption("--lr must be > 0 and --minLr in [0, lr], given lr=" + lr + ", minLr=" + minLr);
            }
            return new Options(o, pretrained, Boolean.parseBoolean(o.get("resume")), Path.of(o.get("out")),
                    o.get("save").equals("none") ? null : Path.of(o.get("save")), Path.of(o.get("model")), o.get("text"),
                    whole(o, "layers", 1), whole(o, "heads", 1), whole(o, "dModel", 1), whole(o, "ff", 1),
                    whole(o, "context", 1), whole(o, "batch", 1), steps, lr, minLr, warmup, real(o, "beta2"),
                    real(o, "weightDecay"), real(o, "clip"), whole(o, "evalEvery", 1), whole(o, "evalBatches", 1),
                    whole(o, "checkpointEvery", 0), whole(o, "seed", Integer.MIN_VALUE), o.get("prompt"),
                    whole(o, "tokens", 1), sampling, o.get("tokenizer").equals("bpe"), whole(o, "bpeVocab", 257),
                    o.get("hf").equals("none") ? null : Path.of(o.get("hf")));
        }

        /** The options that fix what training computes, as one line. */
        String training() {
            StringBuilder sb = new StringBuilder();
            TRAINING.forEach(k -> sb.append(sb.length() == 0 ? "" : " ").append(k).append('=').append(raw.get(k)));
            return sb.toString();
        }

        private static int whole(Map<String, String> o, String key, int min) {
            int v;
            try {
                v = Integer.parseInt(o.get(key));
            } catch (NumberFormatException e) {
                throw new BadOption("--" + key + " must be a whole number, given '" + o.get(key) + "'");
            }
            if (v < min) {
                throw new BadOption("--" + key + " must be at least " + min + ", given " + v);
            }
            return v;
        }

        private static double real(Map<String, String> o, String key) {
            try {
                double v = Double.parseDouble(o.get(key));
                if (Double.isFinite(v) && v >= 0) {
                    return v;
                }
            } catch (NumberFormatException e) {
                // the message below names the value
            }
            throw new BadOption("--" + key + " must be a number >= 0, given '" + o.get(key) + "'");
        }
    }

    private static void train(Options o) throws IOException {
        CharText text = o.bpe() ? CharText.bpe(readText(o.text()), o.bpeVocab(), System.out)
                : CharText.of(readText(o.text()));
        int shortest = CharText.shortestText(o.context());
        if (o.bpe() && (text.validation.length < o.context() + 1 || text.train.length < o.context() + 1)) {
            throw new BadOption("--text " + o.text() + " makes " + text.train.length + " training and "
                    + text.validation.length + " validation tokens; with context " + o.context() + " each needs "
                    + (o.context() + 1) + ": give a longer text");
        }
        if (text.validation.length < o.context() + 1 || text.train.length < o.context() + 1) {
            throw new BadOption("--text " + o.text() + " has " + (text.train.length + text.validation.length)
                    + " characters; with context " + o.context() + " both splits (90%/10%) need a window of "
                    + (o.context() + 1) + ": give at least " + shortest + " characters");
        }
        int[] prompt = promptIds(o, text);
        ModelConfig config;
        try {
            config = ModelConfig.languageModel(text.vocabularySize(), o.dModel(), o.heads(), o.ff(), o.layers(),
                    o.context()).withoutPadding();
        } catch (IllegalArgumentException e) {
            throw new BadOption(e.getMessage());
        }
        Path checkpoints = o.out().resolve("checkpoint");
        TrainingRun.Log log = new TrainingRun.Log(o.training());
        LanguageModel model;
        TrainingRun.Resumed resumed = null;
        if (o.resume() && TrainingRun.hasCheckpoint(checkpoints)) {
            resumed = TrainingRun.Resumed.load(checkpoints);
            log = TrainingRun.Log.read(checkpoints, resumed.step());
            if (!log.options.equals(o.training())) {
                throw new BadOption("--resume: the checkpoint in " + checkpoints + " was trained with '" + log.options
                        + "', this run asks '" + o.training() + "'");
            }
            model = resumed.model();
        } else {
            if (o.resume()) {
                System.out.println("No checkpoint in " + checkpoints + " to resume from: training from step 0");
            }
            Nd4j.getRandom().setSeed(o.seed());
            model = new LanguageModel(config);
        }
        Trainer trainer = new Trainer(model, Trainer.Config.adam(Schedules.warmupCosine(o.lr(), o.warmup(), o.steps(),
                o.minLr())).withOptimizer(Trainer.Optimizer.ADAMW).withBeta2(o.beta2()).withWeightDecay(o.weightDecay())
                .withClipNorm(o.clip()).withSeed(o.seed()).withDecayMatricesOnly(true));
        if (o.bpe()) {
            System.out.printf(Locale.ROOT, "Text: %s as BPE tokens (vocabulary %d, learned on the training split): "
                    + "%,d train, %,d validation (%.3f tokens per character)%n", o.text(), text.vocabularySize(),
                    text.train.length, text.validation.length, text.tokensPerCharacter());
        } else {
            System.out.printf(Locale.ROOT, "Text: %s, %,d characters (%d distinct): %,d train, %,d validation%n",
                    o.text(), text.train.length + text.validation.length, text.vocabularySize(), text.train.length,
                    text.validation.length);
        }
        System.out.printf(Locale.ROOT, "Model: %d layers, %d heads, d=%d, ff=%d, context %d, %,d parameters%n",
                o.layers(), o.heads(), o.dModel(), o.ff(), o.context(),
                model.parameters().values().stream().mapToLong(v -> v.length()).sum());
        if (resumed != null) {
            trainer.restore(resumed.step(), resumed.state());
            System.out.printf(Locale.ROOT, "Resuming from %s at step %d%n", checkpoints, resumed.step());
        }
        TrainingRun.Plan plan = new TrainingRun.Plan(o.steps(), o.batch(), o.context(), o.seed(), o.evalEvery(),
                o.evalBatches(), o.checkpointEvery());
        new TrainingRun(text, plan, checkpoints).train(trainer, log, System.err);
        double[] last = log.lastEval();
        double tokensPerSecond = (double) o.steps() * o.batch() * o.context() / log.stepSeconds;
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        System.out.printf(Locale.ROOT, "Trained %d steps in %.1f s (updates %.1f s, %.0f tokens/s; load average %.2f)%n",
                o.steps(), log.seconds, log.stepSeconds, tokensPerSecond, load);
        Files.createDirectories(o.out());
        Path curve = o.out().resolve("loss.png");
        Map<String, double[][]> series = new LinkedHashMap<>();
        series.put("training loss (each step's batch)", log.steps.toArray(double[][]::new));
        series.put("train loss (" + o.evalBatches() + " fixed batches)", column(log.evals, 1));
        series.put("validation loss (" + o.evalBatches() + " fixed batches)", column(log.evals, 2));
        LinePlot.write(curve, "Character-level GPT on " + Path.of(o.text()).getFileName(), "step", series);
        System.out.println("Loss curve: " + curve);
        if (o.save() != null) {
            Checkpoint.save(o.save(), model, null, null, o.steps(), null);
            if (o.bpe()) {
                text.tokenizer.savePretrained(o.save());
            } else {
                Files.writeString(o.save().resolve(CHARACTERS), text.characters, StandardCharsets.UTF_8);
            }
            Files.writeString(o.save().resolve(TRAINING_FILE), String.format(Locale.ROOT,
                    "steps=%d%nval_loss=%.4f%ntrain_loss=%.4f%ntrain_seconds=%.1f%ntokens_per_second=%.0f%nload=%.2f%n"
                            + "options=%s%n", o.steps(), last[2], last[1], log.seconds, tokensPerSecond, load,
                    o.training()), StandardCharsets.UTF_8);
            System.out.println("Saved the model in " + o.save());
        }
        if (o.hf() != null) {
            model.savePretrained(o.hf());
            text.tokenizer.savePretrained(o.hf());
            System.out.println("Saved it as a Hugging Face directory in " + o.hf());
        }
        showSamples(model, text, prompt, o);
        System.out.printf(Locale.ROOT, "RESULT val_loss=%.4f train_loss=%.4f steps=%d train_seconds=%.1f "
                + "tokens_per_second=%.0f tokenizer=%s val_loss_per_char=%.4f%n", last[2], last[1], o.steps(),
                log.seconds, tokensPerSecond, o.bpe() ? "bpe" : "char", last[2] * text.tokensPerCharacter());
    }

    /** --pretrained: load the saved model, measure its validation loss on the text, and sample. */
    private static void sample(Options o) throws IOException {
        boolean bpe = Files.exists(o.model().resolve(TOKENIZER));
        if (!bpe && !Files.exists(o.model().resolve(CHARACTERS))) {
            throw new BadOption("--pretrained: no model in " + o.model() + " (expected " + CHARACTERS + " or "
                    + TOKENIZER + " and a checkpoint there; train one with --save " + o.model() + ")");
        }
        String raw = readText(o.text());
        CharText text = bpe ? CharText.withTokenizer(Tokenizer.fromPretrained(o.model()), raw) : charText(o, raw);
        int[] prompt = promptIds(o, text);
        long t0 = System.nanoTime();
        LanguageModel model = (LanguageModel) Checkpoint.load(o.model()).model();
        Map<String, String> recorded = readKeyValues(o.model().resolve(TRAINING_FILE));
        int context = model.config().maxLen();
        Trainer evaluator = new Trainer(model, Trainer.Config.adam(Schedules.constant(1e-3)));
        double validation = TrainingRun.evaluate(evaluator, text, true, o.evalBatches(), o.batch(), context);
        double train = TrainingRun.evaluate(evaluator, text, false, o.evalBatches(), o.batch(), context);
        System.out.printf(Locale.ROOT, "Loaded %s (trained %s steps in %s s, load %s) and measured it in %.1f s: "
                + "validation loss %.4f, train loss %.4f (%d fixed batches of %d x %d each)%n", o.model(),
                recorded.get("steps"), recorded.get("train_seconds"), recorded.get("load"),
                (System.nanoTime() - t0) / 1e9, validation, train, o.evalBatches(), o.batch(), context);
        showSamples(model, text, prompt, o);
        System.out.printf(Locale.ROOT, "RESULT val_loss=%.4f train_loss=%.4f steps=%s train_seconds=%s "
                + "tokens_per_second=%s tokenizer=%s val_loss_per_char=%.4f%n", validation, train,
                recorded.get("steps"), recorded.get("train_seconds"), recorded.get("tokens_per_second"),
                bpe ? "bpe" : "char", validation * text.tokensPerCharacter());
    }

    /** The saved character vocabulary's ids of the text, split 90/10; a character it lacks is a bad option. */
    private static CharText charText(Options o, String raw) throws IOException {
        String characters = Files.readString(o.model().resolve(CHARACTERS), StandardCharsets.UTF_8);
        int[] ids = CharText.encode(characters, raw);
        for (int i = 0, at = 0; i < ids.length; i++, at = raw.offsetByCodePoints(at, 1)) {
            if (ids[i] < 0) {
                throw new BadOption("--text " + o.text() + " has '" + new String(Character.toChars(raw.codePointAt(at)))
                        + "' at character " + i + ", which the model in " + o.model() + " does not know");
            }
        }
        int n = (int) (ids.length * 0.9);
        return new CharText(characters, java.util.Arrays.copyOfRange(ids, 0, n),
                java.util.Arrays.copyOfRange(ids, n, ids.length));
    }

    /** Prints {@code tokens} sampled characters (or tokens) and draws the last layer's attention over a line. */
    private static void showSamples(LanguageModel model, CharText vocabulary, int[] prompt, Options o)
            throws IOException {
        long t0 = System.nanoTime();
        int[] sampled = new Sampler(o.sampling(), o.seed()).generate(model, prompt, o.tokens());
        double seconds = (System.nanoTime() - t0) / 1e9;
        String text = vocabulary.decode(sampled);
        System.out.printf(Locale.ROOT, "%nSampled %d %s in %.2f s (temperature %s, top-k %d, top-p %s, seed %d):"
                + "%n---%n%s%s%n---%n", o.tokens(), vocabulary.tokenizer != null ? "tokens" : "characters", seconds,
                o.raw().get("temperature"), o.sampling().topK(), o.raw().get("top-p"), o.seed(), o.prompt(), text);
        int[] line = shownLine(vocabulary, sampled, model.config().maxLen());
        INDArray input = Nd4j.createFromArray(new int[][] {line}).castTo(DataType.INT); // [1, T]
        List<INDArray> layers = model.attention(null, input).decoderSelf();
        INDArray last = layers.get(layers.size() - 1); // [1, H, T, T]
        List<String> labels = new ArrayList<>();
        for (int id : line) {
            labels.add(label(vocabulary.decode(new int[] {id})));
        }
        List<Heatmap.Panel> panels = new ArrayList<>();
        for (int h = 0; h < last.size(1); h++) {
            double[][] weights = last.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(h)).toDoubleMatrix();
            panels.add(new Heatmap.Panel("layer " + (layers.size() - 1) + " head " + h, labels, labels, weights));
        }
        Files.createDirectories(o.out());
        List<Path> files = Heatmap.write(o.out().resolve("attention"), "Last layer's attention over \""
                + vocabulary.decode(line).strip() + "\"", panels, 2);
        System.out.println("Attention heatmap: " + files.get(0) + " (and .svg)");
    }

    /** The first sampled line of 8 or more characters (cut to 40 and to the context), else the sample's start. */
    private static int[] shownLine(CharText vocabulary, int[] sampled, int context) {
        int newline = vocabulary.encode("\n")[0]; // -1 when the text has no line breaks
        int limit = Math.min(40, context);
        for (int i = 0, from = 0; i <= sampled.length; i++) {
            if (i == sampled.length || sampled[i] == newline) {
                if (i - from >= 8) {
                    return java.util.Arrays.copyOfRange(sampled, from, Math.min(i, from + limit));
                }
                from = i + 1;
            }
        }
        return java.util.Arrays.copyOfRange(sampled, 0, Math.min(sampled.length, limit));
    }

    private static String label(String c) {
        return switch (c) {
            case " " -> "\u2423";
            case "\n" -> "\u23ce";
            default -> c;
        };
    }

    private static double[][] column(List<double[]> rows, int i) {
        return rows.stream().map(r -> new double[] {r[0], r[i]}).toArray(double[][]::new);
    }

    private static int[] promptIds(Options o, CharText vocabulary) {
        int[] ids = vocabulary.encode(o.prompt());
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0) {
                throw new BadOption("--prompt has '" + new String(Character.toChars(o.prompt().codePoints().toArray()[i]))
                        + "', which is not among the text's " + vocabulary.vocabularySize() + " characters");
            }
        }
        return ids;
    }

    /** The text of a UTF-8 file; a missing or non-UTF-8 file is a bad option. */
    static String readText(String file) {
        try {
            byte[] bytes = Files.readAllBytes(Path.of(file));
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (NoSuchFileException e) {
            throw new BadOption("--text " + file + ": no such file");
        } catch (CharacterCodingException e) {
            throw new BadOption("--text " + file + ": not UTF-8 text (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new BadOption("--text " + file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    private static Map<String, String> readKeyValues(Path file) throws IOException {
        Map<String, String> kv = new TreeMap<>();
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    kv.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
        }
        return kv;
    }
}
