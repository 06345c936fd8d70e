package org.attn4j.examples.translate;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.attn4j.data.Vocabulary;

/**
 * A user's parallel text for {@code --train-file}: the pairs trained on, the validation pairs (a
 * {@code --valid-file}, or a seeded slice of the training file that is never trained on), and the
 * vocabularies of the pairs trained on (a word met only elsewhere is read as {@code <unk>}).
 */
record FileCorpus(List<ToyFrench.Pair> train, List<ToyFrench.Pair> validation, Vocabulary sourceVocabulary,
        Vocabulary targetVocabulary) {

    /**
     * Holds out {@code slice} pairs of {@code all} for validation unless {@code validation} is given (non-null).
     *
     * @throws ParallelFile.BadFile when the file is too small to hold out a slice and keep one pair to train on
     */
    static FileCorpus of(String name, List<ToyFrench.Pair> all, List<ToyFrench.Pair> validation, int slice,
            long seed) {
        List<ToyFrench.Pair> train = all;
        if (validation == null) {
            if (all.size() < 2) {
                throw new ParallelFile.BadFile(name + ": 1 usable line; a training file needs at least 2 to hold one "
                        + "out for validation (or give --valid-file)");
            }
            List<ToyFrench.Pair> shuffled = new ArrayList<>(all);
            Collections.shuffle(shuffled, new Random(seed + 3));
            int held = Math.max(1, Math.min(slice, all.size() / 10));
            validation = List.copyOf(shuffled.subList(0, held));
            train = List.copyOf(shuffled.subList(held, shuffled.size()));
        }
        return new FileCorpus(train, validation, vocabulary(train, ToyFrench.Pair::source),
                vocabulary(train, ToyFrench.Pair::target));
    }

    /**
     * The positions a model needs for every pair, trained on or validating: the longest source, and the longest
     * target with BOS and room for EOS.
     */
    int maxLen() {
        int source = 0, target = 0;
        for (List<ToyFrench.Pair> pairs : List.of(train, validation)) {
            for (ToyFrench.Pair p : pairs) {
                source = Math.max(source, p.source().size());
                target = Math.max(target, p.target().size());
            }
        }
        return Math.max(source, target + 2);
    }

    /** {@code size} training pairs drawn at random (with replacement), the same for the same step. */
    List<ToyFrench.Pair> batch(int size, long seed, int step) {
        Random rnd = new Random(seed * 1_000_003L + step);
        List<ToyFrench.Pair> out = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            out.add(train.get(rnd.nextInt(train.size())));
        }
        return out;
    }

    /** The words of one side, in the order they first appear. */
    private static Vocabulary vocabulary(List<ToyFrench.Pair> pairs, Function<ToyFrench.Pair, List<String>> side) {
        LinkedHashSet<String> words = new LinkedHashSet<>();
        pairs.forEach(p -> words.addAll(side.apply(p)));
        return new Vocabulary(words);
    }
}
