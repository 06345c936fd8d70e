package org.attn4j.text;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The merge loop of HF's BpeTrainer ({@code do_train}), step for step: pair counts over the words, a queue ordered
 * by count (then by smallest pair), stale counts refreshed when popped, each merge applied to the words its queue
 * entry lists, and the pairs it creates queued with the words they occur in.
 */
final class MergeLoop {
    /**
     * A queue entry: a pair, its count when queued, and the words to merge it in. HF keeps the words as a set; a
     * list may name a word twice here, which changes nothing (the second merge in a word finds no pair left) and
     * takes a tenth of the memory.
     */
    private record Entry(long pair, long count, IntList words) {
    }

    private final int[][] words;       // [W][symbols] each distinct word as symbol ids, merged in place
    private final int[] lengths;       // [W] symbols in use
    private final long[] counts;       // [W] occurrences of each word
    private final Map<String, Integer> ids;
    private final List<String> tokens;
    private final int vocabSize;
    private final long minFrequency;
    private final PrintStream progress;
    private final PairCounts pairCounts = new PairCounts();
    private Map<Long, IntList> whereToUpdate = new HashMap<>();

    MergeLoop(int[][] words, long[] counts, Map<String, Integer> ids, List<String> tokens, int vocabSize,
            long minFrequency, PrintStream progress) {
        this.words = words;
        this.counts = counts;
        this.lengths = new int[words.length];
        for (int w = 0; w < words.length; w++) {
            lengths[w] = words[w].length;
        }
        this.ids = ids;
        this.tokens = tokens;
        this.vocabSize = vocabSize;
        this.minFrequency = minFrequency;
        this.progress = progress;
    }

    private static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    /** The merges in order, each {left id, right id}; new tokens are appended to {@code ids} and {@code tokens}. */
    List<int[]> run() {
        for (int w = 0; w < words.length; w++) {
            for (int i = 0; i + 1 < lengths[w]; i++) {
                long p = pair(words[w][i], words[w][i + 1]);
                pairCounts.add(p, counts[w]);
                addWord(p, w);
            }
        }
        // highest count first; among equal counts the smallest pair (left id, then right id), as HF's Ord
        PriorityQueue<Entry> queue = new PriorityQueue<>((x, y) -> x.count != y.count ? Long.compare(y.count, x.count)
                : Long.compare(x.pair, y.pair));
        queueUpdates(queue);
        List<int[]> merges = new ArrayList<>();
        int reportEvery = Math.max(1, vocabSize / 10);
        while (ids.size() < vocabSize && !queue.isEmpty()) {
            Entry top = queue.poll();
            long current = pairCounts.get(top.pair);
            if (top.count != current) {
                queue.add(new Entry(top.pair, current, top.words));
                continue;
            }
            if (top.count < 1 || minFrequency > top.count) {
                break;
            }
            int a = (int) (top.pair >>> 32);
            int b = (int) top.pair;
            String merged = tokens.get(a) + tokens.get(b);
            Integer id = ids.get(merged);
            if (id == null) {
                id = tokens.size();
                ids.put(merged, id);
                tokens.add(merged);
            }
            merges.add(new int[] {a, b});
            for (int i = 0; i < top.words.size(); i++) {
                merge(top.words.get(i), a, b, id);
            }
            queueUpdates(queue);
            if (progress != null && merges.size() % reportEvery == 0) {
                progress.printf("BpeTrainer: %,d merges, vocabulary %,d of %,d%n", merges.size(), ids.size(),
                        vocabSize);
            }
        }
        return merges;
    }

    private void queueUpdates(PriorityQueue<Entry> queue) {
        whereToUpdate.forEach((p, where) -> {
            long count = pairCounts.get(p);
            if (count > 0) {
                queue.add(new Entry(p, count, where));
            }
        });
        whereToUpdate = new HashMap<>();
    }

    /** HF's Word::merge: every non-overlapping (a, b) left to right becomes {@code id}; neighbour pairs updated. */
    private void merge(int w, int a, int b, int id) {
        int[] s = words[w];
        int n = lengths[w];
        long count = counts[w];
        int i = 0;
        while (i < n) {
            if (s[i] == a && i + 1 < n && s[i + 1] == b) {
                if (i > 0) {
                    change(pair(s[i - 1], a), -count, w);
                    change(pair(s[i - 1], id), count, w);
                }
                s[i] = id;
                System.arraycopy(s, i + 2, s, i + 1, n - i - 2);
                n--;
                if (i < n - 1) {
                    change(pair(b, s[i + 1]), -count, w);
                    change(pair(id, s[i + 1]), count, w);
                }
            }
            i++;
        }
        lengths[w] = n;
    }

    private void change(long pair, long delta, int w) {
        pairCounts.add(pair, delta);
        if (delta > 0) {
            addWord(pair, w);
        }
    }

    /** Notes that word {@code w} holds {@code pair} (once per run of calls from the same word). */
    private void addWord(long pair, int w) {
        IntList words = whereToUpdate.computeIfAbsent(pair, k -> new IntList(2));
        if (words.size() == 0 || words.get(words.size() - 1) != w) {
            words.add(w);
        }
    }
}
