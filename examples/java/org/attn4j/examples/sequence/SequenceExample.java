package org.attn4j.examples.sequence;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.attn4j.data.Batch;
import org.attn4j.examples.BadOption;
import org.attn4j.examples.Cli;
import org.attn4j.examples.Flags;
import org.attn4j.io.Checkpoint;
import org.attn4j.io.CheckpointException;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.model.TransformerModel;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.train.ProgressBar;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * Copy, reverse or sort a sequence of digits: the classic first proof that a transformer learns.
 *
 * <p>An encoder-decoder reads digits 0-9 (lengths 1-12 by default, padded) and writes the answer
 * token by token. It trains on fresh random sequences every step for a number of steps or CPU seconds,
 * whichever ends first, reporting exact match on a validation sample drawn like the training data as it
 * goes (and optionally stopping once that reaches a target); then it is scored by exact match (the
 * whole answer right) with greedy decoding on 2,000 held-out sequences that are never trained on,
 * and on longer sequences than any it saw (13-20), which shows how its positional encoding
 * generalizes. It writes heatmaps of every layer's and head's attention for one input (a diagonal for
 * copy, an anti-diagonal for reverse) under {@code target/sequence/<task>/} and saves the model in
 * {@code target/sequence/<task>/model}: the committed models under {@code models/} change only when
 * named, {@code --save models/sequence-<task>}.
 *
 * <p>Run: {@code mvn -q test-compile exec:java@sequence -Dexec.args="--task reverse"}; with
 * {@code --pretrained} it loads the committed model {@code models/sequence-<task>} (or {@code --model DIR})
 * and only evaluates. Arguments ({@code key=value} or {@code --key value}) are listed in {@link #DEFAULTS};
 * a bad one ends the program with one line and exit status 2 before anything is written. The last line is
 * {@code RESULT task=... exact_match=... n=... train_seconds=... ...}.
 */
public final class SequenceExample {
    /** Every option with its default. */
    static final Map<String, String> DEFAULTS = defaults();
    /** The input whose attention is drawn (cut to the longest training length). */
    private static final int[] SHOWN = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8};
    /** The held-out set is the same whatever the seed, so a pretrained model is scored on sequences it never saw. */
    private static final long HELD_OUT_SEED = 2026;

    private SequenceExample() {
    }

    private static Map<String, String> defaults() {
        Map<String, String> d = new TreeMap<>();
        d.put("task", "copy");               // copy, reverse or sort
        d.put("pretrained", "false");        // load a model (--model) instead of training
        d.put("seed", "1");                  // weights and training batches
        d.put("minLength", "1");             // training and held-out lengths
        d.put("maxLength", "12");
        d.put("longMaxLength", "20");        // length generalization: maxLength+1 .. this
        d.put("dModel", "64");
        d.put("heads", "4");
        d.put("ff", "256");
        d.put("encoderLayers", "1");
        d.put("decoderLayers", "1");
        d.put("positions", "learned");       // learned, sinusoidal, rope or none
        d.put("batch", "128");
        d.put("lr", "auto");                 // peak learning rate after a linear warm-up; auto: 5e-3, sort 6e-3
        d.put("warmup", "60");
        d.put("schedule", "cosine");         // cosine: down to 0 at the last step; inverse-sqrt: 1/sqrt(step)
        d.put("steps", "auto");              // the most update steps (the cosine ends there); auto: copy 350, reverse 500, sort 700
        d.put("seconds", "60");              // the most CPU seconds of training (wall seconds when idle)
        d.put("evalEvery", "50");            // validate every this many steps, stop once at target
        d.put("validate", "2000");           // validation sequences (training distribution, not held out)
        d.put("target", "none");             // stop early at this validation exact match (none: never)
        d.put("test", "2000");               // held-out sequences
        d.put("long", "500");                // sequences of the longer lengths
        d.put("threads", "auto");            // the engine's worker threads; auto: one per core
        d.put("model", "");                  // what --pretrained loads; empty: models/sequence-<task>; implies --pretrained
        d.put("save", "");                   // where training saves; empty: target/sequence/<task>/model
        d.put("out", "target/sequence");     // heatmaps under target/sequence/<task>/
        return d;
    }

    public static void main(String[] args) throws Exception {
        Cli.main("sequence", args, SequenceExample::run);
    }

    /** The program; every option is checked, and a --pretrained model loaded, before anything is printed or written. */
    public static void run(String[] args) throws IOException {
        Flags o = Flags.parse(args, DEFAULTS);
        SequenceTask task = SequenceTask.parse(o.choice("task", "copy", "reverse", "sort"));
        int minLength = o.integer("minLength", 1), maxLength = o.integer("maxLength", 1);
        Flags.require(maxLength >= minLength, "maxLength", "at least --minLength " + minLength, maxLength);
        int longMax = o.integer("longMaxLength", 1);
        Flags.require(longMax > maxLength, "longMaxLength", "more than --maxLength " + maxLength, longMax);
        long seed = o.seed("seed");
        int threads = o.text("threads").equals("auto") ? Runtime.getRuntime().availableProcessors()
                : o.integer("threads", 1);
        int longCount = o.integer("long", 1);
        SequenceTask.Data data = Flags.valid("--test, --minLength, --maxLength", () -> new SequenceTask.Data(minLength,
                maxLength, o.integer("test", 1), HELD_OUT_SEED));
        boolean pretrained = o.flag("pretrained") || !o.text("model").isEmpty();
        Path modelDir = o.text("model").isEmpty() ? Path.of("models", "sequence-" + task.label()) : o.path("model");
        Path saveDir = o.text("save").isEmpty() ? Path.of("target", "sequence", task.label(), "model") : o.path("save");
        Flags.require(!pretrained || o.text("save").isEmpty(), "save", "no --save with --pretrained or --model (nothing "
                + "is trained)", "'" + o.text("save") + "'");
        Path out = o.path("out").resolve(task.label());

        TransformerModel model;
        Training training;
        if (pretrained) {
            try {
                model = load(modelDir);
                training = Training.read(modelDir);
            } catch (CheckpointException e) {
                throw BadOption.of("model", "a checkpoint this example saved", e.getMessage());
            } catch (IOException e) {
                throw BadOption.of("model", "a checkpoint this example saved, with its " + Training.FILE, modelDir
                        + " (cannot read " + e.getMessage() + ")");
            }
            Flags.require(model.config().maxLen() >= longMax + 2, "longMaxLength", "at most " + (model.config().maxLen()
                    - 2) + ", the longest sequence " + modelDir + " was built for", longMax);
            applyThreads(threads);
            System.out.println("Loaded " + modelDir + " (" + training.summary() + ")");
        } else {
            ModelConfig config = Flags.valid("--dModel, --heads, --ff, --encoderLayers, --decoderLayers, --positions",
                    () -> config(o, longMax + 2));
            Plan plan = Plan.of(task, o);
            applyThreads(threads);
            Nd4j.getRandom().setSeed(seed);
            model = new Seq2SeqTransformer(config);
            System.out.printf(Locale.ROOT, "Training %s: %s, %d parameters%n", task.label(), describe(model.config()),
                    model.parameters().values().stream().mapToLong(v -> v.length()).sum());
            training = train(task, model, data, plan, seed);
            Checkpoint.save(saveDir, model, SequenceTask.VOCABULARY, SequenceTask.VOCABULARY, training.steps(), null);
            training.write(saveDir);
            System.out.println("Saved " + saveDir + " (" + training.summary() + ")");
        }

        long t0 = System.nanoTime();
        SequenceTask.Evaluation test = task.evaluate(model, data.heldOut(), 500, 5);
        List<int[]> longer = SequenceTask.Data.sequences(longCount, maxLength + 1, longMax, HELD_OUT_SEED + 1);
        SequenceTask.Evaluation beyond = task.evaluate(model, longer, 250, 0);
        double evalSeconds = (System.nanoTime() - t0) / 1e9;
        int[] shown = Arrays.copyOf(SHOWN, Math.min(SHOWN.length, maxLength));
        List<Path> pictures = SequenceHeatmaps.write(model, task, shown, out);

        System.out.printf(Locale.ROOT, "Longer than trained (lengths %d-%d): exact match %.4f on %d sequences%n",
                maxLength + 1, longMax, beyond.exactMatch(), beyond.n());
        System.out.printf(Locale.ROOT, "Attention heatmaps: %s (PNG and SVG)%n", pictures.get(0).getParent());
        System.out.printf(Locale.ROOT, "Evaluated in %.1f s. First mistakes on the held-out set:%n", evalSeconds);
        test.mistakes().forEach(m -> System.out.println("   " + m));
        if (test.mistakes().isEmpty()) {
            System.out.println("   (none)");
        }
        System.out.printf(Locale.ROOT, "RESULT task=%s exact_match=%.4f n=%d train_seconds=%.1f train_cpu_seconds=%.1f steps=%d "
                        + "long_exact_match=%.4f long_n=%d positions=%s%n", task.label(), test.exactMatch(), test.n(),
                training.seconds(), training.cpuSeconds(), training.steps(), beyond.exactMatch(), beyond.n(),
                model.config().positions().name().toLowerCase(Locale.ROOT));
    }

    private static TransformerModel load(Path dir) {
        TransformerModel model = Checkpoint.load(dir).model();
        int vocab = SequenceTask.VOCABULARY.size();
        if (!(model instanceof Seq2SeqTransformer) || model.config().sourceVocab() != vocab
                || model.config().targetVocab() != vocab) {
            throw new CheckpointException(dir.resolve(Checkpoint.LATEST) + ": expected an encoder-decoder over the "
                    + vocab + " tokens of the sequence tasks, found " + (model instanceof Seq2SeqTransformer
                    ? "vocabularies of " + model.config().sourceVocab() + " and " + model.config().targetVocab()
                    : "a language model"));
        }
        return model;
    }

    // In-process, so the plain mvn command needs no OMP_NUM_THREADS: OpenMP's spin-waits on busy cores made a
    // step ~10x slower with the default two threads.
    /**
     * {@code threads} workers for the engine, which does the training and decoding; ND4J's own few ops
     * (batches, the optimizer's update) on one OpenMP thread, whose spin-waits would otherwise take the
     * cores the engine's workers need.
     */
    private static void applyThreads(int threads) {
        System.setProperty("attn4j.threads", String.valueOf(threads));
        Nd4j.getEnvironment().setMaxMasterThreads(1);
        Nd4j.getEnvironment().setMaxThreads(1);
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(1);
    }

    /** The model the options describe; positions cover {@code maxLen} tokens (the longest test plus BOS and EOS). */
    static ModelConfig config(Flags o, int maxLen) {
        int vocab = SequenceTask.VOCABULARY.size();
        return ModelConfig.seq2seq(vocab, o.integer("dModel", 1), o.integer("heads", 1), o.integer("ff", 1),
                        o.integer("decoderLayers", 1), maxLen)
                .withEncoderLayers(o.integer("encoderLayers", 1))
                .withPositions(PositionalEncoding.parse(o.choice("positions", "learned", "sinusoidal", "rope", "rotary",
                        "none")));
    }

    private static String describe(ModelConfig c) {
        return String.format(Locale.ROOT, "d=%d, %d heads, ff=%d, %d+%d layers, %s positions", c.dModel(), c.heads(),
                c.ffDim(), c.encoderLayers(), c.decoderLayers(), c.positions().name().toLowerCase(Locale.ROOT));
    }

    /**
     * How a model was trained, saved beside its checkpoint so that {@code --pretrained} can report it.
     *
     * @param seconds    wall-clock seconds of the update steps (validation excluded)
     * @param cpuSeconds CPU seconds the training thread spent on them: the wall time on an idle machine
     * @param validation exact match on the validation sample at the end
     * @param load       the machine's load average when training ended (it shares its cores)
     */
    record Training(int steps, double seconds, double cpuSeconds, double validation, double load) {
        static final String FILE = "training.txt";

        String summary() {
            return String.format(Locale.ROOT, "%d steps, %.1f s of training (%.1f CPU s), validation exact match %.4f, "
                    + "load %.2f", steps, seconds, cpuSeconds, validation, load);
        }

        void write(Path dir) throws IOException {
            Files.writeString(dir.resolve(FILE), String.format(Locale.ROOT, "steps=%d%nseconds=%.1f%ncpu_seconds=%.1f%n"
                    + "validation=%.4f%nload=%.2f%n", steps, seconds, cpuSeconds, validation, load), StandardCharsets.UTF_8);
        }

        static Training read(Path dir) throws IOException {
            Map<String, String> kv = new TreeMap<>();
            for (String line : Files.readAllLines(dir.resolve(FILE), StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    kv.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            return new Training(Integer.parseInt(kv.getOrDefault("steps", "0")),
                    Double.parseDouble(kv.getOrDefault("seconds", "0")),
                    Double.parseDouble(kv.getOrDefault("cpu_seconds", "0")),
                    Double.parseDouble(kv.getOrDefault("validation", "NaN")),
                    Double.parseDouble(kv.getOrDefault("load", "NaN")));
        }
    }

    /** The training options, checked against each other. */
    private record Plan(int steps, int batch, int evalEvery, double budget, double target, ISchedule schedule,
            int validate) {
        static Plan of(SequenceTask task, Flags o) {
            // The fewest steps at which each task reached 99.9% held-out exact match on the engine (reverse
            // 0.9990 at 350 and 0.9995 at 500; sort 0.9985 at 600 and 0.9995 at 700).
            int steps = !o.text("steps").equals("auto") ? o.integer("steps", 1) : switch (task) {
                case COPY -> 350;
                case REVERSE -> 500;
                case SORT -> 700;
            };
            double lr = o.text("lr").equals("auto") ? (task == SequenceTask.SORT ? 6e-3 : 5e-3) : o.real("lr", 0);
            int warmup = o.integer("warmup", 1);
            double target = o.text("target").equals("none") ? Double.NaN : o.real("target", 0);
            Flags.require(Double.isNaN(target) || target <= 1, "target", "none or an exact match in (0, 1]",
                    o.text("target"));
            ISchedule schedule = switch (o.choice("schedule", "cosine", "inverse-sqrt")) {
                case "cosine" -> {
                    Flags.require(steps > warmup, "steps", "more than --warmup " + warmup + " (the cosine schedule "
                            + "decays after the warm-up)", steps);
                    yield Schedules.warmupCosine(lr, warmup, steps, 0);
                }
                default -> Schedules.inverseSqrt(lr, warmup);
            };
            return new Plan(steps, o.integer("batch", 1), o.integer("evalEvery", 1), o.real("seconds", 0), target,
                    schedule, o.integer("validate", 1));
        }
    }

    /**
     * Adam with warm-up, the chosen decay and clipping at 1, on fresh batches, until the step or CPU-time
     * budget is spent or the validation sample reaches the target. Validation time is not training time.
     */
    private static Training train(SequenceTask task, TransformerModel model, SequenceTask.Data data, Plan plan,
            long seed) {
        int steps = plan.steps(), batch = plan.batch(), evalEvery = plan.evalEvery();
        double budget = plan.budget(), target = plan.target();
        ISchedule schedule = plan.schedule();
        Trainer trainer = new Trainer(model, Trainer.Config.adam(schedule).withSeed(seed));
        Random rnd = new Random(seed);
        List<int[]> validation = data.trainingSequences(plan.validate(), new Random(seed + 1));
        ProgressBar bar = new ProgressBar(System.err, steps);
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        double seconds = 0, cpuSeconds = 0, accuracy = Double.NaN;
        int done = 0;
        while (done < steps && cpuSeconds < budget) {
            long t0 = System.nanoTime(), c0 = cpu.getCurrentThreadCpuTime();
            Batch b = task.batch(data.trainingSequences(batch, rnd));
            Trainer.StepResult r = trainer.step(b);
            double s = (System.nanoTime() - t0) / 1e9;
            seconds += s;
            cpuSeconds += (cpu.getCurrentThreadCpuTime() - c0) / 1e9;
            done++;
            bar.update(done, r.loss(), r.tokens() / s, Double.isNaN(accuracy) ? ""
                    : String.format(Locale.ROOT, "validation %.4f", accuracy));
            if (done % evalEvery == 0 || done == steps || cpuSeconds >= budget) {
                accuracy = task.evaluate(model, validation, 500, 0).exactMatch();
                System.err.printf(Locale.ROOT, "%n   step %d: validation exact match %.4f after %.1f s (%.1f CPU s)%n",
                        done, accuracy, seconds, cpuSeconds);
                if (accuracy >= target) {
                    break;
                }
            }
        }
        bar.finish();
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return new Training(done, seconds, cpuSeconds, accuracy, load);
    }
}
