package org.attn4j.testing;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A threading test that can fail: the same calls sequentially and then from several threads released together by
 * a barrier, many times over, compared bit for bit; it counts the pairs of calls on different threads that ran at
 * the same time, prints the count and fails if there were none (a run without overlap proves nothing).
 */
public final class ConcurrentCalls {
    private ConcurrentCalls() {
    }

    /**
     * Runs {@code run} on each input sequentially, then {@code rounds} times over all inputs from {@code threads}
     * threads (call i on input i mod n, thread i mod threads), and fails unless every concurrent call returns the
     * sequential call's arrays to the bit, in the same number.
     *
     * @return how many pairs of calls on different threads overlapped in time
     */
    public static <I> long assertSameAsSequential(String what, int threads, int rounds, List<I> inputs,
            Function<I, List<INDArray>> run) throws Exception {
        List<List<INDArray>> sequential = new ArrayList<>();
        for (I in : inputs) {
            sequential.add(run.apply(in));
        }
        int calls = rounds * inputs.size();
        long[] start = new long[calls], end = new long[calls];
        List<List<List<INDArray>>> byThread = new ArrayList<>();
        CyclicBarrier go = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<List<List<INDArray>>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    List<List<INDArray>> mine = new ArrayList<>();
                    go.await();
                    for (int i = thread; i < calls; i += threads) {
                        start[i] = System.nanoTime();
                        mine.add(run.apply(inputs.get(i % inputs.size())));
                        end[i] = System.nanoTime();
                    }
                    return mine;
                }));
            }
            for (Future<List<List<INDArray>>> f : futures) {
                byThread.add(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        for (int i = 0; i < calls; i++) { // read after every call has finished
            List<INDArray> expected = sequential.get(i % inputs.size()), actual = byThread.get(i % threads).get(i / threads);
            assertEquals(expected.size(), actual.size(), what + ", call " + i + ": number of results");
            for (int j = 0; j < expected.size(); j++) {
                assertSameBits(what + ", call " + i + " (input " + i % inputs.size() + "), result " + j,
                        expected.get(j), actual.get(j));
            }
        }
        long overlapping = 0, pairs = 0;
        for (int i = 0; i < calls; i++) {
            for (int k = i + 1; k < calls; k++) {
                if (i % threads != k % threads) {
                    pairs++;
                    if (start[i] < end[k] && start[k] < end[i]) {
                        overlapping++;
                    }
                }
            }
        }
        System.out.printf("%s: %d calls on %d threads, %d of %d pairs on different threads overlapped in time%n",
                what, calls, threads, overlapping, pairs);
        assertTrue(overlapping > 0, what + ": no two of " + calls + " calls on " + threads + " threads ran at once");
        return overlapping;
    }
}
