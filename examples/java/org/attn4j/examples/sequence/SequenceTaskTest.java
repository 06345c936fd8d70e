package org.attn4j.examples.sequence;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import org.attn4j.data.Batch;
import org.attn4j.data.Vocabulary;
import org.junit.jupiter.api.Test;

class SequenceTaskTest {
    @Test
    void answersByHand() {
        int[] s = {3, 1, 4, 1, 5};
        assertArrayEquals(new int[] {3, 1, 4, 1, 5}, SequenceTask.COPY.apply(s));
        assertArrayEquals(new int[] {5, 1, 4, 1, 3}, SequenceTask.REVERSE.apply(s));
        assertArrayEquals(new int[] {1, 1, 3, 4, 5}, SequenceTask.SORT.apply(s));
        assertEquals(SequenceTask.SORT, SequenceTask.parse("Sort"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SequenceTask.parse("rot13")).getMessage()
                .contains("copy, reverse, sort"));
    }

    @Test
    void batchIsSourceThenShiftedAnswer() {
        Batch b = SequenceTask.REVERSE.batch(List.of(new int[] {1, 2}, new int[] {7}));
        int d = SequenceTask.FIRST_DIGIT, pad = Vocabulary.PAD_ID, bos = Vocabulary.BOS_ID, eos = Vocabulary.EOS_ID;
        assertArrayEquals(new int[] {1 + d, 2 + d, 7 + d, pad}, b.source().ravel().toIntVector());
        assertArrayEquals(new int[] {bos, 2 + d, 1 + d, bos, 7 + d, pad}, b.input().ravel().toIntVector());
        assertArrayEquals(new int[] {2 + d, 1 + d, eos, 7 + d, eos, pad}, b.target().ravel().toIntVector());
    }

    @Test
    void heldOutIsDistinctAndNeverTrainedOn() {
        SequenceTask.Data data = new SequenceTask.Data(1, 12, 2000, 7);
        HashSet<String> seen = new HashSet<>();
        for (int[] s : data.heldOut()) {
            assertTrue(s.length >= 3 && s.length <= 12, "held-out length " + s.length);
            assertTrue(seen.add(java.util.Arrays.toString(s)), "duplicate held-out sequence");
        }
        assertEquals(2000, seen.size());
        Random rnd = new Random(1);
        boolean shortSeen = false;
        for (int[] s : data.trainingSequences(20000, rnd)) {
            assertFalse(data.isHeldOut(s));
            shortSeen |= s.length == 1;
        }
        assertTrue(shortSeen, "training draws length-1 sequences too");
        assertThrows(IllegalArgumentException.class, () -> new SequenceTask.Data(1, 3, 600, 1));
    }
}
