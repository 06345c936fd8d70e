package org.attn4j.text;

import java.util.Arrays;

/**
 * Open addressing from a pair of token ids, packed into one long, to its merge rank: the lookup at the heart of BPE,
 * made without boxing or hashing objects.
 */
final class PairRanks {
    private static final long EMPTY = -1L;

    private final long[] keys;
    private final int[] values;
    private final int mask;

    PairRanks(int expected) {
        int cap = Integer.highestOneBit(Math.max(4, expected * 2)) * 2;
        keys = new long[cap];
        values = new int[cap];
        Arrays.fill(keys, EMPTY);
        mask = cap - 1;
    }

    /** Sets the pair's rank (a repeated pair keeps its last rank, as HF's map does). */
    void put(int a, int b, int rank) {
        long key = key(a, b);
        int i = slot(key);
        while (keys[i] != EMPTY && keys[i] != key) {
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = rank;
    }

    /** The pair's rank, or -1 when it has no merge. */
    int get(int a, int b) {
        long key = key(a, b);
        for (int i = slot(key); keys[i] != EMPTY; i = (i + 1) & mask) {
            if (keys[i] == key) {
                return values[i];
            }
        }
        return -1;
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }
}
