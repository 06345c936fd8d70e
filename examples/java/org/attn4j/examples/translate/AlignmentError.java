package org.attn4j.examples.translate;

import java.util.HashSet;
import java.util.Set;

/**
 * Alignment error rate (Och and Ney 2003) with precision and recall, summed over a corpus: for a
 * predicted alignment A and gold sure links S within possible links P,
 * precision = |A∩P| / |A|, recall = |A∩S| / |S|, AER = 1 − (|A∩S| + |A∩P|) / (|A| + |S|).
 * Corpus scores add the counts of every sentence before dividing.
 */
final class AlignmentError {
    private long predicted, sure, predictedSure, predictedPossible;

    /** Adds one sentence: the predicted links A against the gold alignment. */
    void add(Set<Alignment.Link> a, Alignment gold) {
        predicted += a.size();
        sure += gold.sure().size();
        Set<Alignment.Link> inSure = new HashSet<>(a), inPossible = new HashSet<>(a);
        inSure.retainAll(gold.sure());
        inPossible.retainAll(gold.possible());
        predictedSure += inSure.size();
        predictedPossible += inPossible.size();
    }

    double precision() {
        return predicted == 0 ? 0 : (double) predictedPossible / predicted;
    }

    double recall() {
        return sure == 0 ? 0 : (double) predictedSure / sure;
    }

    double aer() {
        return predicted + sure == 0 ? 0 : 1 - (double) (predictedSure + predictedPossible) / (predicted + sure);
    }
}
