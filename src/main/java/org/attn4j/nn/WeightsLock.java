package org.attn4j.nn;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * The rule for using one model (or stand-alone layer) from several threads: any number of threads
 * may read its weights at once (inference and decoding, each call or session with its own state), but
 * changing them (a training step) waits for those and runs alone.
 */
public final class WeightsLock {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    /** Runs a computation that only reads the weights. */
    public <T> T read(Supplier<T> work) {
        lock.readLock().lock();
        try {
            return work.get();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Runs a change to the weights, alone. */
    public <T> T write(Supplier<T> work) {
        lock.writeLock().lock();
        try {
            return work.get();
        } finally {
            lock.writeLock().unlock();
        }
    }
}
