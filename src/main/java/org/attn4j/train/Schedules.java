package org.attn4j.train;

import org.nd4j.linalg.schedule.ISchedule;

/** Learning-rate schedules as ND4J {@link ISchedule}s, indexed by update step (0-based). */
public final class Schedules {
    private Schedules() {
    }

    /**
     * Linear warmup to {@code peak} over {@code warmup} steps, then decay as the inverse square root
     * of the step: {@code peak * min((s+1)/w, sqrt(w/(s+1)))}. With {@code peak = d^-0.5 w^-0.5}
     * this is the original Transformer's schedule (Vaswani et al. 2017, eq. 3).
     */
    public static ISchedule inverseSqrt(double peak, int warmup) {
        check(peak, warmup);
        return new Schedule("inverse-sqrt", s -> peak * Math.min((s + 1.0) / warmup, Math.sqrt((double) warmup / (s + 1))));
    }

    /**
     * Linear warmup to {@code peak} over {@code warmup} steps, then a half cosine down to
     * {@code floor} at step {@code total}, and {@code floor} after.
     */
    public static ISchedule warmupCosine(double peak, int warmup, int total, double floor) {
        check(peak, warmup);
        if (total <= warmup || floor < 0 || floor > peak) {
            throw new IllegalArgumentException("warmup-cosine needs total > warmup and 0 <= floor <= peak, got warmup="
                    + warmup + ", total=" + total + ", floor=" + floor + ", peak=" + peak);
        }
        return new Schedule("warmup-cosine", s -> {
            if (s < warmup) {
                return peak * (s + 1.0) / warmup;
            }
            double progress = Math.min(1.0, (double) (s - warmup) / (total - warmup));
            return floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
        });
    }

    /** A constant learning rate. */
    public static ISchedule constant(double value) {
        check(value, 1);
        return new Schedule("constant", s -> value);
    }

    private static void check(double peak, int warmup) {
        if (!(peak > 0 && Double.isFinite(peak)) || warmup <= 0) {
            throw new IllegalArgumentException("a schedule needs a positive learning rate and warmup, got "
                    + peak + " and " + warmup);
        }
    }

    /** A function of the step that Java serialization can ship (schedules travel to Spark executors). */
    private interface StepFunction extends java.util.function.IntToDoubleFunction, java.io.Serializable {
    }

    /** A schedule defined by a function of the step. */
    private record Schedule(String name, StepFunction f) implements ISchedule {
        @Override
        public double valueAt(int iteration, int epoch) {
            return f.applyAsDouble(iteration);
        }

        @Override
        public ISchedule clone() {
            return this;
        }
    }
}
