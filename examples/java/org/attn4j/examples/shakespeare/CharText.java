package org.attn4j.examples.shakespeare;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Iterator;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.attn4j.data.Batch;
import org.attn4j.text.BpeTrainer;
import org.attn4j.text.Tokenizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A text as character ids, split as nanoGPT's {@code shakespeare_char} does: the vocabulary is every
 * distinct character (Unicode code point) of the whole text in code-point order, the first 90% of the
 * characters train and the last 10% validate. With {@code --tokenizer bpe} the same two splits are byte-level BPE
 * ids instead, from a vocabulary {@link BpeTrainer} learns on the training split alone.
 *
 * <p>Batches are random windows of {@code context + 1} characters (input, and target shifted by one). Where a
 * window starts depends only on (seed, step, row) through SplitMix64, so a resumed run draws exactly the
 * batches an uninterrupted one would, and {@code bench/torch_shakespeare.py} draws the same ones.
 */
final class CharText {
    /** Seed of the fixed evaluation batches: the same for every run, so losses compare across runs. */
    static final long EVAL_SEED = 2026;

    final String characters; // the character vocabulary: id i is the i-th code point; null with a tokenizer
    final Tokenizer tokenizer; // the BPE vocabulary; null for characters
    final int[] train, validation; // ids
    final long validationCharacters; // code points in the validation split: a token's loss over this is per character

    CharText(String characters, int[] train, int[] validation) {
        this(characters, null, train, validation, validation.length);
    }

    private CharText(String characters, Tokenizer tokenizer, int[] train, int[] validation, long validationCharacters) {
        this.characters = characters;
        this.tokenizer = tokenizer;
        this.train = train;
        this.validation = validation;
        this.validationCharacters = validationCharacters;
    }

    /** The same 90/10 split of {@code text} (by characters), as ids of a BPE vocabulary learned on the first 90%. */
    static CharText bpe(String text, int vocabSize, PrintStream progress) {
        int split = text.offsetByCodePoints(0, (int) (text.codePointCount(0, text.length()) * 0.9));
        String train = text.substring(0, split);
        Iterator<String> lines = Pattern.compile("(?<=\n)").splitAsStream(train).iterator(); // line ends kept
        Tokenizer tokenizer = BpeTrainer.of(vocabSize).withProgress(progress).train(lines);
        return withTokenizer(tokenizer, text);
    }

    /** The 90/10 split of {@code text} (by characters) as ids of {@code tokenizer}. */
    static CharText withTokenizer(Tokenizer tokenizer, String text) {
        int split = text.offsetByCodePoints(0, (int) (text.codePointCount(0, text.length()) * 0.9));
        String validation = text.substring(split);
        return new CharText(null, tokenizer, tokenizer.encode(text.substring(0, split), false),
                tokenizer.encode(validation, false), validation.codePointCount(0, validation.length()));
    }

    /** Ids of {@code text}: characters (-1 for one not in the vocabulary), or BPE tokens. */
    int[] encode(String text) {
        return tokenizer != null ? tokenizer.encode(text, false) : encode(characters, text);
    }

    String decode(int[] ids) {
        return tokenizer != null ? tokenizer.decode(ids) : decode(characters, ids);
    }

    /** Validation tokens per validation character: a loss per token times this is a loss per character. */
    double tokensPerCharacter() {
        return validation.length / (double) validationCharacters;
    }

    /** The vocabulary and the 90/10 split of {@code text}. */
    static CharText of(String text) {
        String characters = vocabulary(text);
        int[] ids = encode(characters, text);
        int n = (int) (ids.length * 0.9);
        return new CharText(characters, Arrays.copyOfRange(ids, 0, n), Arrays.copyOfRange(ids, n, ids.length));
    }

    /** The distinct code points of {@code text}, in code-point order. */
    static String vocabulary(String text) {
        TreeSet<Integer> points = new TreeSet<>();
        text.codePoints().forEach(points::add);
        StringBuilder sb = new StringBuilder();
        points.forEach(sb::appendCodePoint);
        return sb.toString();
    }

    /** Ids of the characters of {@code text} in {@code characters}; -1 for one not there. */
    static int[] encode(String characters, String text) {
        int[] points = characters.codePoints().toArray();
        return text.codePoints().map(c -> Arrays.binarySearch(points, c)).map(i -> Math.max(i, -1)).toArray();
    }

    static String decode(String characters, int[] ids) {
        int[] points = characters.codePoints().toArray();
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.appendCodePoint(points[id]);
        }
        return sb.toString();
    }

    int vocabularySize() {
        return tokenizer != null ? tokenizer.vocabSize() : (int) characters.codePoints().count();
    }

    /** The smallest text length whose two splits both hold one window of {@code context + 1} characters. */
    static int shortestText(int context) {
        int n = context + 1;
        while ((int) (n * 0.9) < context + 1 || n - (int) (n * 0.9) < context + 1) {
            n++;
        }
        return n;
    }

    /** The training batch of {@code step}: {@code batch} windows of {@code context} inputs and targets. */
    Batch trainingBatch(long seed, int step, int batch, int context) {
        return windows(train, seed, step, batch, context);
    }

    /** Fixed evaluation batch {@code i} of a split. */
    Batch evaluationBatch(boolean validationSplit, int i, int batch, int context) {
        return windows(validationSplit ? validation : train, EVAL_SEED + (validationSplit ? 1 : 0), i, batch, context);
    }

    static Batch windows(int[] ids, long seed, int step, int batch, int context) {
        int[][] input = new int[batch][context], target = new int[batch][context];
        for (int row = 0; row < batch; row++) {
            int start = start(seed, step, row, ids.length - context);
            System.arraycopy(ids, start, input[row], 0, context);
            System.arraycopy(ids, start + 1, target[row], 0, context);
        }
        return new Batch(null, Nd4j.createFromArray(input).castTo(DataType.INT), // [B, T]
                Nd4j.createFromArray(target).castTo(DataType.INT));
    }

    /** Where window {@code row} of {@code step} starts, in [0, choices): SplitMix64 of (seed, step, row). */
    static int start(long seed, int step, int row, int choices) {
        long z = seed * 0x9E3779B97F4A7C15L + step * 0xBF58476D1CE4E5B9L + row * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (int) Long.remainderUnsigned(z, choices);
    }
}
