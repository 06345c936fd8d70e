package org.attn4j.examples.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FileCorpusTest {
    private static ToyFrench.Pair pair(int i) {
        return new ToyFrench.Pair(List.of("mot" + i, "."), List.of("word" + i, ".", "x".repeat(1 + i % 5)), null);
    }

    @Test
    void holdsOutASeededSliceThatIsNeverTrainedOn() {
        List<ToyFrench.Pair> all = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            all.add(pair(i));
        }
        FileCorpus c = FileCorpus.of("f", all, null, 300, 7);
        assertEquals(10, c.validation().size(), "a tenth when --validation asks for more");
        assertEquals(90, c.train().size());
        Set<ToyFrench.Pair> union = new HashSet<>(c.train());
        union.addAll(c.validation());
        assertEquals(new HashSet<>(all), union);
        for (ToyFrench.Pair p : c.validation()) {
            assertFalse(c.train().contains(p));
            assertFalse(c.sourceVocabulary().contains(p.source().get(0)), "a word only held out is unknown");
        }
        assertEquals(c.validation(), FileCorpus.of("f", all, null, 300, 7).validation(), "seeded");
        assertEquals(3, FileCorpus.of("f", all, null, 3, 7).validation().size());
        assertEquals(90 + 1, c.sourceVocabulary().size() - 4, "90 words and '.' (and the specials), from training only");
        assertEquals(3 + 2, c.maxLen(), "the longest target (3 words) with BOS and EOS");

        List<ToyFrench.Pair> valid = List.of(pair(1000));
        FileCorpus given = FileCorpus.of("f", all, valid, 300, 7);
        assertSame(valid, given.validation());
        assertEquals(100, given.train().size(), "with --valid-file, every line is trained on");
        ToyFrench.Pair longer = new ToyFrench.Pair(List.of("a", "b", "c", "d", "e", "f", "g"), List.of("a"), null);
        assertEquals(7, FileCorpus.of("f", all, List.of(longer), 300, 7).maxLen(), "validation pairs fit too");
        assertTrue(assertThrows(ParallelFile.BadFile.class, () -> FileCorpus.of("f.txt", all.subList(0, 1), null, 300,
                7)).getMessage().startsWith("f.txt: 1 usable line"));
    }
}
