package org.attn4j.kernels;

import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Splits a loop over {@code [0, n)} into one contiguous range per worker; the calling thread runs the
 * first range. Each worker calls single-threaded OpenBLAS on its own rows, which on this project's
 * 2-core machines beat OpenBLAS's and ND4J's own threads (those spin between calls and then slow the
 * element-wise work that follows: BENCHMARKS.md).
 *
 * <p>Workers poll for their next range for a millisecond before they park ({@link #SPIN_NANOS} says why). One
 * split loop at a time uses the workers: a loop started while another runs (on another thread, or inside one of
 * this pool's ranges) runs on its caller alone, range by range, so that concurrent callers get exactly what they
 * would one at a time.
 *
 * <p>Workers are daemon threads, and an idle worker that is interrupted ends: a program's JVM exits when its
 * {@code main} returns, also under {@code mvn exec:java}, which interrupts the threads its program started and
 * waits for them to end. The next split loop starts a new worker in its place (and a range posted to a worker
 * just as it ended runs on the caller).
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
    private final Worker[] workers; // threads - 1 of them, started on first use
    private final ReentrantLock inUse = new ReentrantLock(); // one split loop at a time uses the workers

    /**
     * How long a worker keeps polling for its next range before it parks, and a caller for its workers before it
     * yields. A training step runs dozens of split loops microseconds apart. With workers that parked between
     * them (an executor's queue), the sequence example's step at two threads was in some runs as slow as at one,
     * as if the two threads took turns on one core (Linux may wake a thread on its waker's core); polling workers
     * were faster and steadier (the figures: BENCHMARKS.md's method section).
     */
    private static final long SPIN_NANOS = 1_000_000;

    /** {@code threads - 1} daemon workers (the caller is the first). */
    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, given " + threads);
        }
        this.threads = threads;
        this.workers = new Worker[threads - 1];
    }

    /** A worker thread: runs the ranges handed to it, polling for the next one before it parks. */
    private static final class Worker extends Thread {
        private volatile long posted, completed; // hand-off numbers: a range is posted, then completed
        private volatile boolean parked, ended;
        private volatile Throwable failure;
        private Range body;
        private int from, to;

        Worker() {
            super("attn4j-fast");
            setDaemon(true);
        }

        /** Hands over [from, to) of body (the caller holds the pool's lock, and this worker is idle). */
        void post(Range body, int from, int to) {
            this.body = body;
            this.from = from;
            this.to = to;
            this.failure = null;
            posted = completed + 1; // publishes the fields above
            if (parked) {
                LockSupport.unpark(this);
            }
        }

        /** Waits for the posted range to finish; its failure, or null. */
        Throwable await() {
            long start = System.nanoTime();
            while (completed != posted) {
                if (ended) { // interrupted while idle, perhaps after the post: the range is the caller's
                    return runHere();
                }
                if (System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
            return failure;
        }

        private Throwable runHere() {
            try {
                body.run(from, to);
                return null;
            } catch (Throwable e) {
                return e;
            } finally {
                body = null;
            }
        }

        @Override
        public void run() {
            // One OpenBLAS thread per worker (an OpenMP build of OpenBLAS keeps it per thread).
            Blas.singleThreaded();
            long done = 0;
            while (true) {
                long start = System.nanoTime();
                while (posted == done) {
                    if (isInterrupted()) { // asked to end (mvn exec:java does, once main returns)
                        ended = true;
                        return;
                    }
                    if (System.nanoTime() - start < SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        parked = true;
                        if (posted == done) { // posted after the flag is set: post unparks it
                            LockSupport.park(this);
                        }
                        parked = false;
                    }
                }
                done = posted;
                try {
                    body.run(from, to);
                } catch (Throwable e) {
                    failure = e;
                }
                body = null;
                completed = done;
            }
        }
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
     * call needs (a forward after two-threaded ops measured up to twice as slow: BENCHMARKS.md's method
     * section). {@code OMP_WAIT_POLICY=passive} in the environment also stops the spinning.
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
        // Another caller's loop has the workers, or this loop runs inside one of this pool's ranges: on this thread,
        // over the same ranges, so that it computes what it would with the workers to the bit (OpenBLAS may round a
        // product of M rows differently from two of M / 2).
        if (inUse.isHeldByCurrentThread() || !inUse.tryLock()) {
            for (int p = 0; p < parts; p++) {
                body.run(split(n, parts, p), split(n, parts, p + 1));
            }
            return;
        }
        Throwable failure = null;
        try {
            for (int p = 1; p < parts; p++) {
                worker(p - 1).post(body, split(n, parts, p), split(n, parts, p + 1));
            }
            try {
                body.run(0, split(n, parts, 1));
            } catch (RuntimeException | Error e) {
                failure = e;
            }
            for (int p = 1; p < parts; p++) {
                Throwable f = workers[p - 1].await();
                failure = failure != null ? failure : f;
            }
        } finally {
            inUse.unlock();
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

    /** Worker i, started on first use and again after it ended (the caller holds the lock). */
    private Worker worker(int i) {
        if (workers[i] == null || workers[i].ended) {
            workers[i] = new Worker();
            workers[i].start();
        }
        return workers[i];
    }

    /** Start of part {@code p} of {@code parts} over {@code [0, n)}. */
    public static int split(int n, int parts, int p) {
        return (int) ((long) n * p / parts);
    }
}
