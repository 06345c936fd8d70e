package org.attn4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.schedule.ISchedule;

/** The schedules give their formulas' values, worked out by hand. */
class SchedulesTest {
    @Test
    void inverseSqrtWarmsUpLinearlyThenDecays() {
        ISchedule s = Schedules.inverseSqrt(5e-3, 200);
        assertEquals(5e-3 / 200, s.valueAt(0, 0), 1e-18, "step 0 is 1/200 of the peak");
        assertEquals(5e-3 * 100 / 200, s.valueAt(99, 0), 1e-18);
        assertEquals(5e-3, s.valueAt(199, 0), 1e-18, "the peak at the end of warmup");
        assertEquals(5e-3 * Math.sqrt(200.0 / 800), s.valueAt(799, 0), 1e-18, "half the peak at 4x warmup");
        assertEquals(2.5e-3, s.valueAt(799, 0), 1e-15);
    }

    @Test
    void originalTransformerScheduleIsASpecialCase() {
        int d = 512, warmup = 4000;
        ISchedule s = Schedules.inverseSqrt(Math.pow(d, -0.5) * Math.pow(warmup, -0.5), warmup);
        for (int step : new int[] {1, 100, 3999, 4000, 10_000, 100_000}) {
            double vaswani = Math.pow(d, -0.5) * Math.min(Math.pow(step, -0.5), step * Math.pow(warmup, -1.5));
            assertEquals(vaswani, s.valueAt(step - 1, 0), 1e-15, "Vaswani et al. eq. 3 at step " + step);
        }
    }

    @Test
    void warmupCosineReachesTheFloor() {
        ISchedule s = Schedules.warmupCosine(1e-3, 10, 110, 1e-5);
        assertEquals(1e-4, s.valueAt(0, 0), 1e-18);
        assertEquals(1e-3, s.valueAt(9, 0), 1e-18);
        assertEquals(1e-3, s.valueAt(10, 0), 1e-18, "cosine starts at the peak");
        assertEquals(1e-5 + (1e-3 - 1e-5) * 0.5, s.valueAt(60, 0), 1e-15, "halfway down at the middle");
        assertEquals(1e-5, s.valueAt(110, 0), 1e-18);
        assertEquals(1e-5, s.valueAt(500, 0), 1e-18, "floor after the end");
        assertThrows(IllegalArgumentException.class, () -> Schedules.warmupCosine(1e-3, 10, 5, 0));
    }
}
