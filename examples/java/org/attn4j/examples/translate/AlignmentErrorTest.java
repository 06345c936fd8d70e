package org.attn4j.examples.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** AER, precision and recall on hand-made cases, counted by hand in the comments. */
class AlignmentErrorTest {
    private static Set<Alignment.Link> links(String pharaoh, int s, int t) {
        return Alignment.parse(pharaoh, s, t).sure();
    }

    @Test
    void reorderedAdjectiveWithOneWrongLink() {
        // le chat noir dort -> the black cat sleeps: S = P = {0-0, 2-1, 1-2, 3-3}.
        Alignment gold = Alignment.parse("0-0 2-1 1-2 3-3", 4, 4);
        AlignmentError e = new AlignmentError();
        // "black" attends to "chat" instead of "noir": |A| = 4, |A∩S| = |A∩P| = 3, |S| = 4.
        e.add(links("0-0 1-1 1-2 3-3", 4, 4), gold);
        assertEquals(3.0 / 4, e.precision(), 1e-12);
        assertEquals(3.0 / 4, e.recall(), 1e-12);
        assertEquals(1 - (3.0 + 3) / (4 + 4), e.aer(), 1e-12); // 0.25
    }

    @Test
    void possibleLinksCountForPrecisionButNotRecall() {
        // le chat ne dort pas -> the cat does not sleep: S = {0-0, 1-1, 3-4};
        // possible only: ne-does 2?2, dort-does 3?2, pas-does 4?2, ne-not 2?3, pas-not 4?3.
        Alignment gold = Alignment.parse("0-0 1-1 2?2 3?2 4?2 2?3 4?3 3-4", 5, 5);
        assertEquals(3, gold.sure().size());
        assertEquals(8, gold.possible().size());

        AlignmentError perfect = new AlignmentError();
        perfect.add(links("0-0 1-1 2-2 4-3 3-4", 5, 5), gold); // |A| = 5, |A∩S| = 3, |A∩P| = 5, |S| = 3
        assertEquals(1.0, perfect.precision(), 1e-12);
        assertEquals(1.0, perfect.recall(), 1e-12);
        assertEquals(0.0, perfect.aer(), 1e-12); // 1 - (3 + 5) / (5 + 3)

        AlignmentError doesOnTheCat = new AlignmentError();
        doesOnTheCat.add(links("0-0 1-1 1-2 4-3 3-4", 5, 5), gold); // 1-2 is in neither S nor P: |A∩P| = 4
        assertEquals(4.0 / 5, doesOnTheCat.precision(), 1e-12);
        assertEquals(1.0, doesOnTheCat.recall(), 1e-12);
        assertEquals(1 - (3.0 + 4) / (5 + 3), doesOnTheCat.aer(), 1e-12); // 0.125

        // The corpus sums both sentences' counts: |A| = 10, |S| = 6, |A∩S| = 6, |A∩P| = 9.
        AlignmentError corpus = new AlignmentError();
        corpus.add(links("0-0 1-1 2-2 4-3 3-4", 5, 5), gold);
        corpus.add(links("0-0 1-1 1-2 4-3 3-4", 5, 5), gold);
        assertEquals(1 - (6.0 + 9) / (10 + 6), corpus.aer(), 1e-12);
    }

    @Test
    void pharaohRoundTripAndErrors() {
        Alignment a = Alignment.parse(" 3?2 0-0  2-1 1-2 ", 4, 3);
        assertEquals("0-0 1-2 2-1 3?2", a.pharaoh());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Alignment.parse("0-0 4-1", 4, 3)).getMessage()
                .contains("'4-1' is outside the sentences: the source has 4 words"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Alignment.parse("0:0", 4, 3)).getMessage()
                .contains("'0:0' is not i-j or i?j"));
    }
}
