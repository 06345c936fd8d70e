package org.attn4j.examples.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Corpus BLEU on cases counted by hand (no BLEU library is installed here to compare with, so the
 * n-gram counts are derived in the comments and only the final formula is evaluated in code).
 */
class BleuTest {
    private static List<String> w(String s) {
        return List.of(s.split(" "));
    }

    @Test
    void perfectTranslationsScore100() {
        Bleu b = new Bleu();
        b.add(w("the black cat sleeps on the table"), w("the black cat sleeps on the table"));
        assertEquals(100, b.score(), 1e-9);
    }

    @Test
    void corpusCountsAndBrevityPenalty() {
        Bleu b = new Bleu();
        // Sentence 1, exact (7 words): 1-grams 7/7, 2-grams 6/6, 3-grams 5/5, 4-grams 4/4.
        b.add(w("the black cat sleeps on the table"), w("the black cat sleeps on the table"));
        // Sentence 2, "the dog sleeps" against "the white dog sleeps": 1-grams 3/3; 2-grams "the dog" no,
        // "dog sleeps" yes: 1/2; 3-grams "the dog sleeps" no: 0/1; no 4-grams: 0/0.
        b.add(w("the dog sleeps"), w("the white dog sleeps"));
        // Corpus: p1 = 10/10, p2 = 7/8, p3 = 5/6, p4 = 4/4; c = 10 < r = 11, so BP = exp(1 - 11/10).
        double expected = 100 * Math.exp(1 - 11.0 / 10) * Math.pow(1.0 * 7 / 8 * 5 / 6 * 1.0, 0.25);
        assertEquals(expected, b.score(), 1e-9);
        assertEquals(83.6137, b.score(), 1e-4); // the same number, worked out: exp(-0.1) * (35/48)^(1/4)
    }

    @Test
    void clippedCountsAndNoMatchingFourGram() {
        Bleu b = new Bleu();
        // "the the the the" against "the cat sat on the mat": "the" counts at most twice, and no 2-gram matches.
        b.add(w("the the the the"), w("the cat sat on the mat"));
        assertEquals(0, b.score(), 0);
        Bleu longer = new Bleu();
        // Longer than the reference: no brevity penalty; 1-grams 5/6 ("a" twice, clipped to 1), 2-grams 4/5,
        // 3-grams 3/4, 4-grams 2/3.
        longer.add(w("a cat sees a dog a"), w("a cat sees a dog"));
        assertEquals(100 * Math.pow(5.0 / 6 * 4 / 5 * 3 / 4 * 2 / 3, 0.25), longer.score(), 1e-9);
    }
}
