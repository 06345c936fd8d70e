package org.attn4j.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.model.DecodingSession;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.model.TransformerModel;
import org.attn4j.nn.PositionalEncoding;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Greedy and beam search, with the key/value cache and without, on untrained (diffuse) models. */
class DecodingTest {
    static final int EOS = 2;

    static INDArray ids(int[][] a) {
        return Nd4j.createFromArray(a).castTo(DataType.INT);
    }

    static TransformerModel model(boolean seq2seq, int vocab, PositionalEncoding positions) {
        Nd4j.getRandom().setSeed(21);
        ModelConfig c = seq2seq ? ModelConfig.seq2seq(vocab, 16, 2, 32, 2, 32) : ModelConfig.languageModel(vocab, 16, 2, 32, 2, 32);
        return seq2seq ? new Seq2SeqTransformer(c.withPositions(positions), DataType.DOUBLE)
                : new LanguageModel(c.withPositions(positions), DataType.DOUBLE);
    }

    @Test
    void cachedAndRecomputedDecodingGiveTheSameTokensAndScores() {
        for (boolean seq2seq : new boolean[] {true, false}) {
            for (PositionalEncoding p : new PositionalEncoding[] {PositionalEncoding.LEARNED, PositionalEncoding.ROTARY}) {
                TransformerModel m = model(seq2seq, 9, p);
                INDArray source = seq2seq ? ids(new int[][] {{4, 5, 6, 7}, {8, 4, 0, 0}}) : null;
                INDArray prefix = seq2seq ? ids(new int[][] {{1}, {1}}) : ids(new int[][] {{1, 4}, {1, 6}});
                List<Hypothesis> cached = Greedy.decode(m, source, prefix, EOS, 12, true);
                List<Hypothesis> slow = Greedy.decode(m, source, prefix, EOS, 12, false);
                BeamSearch.Config beam = new BeamSearch.Config(3, 0.6, 10);
                List<Hypothesis> beamCached = BeamSearch.decode(m, source, prefix, EOS, beam, true);
                List<Hypothesis> beamSlow = BeamSearch.decode(m, source, prefix, EOS, beam, false);
                for (int i = 0; i < 2; i++) {
                    String what = (seq2seq ? "seq2seq " : "lm ") + p + " row " + i;
                    assertArrayEquals(slow.get(i).tokens(), cached.get(i).tokens(), what);
                    assertEquals(slow.get(i).logProb(), cached.get(i).logProb(), 1e-9, what);
                    assertArrayEquals(beamSlow.get(i).tokens(), beamCached.get(i).tokens(), "beam " + what);
                    assertEquals(beamSlow.get(i).score(), beamCached.get(i).score(), 1e-9, "beam " + what);
                }
            }
        }
    }

    @Test
    void decodingSourcesInBatchesMatchesOneRowAtATime() {
        TransformerModel m = model(true, 9, PositionalEncoding.SINUSOIDAL);
        List<int[]> sources = List.of(new int[] {4, 5, 6, 7}, new int[] {8}, new int[] {5, 5, 3}, new int[] {6, 7},
                new int[] {4, 8, 8, 8, 3});
        // batches of 2 (the last one alone), padded to each batch's longest; the limit follows that longest
        List<Hypothesis> batched = Greedy.decodeSources(m, sources, 1, EOS, 2, longest -> longest + 3);
        assertEquals(sources.size(), batched.size());
        int[] longestOfBatch = {4, 4, 3, 3, 5};
        for (int i = 0; i < sources.size(); i++) {
            Hypothesis alone = Greedy.decode(m, ids(new int[][] {sources.get(i)}), ids(new int[][] {{1}}), EOS,
                    longestOfBatch[i] + 3, true).get(0);
            assertArrayEquals(alone.tokens(), batched.get(i).tokens(), "source " + i);
            assertEquals(alone.logProb(), batched.get(i).logProb(), 1e-9, "source " + i);
        }
    }

    @Test
    void beamOfWidthOneIsGreedy() {
        TransformerModel m = model(true, 9, PositionalEncoding.SINUSOIDAL);
        INDArray source = ids(new int[][] {{4, 5, 6}, {7, 8, 3}}), prefix = ids(new int[][] {{1}, {1}});
        List<Hypothesis> greedy = Greedy.decode(m, source, prefix, EOS, 8, true);
        List<Hypothesis> beam = BeamSearch.decode(m, source, prefix, EOS, new BeamSearch.Config(1, 0, 8), true);
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(greedy.get(i).tokens(), beam.get(i).tokens());
            assertEquals(greedy.get(i).logProb(), beam.get(i).logProb(), 1e-12);
        }
    }

    @Test
    void aWideBeamFindsTheBestSequenceByExhaustiveSearch() {
        int vocab = 5, maxTokens = 3;
        TransformerModel m = model(false, vocab, PositionalEncoding.LEARNED);
        INDArray prefix = ids(new int[][] {{1}});
        // Every sequence of up to 3 tokens, finished by EOS or cut at 3, scored by recomputation.
        double best = Double.NEGATIVE_INFINITY;
        int[] bestTokens = null;
        List<int[]> frontier = new ArrayList<>(List.of(new int[0]));
        List<Double> scores = new ArrayList<>(List.of(0.0));
        while (!frontier.isEmpty()) {
            int[] seq = frontier.remove(0);
            double score = scores.remove(0);
            int[] row = new int[seq.length + 1];
            row[0] = 1;
            System.arraycopy(seq, 0, row, 1, seq.length);
            DecodingSession s = m.startDecoding(null);
            INDArray logProbs = s.recompute(ids(new int[][] {row}));
            for (int v = 0; v < vocab; v++) {
                double total = score + logProbs.getDouble(0, v);
                int[] next = java.util.Arrays.copyOf(seq, seq.length + 1);
                next[seq.length] = v;
                if (v == EOS || next.length == maxTokens) {
                    if (total > best) {
                        best = total;
                        bestTokens = v == EOS ? seq : next;
                    }
                } else {
                    frontier.add(next);
                    scores.add(total);
                }
            }
        }
        Hypothesis h = BeamSearch.decode(m, null, prefix, EOS, new BeamSearch.Config(50, 0, maxTokens), true).get(0);
        assertEquals(best, h.logProb(), 1e-9);
        assertArrayEquals(bestTokens, h.tokens());
    }
}
