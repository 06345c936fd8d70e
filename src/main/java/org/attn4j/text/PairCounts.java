package org.attn4j.text;

import java.util.Arrays;

/**
 * Open addressing from a pair of token ids, packed into one long, to a count: the trainer updates counts millions of
 * times, and a {@code HashMap<Long, Long>} would allocate a boxed key and value for each update.
 */
final class PairCounts {
    private static final long EMPTY = -1L; // no pair of non-negative ids packs to this

    private long[] table = emptyTable(1024); // [2 * slots] pair, count, pair, count...
    private int size;

    /** The pair's count, 0 when it was never added. */
    long get(long pair) {
        int mask = table.length / 2 - 1;
        for (int i = slot(pair, mask); table[2 * i] != EMPTY; i = (i + 1) & mask) {
            if (table[2 * i] == pair) {
                return table[2 * i + 1];
            }
        }
        return 0;
    }

    /** Adds {@code delta} to the pair's count. */
    void add(long pair, long delta) {
        if (2 * (size + 1) > table.length / 2) { // at most half the slots in use
            grow();
        }
        int mask = table.length / 2 - 1;
        int i = slot(pair, mask);
        while (table[2 * i] != EMPTY && table[2 * i] != pair) {
            i = (i + 1) & mask;
        }
        if (table[2 * i] == EMPTY) {
            table[2 * i] = pair;
            table[2 * i + 1] = 0;
            size++;
        }
        table[2 * i + 1] += delta;
    }

    private void grow() {
        long[] old = table;
        table = emptyTable(old.length); // twice the slots: two longs each
        int mask = table.length / 2 - 1;
        for (int j = 0; j < old.length; j += 2) {
            if (old[j] != EMPTY) {
                int i = slot(old[j], mask);
                while (table[2 * i] != EMPTY) {
                    i = (i + 1) & mask;
                }
                table[2 * i] = old[j];
                table[2 * i + 1] = old[j + 1];
            }
        }
    }

    private static long[] emptyTable(int slots) {
        long[] t = new long[2 * slots];
        Arrays.fill(t, EMPTY);
        return t;
    }

    private static int slot(long pair, int mask) {
        return (int) ((pair * 0x9E3779B97F4A7C15L) >>> 32) & mask;
    }
}
