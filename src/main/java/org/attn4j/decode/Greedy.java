package org.attn4j.decode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.attn4j.kernels.Buf;
import org.attn4j.model.DecodingSession;
import org.attn4j.model.StepDecoder;
import org.attn4j.model.TransformerModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Greedy decoding: at every step, the most likely next token. Like {@link BeamSearch} and {@link Sampler}, it
 * goes on past the model's positions by sliding its window ({@link Window}).
 */
public final class Greedy {
    private Greedy() {
    }

    /**
     * Decodes one hypothesis per row. Past the model's positions ({@code maxLen}) decoding slides on, as
     * {@link Window} says: the model then sees only the latest tokens, and {@code maxTokens} alone bounds the length.
     *
     * @param source    {@code [B, S]} for an encoder-decoder, null for a language model
     * @param prefix    {@code [B, P]} ids every row starts with (for example BOS, or a prompt)
     * @param eos       the end-of-sequence id (-1: none)
     * @param maxTokens the most tokens to generate per row
     * @param useCache  feed one token per step against the key/value cache, or recompute the window
     */
    public static List<Hypothesis> decode(TransformerModel model, INDArray source, INDArray prefix, int eos,
            int maxTokens, boolean useCache) {
        return decode(model, source, prefix, EndIds.of(eos), maxTokens, useCache);
    }

    /**
     * {@link #decode(TransformerModel, INDArray, INDArray, int, int, boolean)} that ends a row at any of
     * {@code endIds} (a Hugging Face model's {@code eos_token_id} list: {@code LanguageModel.endTokenIds()}; empty:
     * none). The end id is not part of the hypothesis' tokens; {@code finished()} says a row ended on one.
     */
    public static List<Hypothesis> decode(TransformerModel model, INDArray source, INDArray prefix, int[] endIds,
            int maxTokens, boolean useCache) {
        try (DecodingSession session = model.startDecoding(source)) {
            return decode(session, prefix, endIds, maxTokens, useCache);
        }
    }

    /** {@link #decode(TransformerModel, INDArray, INDArray, int, int, boolean)} with a fresh decoding the caller owns. */
    public static List<Hypothesis> decode(StepDecoder session, INDArray prefix, int eos, int maxTokens,
            boolean useCache) {
        return decode(session, prefix, EndIds.of(eos), maxTokens, useCache);
    }

    /** {@link #decode(TransformerModel, INDArray, INDArray, int[], int, boolean)} with a decoding the caller owns. */
    public static List<Hypothesis> decode(StepDecoder session, INDArray prefix, int[] endIds, int maxTokens,
            boolean useCache) {
        EndIds ends = new EndIds(endIds);
        int b = (int) prefix.size(0);
        int[][] rows = org.attn4j.engine.Ids.rows(prefix); // every row's prefix and generated tokens
        Window window = new Window(session, rows[0].length);
        int[][] generated = new int[b][maxTokens];
        int[] length = new int[b];
        boolean[] done = new boolean[b];
        double[] logProb = new double[b];
        INDArray logProbs = window.first(rows, useCache);
        for (int t = 0; t < maxTokens; t++) {
            int[] next = new int[b];
            // read in place, not copied into double[][] (BENCHMARKS.md: rules)
            Buf scores = Buf.of(logProbs, logProbs.dataType() == DataType.FLOAT ? DataType.FLOAT : DataType.DOUBLE);
            int v = (int) logProbs.size(1);
            for (int i = 0; i < b; i++) {
                next[i] = done[i] ? ends.filler() : argMax(scores, i * v, v);
                if (!done[i]) {
                    logProb[i] += scores.get(i * v + next[i]);
                    done[i] = ends.contains(next[i]);
                    if (!done[i]) {
                        generated[i][length[i]++] = next[i];
                    }
                }
            }
            scores.close(); // this step's (or its copy): freed now rather than left to the garbage collector
            if (scores.array != logProbs) {
                logProbs.close();
            }
            boolean allDone = true;
            for (boolean d : done) {
                allDone &= d;
            }
            if (allDone || t == maxTokens - 1) {
                break;
            }
            for (int i = 0; i < b; i++) {
                rows[i] = Arrays.copyOf(rows[i], rows[i].length + 1);
                rows[i][rows[i].length - 1] = next[i];
            }
            logProbs = window.next(rows, next, useCache);
        }
        List<Hypothesis> out = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            out.add(new Hypothesis(Arrays.copyOf(generated[i], length[i]), done[i], logProb[i], logProb[i]));
        }
        return out;
    }

    /**
     * Greedy translation of many source sequences with an encoder-decoder: {@code batchSize} at a time, each
     * batch padded with the model's pad id and started from {@code bos}, with the key/value cache.
     *
     * @param maxTokens the most tokens to generate for a batch, given its longest source's length
     * @return one hypothesis per source, in order
     */
    public static List<Hypothesis> decodeSources(TransformerModel model, List<int[]> sources, int bos, int eos,
            int batchSize, java.util.function.IntUnaryOperator maxTokens) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, given " + batchSize);
        }
        List<Hypothesis> out = new ArrayList<>(sources.size());
        for (int from = 0; from < sources.size(); from += batchSize) {
            int[][] chunk = sources.subList(from, Math.min(sources.size(), from + batchSize)).toArray(int[][]::new);
            int longest = Arrays.stream(chunk).mapToInt(a -> a.length).max().orElse(0);
            try (INDArray source = org.attn4j.data.Batches.pad(chunk, model.config().padId());
                    INDArray start = Nd4j.valueArrayOf(new long[] {chunk.length, 1}, bos, DataType.INT)) {
                out.addAll(decode(model, source, start, eos, maxTokens.applyAsInt(longest), true));
            }
        }
        return out;
    }

    /** The first index of the largest of {@code v} values from {@code from} (as Nd4j.argMax). */
    static int argMax(Buf row, int from, int v) {
        int best = 0;
        double max = row.get(from);
        for (int j = 1; j < v; j++) {
            double x = row.get(from + j);
            if (x > max) {
                max = x;
                best = j;
            }
        }
        return best;
    }
}
