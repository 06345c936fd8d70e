package org.attn4j.text;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The ids of words already merged, looked up by a range of the text being encoded, so that a hit copies nothing:
 * most words of a text are hits (1 MiB of Shakespeare has 279k words, 15k of them distinct), and a substring and its
 * hash per word would cost more than the lookup itself.
 *
 * <p>Open addressing with linear probing. Each slot is one int array, {@code [hash, length, chars..., ids...]}, so
 * a hit reads one array beside the text rather than following an entry, a string and its bytes around the heap.
 * Safe for concurrent use without a lock on the read side: a slot is filled before it is stored with release
 * semantics and read with acquire semantics (plain moves on x86), so a reader sees no slot or a complete one, and a
 * slot it misses only means the word is merged again. Writers take the lock; the table is replaced, never resized
 * in place, and kept at most half full, so a probe always ends at an empty slot.
 */
final class WordCache {
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(int[][].class);
    private static final int HASH = 0;
    private static final int LENGTH = 1;
    private static final int CHARS = 2;

    private final int maxWordLength;
    private final int maxEntries;
    private volatile int[][] table = new int[1 << 15][]; // 1 MiB of English (15k words) fits without growing
    private int size;                      // guarded by this

    /**
     * @param maxWordLength longer words are not cached (rare, and they would crowd the cache)
     * @param maxEntries    words beyond this many are merged every time they occur, as HF's cache does when full
     */
    WordCache(int maxWordLength, int maxEntries) {
        this.maxWordLength = maxWordLength;
        this.maxEntries = maxEntries;
    }

    /** Appends the ids cached for the word {@code text[start, end)} to {@code out}; false when it has none. */
    boolean appendIds(String text, int start, int end, IntList out) {
        int hash = hash(text, start, end);
        int[][] t = table;
        int mask = t.length - 1;
        for (int i = hash & mask; ; i = (i + 1) & mask) {
            int[] slot = (int[]) SLOTS.getAcquire(t, i);
            if (slot == null) {
                return false;
            }
            if (holds(slot, hash, text, start, end)) {
                int ids = CHARS + slot[LENGTH];
                out.addAll(slot, ids, slot.length - ids);
                return true;
            }
        }
    }

    /** Caches the ids of the word {@code text[start, end)}. */
    synchronized void put(String text, int start, int end, int[] ids) {
        int length = end - start;
        if (length > maxWordLength || size >= maxEntries) {
            return;
        }
        if (2 * (size + 1) > table.length) {
            table = grown(table);
        }
        int hash = hash(text, start, end);
        int[][] t = table;
        int mask = t.length - 1;
        int i = hash & mask;
        for (; t[i] != null; i = (i + 1) & mask) {
            if (holds(t[i], hash, text, start, end)) {
                return; // another thread cached it first
            }
        }
        int[] slot = new int[CHARS + length + ids.length];
        slot[HASH] = hash;
        slot[LENGTH] = length;
        for (int k = 0; k < length; k++) {
            slot[CHARS + k] = text.charAt(start + k);
        }
        System.arraycopy(ids, 0, slot, CHARS + length, ids.length);
        SLOTS.setRelease(t, i, slot);
        size++;
    }

    private static boolean holds(int[] slot, int hash, String text, int start, int end) {
        if (slot[HASH] != hash || slot[LENGTH] != end - start) {
            return false;
        }
        for (int k = start, j = CHARS; k < end; k++, j++) {
            if (slot[j] != text.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private static int[][] grown(int[][] old) {
        int[][] t = new int[old.length * 2][];
        int mask = t.length - 1;
        for (int[] slot : old) {
            if (slot != null) {
                int i = slot[HASH] & mask;
                while (t[i] != null) {
                    i = (i + 1) & mask;
                }
                t[i] = slot;
            }
        }
        return t;
    }

    /** String's polynomial hash of the range, then mixed: linear probing needs the low bits to vary. */
    private static int hash(String text, int start, int end) {
        int h = 0;
        for (int i = start; i < end; i++) {
            h = 31 * h + text.charAt(i);
        }
        h *= 0x9E3779B9;
        return h ^ (h >>> 16);
    }
}
