package org.attn4j.decode;

import java.util.Arrays;
import java.util.Random;
import org.attn4j.model.DecodingSession;
import org.attn4j.model.TransformerModel;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Random sampling from a language model: temperature, then top-k, then top-p (nucleus), then one draw
 * from what is left, renormalized. Draws come from a {@link Random} seeded once, so the same seed, model
 * and prompt give the same tokens.
 *
 * <p>{@link #generate} feeds one token at a time against the key/value cache. A model's learned positions
 * end at {@code maxLen}; when the context is full, a fresh session is primed with the last {@code maxLen / 2}
 * tokens and continues from there (one prefix pass per {@code maxLen / 2} tokens, instead of nanoGPT's full
 * recomputation of the last {@code maxLen} tokens at every step).
 */
public final class Sampler {
    /**
     * @param temperature divides the logits: below 1 sharper, above 1 flatter; must be > 0
     * @param topK        keep only the k most likely tokens (0: all)
     * @param topP        keep the smallest set of most likely tokens whose probability reaches p (1: all)
     */
    public record Config(double temperature, int topK, double topP) {
        public Config {
            if (!(temperature > 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("temperature must be a positive number, given " + temperature);
            }
            if (topK < 0) {
                throw new IllegalArgumentException("topK must be >= 0 (0: no limit), given " + topK);
            }
            if (!(topP > 0 && topP <= 1)) {
                throw new IllegalArgumentException("topP must be in (0, 1] (1: no limit), given " + topP);
            }
        }

        /** Plain sampling from the model's distribution. */
        public static Config plain() {
            return new Config(1, 0, 1);
        }
    }

    private final Config config;
    private final Random random;

    public Sampler(Config config, long seed) {
        this.config = config;
        this.random = new Random(seed);
    }

    /**
     * The distribution tokens are drawn from: {@code softmax(logProbs / temperature)} restricted to the top-k,
     * then to the top-p nucleus, renormalized; tokens left out have probability 0. Ties in probability
     * are broken by the lower id, so top-k keeps exactly k tokens.
     */
    public double[] distribution(double[] logProbs) {
        int v = logProbs.length;
        double max = Double.NEGATIVE_INFINITY;
        for (double lp : logProbs) {
            max = Math.max(max, lp);
        }
        if (!Double.isFinite(max)) {
            throw new IllegalArgumentException("log-probabilities must have a finite maximum, found " + max);
        }
        double[] p = new double[v];
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp((logProbs[i] - max) / config.temperature());
        }
        normalize(p);
        int keep = config.topK() == 0 ? v : Math.min(config.topK(), v);
        if (keep == v && config.topP() >= 1) {
            return p;
        }
        // The most likely ids in order, as many as the restriction may keep: the top-k, or for top-p alone a
        // growing prefix until its renormalized mass reaches p. Only those are sorted: a sort of all V ids (V =
        // 50,257 for GPT-2) took ~9 ms a token, more than a decoding step of the model.
        int[] order;
        double kept = 0; // the mass top-p renormalizes by: the top-k's, or all of p's
        if (keep < v) {
            order = TopIds.largest(p, keep);
            for (int id : order) {
                kept += p[id];
            }
        } else {
            for (double x : p) {
                kept += x;
            }
            order = nucleusCandidates(p, kept);
        }
        if (config.topP() < 1) {
            double cumulative = 0; // of the top-k set, renormalized
            int nucleus = 0;
            while (nucleus < order.length && cumulative < config.topP()) {
                cumulative += p[order[nucleus++]] / kept;
            }
            keep = nucleus;
        }
        double[] out = new double[v];
        for (int i = 0; i < keep; i++) {
            out[order[i]] = p[order[i]];
        }
        normalize(out);
        return out;
    }

    /** Ids top-p alone sorts first; four times as many while their mass falls short of p. */
    private static final int NUCLEUS_START = 256;

    /** For top-p alone: the most likely ids, in order, as many as it takes for their mass / kept to reach top-p. */
    private int[] nucleusCandidates(double[] p, double kept) {
        int candidates = Math.min(p.length, NUCLEUS_START);
        while (true) {
            int[] order = TopIds.largest(p, candidates);
            double prefix = 0;
            for (int id : order) {
                prefix += p[id] / kept;
            }
            if (prefix >= config.topP() || candidates == p.length) {
                return order;
            }
            candidates = (int) Math.min(p.length, 4L * candidates);
        }
    }

    /** One token drawn from {@link #distribution(double[]) distribution(logProbs)}. */
    public int sample(double[] logProbs) {
        double[] p = distribution(logProbs);
        double u = random.nextDouble(), cumulative = 0;
        int last = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                cumulative += p[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        return last; // u fell in the rounding gap below 1
    }

    /**
     * {@code count} tokens that follow {@code prompt} (at least one id) in a decoder-only model, fed one at a
     * time against the key/value cache. Past the model's positions the window slides as {@link Window} says (as
     * in {@link Greedy} and {@link BeamSearch}), so any {@code count} is generated.
     */
    public int[] generate(TransformerModel model, int[] prompt, int count) {
        return generate(model, prompt, count, new int[0]);
    }

    /**
     * {@link #generate(TransformerModel, int[], int)} that stops early after sampling any of {@code endIds} (a Hugging
     * Face model's {@code eos_token_id} list: {@code LanguageModel.endTokenIds()}); the end id is the last token
     * returned, so a result shorter than {@code count} ended on one.
     */
    public int[] generate(TransformerModel model, int[] prompt, int count, int[] endIds) {
        EndIds ends = new EndIds(endIds);
        if (prompt.length == 0) {
            throw new IllegalArgumentException("The prompt must have at least one token, given none");
        }
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, given " + count);
        }
        int[][] row = {prompt};
        try (DecodingSession session = model.startDecoding(null)) {
            Window window = new Window(session, prompt.length);
            INDArray logProbs = window.first(row, true);
            for (int t = 0; t < count; t++) {
                int next = sample(logProbs.toDoubleVector());
                logProbs.close();
                row[0] = Arrays.copyOf(row[0], row[0].length + 1);
                row[0][row[0].length - 1] = next;
                if (t == count - 1 || ends.contains(next)) {
                    break;
                }
                logProbs = window.next(row, new int[] {next}, true);
            }
        }
        return Arrays.copyOfRange(row[0], prompt.length, row[0].length);
    }

    private static void normalize(double[] p) {
        double sum = 0;
        for (double x : p) {
            sum += x;
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
    }
}
