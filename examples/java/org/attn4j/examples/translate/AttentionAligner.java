package org.attn4j.examples.translate;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Word alignment from cross-attention alone: target word j is linked to the source word that decoder
 * position j (the one that predicts word j) gives the most weight, in one chosen combination of the
 * cross-attention weights: one head of one layer, the average of one layer's heads, or the average of
 * every head of every layer. The end-of-sentence row and padding are left out.
 */
final class AttentionAligner {
    /** A combination of cross-attention weights: {@code layer} -1 averages all layers, {@code head} -1 all heads. */
    record Choice(int layer, int head) {
        String describe() {
            if (layer < 0) {
                return "average of all layers and heads";
            }
            return "layer " + layer + (head < 0 ? " (average of its heads)" : " head " + head);
        }

        /** A short name for the RESULT line and file names: "all", "L1", "L1H2". */
        String label() {
            return layer < 0 ? "all" : "L" + layer + (head < 0 ? "" : "H" + head);
        }
    }

    /** A choice and its scores on the sentences it was measured on. */
    record Scored(Choice choice, AlignmentError score) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%-32s AER %.4f  precision %.4f  recall %.4f", choice.describe(),
                    score.aer(), score.precision(), score.recall());
        }
    }

    private AttentionAligner() {
    }

    /** Every combination: all layers averaged, each layer's head average, each single head. */
    static List<Choice> candidates(int layers, int heads) {
        List<Choice> out = new ArrayList<>(List.of(new Choice(-1, -1)));
        for (int l = 0; l < layers; l++) {
            out.add(new Choice(l, -1));
            for (int h = 0; h < heads; h++) {
                out.add(new Choice(l, h));
            }
        }
        return out;
    }

    /** The chosen weights {@code [T][S]} for the target words (rows of real target words only). */
    static double[][] combine(double[][][][] cross, Choice c, int targetLength) {
        int sources = cross[0][0][0].length;
        double[][] out = new double[targetLength][sources];
        int count = 0;
        for (int l = 0; l < cross.length; l++) {
            for (int h = 0; h < cross[l].length; h++) {
                if ((c.layer() >= 0 && l != c.layer()) || (c.head() >= 0 && h != c.head())) {
                    continue;
                }
                count++;
                for (int j = 0; j < targetLength; j++) {
                    for (int i = 0; i < sources; i++) {
                        out[j][i] += cross[l][h][j][i];
                    }
                }
            }
        }
        for (double[] row : out) {
            for (int i = 0; i < row.length; i++) {
                row[i] /= count;
            }
        }
        return out;
    }

    /** For each target word j (row), a link to its most-attended source word (column). */
    static Set<Alignment.Link> links(double[][] weights) {
        Set<Alignment.Link> out = new TreeSet<>();
        for (int j = 0; j < weights.length; j++) {
            int best = 0;
            for (int i = 1; i < weights[j].length; i++) {
                if (weights[j][i] > weights[j][best]) {
                    best = i;
                }
            }
            out.add(new Alignment.Link(best, j));
        }
        return out;
    }

    /** Scores one choice over sentences: cross-attention of each and its gold alignment. */
    static AlignmentError score(List<Translator.Weights> weights, List<ToyFrench.Pair> pairs, Choice c) {
        AlignmentError e = new AlignmentError();
        for (int n = 0; n < pairs.size(); n++) {
            e.add(links(combine(weights.get(n).cross(), c, pairs.get(n).target().size())), pairs.get(n).gold());
        }
        return e;
    }

    /** Every candidate's score, best (lowest AER, the first listed on a tie) first. */
    static List<Scored> rank(List<Translator.Weights> weights, List<ToyFrench.Pair> pairs) {
        double[][][][] first = weights.get(0).cross();
        List<Scored> out = new ArrayList<>();
        for (Choice c : candidates(first.length, first[0].length)) {
            out.add(new Scored(c, score(weights, pairs, c)));
        }
        out.sort((a, b) -> Double.compare(a.score().aer(), b.score().aer()));
        return out;
    }
}
