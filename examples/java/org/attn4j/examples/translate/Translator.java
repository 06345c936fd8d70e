package org.attn4j.examples.translate;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.data.Batch;
import org.attn4j.data.Batches;
import org.attn4j.data.Vocabulary;
import org.attn4j.decode.Greedy;
import org.attn4j.decode.Hypothesis;
import org.attn4j.model.AttentionMaps;
import org.attn4j.model.TransformerModel;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An encoder-decoder with its two vocabularies, working on words: training batches, greedy
 * translation, and the attention weights of a sentence pair trimmed to its real words.
 */
record Translator(TransformerModel model, Vocabulary sourceVocabulary, Vocabulary targetVocabulary) {

    /** Source = French ids, decoder input = BOS + English ids, target = English ids + EOS. */
    Batch batch(List<ToyFrench.Pair> pairs) {
        int[][] src = new int[pairs.size()][], tgt = new int[pairs.size()][];
        for (int i = 0; i < src.length; i++) {
            src[i] = ids(sourceVocabulary, pairs.get(i).source());
            tgt[i] = ids(targetVocabulary, pairs.get(i).target());
        }
        return new Batch(Batches.pad(src, Vocabulary.PAD_ID),
                Batches.pad(Batches.prepend(Vocabulary.BOS_ID, tgt), Vocabulary.PAD_ID),
                Batches.pad(Batches.append(tgt, Vocabulary.EOS_ID), Vocabulary.PAD_ID));
    }

    /** A translation; {@code finished} is false when it did not end within the length limit. */
    record Output(List<String> words, boolean finished) {
    }

    /** Greedy translations (with the key/value cache), {@code batchSize} sentences at a time. */
    List<Output> translate(List<List<String>> sources, int batchSize) {
        List<Output> out = new ArrayList<>();
        List<int[]> ids = sources.stream().map(words -> ids(sourceVocabulary, words)).toList();
        int maxLen = model.config().maxLen();
        for (Hypothesis h : Greedy.decodeSources(model, ids, Vocabulary.BOS_ID, Vocabulary.EOS_ID, batchSize,
                longest -> Math.min(2 * longest + 2, maxLen - 1))) {
            out.add(new Output(words(h.tokens()), h.finished()));
        }
        return out;
    }

    /**
     * Every attention weight while the decoder reads {@code target} (teacher forcing), trimmed to real words:
     * encoder self {@code [L][H][S][S]}, decoder self {@code [L][H][T+1][T+1]} and cross {@code [L][H][T+1][S]},
     * where decoder row j is the position that predicts target word j (row T predicts the end) and decoder
     * self-attention's column k is the input token k (column 0 is BOS).
     */
    record Weights(double[][][][] encoderSelf, double[][][][] decoderSelf, double[][][][] cross) {
    }

    /** {@link Weights} of each pair, {@code batchSize} pairs per forward pass. */
    List<Weights> attention(List<List<String>> sources, List<List<String>> targets, int batchSize) {
        List<Weights> out = new ArrayList<>();
        for (int from = 0; from < sources.size(); from += batchSize) {
            int to = Math.min(sources.size(), from + batchSize);
            int[][] src = new int[to - from][], in = new int[to - from][];
            for (int i = from; i < to; i++) {
                src[i - from] = ids(sourceVocabulary, sources.get(i));
                in[i - from] = Batches.prepend(Vocabulary.BOS_ID, new int[][] {ids(targetVocabulary, targets.get(i))})[0];
            }
            AttentionMaps maps = model.attention(Batches.pad(src, Vocabulary.PAD_ID), Batches.pad(in, Vocabulary.PAD_ID));
            Layers encoderSelf = new Layers(maps.encoderSelf()), decoderSelf = new Layers(maps.decoderSelf());
            Layers cross = new Layers(maps.cross());
            for (int b = 0; b < src.length; b++) {
                int s = src[b].length, t = in[b].length;
                out.add(new Weights(encoderSelf.trim(b, s, s), decoderSelf.trim(b, t, t), cross.trim(b, t, s)));
            }
        }
        return out;
    }

    /** The source words not in the source vocabulary, sorted. */
    List<String> unknownSourceWords(List<String> words) {
        return words.stream().filter(w -> !sourceVocabulary.contains(w)).distinct().sorted().toList();
    }

    /** The target words not in the target vocabulary, sorted. */
    List<String> unknownTargetWords(List<String> words) {
        return words.stream().filter(w -> !targetVocabulary.contains(w)).distinct().sorted().toList();
    }

    private List<String> words(int[] ids) {
        String text = targetVocabulary.decode(ids);
        return text.isEmpty() ? List.of() : List.of(text.split(" "));
    }

    private static int[] ids(Vocabulary v, List<String> words) {
        return words.stream().mapToInt(v::id).toArray();
    }

    /** Attention weights of every layer, {@code [B, H, Tq, Tk]} each, copied out of ND4J once. */
    private static final class Layers {
        private final double[][] values;
        private final long[][] shapes;

        Layers(List<INDArray> layers) {
            values = new double[layers.size()][];
            shapes = new long[layers.size()][];
            for (int l = 0; l < values.length; l++) {
                INDArray w = layers.get(l).dup('c');
                values[l] = w.data().asDouble();
                shapes[l] = w.shape();
            }
        }

        /** Sentence {@code b}'s {@code [L][H][rows][cols]}. */
        double[][][][] trim(int b, int rows, int cols) {
            double[][][][] out = new double[values.length][][][];
            for (int l = 0; l < out.length; l++) {
                int heads = (int) shapes[l][1], tq = (int) shapes[l][2], tk = (int) shapes[l][3];
                out[l] = new double[heads][rows][cols];
                for (int h = 0; h < heads; h++) {
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(values[l], ((b * heads + h) * tq + r) * tk, out[l][h][r], 0, cols);
                    }
                }
            }
            return out;
        }
    }
}
