package org.attn4j.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.attn4j.model.DecodingSession;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Temperature, top-k and top-p on known distributions; seeded draws; generation against the cache. */
class SamplerTest {
    /** Probabilities 0.4, 0.25, 0.15, 0.1, 0.06, 0.04 in a shuffled id order, as log-probabilities. */
    private static final double[] P = {0.1, 0.4, 0.04, 0.25, 0.06, 0.15};

    private static double[] log(double[] p) {
        return Arrays.stream(p).map(Math::log).toArray();
    }

    private static double[] dist(double temperature, int topK, double topP) {
        return new Sampler(new Sampler.Config(temperature, topK, topP), 1).distribution(log(P));
    }

    private static int kept(double[] p) {
        return (int) Arrays.stream(p).filter(x -> x > 0).count();
    }

    /**
     * A GPT-2-sized vocabulary (50,257 ids, with runs of equal probabilities) against the definition written out:
     * every id sorted (most likely first, ties by the lower id), the top-k kept, then the smallest prefix of the
     * renormalized top-k whose mass reaches p. The sampler sorts only the ids it may keep; the top-p-only case
     * grows its prefix past the first 256 ids (p = 0.9 of a flat-ish distribution needs thousands).
     */
    @Test
    void restrictionsOnALargeVocabularyMatchTheDefinition() {
        java.util.Random r = new java.util.Random(5);
        double[] logits = new double[50257];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = i % 97 == 0 ? -3 : r.nextGaussian() * 2 - 11; // every 97th id alike: the most likely tie
        }
        double[][] configs = {{1, 40, 1}, {0.7, 1, 1}, {1, 0, 0.9}, {0.8, 0, 0.05}, {1.3, 500, 0.95}, {1, 0, 1}};
        for (double[] c : configs) {
            Sampler.Config config = new Sampler.Config(c[0], (int) c[1], c[2]);
            double[] got = new Sampler(config, 1).distribution(logits), want = definition(logits, config);
            String what = "T " + c[0] + ", top-k " + (int) c[1] + ", top-p " + c[2];
            assertEquals(kept(want), kept(got), what + ": tokens kept");
            assertArrayEquals(want, got, 1e-15, what);
        }
    }

    /** Sampler.distribution's definition, sorting every id. */
    private static double[] definition(double[] logProbs, Sampler.Config config) {
        int v = logProbs.length;
        double max = Arrays.stream(logProbs).max().orElseThrow(), sum = 0;
        double[] p = new double[v];
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp((logProbs[i] - max) / config.temperature());
            sum += p[i];
        }
        for (int i = 0; i < v; i++) {
            p[i] /= sum;
        }
        Integer[] order = new Integer[v];
        for (int i = 0; i < v; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        int keep = config.topK() == 0 ? v : Math.min(config.topK(), v);
        double kept = 0, cumulative = 0;
        for (int i = 0; i < keep; i++) {
            kept += p[order[i]];
        }
        int nucleus = 0;
        while (config.topP() < 1 && nucleus < keep && cumulative < config.topP()) {
            cumulative += p[order[nucleus++]] / kept;
        }
        keep = config.topP() < 1 ? nucleus : keep;
        double[] out = new double[v];
        double total = 0;
        for (int i = 0; i < keep; i++) {
            out[order[i]] = p[order[i]];
            total += p[order[i]];
        }
        for (int i = 0; i < v; i++) {
            out[i] /= total;
        }
        return out;
    }

    @Test
    void plainSamplingKeepsTheModelsDistribution() {
        assertArrayEquals(P, dist(1, 0, 1), 1e-12);
    }

    @Test
    void topKKeepsExactlyTheKMostLikely() {
        for (int k = 1; k <= P.length; k++) {
            double[] p = dist(1, k, 1);
            assertEquals(k, kept(p), "top-" + k);
            double smallestKept = Arrays.stream(P).sorted().toArray()[P.length - k];
            for (int i = 0; i < P.length; i++) {
                assertEquals(P[i] >= smallestKept, p[i] > 0, "top-" + k + ", id " + i);
            }
            assertEquals(1, Arrays.stream(p).sum(), 1e-12);
        }
        assertArrayEquals(new double[] {0, 0.4 / 0.65, 0, 0.25 / 0.65, 0, 0}, dist(1, 2, 1), 1e-12);
        assertEquals(P.length, kept(dist(1, 100, 1)), "k beyond the vocabulary keeps all");
        // Ties: exactly k tokens all the same, the lower ids first.
        double[] uniform = new Sampler(new Sampler.Config(1, 3, 1), 1).distribution(log(new double[] {0.2, 0.2, 0.2, 0.2, 0.2}));
        assertArrayEquals(new double[] {1 / 3.0, 1 / 3.0, 1 / 3.0, 0, 0}, uniform, 1e-12);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // Sorted: 0.4, 0.25, 0.15, 0.1, 0.06, 0.04; cumulative 0.4, 0.65, 0.8, 0.9, 0.96, 1.
        double[][] cases = {{0.3, 1}, {0.4 - 1e-9, 1}, {0.41, 2}, {0.64, 2}, {0.66, 3}, {0.85, 4}, {0.95, 5}, {0.97, 6}};
        for (double[] c : cases) {
            double[] p = dist(1, 0, c[0]);
            assertEquals((int) c[1], kept(p), "top-p " + c[0] + ": " + Arrays.toString(p));
        }
        assertArrayEquals(new double[] {0, 0.4 / 0.8, 0, 0.25 / 0.8, 0, 0.15 / 0.8}, dist(1, 0, 0.7), 1e-12);
        // After top-k the nucleus is taken of the renormalized top-k: 0.4/0.65 = 0.615 alone reaches 0.6.
        assertEquals(1, kept(dist(1, 2, 0.6)));
    }

    @Test
    void temperatureRaisesProbabilitiesToOneOverT() {
        for (double t : new double[] {0.5, 2, 0.25}) {
            double[] expected = Arrays.stream(P).map(x -> Math.pow(x, 1 / t)).toArray();
            double sum = Arrays.stream(expected).sum();
            assertArrayEquals(Arrays.stream(expected).map(x -> x / sum).toArray(), dist(t, 0, 1), 1e-12, "T=" + t);
        }
        double[] cold = dist(0.01, 0, 1);
        assertEquals(1, cold[1], 1e-12, "a low temperature is nearly greedy");
    }

    @Test
    void theSameSeedDrawsTheSameTokensAndDrawsFollowTheDistribution() {
        Sampler a = new Sampler(Sampler.Config.plain(), 42), b = new Sampler(Sampler.Config.plain(), 42);
        Sampler c = new Sampler(Sampler.Config.plain(), 43);
        int n = 20_000;
        int[] fromA = new int[n], fromB = new int[n], fromC = new int[n];
        double[] counts = new double[P.length];
        for (int i = 0; i < n; i++) {
            fromA[i] = a.sample(log(P));
            fromB[i] = b.sample(log(P));
            fromC[i] = c.sample(log(P));
            counts[fromA[i]]++;
        }
        assertArrayEquals(fromA, fromB);
        assertFalse(Arrays.equals(fromA, fromC), "another seed draws other tokens");
        for (int i = 0; i < P.length; i++) {
            assertEquals(P[i], counts[i] / n, 0.015, "frequency of id " + i); // 4.4 standard deviations at 0.4
        }
        Sampler top2 = new Sampler(new Sampler.Config(1, 2, 1), 5);
        for (int i = 0; i < 1000; i++) {
            int id = top2.sample(log(P));
            assertTrue(id == 1 || id == 3, "top-2 drew id " + id);
        }
    }

    @Test
    void badSettingsAreRefusedNamingTheValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Sampler.Config(0, 0, 1));
        assertEquals("temperature must be a positive number, given 0.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Sampler.Config(1, -1, 1));
        assertEquals("topK must be >= 0 (0: no limit), given -1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Sampler.Config(1, 0, 1.5));
        assertEquals("topP must be in (0, 1] (1: no limit), given 1.5", e.getMessage());
    }

    /**
     * Generation with the cache past the model's positions gives what recomputing each step's context from
     * scratch gives, with the same restart rule (a fresh context of the last maxLen / 2 tokens when full).
     */
    @Test
    void generatingWithTheCacheMatchesRecomputingEachContext() {
        Nd4j.getRandom().setSeed(8);
        int maxLen = 10;
        LanguageModel m = new LanguageModel(ModelConfig.languageModel(7, 16, 2, 32, 2, maxLen).withoutPadding(),
                DataType.DOUBLE);
        // Large weights make the next token depend sharply on the context, so a different context shows.
        m.parameters().values().forEach(v -> v.muli(5));
        int[] prompt = {3, 1, 4};
        int count = 30;
        int[] cached = new Sampler(new Sampler.Config(1.5, 0, 1), 9).generate(m, prompt, count);
        assertArrayEquals(cached, new Sampler(new Sampler.Config(1.5, 0, 1), 9).generate(m, prompt, count),
                "the same seed gives the same tokens");
        assertFalse(Arrays.equals(cached, new Sampler(new Sampler.Config(1.5, 0, 1), 10).generate(m, prompt, count)));

        Sampler reference = new Sampler(new Sampler.Config(1.5, 0, 1), 9);
        int[] all = Arrays.copyOf(prompt, prompt.length + count);
        int length = prompt.length, start = 0;
        DecodingSession session = m.startDecoding(null);
        for (int t = 0; t < count; t++) {
            if (length - start > maxLen) {
                start = length - maxLen / 2;
            }
            int[] context = Arrays.copyOfRange(all, start, length);
            double[] logProbs = session.recompute(Nd4j.createFromArray(new int[][] {context}).castTo(DataType.INT))
                    .toDoubleVector();
            all[length++] = reference.sample(logProbs);
        }
        assertArrayEquals(Arrays.copyOfRange(all, prompt.length, length), cached);
        assertEquals(count, cached.length);
        assertTrue(Arrays.stream(cached).allMatch(id -> id >= 0 && id < 7));
    }
}
