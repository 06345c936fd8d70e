package org.attn4j.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The trainer's pair counts: sums of what was added, per pair, through collisions and growth. */
class PairCountsTest {
    private static long pair(int a, int b) {
        return ((long) a << 32) | b;
    }

    @Test
    void countsAreTheSumsOfWhatWasAdded() {
        PairCounts counts = new PairCounts();
        counts.add(pair(3, 4), 5);
        counts.add(pair(3, 4), -2);
        counts.add(pair(4, 3), 7);
        assertEquals(3, counts.get(pair(3, 4)));
        assertEquals(7, counts.get(pair(4, 3)));
        assertEquals(0, counts.get(pair(3, 3)), "a pair never added");
        counts.add(pair(3, 4), -3);
        assertEquals(0, counts.get(pair(3, 4)), "a count back at zero");
    }

    @Test
    void everyPairKeepsItsCountAsTheTableGrows() {
        PairCounts counts = new PairCounts();
        for (int i = 0; i < 50_000; i++) {
            counts.add(pair(i % 300, i / 300), i + 1);
        }
        for (int i = 0; i < 50_000; i++) {
            assertEquals(i + 1, counts.get(pair(i % 300, i / 300)), "pair " + (i % 300) + ", " + (i / 300));
        }
    }
}
