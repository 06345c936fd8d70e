package org.attn4j.examples.translate;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Corpus BLEU (Papineni et al. 2002) with one reference per sentence: modified (clipped) n-gram
 * precisions for n = 1..4, each summed over the whole corpus before dividing, their geometric mean, and
 * the brevity penalty exp(1 − r/c) when the candidates' total length c is below the references' total r.
 * No smoothing: a corpus without a single matching 4-gram scores 0.
 */
final class Bleu {
    static final int MAX_N = 4;
    private final long[] matches = new long[MAX_N], totals = new long[MAX_N];
    private long candidateLength, referenceLength;

    /** Adds one candidate translation and its reference (words). */
    void add(List<String> candidate, List<String> reference) {
        candidateLength += candidate.size();
        referenceLength += reference.size();
        for (int n = 1; n <= MAX_N; n++) {
            Map<List<String>, Integer> ref = ngrams(reference, n);
            for (Map.Entry<List<String>, Integer> e : ngrams(candidate, n).entrySet()) {
                matches[n - 1] += Math.min(e.getValue(), ref.getOrDefault(e.getKey(), 0));
                totals[n - 1] += e.getValue();
            }
        }
    }

    /** BLEU on a 0-100 scale. */
    double score() {
        double logPrecision = 0;
        for (int n = 0; n < MAX_N; n++) {
            if (matches[n] == 0) {
                return 0;
            }
            logPrecision += Math.log((double) matches[n] / totals[n]) / MAX_N;
        }
        double brevity = candidateLength >= referenceLength ? 1 : Math.exp(1 - (double) referenceLength / candidateLength);
        return 100 * brevity * Math.exp(logPrecision);
    }

    private static Map<List<String>, Integer> ngrams(List<String> words, int n) {
        Map<List<String>, Integer> counts = new HashMap<>();
        for (int i = 0; i + n <= words.size(); i++) {
            counts.merge(List.copyOf(words.subList(i, i + n)), 1, Integer::sum);
        }
        return counts;
    }
}
