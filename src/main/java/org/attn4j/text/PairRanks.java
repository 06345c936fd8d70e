package org.attn4j.text;

import java.util.Arrays;

/**
 * Open addressing from a pair of token ids, packed into one long, to its merge rank: the lookup at the heart of BPE,
 * made without boxing or hashing objects. Key and rank sit side by side in one array, so that a lookup (mostly a
 * cache miss: the table is 2 MB for GPT-2) touches one cache line, not one in a key array and one in a value array.
 */
final class PairRanks {
    private static final long EMPTY = -1L;

    private final long[] table;     // [2 * slots] key, rank, key, rank...
    private final int mask;         // slots - 1

    PairRanks(int expected) {
        int slots = Integer.highestOneBit(Math.max(4, expected * 2)) * 2;
        table = new long[2 * slots];
        Arrays.fill(table, EMPTY);
        mask = slots - 1;
    }

    /** Sets the pair's rank (a repeated pair keeps its last rank, as HF's map does). */
    void put(int a, int b, int rank) {
        long key = key(a, b);
        int i = slot(key);
        while (table[2 * i] != EMPTY && table[2 * i] != key) {
            i = (i + 1) & mask;
        }
        table[2 * i] = key;
        table[2 * i + 1] = rank;
    }

    /** The pair's rank, or -1 when it has no merge. */
    int get(int a, int b) {
        long key = key(a, b);
        for (int i = slot(key); table[2 * i] != EMPTY; i = (i + 1) & mask) {
            if (table[2 * i] == key) {
                return (int) table[2 * i + 1];
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
