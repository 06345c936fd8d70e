package org.attn4j.text;

import java.util.Arrays;

/**
 * BPE's merge loop over the symbols of one word, as HF's {@code Word::merge_all}: the adjacent pair of lowest
 * rank is merged, the leftmost among equal ranks, until no pair has a merge.
 *
 * <p>HF keeps a heap of (rank, position) entries and skips an entry whose pair has changed since it was queued,
 * unless the pair now there merges into the same token. Two different pairs at one position always spell different
 * strings (the later one is longer: symbols only grow), so when distinct strings have distinct ids that exception
 * never applies, and the heap pops exactly what a scan for the lowest (rank, position) finds. Most words have a few
 * symbols (English: 7 on average), where such a scan over a plain int array is several times faster than a heap;
 * long words, and vocabularies where two strings share an id, take the heap.
 */
final class Merges {
    /** Words with more symbols than this use the heap: a scan costs O(symbols^2). */
    private static final int SCAN_MAX_SYMBOLS = 48;
    private static final int NO_MERGE = Integer.MAX_VALUE;

    private final int[] result;      // [merges] id of the token merge rank r makes
    private final PairRanks ranks;
    private final boolean scanIsExact;

    /**
     * @param result          the merged token's id for each rank
     * @param ranks           the rank of each pair that has a merge
     * @param idsAreDistinct  whether distinct, non-empty token strings have distinct ids (see the class comment)
     */
    Merges(int[] result, PairRanks ranks, boolean idsAreDistinct) {
        this.result = result;
        this.ranks = ranks;
        this.scanIsExact = idsAreDistinct;
    }

    /** The merged ids of {@code symbols[0, n)} (the array is used as scratch). */
    int[] apply(int[] symbols, int n) {
        return scanIsExact && n <= SCAN_MAX_SYMBOLS ? byScan(symbols, n) : byHeap(symbols, n);
    }

    private int[] byScan(int[] symbols, int n) {
        int[] pairRank = new int[Math.max(n, 1)]; // [n] rank of (symbols[i], symbols[i + 1]), NO_MERGE if none
        for (int i = 0; i + 1 < n; i++) {
            pairRank[i] = rankOf(symbols[i], symbols[i + 1]);
        }
        while (n > 1) {
            int best = 0;
            for (int i = 1; i + 1 < n; i++) {
                if (pairRank[i] < pairRank[best]) {
                    best = i;
                }
            }
            int rank = pairRank[best];
            if (rank == NO_MERGE) {
                break;
            }
            symbols[best] = result[rank];
            System.arraycopy(symbols, best + 2, symbols, best + 1, n - best - 2);
            System.arraycopy(pairRank, best + 2, pairRank, best + 1, n - best - 2);
            n--;
            if (best > 0) {
                pairRank[best - 1] = rankOf(symbols[best - 1], symbols[best]);
            }
            if (best + 1 < n) {
                pairRank[best] = rankOf(symbols[best], symbols[best + 1]);
            }
        }
        return Arrays.copyOf(symbols, n);
    }

    private int rankOf(int a, int b) {
        int r = ranks.get(a, b);
        return r < 0 ? NO_MERGE : r;
    }

    /** HF's algorithm: a heap of (rank, position), stale entries skipped when popped; linked symbols. */
    private int[] byHeap(int[] symbols, int n) {
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] removed = new boolean[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        LongHeap queue = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            offer(queue, symbols[i], symbols[i + 1], i);
        }
        int left = n;
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int rank = (int) (top >>> 32);
            int pos = (int) top;
            if (removed[pos] || next[pos] < 0) {
                continue;
            }
            int right = next[pos];
            int current = ranks.get(symbols[pos], symbols[right]);
            if (current < 0 || result[current] != result[rank]) {
                continue; // the pair at pos changed since this entry was queued
            }
            symbols[pos] = result[rank];
            removed[right] = true;
            left--;
            next[pos] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = pos;
            }
            if (prev[pos] >= 0) {
                offer(queue, symbols[prev[pos]], symbols[pos], prev[pos]);
            }
            if (next[pos] >= 0) {
                offer(queue, symbols[pos], symbols[next[pos]], pos);
            }
        }
        int[] out = new int[left];
        for (int i = 0, k = 0; i < n; i++) {
            if (!removed[i]) {
                out[k++] = symbols[i];
            }
        }
        return out;
    }

    /** Queues (rank << 32 | position): the lowest rank first, the leftmost among equal ranks. */
    private void offer(LongHeap queue, int a, int b, int pos) {
        int rank = ranks.get(a, b);
        if (rank >= 0) {
            queue.add(((long) rank << 32) | pos);
        }
    }

    /** A binary min-heap of longs. */
    private static final class LongHeap {
        private long[] heap;
        private int size;

        LongHeap(int capacity) {
            heap = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void add(long v) {
            if (size == heap.length) {
                heap = Arrays.copyOf(heap, size * 2);
            }
            int i = size++;
            while (i > 0 && heap[(i - 1) / 2] > v) {
                heap[i] = heap[(i - 1) / 2];
                i = (i - 1) / 2;
            }
            heap[i] = v;
        }

        long poll() {
            long top = heap[0];
            long last = heap[--size];
            int i = 0;
            while (2 * i + 1 < size) {
                int child = 2 * i + 1;
                if (child + 1 < size && heap[child + 1] < heap[child]) {
                    child++;
                }
                if (heap[child] >= last) {
                    break;
                }
                heap[i] = heap[child];
                i = child;
            }
            heap[i] = last;
            return top;
        }
    }
}
