package org.attn4j.examples.shakespeare;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.attn4j.io.Checkpoint;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.TransformerModel;
import org.attn4j.train.ProgressBar;
import org.attn4j.train.Trainer;

/**
 * The training loop of the example: one update per step on that step's batch, the mean loss over the fixed
 * evaluation batches of both splits every {@code evalEvery} steps (and before the first), and a checkpoint
 * every {@code checkpointEvery} steps that a later run continues from.
 *
 * <p>A checkpoint directory holds the trainer's checkpoint ({@link Checkpoint}: weights, optimizer state,
 * step) and {@code log.txt}: the options the run was started with and every loss so far. The log is replaced
 * atomically before the checkpoint, so whichever the last completed save was, the log covers at least its
 * steps; rows after the checkpoint's step are dropped on resume (they will be recomputed, identically).
 */
final class TrainingRun {
    static final String LOG = "log.txt";

    /** The losses of a run, and the wall time it has taken. */
    static final class Log {
        final String options; // the training options, which a resumed run must repeat
        final List<double[]> steps = new ArrayList<>(); // {step, loss}, step 1-based
        final List<double[]> evals = new ArrayList<>(); // {steps done, train loss, validation loss}
        double seconds, stepSeconds; // wall time of the loop (evaluation included) and of the updates alone

        Log(String options) {
            this.options = options;
        }

        double[] lastEval() {
            return evals.get(evals.size() - 1);
        }

        void write(Path dir) throws IOException {
            StringBuilder sb = new StringBuilder("options " + options + "\n");
            sb.append(String.format(Locale.ROOT, "seconds %.3f %.3f%n", seconds, stepSeconds));
            steps.forEach(s -> sb.append(String.format(Locale.ROOT, "loss %d %.6f%n", (int) s[0], s[1])));
            evals.forEach(e -> sb.append(String.format(Locale.ROOT, "eval %d %.6f %.6f%n", (int) e[0], e[1], e[2])));
            Path tmp = dir.resolve(LOG + ".tmp");
            Files.writeString(tmp, sb, StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve(LOG), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }

        /** The log in {@code dir}, keeping what happened up to {@code step} (steps done). */
        static Log read(Path dir, int step) throws IOException {
            List<String> lines = Files.readAllLines(dir.resolve(LOG), StandardCharsets.UTF_8);
            Log log = new Log(lines.get(0).substring("options ".length()));
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "seconds" -> {
                        log.seconds = Double.parseDouble(f[1]);
                        log.stepSeconds = Double.parseDouble(f[2]);
                    }
                    case "loss" -> {
                        if (Integer.parseInt(f[1]) <= step) {
                            log.steps.add(new double[] {Integer.parseInt(f[1]), Double.parseDouble(f[2])});
                        }
                    }
                    case "eval" -> {
                        if (Integer.parseInt(f[1]) <= step) {
                            log.evals.add(new double[] {Integer.parseInt(f[1]), Double.parseDouble(f[2]),
                                Double.parseDouble(f[3])});
                        }
                    }
                    default -> throw new IOException(dir.resolve(LOG) + ": unexpected line '" + line + "'");
                }
            }
            return log;
        }
    }

    /**
     * @param steps           total update steps (the schedule's length)
     * @param evalEvery       evaluate every this many steps
     * @param evalBatches     fixed batches per split in an evaluation
     * @param checkpointEvery save a checkpoint every this many steps (0: never)
     */
    record Plan(int steps, int batch, int context, long seed, int evalEvery, int evalBatches, int checkpointEvery) {
    }

    private final CharText text;
    private final Plan plan;
    private final Path checkpoints;

    TrainingRun(CharText text, Plan plan, Path checkpoints) {
        this.text = text;
        this.plan = plan;
        this.checkpoints = checkpoints;
    }

    /** Whether {@code dir} holds a checkpoint to resume from. */
    static boolean hasCheckpoint(Path dir) {
        return Files.exists(dir.resolve(Checkpoint.LATEST)) && Files.exists(dir.resolve(LOG));
    }

    /** Mean loss over the split's fixed evaluation batches. */
    static double evaluate(Trainer trainer, CharText text, boolean validation, int batches, int batch, int context) {
        double sum = 0;
        for (int i = 0; i < batches; i++) {
            sum += trainer.evaluateLoss(text.evaluationBatch(validation, i, batch, context));
        }
        return sum / batches;
    }

    /** Trains {@code trainer} from its current step to {@code plan.steps()}, appending to {@code log}. */
    void train(Trainer trainer, Log log, PrintStream progress) throws IOException {
        ProgressBar bar = new ProgressBar(progress, plan.steps());
        long start = System.nanoTime();
        double before = log.seconds;
        if (trainer.stepCount() == 0) {
            evaluate(trainer, log, progress);
        }
        while (trainer.stepCount() < plan.steps()) {
            long t0 = System.nanoTime();
            Trainer.StepResult r = trainer.step(text.trainingBatch(plan.seed(), trainer.stepCount(), plan.batch(),
                    plan.context()));
            double seconds = (System.nanoTime() - t0) / 1e9;
            log.stepSeconds += seconds;
            int done = trainer.stepCount();
            log.steps.add(new double[] {done, r.loss()});
            double[] last = log.evals.isEmpty() ? null : log.lastEval();
            bar.update(done, r.loss(), r.tokens() / seconds, last == null ? ""
                    : String.format(Locale.ROOT, "val %.4f @%d", last[2], (int) last[0]));
            if (done % plan.evalEvery() == 0 || done == plan.steps()) {
                evaluate(trainer, log, progress);
            }
            log.seconds = before + (System.nanoTime() - start) / 1e9;
            if (plan.checkpointEvery() > 0 && done % plan.checkpointEvery() == 0 && done < plan.steps()) {
                save(trainer, log);
            }
        }
        bar.finish();
        log.seconds = before + (System.nanoTime() - start) / 1e9;
    }

    private void evaluate(Trainer trainer, Log log, PrintStream progress) {
        double train = evaluate(trainer, text, false, plan.evalBatches(), plan.batch(), plan.context());
        double validation = evaluate(trainer, text, true, plan.evalBatches(), plan.batch(), plan.context());
        log.evals.add(new double[] {trainer.stepCount(), train, validation});
        progress.printf(Locale.ROOT, "%n   step %d: train loss %.4f, validation loss %.4f (%d batches each)%n",
                trainer.stepCount(), train, validation, plan.evalBatches());
    }

    private void save(Trainer trainer, Log log) throws IOException {
        Files.createDirectories(checkpoints);
        log.write(checkpoints);
        Checkpoint.save(checkpoints, trainer.model(), null, null, trainer.stepCount(), trainer.optimizerState());
    }

    /** The model and trainer state of the checkpoint in {@code dir}. */
    record Resumed(LanguageModel model, int step, java.util.Map<String, org.nd4j.linalg.api.ndarray.INDArray> state) {
        static Resumed load(Path dir) {
            Checkpoint.Loaded c = Checkpoint.load(dir);
            TransformerModel m = c.model();
            return new Resumed((LanguageModel) m, c.step(), c.optimizerState());
        }
    }
}
