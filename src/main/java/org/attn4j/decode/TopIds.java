package org.attn4j.decode;

/**
 * The ids of a row's n largest values, largest first, ties by the lower id (the order a stable sort of all ids by
 * {@code -v} gives, also for NaN and signed zeros), without sorting the row: a heap of the n best seen, O(V log n),
 * then sorted. A full sort of V = 50,257 boxed ids took ~9 ms a row, more than a decoding step of GPT-2-small.
 */
final class TopIds {
    private TopIds() {
    }

    /** The ids of the {@code n} largest of {@code v} (all of them if n >= v.length), largest first. */
    static int[] largest(double[] v, int n) {
        int k = Math.min(n, v.length);
        int[] heap = new int[k]; // heap[0]: the last in order of those kept
        int size = 0;
        for (int id = 0; id < v.length; id++) {
            if (size < k) {
                heap[size] = id;
                siftUp(heap, size++, v);
            } else if (k > 0 && before(id, heap[0], v)) {
                heap[0] = id;
                siftDown(heap, size, v);
            }
        }
        for (int end = size - 1; end > 0; end--) { // heap sort: the last in order to the back
            int t = heap[0];
            heap[0] = heap[end];
            heap[end] = t;
            siftDown(heap, end, v);
        }
        return heap;
    }

    /** Whether id a comes before id b: a larger value (as {@code Double.compare} of the negated values), or the lower id. */
    private static boolean before(int a, int b, double[] v) {
        int c = Double.compare(-v[a], -v[b]);
        return c != 0 ? c < 0 : a < b;
    }

    private static void siftUp(int[] heap, int i, double[] v) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (!before(heap[parent], heap[i], v)) {
                return;
            }
            int t = heap[parent];
            heap[parent] = heap[i];
            heap[i] = t;
            i = parent;
        }
    }

    private static void siftDown(int[] heap, int size, double[] v) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, last = i;
            if (l < size && before(heap[last], heap[l], v)) {
                last = l;
            }
            if (r < size && before(heap[last], heap[r], v)) {
                last = r;
            }
            if (last == i) {
                return;
            }
            int t = heap[last];
            heap[last] = heap[i];
            heap[i] = t;
            i = last;
        }
    }
}
