package org.attn4j.train;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.IntFunction;
import java.util.function.ToDoubleFunction;
import org.attn4j.data.Batch;
import org.attn4j.model.TransformerModel;

/**
 * Runs a {@link Trainer} for a number of steps with a progress bar, periodic evaluation, early
 * stopping on the validation metric, checkpoints of the best model, and a {@link History}.
 */
public final class TrainingLoop {
    /**
     * @param steps          the most update steps
     * @param evalEvery      evaluate (and checkpoint) every this many steps
     * @param patience       stop after this many evaluations without improvement (0: never stop early)
     * @param higherIsBetter whether a larger metric is better (accuracy) or a smaller one (loss)
     * @param target         stop as soon as the metric reaches this (NaN: no target)
     * @param progress       where the progress bar goes (null: none)
     */
    public record Options(int steps, int evalEvery, int patience, boolean higherIsBetter, double target,
            PrintStream progress) {
        public Options {
            if (steps < 1 || evalEvery < 1 || patience < 0) {
                throw new IllegalArgumentException("steps and evalEvery must be >= 1 and patience >= 0, got " + steps
                        + ", " + evalEvery + ", " + patience);
            }
        }

        /**
         * {@code steps} steps, evaluating every {@code evalEvery}, a metric where higher is better (accuracy), no
         * early stop, no target, no progress bar; change one setting at a time with the {@code with…} methods.
         */
        public static Options of(int steps, int evalEvery) {
            return new Options(steps, evalEvery, 0, true, Double.NaN, null);
        }

        public Options withSteps(int v) {
            return new Options(v, evalEvery, patience, higherIsBetter, target, progress);
        }

        public Options withEvalEvery(int v) {
            return new Options(steps, v, patience, higherIsBetter, target, progress);
        }

        /** Stop after {@code v} evaluations without improvement (0: never). */
        public Options withPatience(int v) {
            return new Options(steps, evalEvery, v, higherIsBetter, target, progress);
        }

        /** Whether a larger metric is better (accuracy: true) or a smaller one (loss: false). */
        public Options withHigherIsBetter(boolean v) {
            return new Options(steps, evalEvery, patience, v, target, progress);
        }

        /** Stop as soon as the metric reaches {@code v} (NaN: no target). */
        public Options withTarget(double v) {
            return new Options(steps, evalEvery, patience, higherIsBetter, v, progress);
        }

        /** Where the progress bar goes (null: none). */
        public Options withProgress(PrintStream v) {
            return new Options(steps, evalEvery, patience, higherIsBetter, target, v);
        }
    }

    /** Saves a checkpoint of the trainer's state and says where. */
    @FunctionalInterface
    public interface Checkpointer {
        String save(Trainer trainer);
    }

    /**
     * @param bestStep     the step after which the best metric was measured (-1 without evaluation)
     * @param stoppedEarly whether patience or the target ended the run
     */
    public record Outcome(int steps, double bestMetric, int bestStep, boolean stoppedEarly, History history,
            double trainSeconds) {
    }

    private TrainingLoop() {
    }

    /**
     * @param batches     the batch of each step (the same step must give the same batch, for resuming)
     * @param metric      the validation metric of the model, or null for none
     * @param checkpoints where to save when the metric improves (every evaluation without a metric), or null
     * @throws TrainingDivergedException on NaN or infinity, naming the last good checkpoint
     */
    public static Outcome run(Trainer trainer, IntFunction<Batch> batches, ToDoubleFunction<TransformerModel> metric,
            Options options, Checkpointer checkpoints) {
        History history = new History();
        ProgressBar bar = options.progress() == null ? null : new ProgressBar(options.progress(), options.steps());
        double best = Double.NaN;
        int bestStep = -1, sinceBest = 0;
        String lastSaved = null;
        double trainSeconds = 0;
        boolean early = false;
        int start = trainer.stepCount();
        try {
            for (int done = 1; trainer.stepCount() < start + options.steps(); done++) {
                long t0 = System.nanoTime();
                Trainer.StepResult r = trainer.step(batches.apply(trainer.stepCount()));
                double seconds = (System.nanoTime() - t0) / 1e9;
                trainSeconds += seconds;
                history.add(new History.Row(r.step(), r.loss(), r.learningRate(), r.gradNorm(), r.tokens() / seconds,
                        trainSeconds, Double.NaN));
                String note = Double.isNaN(best) ? "" : String.format(Locale.ROOT, "best %.4f", best);
                if (bar != null) {
                    bar.update(done, r.loss(), r.tokens() / seconds, note);
                }
                if (done % options.evalEvery() != 0 && done != options.steps()) {
                    continue;
                }
                if (metric == null) {
                    lastSaved = checkpoints == null ? lastSaved : checkpoints.save(trainer);
                    continue;
                }
                double m = metric.applyAsDouble(trainer.model());
                history.setMetric(m);
                boolean better = Double.isNaN(best) || (options.higherIsBetter() ? m > best : m < best);
                if (better) {
                    best = m;
                    bestStep = r.step();
                    sinceBest = 0;
                    lastSaved = checkpoints == null ? lastSaved : checkpoints.save(trainer);
                } else {
                    sinceBest++;
                }
                boolean reached = !Double.isNaN(options.target())
                        && (options.higherIsBetter() ? m >= options.target() : m <= options.target());
                if (reached || (options.patience() > 0 && sinceBest >= options.patience())) {
                    early = true;
                    break;
                }
            }
        } catch (TrainingDivergedException e) {
            throw new TrainingDivergedException(e.getMessage() + (lastSaved == null ? "; no checkpoint was saved"
                    : "; the last good checkpoint is " + lastSaved));
        } finally {
            if (bar != null) {
                bar.finish();
            }
        }
        return new Outcome(trainer.stepCount() - start, best, bestStep, early, history, trainSeconds);
    }
}
