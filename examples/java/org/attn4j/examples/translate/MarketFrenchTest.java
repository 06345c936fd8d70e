package org.attn4j.examples.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The second toy grammar: its own words, reorderings, and gold alignments derived here by hand. */
class MarketFrenchTest {
    private final List<List<ToyFrench.Pair>> corpus = new MarketFrench(1).corpus(5000, 300);
    private final List<ToyFrench.Pair> train = corpus.get(0);

    @Test
    void seededShortAndTheTestSentencesAreNotInTraining() {
        assertEquals(corpus, new MarketFrench(1).corpus(5000, 300), "the same seed gives the same corpus");
        Set<String> sources = new HashSet<>();
        train.forEach(p -> sources.add(p.sourceText()));
        for (ToyFrench.Pair p : corpus.get(1)) {
            assertTrue(sources.add(p.sourceText()), "a test sentence is new and distinct: " + p.sourceText());
        }
        for (ToyFrench.Pair p : train) {
            assertTrue(p.source().size() <= 16 && p.target().size() <= 16, p.sourceText());
            String end = p.source().get(p.source().size() - 1);
            assertTrue(end.equals(".") || end.equals("!"), p.sourceText());
            assertEquals(end, p.target().get(p.target().size() - 1));
        }
    }

    @Test
    void itsWordsAreNotTheDemoGrammarsWords() {
        Set<String> source = new HashSet<>(), target = new HashSet<>();
        train.forEach(p -> {
            source.addAll(p.source());
            target.addAll(p.target());
        });
        assertTrue(source.containsAll(List.of("des", "de", "l'", "à", "pour", "n'", "jamais", "souvent", ".", "!"))
                && target.containsAll(List.of("an", "never", "often", "it", "them", "to", "at", "knives", "children")));
        assertFalse(source.contains("au") || source.contains("aux"));
        Set<String> shared = new HashSet<>(source);
        shared.retainAll(ToyFrench.sourceWords());
        assertTrue(shared.stream().allMatch(List.of("le", "la", "les", "un", "une", "ne", "dans", "derrière", "rouge",
                "vert", "verte", "verts", "vertes", "rouges")::contains), "only function words and two colours: " + shared);
    }

    @Test
    void everyEnglishWordHasOneSureLinkAndDesHasNone() {
        boolean crossing = false;
        for (ToyFrench.Pair p : train) {
            for (int j = 0; j < p.target().size(); j++) {
                int jj = j;
                assertEquals(1, p.gold().sure().stream().filter(l -> l.target() == jj).count(), p.sourceText());
            }
            for (int i = 0; i < p.source().size(); i++) {
                int ii = i;
                long links = p.gold().possible().stream().filter(l -> l.source() == ii).count();
                String w = p.source().get(i);
                assertEquals(w.equals("des") || w.equals("de") ? 0 : 1, links, w + " in " + p.sourceText());
            }
            for (Alignment.Link a : p.gold().sure()) {
                for (Alignment.Link b : p.gold().sure()) {
                    crossing |= a.source() < b.source() && a.target() > b.target();
                }
            }
        }
        assertTrue(crossing, "alignments are not monotone");
    }

    @Test
    void elisionAndTheEnglishArticleFollowTheNextWord() {
        for (ToyFrench.Pair p : train) {
            for (int i = 0; i + 1 < p.source().size(); i++) {
                boolean vowel = "aeiouéèêâ".indexOf(p.source().get(i + 1).charAt(0)) >= 0;
                String w = p.source().get(i);
                assertFalse(List.of("le", "la", "ne", "ma").contains(w) && vowel, p.sourceText());
                assertFalse(List.of("l'", "n'").contains(w) && !vowel, p.sourceText());
            }
            for (int j = 0; j + 1 < p.target().size(); j++) {
                boolean vowel = "aeiou".indexOf(p.target().get(j + 1).charAt(0)) >= 0;
                assertFalse(p.target().get(j).equals("an") && !vowel || p.target().get(j).equals("a") && vowel,
                        p.targetText());
            }
        }
    }

    @Test
    void knownShapesAndTheirGoldAlignments() {
        boolean pronoun = false, negated = false, recipient = false;
        for (ToyFrench.Pair p : train) {
            String s = p.sourceText(), t = p.targetText();
            // "la chèvre le lave ." -> "the goat washes it .": the pronoun moves after the verb.
            if (s.matches("(le|la|l') \\S+ (le|la|l') \\S+ \\.")) {
                assertTrue(t.matches("the \\S+ \\S+ it \\."), t);
                assertEquals("0-0 1-1 2-3 3-2 4-4", p.gold().pharaoh(), s);
                pronoun = true;
            }
            // "le cuisinier ne les cache jamais ." -> "the cook never hides them ."
            if (s.matches("(le|la|l') \\S+ ne (le|la|les) \\S+ jamais \\.")) {
                assertTrue(t.matches("the \\S+ never \\S+ (it|them) \\."), t);
                assertEquals("0-0 1-1 2?2 3-4 4-3 5-2 6-5", p.gold().pharaoh(), s);
                negated = true;
            }
            // "le fermier donne des clés rouges à ma voisine !" -> "the farmer gives red keys to my neighbour !"
            if (s.matches("(le|la|l') \\S+ \\S+ des \\S+ \\S+ (à|pour|dans) (la|l'|mon|ma|mes|un|une) \\S+ [.!]")) {
                assertTrue(t.matches("the \\S+ \\S+ \\S+ \\S+ (to|at|for|in) (the|my|an?) \\S+ [.!]"), t);
                assertEquals("0-0 1-1 2-2 4-4 5-3 6-5 7-6 8-7 9-8", p.gold().pharaoh(), s);
                recipient = true;
            }
        }
        assertTrue(pronoun && negated && recipient, "every shape was generated");
    }
}
