package org.attn4j.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /**
     * A Hugging Face model may have several end ids (Llama 3's eos_token_id list): any of them ends a row in greedy
     * and beam search, and the sampler stops after one. The end id is the first new token of the free run that the
     * earlier tokens do not use, so the run with it must stop exactly there; an end id the run never meets changes
     * nothing.
     */
    @Test
    void anyOfSeveralEndIdsEndsTheSequenceWhereTheFirstOneAppears() {
        int vocab = 9, steps = 8;
        TransformerModel m = model(false, vocab, PositionalEncoding.LEARNED);
        m.parameters().values().forEach(v -> v.muli(4)); // sharp choices
        INDArray prefix = null;
        int[] free = null;
        for (int p = 0; p < vocab && (free == null || firstNew(free) < 0); p++) { // a prompt whose run moves on
            prefix = ids(new int[][] {{1, p}});
            free = Greedy.decode(m, null, prefix, new int[0], steps, true).get(0).tokens();
        }
        assertEquals(steps, free.length);
        int at = firstNew(free), never = unused(free, vocab);
        assertTrue(at > 0 && never >= 0, java.util.Arrays.toString(free));
        int[] ends = {never, free[at]};

        Hypothesis greedy = Greedy.decode(m, null, prefix, ends, steps, true).get(0);
        assertArrayEquals(java.util.Arrays.copyOf(free, at), greedy.tokens());
        assertTrue(greedy.finished());
        Hypothesis beam = BeamSearch.decode(m, null, prefix, ends, new BeamSearch.Config(1, 0, steps), true).get(0);
        assertArrayEquals(greedy.tokens(), beam.tokens());
        assertTrue(beam.finished());
        Hypothesis untouched = Greedy.decode(m, null, prefix, new int[] {never}, steps, true).get(0);
        assertArrayEquals(free, untouched.tokens());
        assertFalse(untouched.finished());

        int[] prompt = prefix.toIntVector();
        int[] sampled = new Sampler(new Sampler.Config(1.0, 0, 1.0), 4).generate(m, prompt, 12);
        int stop = firstNew(sampled);
        assertTrue(stop > 0, java.util.Arrays.toString(sampled));
        assertArrayEquals(java.util.Arrays.copyOf(sampled, stop + 1), new Sampler(new Sampler.Config(1.0, 0, 1.0), 4)
                .generate(m, prompt, 12, new int[] {sampled[stop]}));
    }

    /** The first index after 0 whose token the earlier ones do not hold (-1: none). */
    private static int firstNew(int[] tokens) {
        for (int i = 1; i < tokens.length; i++) {
            int t = tokens[i];
            if (java.util.Arrays.stream(tokens, 0, i).noneMatch(x -> x == t)) {
                return i;
            }
        }
        return -1;
    }

    private static int unused(int[] tokens, int vocab) {
        for (int v = 0; v < vocab; v++) {
            int id = v;
            if (java.util.Arrays.stream(tokens).noneMatch(x -> x == id)) {
                return v;
            }
        }
        return -1;
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

    /**
     * An encoder-decoder (vocabulary {@code vocab}, pre-LN, learned positions, untied head) whose head is scaled
     * by 8, so that its next-token distributions are peaked rather than the untrained model's near-uniform ones:
     * ties and near-ties between paths then cannot hide a search that is wrong.
     */
    static Seq2SeqTransformer peakedSeq2Seq(int vocab, long seed) {
        Nd4j.getRandom().setSeed(seed);
        Seq2SeqTransformer m = new Seq2SeqTransformer(ModelConfig.seq2seq(vocab, 16, 2, 32, 2, 16), DataType.DOUBLE);
        java.util.Map<String, INDArray> sharpened = new java.util.HashMap<>();
        m.parameters().forEach((name, p) -> sharpened.put(name, name.startsWith("head.") ? p.mul(8) : p));
        m.loadParameters(sharpened);
        return m;
    }

    /**
     * Width 1 is greedy on a model with peaked next-token distributions. Row 2 here: after BOS 0 the model
     * gives 7 log-probability -0.037 and EOS -3.541; a search that also finished end tokens ranked below the
     * beam width would end the row with "0 EOS" (total -3.544) where greedy goes on (total -3.069).
     */
    @Test
    void seq2seqBeamOfWidthOneIsGreedyTokensAndLogProbabilities() {
        Seq2SeqTransformer m = peakedSeq2Seq(9, 31);
        INDArray source = ids(new int[][] {{4, 5, 6, 7, 8}, {7, 8, 3, 0, 0}, {5, 0, 0, 0, 0}, {8, 8, 4, 6, 0},
            {6, 4, 5, 3, 7}, {3, 3, 0, 0, 0}});
        INDArray prefix = ids(new int[][] {{1}, {1}, {1}, {1}, {1}, {1}});
        List<Hypothesis> greedy = Greedy.decode(m, source, prefix, EOS, 10, true);
        List<Hypothesis> beam = BeamSearch.decode(m, source, prefix, EOS, new BeamSearch.Config(1, 0, 10), true);
        for (int i = 0; i < greedy.size(); i++) {
            String what = "row " + i + ": greedy " + java.util.Arrays.toString(greedy.get(i).tokens()) + " "
                    + greedy.get(i).logProb() + ", beam " + java.util.Arrays.toString(beam.get(i).tokens()) + " "
                    + beam.get(i).logProb();
            assertArrayEquals(greedy.get(i).tokens(), beam.get(i).tokens(), what);
            assertEquals(greedy.get(i).finished(), beam.get(i).finished(), what);
            assertEquals(greedy.get(i).logProb(), beam.get(i).logProb(), 1e-12, what);
        }
    }

    /**
     * Exhaustive search on a vocabulary of 5 with at most 3 tokens: every hypothesis beam search can finish
     * (EOS first, one token then EOS, or two tokens then any third: 1 + 4 + 4 * 4 * 5 = 85) is scored with the
     * model's own log-probabilities, recomputed per prefix through a DecodingSession. A beam of width 85 never
     * drops one, so it must return the best, with and without a length penalty.
     */
    @Test
    void aWideSeq2SeqBeamFindsTheBestSequenceByExhaustiveSearch() {
        int vocab = 5, maxTokens = 3, width = 85;
        Seq2SeqTransformer m = peakedSeq2Seq(vocab, 41);
        int[][] sources = {{3, 4, 4}, {4, 3, 0}};
        for (double alpha : new double[] {0, 1.0}) {
            List<Hypothesis> beam = BeamSearch.decode(m, ids(sources), ids(new int[][] {{1}, {1}}), EOS,
                    new BeamSearch.Config(width, alpha, maxTokens), true);
            for (int row = 0; row < sources.length; row++) {
                INDArray source = ids(new int[][] {sources[row]});
                double bestScore = Double.NEGATIVE_INFINITY, bestLogProb = 0;
                int[] bestTokens = null;
                int hypotheses = 0;
                List<int[]> frontier = new ArrayList<>(List.of(new int[0]));
                List<Double> logProbs = new ArrayList<>(List.of(0.0));
                while (!frontier.isEmpty()) {
                    int[] seq = frontier.remove(0);
                    double sofar = logProbs.remove(0);
                    int[] row1 = new int[seq.length + 1];
                    row1[0] = 1;
                    System.arraycopy(seq, 0, row1, 1, seq.length);
                    INDArray next = m.startDecoding(source).recompute(ids(new int[][] {row1})); // [1, V]
                    for (int v = 0; v < vocab; v++) {
                        double total = sofar + next.getDouble(0, v);
                        int[] grown = java.util.Arrays.copyOf(seq, seq.length + 1);
                        grown[seq.length] = v;
                        if (v == EOS || grown.length == maxTokens) {
                            hypotheses++;
                            // GNMT's length penalty (Wu et al. 2016): ((5 + length) / 6)^alpha, EOS counted
                            double score = total / Math.pow((5.0 + grown.length) / 6.0, alpha);
                            if (score > bestScore) {
                                bestScore = score;
                                bestLogProb = total;
                                bestTokens = v == EOS ? seq : grown;
                            }
                        } else {
                            frontier.add(grown);
                            logProbs.add(total);
                        }
                    }
                }
                assertEquals(width, hypotheses, "every finishable hypothesis fits in the beam");
                String what = "alpha " + alpha + " row " + row + ": exhaustive " + java.util.Arrays.toString(bestTokens)
                        + " " + bestLogProb + ", beam " + java.util.Arrays.toString(beam.get(row).tokens()) + " "
                        + beam.get(row).logProb();
                assertArrayEquals(bestTokens, beam.get(row).tokens(), what);
                assertEquals(bestLogProb, beam.get(row).logProb(), 1e-9, what);
                assertEquals(bestScore, beam.get(row).score(), 1e-9, what);
            }
        }
    }

    /**
     * Past the model's positions (maxLen 6) greedy decoding, beam search of width 1 (greedy by construction) and
     * top-1 sampling go on by the window rule the javadoc of {@code Window} states, cached or recomputed: each gives
     * the tokens of a loop written here from that rule alone (argmax of the log-probabilities recomputed over the
     * last tokens, the window restarting over the last maxLen / 2 when one more would not fit), for 20 tokens.
     * Large weights make the next token depend sharply on what the window holds.
     */
    @Test
    void pastTheContextGreedyBeamAndSamplerSlideTheSameWindow() {
        int maxLen = 6, count = 20;
        for (boolean seq2seq : new boolean[] {false, true}) {
            Nd4j.getRandom().setSeed(8);
            ModelConfig c = seq2seq ? ModelConfig.seq2seq(7, 16, 2, 32, 1, maxLen)
                    : ModelConfig.languageModel(7, 16, 2, 32, 2, maxLen).withoutPadding();
            TransformerModel m = seq2seq ? new Seq2SeqTransformer(c, DataType.DOUBLE) : new LanguageModel(c, DataType.DOUBLE);
            m.parameters().values().forEach(v -> v.muli(5));
            INDArray source = seq2seq ? ids(new int[][] {{4, 5, 6}, {3, 4, 0}}) : null;
            int[][] prompts = {{3, 1, 4}, {5, 2, 6}};
            String what = seq2seq ? "seq2seq" : "lm";

            List<Hypothesis> cached = Greedy.decode(m, source, ids(prompts), -1, count, true);
            List<Hypothesis> slow = Greedy.decode(m, source, ids(prompts), -1, count, false);
            BeamSearch.Config one = new BeamSearch.Config(1, 0, count);
            List<Hypothesis> beamCached = BeamSearch.decode(m, source, ids(prompts), -1, one, true);
            List<Hypothesis> beamSlow = BeamSearch.decode(m, source, ids(prompts), -1, one, false);
            for (int i = 0; i < prompts.length; i++) {
                int[] want = slidingArgMax(m, source == null ? null : source.getRow(i, true), prompts[i], count, maxLen);
                assertEquals(count, want.length);
                assertArrayEquals(want, cached.get(i).tokens(), what + " greedy, cached, row " + i);
                assertArrayEquals(want, slow.get(i).tokens(), what + " greedy, recomputed, row " + i);
                assertArrayEquals(want, beamCached.get(i).tokens(), what + " beam width 1, cached, row " + i);
                assertArrayEquals(want, beamSlow.get(i).tokens(), what + " beam width 1, recomputed, row " + i);
                if (!seq2seq) {
                    assertArrayEquals(want, new Sampler(new Sampler.Config(1, 1, 1), 5).generate(m, prompts[i], count),
                            "top-1 sampling, row " + i);
                }
            }
        }
    }

    /** The reference: every step recomputed from scratch over the window the documented rule gives. */
    private static int[] slidingArgMax(TransformerModel m, INDArray source, int[] prompt, int count, int maxLen) {
        int[] all = java.util.Arrays.copyOf(prompt, prompt.length + count);
        int length = prompt.length, start = Math.max(0, length - maxLen);
        try (DecodingSession session = m.startDecoding(source)) {
            for (int t = 0; t < count; t++) {
                if (length - start > maxLen) {
                    start = length - maxLen / 2;
                }
                double[] logProbs = session.recompute(ids(new int[][] {java.util.Arrays.copyOfRange(all, start, length)}))
                        .toDoubleVector();
                int best = 0; // the first of the largest, written out here (not Greedy's)
                for (int j = 1; j < logProbs.length; j++) {
                    best = logProbs[j] > logProbs[best] ? j : best;
                }
                all[length++] = best;
            }
        }
        return java.util.Arrays.copyOfRange(all, prompt.length, length);
    }
}
