package org.attn4j.decode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.attn4j.model.DecodingSession;
import org.attn4j.model.StepDecoder;
import org.attn4j.model.TransformerModel;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Beam search: keeps the {@code width} best partial sequences of every row, ranks finished ones
 * by log-probability over the GNMT length penalty {@code ((5 + length) / 6)^alpha} (Wu et al. 2016;
 * alpha 0 ranks by plain log-probability). Past the model's positions it slides its window as {@link Window}
 * says, as {@link Greedy} and {@link Sampler} do; {@code maxTokens} alone bounds the length.
 */
public final class BeamSearch {
    /**
     * @param width         beams per row
     * @param lengthPenalty alpha of the length penalty
     * @param maxTokens     the most tokens to generate
     */
    public record Config(int width, double lengthPenalty, int maxTokens) {
        public Config {
            if (width < 1 || maxTokens < 1 || lengthPenalty < 0) {
                throw new IllegalArgumentException("beam width and maxTokens must be >= 1 and the length penalty >= 0, got "
                        + width + ", " + maxTokens + ", " + lengthPenalty);
            }
        }
    }

    private BeamSearch() {
    }

    private record Beam(int[] tokens, double logProb) {
    }

    /** The best hypothesis of each row ({@code source [B, S]} or null, {@code prefix [B, P]}). */
    public static List<Hypothesis> decode(TransformerModel model, INDArray source, INDArray prefix, int eos,
            Config config, boolean useCache) {
        return decode(model, source, prefix, EndIds.of(eos), config, useCache);
    }

    /**
     * {@link #decode(TransformerModel, INDArray, INDArray, int, Config, boolean)} where any of {@code endIds} ends a
     * hypothesis (a Hugging Face model's {@code eos_token_id} list; empty: none).
     */
    public static List<Hypothesis> decode(TransformerModel model, INDArray source, INDArray prefix, int[] endIds,
            Config config, boolean useCache) {
        try (DecodingSession session = model.startDecoding(source)) {
            return decode(session, prefix, endIds, config, useCache);
        }
    }

    /** {@link #decode(TransformerModel, INDArray, INDArray, int, Config, boolean)} with a fresh decoding the caller owns. */
    public static List<Hypothesis> decode(StepDecoder session, INDArray prefix, int eos, Config config,
            boolean useCache) {
        return decode(session, prefix, EndIds.of(eos), config, useCache);
    }

    /** {@link #decode(TransformerModel, INDArray, INDArray, int[], Config, boolean)} with a decoding the caller owns. */
    public static List<Hypothesis> decode(StepDecoder session, INDArray prefix, int[] endIds, Config config,
            boolean useCache) {
        EndIds ends = new EndIds(endIds);
        int b = (int) prefix.size(0), k = config.width();
        int[] firstRows = new int[b * k];
        for (int i = 0; i < firstRows.length; i++) {
            firstRows[i] = i / k;
        }
        int[][] sequences = pick(org.attn4j.engine.Ids.rows(prefix), firstRows); // prefix and tokens per beam
        Window window = new Window(session, sequences[0].length);
        session.select(firstRows); // every row's K beams start from the same prefix
        List<List<Beam>> alive = new ArrayList<>();
        List<List<Hypothesis>> finished = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            List<Beam> beams = new ArrayList<>();
            beams.add(new Beam(new int[0], 0));
            alive.add(beams);
            finished.add(new ArrayList<>());
        }
        INDArray logProbs = window.first(sequences, useCache);
        for (int t = 0; t < config.maxTokens(); t++) {
            int[] parents = new int[b * k], next = new int[b * k];
            boolean any = false;
            for (int i = 0; i < b; i++) {
                List<Beam> candidates = new ArrayList<>();
                List<Integer> origin = new ArrayList<>();
                List<Beam> beams = alive.get(i);
                for (int j = 0; j < beams.size(); j++) {
                    INDArray row = logProbs.getRow((long) i * k + j);
                    for (int v : topIndices(row, 2 * k)) {
                        int[] tokens = Arrays.copyOf(beams.get(j).tokens(), beams.get(j).tokens().length + 1);
                        tokens[tokens.length - 1] = v;
                        candidates.add(new Beam(tokens, beams.get(j).logProb() + row.getDouble(v)));
                        origin.add(i * k + j);
                    }
                }
                Integer[] order = new Integer[candidates.size()];
                for (int c = 0; c < order.length; c++) {
                    order[c] = c;
                }
                Arrays.sort(order, Comparator.comparingDouble(c -> -candidates.get(c).logProb()));
                List<Beam> kept = new ArrayList<>();
                for (int rank = 0; rank < order.length; rank++) {
                    int c = order[rank];
                    Beam cand = candidates.get(c);
                    int last = cand.tokens()[cand.tokens().length - 1];
                    boolean ended = ends.contains(last);
                    if (ended || t == config.maxTokens() - 1) {
                        // Only an end among the k best candidates finishes a hypothesis (as fairseq): a lower one
                        // would end the row early, so width 1 would not be greedy.
                        if (rank < k && finished.get(i).size() < k) {
                            int[] body = ended ? Arrays.copyOf(cand.tokens(), cand.tokens().length - 1) : cand.tokens();
                            finished.get(i).add(new Hypothesis(body, ended, cand.logProb(),
                                    cand.logProb() / penalty(cand.tokens().length, config.lengthPenalty())));
                        }
                    } else if (kept.size() < k) {
                        parents[i * k + kept.size()] = origin.get(c);
                        next[i * k + kept.size()] = last;
                        kept.add(cand);
                    }
                }
                boolean rowDone = finished.get(i).size() >= k || kept.isEmpty();
                for (int j = kept.size(); j < k; j++) { // pad with copies of a kept beam, never used
                    parents[i * k + j] = kept.isEmpty() ? i * k : parents[i * k];
                    next[i * k + j] = kept.isEmpty() ? ends.filler() : next[i * k];
                }
                alive.set(i, rowDone ? List.of() : kept);
                any |= !rowDone;
            }
            if (!any) {
                break;
            }
            logProbs.close(); // this step's: freed now rather than left to the garbage collector
            session.select(parents);
            int[][] grown = new int[b * k][];
            for (int r = 0; r < b * k; r++) {
                int[] p = sequences[parents[r]];
                grown[r] = Arrays.copyOf(p, p.length + 1);
                grown[r][p.length] = next[r];
            }
            sequences = grown;
            logProbs = window.next(sequences, next, useCache);
        }
        List<Hypothesis> best = new ArrayList<>();
        for (List<Hypothesis> f : finished) {
            best.add(f.stream().max(Comparator.comparingDouble(Hypothesis::score)).orElseThrow());
        }
        return best;
    }

    static double penalty(int length, double alpha) {
        return alpha == 0 ? 1 : Math.pow((5.0 + length) / 6.0, alpha);
    }

    private static int[] topIndices(INDArray row, int n) {
        return TopIds.largest(row.toDoubleVector(), n);
    }

    private static int[][] pick(int[][] a, int[] rows) {
        int[][] out = new int[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            out[i] = a[rows[i]];
        }
        return out;
    }
}
