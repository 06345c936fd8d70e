package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * a loop that runs without the workers runs the same ranges, and interrupted workers end without losing a range.
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

    /**
     * What {@code mvn exec:java} does once a program's main returns: it interrupts every thread the program started
     * and waits for each to end (15 s, then it warns and gives up). Idle workers end when interrupted, and the next
     * loop starts new ones; a worker interrupted while loops keep coming (its range posted just as it ended: the
     * caller runs it) loses no index. Workers are found by their thread group: the pool's are started by a thread
     * of a group of their own.
     */
    @Test
    void interruptedWorkersEndAndLaterLoopsStillRunEveryIndexOnce() throws Exception {
        ThreadGroup program = new ThreadGroup("program");
        Parallel pool = new Parallel(3);
        AtomicIntegerArray first = new AtomicIntegerArray(30);
        Thread main = new Thread(program, () -> pool.forRange(30, (from, to) -> {
            for (int i = from; i < to; i++) {
                first.incrementAndGet(i);
            }
        }), "program-main");
        main.start();
        main.join();
        List<Thread> workers = workers(program);
        assertEquals(2, workers.size(), "workers of a 3-thread pool");
        workers.forEach(Thread::interrupt);
        for (Thread w : workers) {
            w.join(2000);
            assertFalse(w.isAlive(), w.getName() + " still runs 2 s after it was interrupted while idle");
        }
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Thread interrupter = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    workers(program).forEach(Thread::interrupt);
                    Thread.onSpinWait();
                }
            });
            interrupter.start();
            try {
                for (int call = 0; call < 400; call++) {
                    int n = 3 + call % 61;
                    AtomicIntegerArray seen = new AtomicIntegerArray(n);
                    Thread caller = new Thread(program, () -> pool.forRange(n, (from, to) -> {
                        for (int i = from; i < to; i++) {
                            seen.incrementAndGet(i);
                        }
                    }));
                    caller.start();
                    caller.join();
                    for (int i = 0; i < n; i++) {
                        assertEquals(1, seen.get(i), "call " + call + ", index " + i + " of " + n);
                    }
                }
            } finally {
                interrupter.interrupt();
                interrupter.join();
            }
        });
    }

    private static List<Thread> workers(ThreadGroup group) {
        Thread[] all = new Thread[group.activeCount() + 8];
        int n = group.enumerate(all);
        return java.util.Arrays.stream(all, 0, n).filter(t -> t.getName().equals("attn4j-fast")).toList();
    }
}
