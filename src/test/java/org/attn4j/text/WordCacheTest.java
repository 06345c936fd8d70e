package org.attn4j.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The word cache finds words by a range of a longer text, and only the word that was put. */
class WordCacheTest {
    /** The cached ids, or null. */
    private static int[] get(WordCache cache, String text, int start, int end) {
        IntList out = new IntList(4);
        return cache.appendIds(text, start, end, out) ? out.toArray() : null;
    }

    @Test
    void findsAWordByItsRangeInAnotherText() {
        WordCache cache = new WordCache(255, 1000);
        cache.put("say hello there", 3, 9, new int[] {7, 8});
        assertArrayEquals(new int[] {7, 8}, get(cache, " hello", 0, 6));
        assertArrayEquals(new int[] {7, 8}, get(cache, "oh hello", 2, 8));
        assertNull(get(cache, " hell", 0, 5), "a prefix of a cached word");
        assertNull(get(cache, " hellos", 0, 7), "a cached word plus a letter");
    }

    /** "Aa" and "BB" have the same polynomial hash (31 * 65 + 97 = 31 * 66 + 66): the text decides. */
    @Test
    void wordsWithTheSameHashAreToldApart() {
        WordCache cache = new WordCache(255, 1000);
        cache.put("Aa", 0, 2, new int[] {1});
        assertNull(get(cache, "BB", 0, 2));
        cache.put("BB", 0, 2, new int[] {2});
        assertArrayEquals(new int[] {1}, get(cache, "Aa", 0, 2));
        assertArrayEquals(new int[] {2}, get(cache, "BB", 0, 2));
    }

    @Test
    void keepsEveryWordAsTheTableGrowsUpToItsCapacity() {
        WordCache cache = new WordCache(255, 5000);
        for (int i = 0; i < 6000; i++) {
            cache.put("w" + i, 0, ("w" + i).length(), new int[] {i});
        }
        for (int i = 0; i < 5000; i++) {
            assertArrayEquals(new int[] {i}, get(cache, "w" + i, 0, ("w" + i).length()), "w" + i);
        }
        assertNull(get(cache, "w5000", 0, 5), "the 5001st word, past the capacity");
    }

    @Test
    void wordsLongerThanTheLimitAreNotCached() {
        WordCache cache = new WordCache(4, 1000);
        cache.put("abcd", 0, 4, new int[] {1});
        cache.put("abcde", 0, 5, new int[] {2});
        assertArrayEquals(new int[] {1}, get(cache, "abcd", 0, 4));
        assertNull(get(cache, "abcde", 0, 5));
    }

    /** Threads sharing a cache (as threads sharing a Tokenizer do) never read another word's ids, nor half a slot. */
    @Test
    void threadsPuttingAndGettingAtOnceReadOnlyTheirWordsIds() throws Exception {
        WordCache cache = new WordCache(255, 100_000);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> wrong = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                wrong.add(pool.submit(() -> {
                    int bad = 0;
                    for (int k = 0; k < 20_000; k++) {
                        // every thread visits every word, each in its own order
                        int i = (k * 7919 + seed * 104_729) % 20_000;
                        String word = " w" + i;
                        int[] got = get(cache, word, 0, word.length());
                        if (got == null) {
                            cache.put(word, 0, word.length(), new int[] {i, -i});
                        } else if (got.length != 2 || got[0] != i || got[1] != -i) {
                            bad++;
                        }
                    }
                    return bad;
                }));
            }
            for (Future<Integer> f : wrong) {
                assertEquals(0, f.get(), "lookups that returned another word's ids");
            }
        } finally {
            pool.shutdown();
        }
        for (int i = 0; i < 20_000; i++) {
            assertArrayEquals(new int[] {i, -i}, get(cache, " w" + i, 0, (" w" + i).length()), "w" + i);
        }
    }
}
