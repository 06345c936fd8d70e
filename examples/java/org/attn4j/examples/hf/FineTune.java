package org.attn4j.examples.hf;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.attn4j.config.WeightFormat;
import org.attn4j.data.Batch;
import org.attn4j.data.TokenFile;
import org.attn4j.decode.Sampler;
import org.attn4j.examples.BadOption;
import org.attn4j.examples.Cli;
import org.attn4j.examples.Flags;
import org.attn4j.io.Checkpoint;
import org.attn4j.io.Npz;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.LoraAdapters;
import org.attn4j.model.LoraConfig;
import org.attn4j.text.Tokenizer;
import org.attn4j.train.ProgressBar;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fine-tunes a Hugging Face model directory on a text file: LoRA adapters in PEFT's format (the default: rank
 * {@code --lora-rank}, {@code --lora-alpha}, on the layers {@code --target} names, PEFT's default targets when not
 * given: GPT-2's {@code c_attn}, Llama's {@code q_proj,v_proj}; {@code --lora-dropout} on the adapters' input while
 * training, PEFT's {@code lora_dropout}; the base model's weights frozen) or continued
 * training of every weight ({@code --full}). With {@code --base-format bfloat16} or {@code int8} the frozen base's
 * block weights are held in that format while the adapters train on them (QLoRA-style: about a quarter of float32's
 * memory for int8); {@code --checkpoint-activations} keeps only each block's input through the forward and runs the
 * block again in the backward (gradient checkpointing: the same updates, less memory, one more forward of the blocks
 * a step).
 *
 * <p>The text is tokenized once with the model's own {@code tokenizer.json} into token files under {@code --out}
 * ({@link TokenFile}: llm.c's layout, read memory-mapped); a token file another tokenizer wrote is refused. Without
 * {@code --valid-file} the last 10% of the training text's tokens validate. Each step trains on {@code --batch}
 * windows of {@code --context} contiguous tokens drawn by (seed, step), with AdamW (beta2 0.99; weight decay 0.1
 * on matrices with {@code --full}, none on adapters), a linear warm-up over the first 10% of the steps and a cosine to a tenth of {@code --lr}, clipping at
 * 1, and {@code --grad-accum} micro-batches per step. Before training, every {@code --eval-every} steps and at the
 * end it prints the mean loss over {@code --eval-batches} fixed windows of each split and the validation
 * perplexity; it samples {@code --sample-tokens} tokens after {@code --prompt} before and after training.
 *
 * <p>A checkpoint is saved under {@code --out} every {@code --checkpoint-every} steps: with {@code --full} the weights,
 * optimizer state and step ({@link Checkpoint}); with LoRA the adapters in PEFT's format, their optimizer state and
 * the step, written to a new folder that an atomic rename of {@code LATEST} then points to. {@code --resume}
 * continues a killed run from it and ends with exactly the weights of an uninterrupted one (the same options are
 * required). {@code --save DIR} writes the adapters ({@code adapter_config.json}, {@code adapter_model.safetensors},
 * loadable with {@code peft.PeftModel.from_pretrained}) or, with {@code --full}, the model with
 * {@code savePretrained}. The adapters are also written to {@code --out}/adapter; the sample after LoRA training is
 * drawn from the base with the adapters merged into it (after they are saved).
 *
 * <p>Run: {@code mvn -q test-compile exec:java@finetune} (LoRA) or {@code -Dexec.args="--full"}: by default the committed
 * {@code models/shakespeare-bpe} (a GPT-2 of 0.8 M parameters that the Shakespeare example trained) on
 * {@code examples/data/kjv-proverbs.txt}, the Book of Proverbs of the King James Version (1611; public domain, from
 * Debian's {@code bible-kjv-text} 4.38), a text it has not seen. A bad option ends the run with one line on standard
 * error and exit status 2. The last line is {@code RESULT train_loss= val_loss= val_ppl= steps= train_seconds=
 * tokens_per_second= peak_rss_mb= trainable_params=}, peak_rss_mb the process's peak resident memory up to the end of
 * training.
 */
public final class FineTune {
    static final Map<String, String> DEFAULTS = defaults();
    /** The options a resumed run must repeat: they fix what training computes. */
    private static final List<String> TRAINING = List.of("model", "base-format", "train-file", "valid-file", "full",
            "lora-rank", "lora-alpha", "lora-dropout", "target", "steps", "lr", "batch", "context", "grad-accum", "seed");
    static final String CHECKPOINT = "checkpoint", RUN = "run.txt", STEP = "step.txt", OPTIMIZER = "optimizer.npz";

    private FineTune() {
    }

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("model", "models/shakespeare-bpe");
        d.put("train-file", "examples/data/kjv-proverbs.txt");
        d.put("valid-file", "none");        // none: the last 10% of the training text's tokens
        d.put("full", "false");
        d.put("base-format", "float32");   // bfloat16, int8: LoRA on compact base weights (QLoRA-style)
        d.put("checkpoint-activations", "false");
        d.put("lora-rank", "8");
        d.put("lora-alpha", "16");
        d.put("lora-dropout", "0");         // PEFT's lora_dropout (its default 0)
        d.put("target", "default");         // PEFT's default targets of the architecture
        d.put("steps", "200");
        d.put("lr", "default");             // 2e-3 for LoRA, 3e-4 with --full
        d.put("batch", "8");
        d.put("context", "64");
        d.put("grad-accum", "1");
        d.put("seed", "1337");
        d.put("eval-every", "50");
        d.put("eval-batches", "8");
        d.put("checkpoint-every", "50");    // 0: never
        d.put("out", "target/finetune");    // token files and checkpoints
        d.put("save", "none");
        d.put("resume", "false");
        d.put("prompt", "My son,");
        d.put("sample-tokens", "40");
        return d;
    }

    public static void main(String[] args) throws Exception {
        Cli.main("finetune", args, FineTune::run);
    }

    /** Every option, checked before anything is printed or written. */
    private record Options(Flags flags, Path model, WeightFormat baseFormat, boolean checkpointActivations,
            Path trainFile, Path validFile, boolean full, int loraRank, double loraAlpha, double loraDropout, String target, int steps, double lr,
            int batch, int context, int gradAccum, long seed, int evalEvery, int evalBatches, int checkpointEvery,
            Path out, Path save, boolean resume, String prompt, int sampleTokens) {
        static Options parse(String[] args) {
            Flags f = Flags.parse(args, DEFAULTS);
            Options o = new Options(f, f.path("model"), WeightFormat.valueOf(f.choice("base-format", "float32",
                    "bfloat16", "int8").toUpperCase(Locale.ROOT)), f.flag("checkpoint-activations"), f.path("train-file"), f.text("valid-file").equals("none") ? null
                    : f.path("valid-file"), f.flag("full"), f.integer("lora-rank", 1), f.real("lora-alpha", 0),
                    f.realAtLeast("lora-dropout", 0), f.text("target"), f.integer("steps", 1), f.text("lr").equals("default") ? (f.flag("full") ? 3e-4
                    : 2e-3) : f.real("lr", 0), f.integer("batch", 1),
                    f.integer("context", 2), f.integer("grad-accum", 1), f.seed("seed"), f.integer("eval-every", 1),
                    f.integer("eval-batches", 1), f.integer("checkpoint-every", 0), f.path("out"),
                    f.text("save").equals("none") ? null : f.path("save"), f.flag("resume"), f.text("prompt"),
                    f.integer("sample-tokens", 0));
            Flags.require(!o.full || o.baseFormat == WeightFormat.FLOAT32, "base-format", "float32 with --full (a "
                    + "bfloat16 or int8 base trains LoRA adapters only)", f.text("base-format"));
            Flags.require(o.loraDropout < 1, "lora-dropout", "a probability in [0, 1)", f.text("lora-dropout"));
            Flags.require(o.gradAccum <= o.batch, "grad-accum", "at most --batch (" + o.batch + ": a micro-batch "
                    + "holds at least one window)", o.gradAccum);
            for (Path p : o.validFile == null ? List.of(o.trainFile) : List.of(o.trainFile, o.validFile)) {
                Flags.require(Files.isRegularFile(p), p.equals(o.trainFile) ? "train-file" : "valid-file",
                        "a text file", "'" + p + "', which is not one");
            }
            return o;
        }

        /** The options that fix what training computes, as one line. */
        String training() {
            StringBuilder sb = new StringBuilder();
            TRAINING.forEach(k -> sb.append(sb.length() == 0 ? "" : " ").append(k).append('=').append(flags.text(k)));
            return sb.toString();
        }
    }

    static void run(String[] args) throws IOException {
        Options o = Options.parse(args);
        LanguageModel lm;
        Tokenizer tokenizer;
        TokenFile train, valid;
        try {
            lm = o.baseFormat() == WeightFormat.FLOAT32 ? LanguageModel.fromPretrained(o.model())
                    : LanguageModel.fromPretrained(o.model(), o.baseFormat());
            tokenizer = Tokenizer.fromPretrained(o.model());
            Flags.require(o.context() <= lm.config().maxLen(), "context", "at most the model's context of "
                    + lm.config().maxLen(), o.context());
            TokenFile[] splits = tokenFiles(o, tokenizer);
            train = splits[0];
            valid = splits[1];
        } catch (BadOption e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new BadOption(e.getMessage());
        }
        for (TokenFile t : List.of(train, valid)) {
            Flags.require(t.size() > o.context(), "context", "less than the " + t.size() + " tokens of " + t.file(),
                    o.context());
        }
        int[] prompt = tokenizer.encode(o.prompt(), false);
        Flags.require(prompt.length > 0 && prompt.length <= lm.config().maxLen(), "prompt", "1 to "
                + lm.config().maxLen() + " tokens (the model's context)", prompt.length + " tokens");
        Path checkpoints = o.out().resolve(CHECKPOINT);
        boolean resuming = o.resume() && Files.exists(checkpoints.resolve(Checkpoint.LATEST));
        Run log = resuming ? Run.read(checkpoints) : new Run(o.training());
        Flags.require(log.options.equals(o.training()), "resume", "the options of the run in " + checkpoints + " ("
                + log.options + ")", o.training());

        LoraAdapters lora = null;
        int resumeStep = 0;
        Map<String, INDArray> optimizer = null;
        if (resuming && o.full()) {
            Checkpoint.Loaded c = Checkpoint.load(checkpoints);
            lm.loadParameters(c.model().parameters());
            resumeStep = c.step();
            optimizer = c.optimizerState();
        } else if (resuming) {
            Path last = checkpoints.resolve(Files.readString(checkpoints.resolve(Checkpoint.LATEST)).strip());
            lora = LoraAdapters.load(lm, last);
            resumeStep = Integer.parseInt(Files.readString(last.resolve(STEP)).strip());
            optimizer = Npz.read(last.resolve(OPTIMIZER));
        } else if (!o.full()) {
            Nd4j.getRandom().setSeed(o.seed());
            lora = Flags.valid("--lora-rank, --lora-alpha, --target", () -> LoraAdapters.create(lm, new LoraConfig(
                    o.loraRank(), o.loraAlpha(), o.loraDropout(), o.target().equals("default") ? LoraAdapters.defaultTargets(lm)
                    : LoraConfig.Targets.parse(o.target()), false)));
        }
        Trainer.Config recipe = Trainer.Config.adam(Schedules.warmupCosine(o.lr(), Math.max(1, o.steps() / 10),
                o.steps() + 1, o.lr() / 10)).withBeta1(0.9).withBeta2(0.99).withClipNorm(1).withSeed(o.seed())
                .withMicroBatches(o.gradAccum()).withCheckpointActivations(o.checkpointActivations());
        Trainer trainer = o.full() ? new Trainer(lm, recipe.withOptimizer(Trainer.Optimizer.ADAMW).withWeightDecay(0.1)
                .withDecayMatricesOnly(true)) : new Trainer(lora, recipe);
        long trainable = o.full() ? lm.parameterCount() : lora.parameterCount();
        System.out.printf(Locale.ROOT, "%s: %s, %,d parameters; %s; %,d training and %,d validation tokens%n",
                o.model(), lm.config().dModel() + " wide, " + lm.config().decoderLayers() + " layers, " + (o.baseFormat()
                == WeightFormat.FLOAT32 ? "float32" : "blocks' weights in " + o.baseFormat())
                + (o.checkpointActivations() ? ", checkpointed activations" : ""),
                lm.parameterCount(), o.full() ? "all trained" : String.format(Locale.ROOT, "LoRA r=%d alpha=%s%s on %s: "
                + "%,d trained (%d adapters)", lora.config().rank(), o.flags().text("lora-alpha"),
                lora.config().dropout() > 0 ? " dropout=" + lora.config().dropout() : "", lora.config().targets(),
                trainable, lora.adapters().size()), train.size(), valid.size());
        if (resuming) {
            trainer.restore(resumeStep, optimizer);
            System.out.printf("Resuming from %s at step %d%n", checkpoints, resumeStep);
        } else {
            System.out.println("Sample before: " + sample(lm, tokenizer, prompt, o));
        }

        // Train from the trainer's step to --steps: one update per step, evaluating and checkpointing on the way.
        PrintStream out = System.out;
        ProgressBar bar = new ProgressBar(out, o.steps());
        if (trainer.stepCount() == 0) {
            evaluate(trainer, train, valid, o, out);
        }
        long tokens = 0;
        double seconds = 0;
        while (trainer.stepCount() < o.steps()) {
            Batch b = train.window(o.seed(), trainer.stepCount(), o.batch(), o.context());
            long t0 = System.nanoTime();
            Trainer.StepResult r = trainer.step(b);
            double took = (System.nanoTime() - t0) / 1e9;
            seconds += took;
            tokens += r.tokens();
            int done = trainer.stepCount();
            bar.update(done, r.loss(), r.tokens() / took, "");
            if (done % o.evalEvery() == 0 || done == o.steps()) {
                evaluate(trainer, train, valid, o, out);
            }
            if (o.checkpointEvery() > 0 && done % o.checkpointEvery() == 0 && done < o.steps()) {
                log.seconds += seconds - log.counted;
                log.counted = seconds;
                log.write(checkpoints);
                if (o.full()) {
                    Checkpoint.save(checkpoints, lm, null, null, done, trainer.optimizerState());
                } else {
                    saveAdapters(checkpoints, lora, done, trainer.optimizerState());
                }
            }
        }
        bar.finish();
        double[] last = evaluate(trainer, train, valid, o, null);
        double peakMb = Generate.peakRssMb(); // of loading and training: what follows loads a merged copy for LoRA
        if (o.full()) {
            System.out.println("Sample after: " + sample(lm, tokenizer, prompt, o));
        } else {
            Path adapter = o.save() != null ? o.save() : o.out().resolve("adapter");
            lora.save(adapter);
            System.out.println("Sample after: " + sample(merged(lora, adapter, o), tokenizer, prompt, o));
        }
        if (o.save() != null) {
            if (o.full()) {
                lm.savePretrained(o.save());
            }
            System.out.println("Saved the fine-tuned " + (o.full() ? "model" : "adapters") + " in " + o.save());
        }
        System.out.printf(Locale.ROOT, "RESULT train_loss=%.4f val_loss=%.4f val_ppl=%.2f steps=%d train_seconds=%.1f "
                + "tokens_per_second=%.0f peak_rss_mb=%.0f trainable_params=%d%n", last[0], last[1], Math.exp(last[1]),
                o.steps(), log.seconds + seconds - log.counted, seconds > 0 ? tokens / seconds : 0, peakMb, trainable);
    }

    /**
     * The base with the trained adapters folded in (training is over): a float32 base merges in place; a compact one
     * cannot, so the float32 model is loaded again, the saved adapters merged into it and the result converted to the
     * base's format.
     */
    private static LanguageModel merged(LoraAdapters lora, Path saved, Options o) {
        if (o.baseFormat() == WeightFormat.FLOAT32) {
            return lora.merge();
        }
        LanguageModel full = LanguageModel.fromPretrained(o.model());
        LoraAdapters.load(full, saved).merge();
        full.convertWeights(o.baseFormat());
        return full;
    }

    /**
     * A LoRA checkpoint: the adapters (PEFT's files), their optimizer state and the step in a new folder, then
     * {@code LATEST} pointing to it, replaced by an atomic rename (a kill in between leaves the previous one in force);
     * older folders are removed after.
     */
    private static void saveAdapters(Path dir, LoraAdapters lora, int step, Map<String, INDArray> optimizer)
            throws IOException {
        String name = String.format(Locale.ROOT, "lora-%08d", step);
        Path staging = dir.resolve(".tmp-" + name);
        lora.save(staging);
        try (java.io.OutputStream out = Files.newOutputStream(staging.resolve(OPTIMIZER))) {
            Npz.write(optimizer, out);
        }
        Files.writeString(staging.resolve(STEP), step + "\n");
        Files.move(staging, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Path pointer = dir.resolve(Checkpoint.LATEST + ".tmp");
        Files.writeString(pointer, name + "\n");
        Files.move(pointer, dir.resolve(Checkpoint.LATEST), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
        try (java.util.stream.Stream<Path> old = Files.list(dir)) {
            for (Path p : old.filter(p -> Files.isDirectory(p) && !p.getFileName().toString().equals(name)).toList()) {
                try (java.util.stream.Stream<Path> files = Files.walk(p)) {
                    for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(f);
                    }
                }
            }
        }
    }

    /** The training and validation token files under --out, written once with the model's tokenizer. */
    private static TokenFile[] tokenFiles(Options o, Tokenizer tokenizer) throws IOException {
        Path dir = o.out().resolve("tokens");
        String name = o.trainFile().getFileName().toString();
        if (o.validFile() != null) {
            return new TokenFile[] {TokenFile.tokenize(o.trainFile(), tokenizer, dir.resolve(name + ".bin")),
                TokenFile.tokenize(o.validFile(), tokenizer, dir.resolve(o.validFile().getFileName() + ".bin"))};
        }
        Path train = dir.resolve(name + ".train.bin"), valid = dir.resolve(name + ".valid.bin");
        if (!Files.exists(train) || !Files.exists(valid)) {
            int[] ids = tokenizer.encode(Files.readString(o.trainFile(), StandardCharsets.UTF_8), false);
            int cut = ids.length - ids.length / 10;
            String print = TokenFile.fingerprint(tokenizer);
            TokenFile.write(train, java.util.Arrays.copyOfRange(ids, 0, cut), tokenizer.vocabSize(), print);
            TokenFile.write(valid, java.util.Arrays.copyOfRange(ids, cut, ids.length), tokenizer.vocabSize(), print);
        }
        return new TokenFile[] {TokenFile.open(train).requireTokenizer(tokenizer),
            TokenFile.open(valid).requireTokenizer(tokenizer)};
    }

    /** Mean loss over the fixed evaluation windows of each split: {train, validation}; printed when {@code out}. */
    private static double[] evaluate(Trainer trainer, TokenFile train, TokenFile valid, Options o, PrintStream out) {
        double[] loss = new double[2];
        for (int i = 0; i < o.evalBatches(); i++) {
            loss[0] += trainer.evaluateLoss(train.evaluationBatch(i, o.evalBatches(), o.batch(), o.context()));
            loss[1] += trainer.evaluateLoss(valid.evaluationBatch(i, o.evalBatches(), o.batch(), o.context()));
        }
        loss[0] /= o.evalBatches();
        loss[1] /= o.evalBatches();
        if (out != null) {
            out.printf(Locale.ROOT, "%n   step %d: train loss %.4f, validation loss %.4f, perplexity %.2f%n",
                    trainer.stepCount(), loss[0], loss[1], Math.exp(loss[1]));
        }
        return loss;
    }

    private static String sample(LanguageModel lm, Tokenizer tokenizer, int[] prompt, Options o) {
        int[] ids = new Sampler(new Sampler.Config(0.8, 0, 1), o.seed()).generate(lm, prompt, o.sampleTokens(),
                lm.endTokenIds());
        return (o.prompt() + tokenizer.decode(ids, true)).replace("\n", " / ");
    }

    /** The run's options and its wall time of updates so far, kept beside the checkpoint. */
    private static final class Run {
        final String options;
        double seconds, counted; // update seconds of all runs up to the last checkpoint; this process's part of it

        Run(String options) {
            this.options = options;
        }

        static Run read(Path dir) throws IOException {
            List<String> lines = Files.readAllLines(dir.resolve(RUN), StandardCharsets.UTF_8);
            Run r = new Run(lines.get(0).substring("options ".length()));
            r.seconds = Double.parseDouble(lines.get(1).substring("seconds ".length()));
            return r;
        }

        /** Atomically, before the checkpoint: a kill between the two leaves a log that covers the checkpoint. */
        void write(Path dir) throws IOException {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(RUN + ".tmp");
            Files.writeString(tmp, "options " + options + "\n" + String.format(Locale.ROOT, "seconds %.3f%n", seconds),
                    StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve(RUN), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
