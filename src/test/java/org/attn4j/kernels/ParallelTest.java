package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The split loop hands ranges to polling workers: every index runs exactly once, a failure in any range reaches
 * the caller, callers on several threads at once and loops inside a range still finish, each with all its indices,
 * and a loop that runs without the workers runs the same ranges.
 */
class ParallelTest {
    @Test
    void everyIndexRunsOnceInEveryCall() {
        Parallel pool = new Parallel(3);
        for (int call = 0; call < 2000; call++) {
            int n = 1 + call % 97;
            AtomicIntegerArray seen = new AtomicIntegerArray(n);
            pool.forRange(n, (from, to) -> {
                for (int i = from; i < to; i++) {
                    seen.incrementAndGet(i);
                }
            });
            for (int i = 0; i < n; i++) {
                assertEquals(1, seen.get(i), "call " + call + ", index " + i + " of " + n);
            }
        }
    }

    /**
     * A loop that cannot have the workers (here: one inside another's range) runs on its caller over the same
     * ranges the workers would have had, so its products (OpenBLAS may round M rows differently from two times
     * M / 2) and with them concurrent callers' results equal one-at-a-time use to the bit.
     */
    @Test
    void aLoopWithoutTheWorkersRunsTheSameRanges() {
        Parallel pool = new Parallel(2);
        List<String> alone = java.util.Collections.synchronizedList(new ArrayList<>());
        pool.forRange(10, 2, (from, to) -> alone.add(from + ".." + to));
        List<String> inside = java.util.Collections.synchronizedList(new ArrayList<>());
        pool.forRange(2, (from, to) -> {
            if (from == 0) {
                pool.forRange(10, 2, (a, b) -> inside.add(a + ".." + b));
            }
        });
        assertEquals(new java.util.TreeSet<>(alone), new java.util.TreeSet<>(inside));
        assertEquals(List.of("0..5", "5..10"), new ArrayList<>(new java.util.TreeSet<>(inside)));
    }

    @Test
    void aFailureInAWorkersRangeReachesTheCallerAndThePoolGoesOn() {
        Parallel pool = new Parallel(2);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.forRange(10, (from, to) -> {
            if (from > 0) {
                throw new IllegalStateException("range " + from + ".." + to);
            }
        }));
        assertEquals("range 5..10", e.getMessage());
        AtomicIntegerArray seen = new AtomicIntegerArray(10);
        pool.forRange(10, (from, to) -> {
            for (int i = from; i < to; i++) {
                seen.incrementAndGet(i);
            }
        });
        for (int i = 0; i < 10; i++) {
            assertEquals(1, seen.get(i), "index " + i + " after the failure");
        }
    }

    @Test
    void callersOnSeveralThreadsAndLoopsInsideARangeFinish() throws Exception {
        Parallel pool = new Parallel(2);
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            ExecutorService callers = Executors.newFixedThreadPool(4);
            try {
                List<Future<Long>> sums = new ArrayList<>();
                for (int c = 0; c < 4; c++) {
                    sums.add(callers.submit(() -> {
                        long total = 0;
                        for (int call = 0; call < 300; call++) {
                            AtomicIntegerArray seen = new AtomicIntegerArray(64);
                            pool.forRange(8, (from, to) -> { // each range runs an inner loop over its 8 indices
                                for (int i = from; i < to; i++) {
                                    int row = i;
                                    pool.forRange(8, (a, b) -> {
                                        for (int j = a; j < b; j++) {
                                            seen.incrementAndGet(row * 8 + j);
                                        }
                                    });
                                }
                            });
                            for (int i = 0; i < 64; i++) {
                                total += seen.get(i);
                            }
                        }
                        return total;
                    }));
                }
                for (Future<Long> s : sums) {
                    assertEquals(300L * 64, s.get(), "every index of every call, once");
                }
            } finally {
                callers.shutdownNow();
            }
        });
    }
}
