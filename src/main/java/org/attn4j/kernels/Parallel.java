package org.attn4j.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Splits a loop over {@code [0, n)} into one contiguous range per worker; the calling thread runs the
 * first range. Each worker calls single-threaded OpenBLAS on its own rows, which on this project's
 * 2-core machines beat OpenBLAS's and ND4J's own threads (those spin between calls and then slow the
 * element-wise work that follows: BENCHMARKS.md).
 *
 * <p>The thread count is the system property {@code attn4j.threads}, else ND4J's own thread count
 * ({@code OMP_NUM_THREADS}, or the number of processors when it is not set).
 */
public final class Parallel {
    /** Body of a split loop: handles {@code [from, to)}. */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    private static volatile Parallel shared;

    private final int threads;
    private final ExecutorService pool;

    /** A pool of {@code threads - 1} daemon workers (the caller is the first worker). */
    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, given " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(() -> {
                // One OpenBLAS thread per worker (an OpenMP build of OpenBLAS keeps it per thread).
                Blas.singleThreaded();
                r.run();
            }, "attn4j-fast");
            t.setDaemon(true);
            return t;
        });
    }

    /** The process-wide pool, sized as described above. */
    public static Parallel shared() {
        Parallel p = shared;
        if (p == null) {
            synchronized (Parallel.class) {
                if (shared == null) {
                    shared = new Parallel(defaultThreads());
                }
                p = shared;
            }
        }
        return p;
    }

    /**
     * Runs {@code r} with ND4J's OpenMP thread count 1 on this thread (a per-thread OpenMP setting), then
     * restores it. For ND4J work between fast-path calls (a loss and its gradient, say): with more
     * OpenMP threads, they keep spinning for milliseconds after each op, on the cores the next fast-path
     * call needs (measured: a standard-size forward 13 ms after single-threaded ops, up to 25 ms after
     * two-threaded ones). {@code OMP_WAIT_POLICY=passive} in the environment also stops the spinning.
     */
    public static void singleThreadedNd4j(Runnable r) {
        org.nd4j.nativeblas.NativeOps ops = org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps();
        int saved = ops.ompGetMaxThreads();
        ops.setOmpNumThreads(1);
        try {
            r.run();
        } finally {
            ops.setOmpNumThreads(saved);
        }
    }

    public static int defaultThreads() {
        String s = System.getProperty("attn4j.threads");
        if (s == null || s.isBlank()) {
            return Math.max(1, org.nd4j.linalg.factory.Nd4j.getEnvironment().maxThreads());
        }
        try {
            return Math.max(1, Integer.parseInt(s.trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("attn4j.threads must be a whole number, given '" + s + "'", e);
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code body} over {@code [0, n)} split into at most {@link #threads()} ranges; waits for all. */
    public void forRange(int n, Range body) {
        forRange(n, 1, body);
    }

    /**
     * As {@link #forRange(int, Range)}, with at least {@code grain} indices per range: small loops run
     * on the calling thread alone, where a hand-off to a worker would cost more than it saves.
     */
    public void forRange(int n, int grain, Range body) {
        int parts = Math.min(threads, Math.max(1, n / Math.max(1, grain)));
        if (parts <= 1) {
            body.run(0, n);
            return;
        }
        List<Future<?>> others = new ArrayList<>(parts - 1);
        for (int p = 1; p < parts; p++) {
            int from = split(n, parts, p), to = split(n, parts, p + 1);
            others.add(pool.submit(() -> body.run(from, to)));
        }
        Throwable failure = null;
        try {
            body.run(0, split(n, parts, 1));
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        for (Future<?> f : others) {
            try {
                f.get();
            } catch (ExecutionException e) {
                failure = failure != null ? failure : e.getCause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failure = failure != null ? failure : e;
            }
        }
        if (failure instanceof RuntimeException r) {
            throw r;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        if (failure != null) {
            throw new IllegalStateException(failure);
        }
    }

    /** Start of part {@code p} of {@code parts} over {@code [0, n)}. */
    public static int split(int n, int parts, int p) {
        return (int) ((long) n * p / parts);
    }
}
