package org.attn4j.nn;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * The rule for using one model (or stand-alone layer) from several threads: any number of threads
 * may run its graph at once (SameDiff keeps one inference session per thread), but adding to the
 * graph (a lazily built decoding graph, a loss) or changing its weights (a training step) waits for
 * them and runs alone; adding ops while another thread runs the graph would corrupt SameDiff's maps.
 */
public final class GraphLock {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    /** Runs a computation that only reads the graph and its weights. */
    public <T> T read(Supplier<T> work) {
        lock.readLock().lock();
        try {
            return work.get();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Runs a change to the graph or its weights, alone. */
    public <T> T write(Supplier<T> work) {
        lock.writeLock().lock();
        try {
            return work.get();
        } finally {
            lock.writeLock().unlock();
        }
    }
}
