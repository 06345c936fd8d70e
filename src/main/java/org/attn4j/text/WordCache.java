package org.attn4j.text;

/**
 * The ids of words already merged, looked up by a range of the text being encoded, so that a hit copies nothing:
 * most words of a text are hits (1 MiB of Shakespeare has 279k words, 15k of them distinct), and a substring and its
 * hash per word cost more than the lookup itself.
 *
 * <p>Open addressing with linear probing over immutable entries. Safe for concurrent use without a lock on the read
 * side: a reader sees either no entry or a complete one (an entry's fields are final, so publishing it through an
 * array slot is safe), and a missed entry only means the word is merged again. Writers take the lock; the table is
 * replaced, never resized in place, and at most half full, so a probe always ends at an empty slot.
 */
final class WordCache {
    private record Entry(String word, int hash, int[] ids) {
    }

    private final int maxWordLength;
    private final int maxEntries;
    private volatile Entry[] table = new Entry[1 << 10];
    private int size;                      // guarded by this

    /**
     * @param maxWordLength longer words are not cached (rare, and they would crowd the cache)
     * @param maxEntries    words beyond this many are merged every time they occur, as HF's cache does when full
     */
    WordCache(int maxWordLength, int maxEntries) {
        this.maxWordLength = maxWordLength;
        this.maxEntries = maxEntries;
    }

    /** The ids cached for the word {@code text[start, end)}, or null. */
    int[] get(String text, int start, int end) {
        int hash = hash(text, start, end);
        int length = end - start;
        Entry[] t = table;
        int mask = t.length - 1;
        for (int i = hash & mask; ; i = (i + 1) & mask) {
            Entry e = t[i];
            if (e == null) {
                return null;
            }
            if (e.hash == hash && e.word.length() == length && e.word.regionMatches(0, text, start, length)) {
                return e.ids;
            }
        }
    }

    /** Caches the ids of the word {@code text[start, end)} (the ids array must not change afterwards). */
    synchronized void put(String text, int start, int end, int[] ids) {
        if (end - start > maxWordLength || size >= maxEntries) {
            return;
        }
        if (2 * (size + 1) > table.length) {
            table = grown(table);
        }
        int hash = hash(text, start, end);
        Entry[] t = table;
        int mask = t.length - 1;
        int i = hash & mask;
        for (; t[i] != null; i = (i + 1) & mask) {
            Entry e = t[i];
            if (e.hash == hash && e.word.length() == end - start && e.word.regionMatches(0, text, start, end - start)) {
                return; // another thread cached it first
            }
        }
        t[i] = new Entry(text.substring(start, end), hash, ids);
        size++;
    }

    private static Entry[] grown(Entry[] old) {
        Entry[] t = new Entry[old.length * 2];
        int mask = t.length - 1;
        for (Entry e : old) {
            if (e != null) {
                int i = e.hash & mask;
                while (t[i] != null) {
                    i = (i + 1) & mask;
                }
                t[i] = e;
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
