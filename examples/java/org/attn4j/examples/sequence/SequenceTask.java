package org.attn4j.examples.sequence;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import org.attn4j.data.Batch;
import org.attn4j.data.Batches;
import org.attn4j.data.Vocabulary;
import org.attn4j.decode.Greedy;
import org.attn4j.decode.Hypothesis;
import org.attn4j.model.TransformerModel;

/**
 * The classic first tasks for a transformer: read a sequence of digits and write it again, copied,
 * reversed or sorted. Digits 0-9 are tokens "0".."9" after the four specials of {@link Vocabulary}.
 */
public enum SequenceTask {
    COPY, REVERSE, SORT;

    /** The ten digit tokens, after the specials: digit {@code d} has id {@code d + 4}. */
    public static final Vocabulary VOCABULARY = new Vocabulary(List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"));
    /** Id of digit 0. */
    public static final int FIRST_DIGIT = VOCABULARY.id("0");

    /** The task's answer for {@code digits} (values 0-9). */
    public int[] apply(int[] digits) {
        return switch (this) {
            case COPY -> digits.clone();
            case REVERSE -> {
                int[] r = new int[digits.length];
                for (int i = 0; i < digits.length; i++) {
                    r[i] = digits[digits.length - 1 - i];
                }
                yield r;
            }
            case SORT -> {
                int[] r = digits.clone();
                Arrays.sort(r);
                yield r;
            }
        };
    }

    /** Parses "copy", "reverse" or "sort" (any case), with a message listing them otherwise. */
    public static SequenceTask parse(String name) {
        for (SequenceTask t : values()) {
            if (t.name().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("Unknown task '" + name + "': expected one of copy, reverse, sort");
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Digits (values 0-9) as token ids. */
    public static int[] ids(int[] digits) {
        int[] ids = new int[digits.length];
        for (int i = 0; i < digits.length; i++) {
            ids[i] = digits[i] + FIRST_DIGIT;
        }
        return ids;
    }

    /** One padded batch: source = the digits, decoder input = BOS + answer, target = answer + EOS. */
    public Batch batch(List<int[]> sequences) {
        int[][] src = new int[sequences.size()][], answer = new int[sequences.size()][];
        for (int i = 0; i < src.length; i++) {
            src[i] = ids(sequences.get(i));
            answer[i] = ids(apply(sequences.get(i)));
        }
        return new Batch(Batches.pad(src, Vocabulary.PAD_ID),
                Batches.pad(Batches.prepend(Vocabulary.BOS_ID, answer), Vocabulary.PAD_ID),
                Batches.pad(Batches.append(answer, Vocabulary.EOS_ID), Vocabulary.PAD_ID));
    }

    /**
     * How an encoder-decoder does on {@code sequences}, greedy decoding with the key/value cache.
     *
     * @param exactMatch fraction whose whole answer (and its end) is right
     * @param mistakes   the first few wrong answers, "input -> output (expected ...)"
     */
    public record Evaluation(double exactMatch, int n, List<String> mistakes) {
    }

    /** Greedy-decodes every sequence (in batches of {@code batchSize}) and compares it with the answer. */
    public Evaluation evaluate(TransformerModel model, List<int[]> sequences, int batchSize, int keepMistakes) {
        List<int[]> sources = sequences.stream().map(SequenceTask::ids).toList();
        List<Hypothesis> out = Greedy.decodeSources(model, sources, Vocabulary.BOS_ID, Vocabulary.EOS_ID, batchSize,
                longest -> longest + 2);
        int right = 0;
        List<String> mistakes = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            int[] want = ids(apply(sequences.get(i)));
            Hypothesis h = out.get(i);
            if (h.finished() && Arrays.equals(want, h.tokens())) {
                right++;
            } else if (mistakes.size() < keepMistakes) {
                mistakes.add(VOCABULARY.decode(sources.get(i)) + " -> " + VOCABULARY.decode(h.tokens())
                        + (h.finished() ? "" : " (no end)") + "   (expected " + VOCABULARY.decode(want) + ")");
            }
        }
        return new Evaluation((double) right / sequences.size(), sequences.size(), mistakes);
    }

    /**
     * Training and held-out sequences. The held-out set is drawn from lengths 3 and up: lengths 1 and 2 have
     * only 110 distinct sequences in all, and holding them out would leave the model never trained on them.
     * Training sequences are drawn fresh each batch and never equal a held-out one.
     */
    public static final class Data {
        private final int minLength, maxLength;
        private final List<int[]> heldOut;
        private final Set<String> heldOutKeys = new HashSet<>();

        /**
         * @param minLength shortest training sequence (default 1)
         * @param maxLength longest training sequence (default 12)
         * @param heldOut   how many distinct held-out sequences (default 2,000)
         */
        public Data(int minLength, int maxLength, int heldOut, long seed) {
            if (minLength < 1 || maxLength < minLength) {
                throw new IllegalArgumentException("Sequence lengths must satisfy 1 <= min <= max, given min "
                        + minLength + ", max " + maxLength);
            }
            this.minLength = minLength;
            this.maxLength = maxLength;
            int from = Math.max(minLength, Math.min(3, maxLength));
            double space = 0;
            for (int len = from; len <= maxLength; len++) {
                space += Math.pow(10, len);
            }
            if (heldOut > space / 2) {
                throw new IllegalArgumentException("Cannot hold out " + heldOut + " sequences of lengths " + from + "-"
                        + maxLength + ": only " + (long) space + " exist, and training needs the rest");
            }
            Random rnd = new Random(seed);
            this.heldOut = new ArrayList<>();
            while (this.heldOut.size() < heldOut) {
                int[] s = random(rnd, from, maxLength);
                if (heldOutKeys.add(Arrays.toString(s))) {
                    this.heldOut.add(s);
                }
            }
        }

        /** The held-out sequences (digits 0-9), never returned by {@link #trainingSequences}. */
        public List<int[]> heldOut() {
            return heldOut;
        }

        /** {@code count} fresh training sequences of lengths min..max, none in the held-out set. */
        public List<int[]> trainingSequences(int count, Random rnd) {
            List<int[]> out = new ArrayList<>(count);
            while (out.size() < count) {
                int[] s = random(rnd, minLength, maxLength);
                if (!heldOutKeys.contains(Arrays.toString(s))) {
                    out.add(s);
                }
            }
            return out;
        }

        /** Whether {@code digits} is one of the held-out sequences. */
        public boolean isHeldOut(int[] digits) {
            return heldOutKeys.contains(Arrays.toString(digits));
        }

        /** {@code count} sequences of lengths {@code from..to}, for example longer than any trained on. */
        public static List<int[]> sequences(int count, int from, int to, long seed) {
            Random rnd = new Random(seed);
            List<int[]> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                out.add(random(rnd, from, to));
            }
            return out;
        }

        private static int[] random(Random rnd, int from, int to) {
            int[] s = new int[from + rnd.nextInt(to - from + 1)];
            for (int i = 0; i < s.length; i++) {
                s[i] = rnd.nextInt(10);
            }
            return s;
        }
    }
}
