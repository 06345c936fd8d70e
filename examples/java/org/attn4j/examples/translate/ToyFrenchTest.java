package org.attn4j.examples.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ToyFrenchTest {
    private final ToyFrench grammar = new ToyFrench(1);

    @Test
    void coversTheGrammarTheIssueAsksFor() {
        assertTrue(ToyFrench.NOUNS.size() >= 20 && ToyFrench.ADJECTIVES.size() >= 10);
        Set<String> source = new HashSet<>(), target = new HashSet<>();
        for (ToyFrench.Pair p : grammar.training(3000, new Random(3))) {
            source.addAll(p.source());
            target.addAll(p.target());
        }
        assertTrue(source.containsAll(List.of("le", "la", "les", "un", "une", "ne", "pas", "chevaux", "noire", "dorment")));
        assertTrue(target.containsAll(List.of("the", "a", "does", "do", "not", "horses", "mice", "sleeps", "sleep")));
        assertTrue(source.containsAll(ToyFrench.sourceWords()) && target.containsAll(ToyFrench.targetWords()),
                "every word is used in training");
    }

    @Test
    void knownSentencesAndTheirGoldAlignments() {
        // Find these shapes among random sentences and check their translation and links.
        boolean reordered = false, negated = false;
        List<String> adjectives = ToyFrench.ADJECTIVES.stream().map(ToyFrench.Adjective::en).toList();
        for (ToyFrench.Pair p : grammar.training(5000, new Random(4))) {
            String s = p.sourceText();
            // "le chat noir dort" -> "the black cat sleeps": the adjective moves before the noun.
            if (p.source().size() == 4 && adjectives.contains(p.target().get(1))) {
                assertEquals("0-0 1-2 2-1 3-3", p.gold().pharaoh(), s);
                reordered = true;
            }
            if (s.matches("les \\S+ ne \\S+ pas") && p.source().size() == 5) {
                assertTrue(p.targetText().matches("the \\S+ do not \\S+"), p.targetText());
                assertEquals("0-0 1-1 2?2 2?3 3?2 3-4 4?2 4?3", p.gold().pharaoh());
                negated = true;
            }
        }
        assertTrue(reordered && negated, "both shapes were generated");
    }

    @Test
    void everyTargetWordButNegationHasOneSureLinkAndLinksAreInRange() {
        for (ToyFrench.Pair p : grammar.training(500, new Random(5))) {
            for (int j = 0; j < p.target().size(); j++) {
                int jj = j;
                long sure = p.gold().sure().stream().filter(l -> l.target() == jj).count();
                boolean auxiliary = List.of("does", "do", "not").contains(p.target().get(j));
                assertEquals(auxiliary ? 0 : 1, sure, p.sourceText() + " / " + p.targetText() + " word " + j);
            }
            p.gold().possible().forEach(l -> assertTrue(l.source() < p.source().size() && l.target() < p.target().size()));
        }
    }

    @Test
    void heldOutCombinationsNeverReachTraining() {
        Set<String> held = grammar.heldOutCombinations();
        List<ToyFrench.Pair> test = grammar.heldOut(300, new Random(6), Set.of());
        Set<String> testSources = new HashSet<>();
        test.forEach(p -> testSources.add(p.sourceText()));
        assertEquals(300, testSources.size(), "held-out sentences are distinct");
        for (ToyFrench.Pair p : grammar.training(5000, new Random(7))) {
            assertFalse(testSources.contains(p.sourceText()));
            for (String c : held) {
                String[] nounAdj = c.split("\\+");
                if (nounAdj.length == 2) {
                    assertFalse(containsNounThenAdjective(p.source(), nounAdj[0], nounAdj[1]), c + " in " + p.sourceText());
                }
            }
        }
    }

    /** Whether the singular masculine forms appear as noun then adjective (other forms are checked by the generator). */
    private static boolean containsNounThenAdjective(List<String> words, String noun, String adjective) {
        for (int i = 0; i + 1 < words.size(); i++) {
            if (words.get(i).equals(noun) && words.get(i + 1).equals(adjective)) {
                return true;
            }
        }
        return false;
    }
}
