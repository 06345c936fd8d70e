package org.attn4j.text;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.TreeSet;

/**
 * Learns a byte-level BPE vocabulary as HF's {@code BpeTrainer} with a {@code ByteLevel} pre-tokenizer does (GPT-2's
 * regex, no prefix space, the 256 byte symbols as the initial alphabet), and returns it as a {@link Tokenizer}
 * whose {@code savePretrained} writes a tokenizer.json HF loads.
 *
 * <pre>{@code
 * Tokenizer tok = BpeTrainer.of(32_000).withMinFrequency(2).withSpecialTokens(List.of("<|endoftext|>"))
 *         .trainFiles(List.of(Path.of("corpus.txt")));
 * tok.savePretrained(Path.of("my-tokenizer"));
 * }</pre>
 *
 * The merges are HF's: each step merges the most frequent adjacent pair, ties going to the pair of smallest ids,
 * and a pair's count is refreshed lazily, exactly as HF's priority queue does (so the merge lists agree; see
 * BpeTrainerTest). Memory grows with the distinct words and the pairs in them, not with the corpus: the corpus is
 * read once, a line at a time, into word counts.
 */
public final class BpeTrainer {
    private final int vocabSize;
    private final long minFrequency;
    private final List<String> specialTokens;
    private final PrintStream progress;

    private BpeTrainer(int vocabSize, long minFrequency, List<String> specialTokens, PrintStream progress) {
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " must be at least 1");
        }
        if (minFrequency < 0) {
            throw new IllegalArgumentException("minFrequency " + minFrequency + " must be at least 0");
        }
        this.vocabSize = vocabSize;
        this.minFrequency = minFrequency;
        this.specialTokens = List.copyOf(specialTokens);
        this.progress = progress;
    }

    /** A trainer for a vocabulary of {@code vocabSize} tokens (specials and the 256 byte symbols included). */
    public static BpeTrainer of(int vocabSize) {
        return new BpeTrainer(vocabSize, 0, List.of(), null);
    }

    /** Stops merging once the most frequent pair occurs fewer than {@code minFrequency} times (HF's min_frequency). */
    public BpeTrainer withMinFrequency(long minFrequency) {
        return new BpeTrainer(vocabSize, minFrequency, specialTokens, progress);
    }

    /** Special tokens, given the first ids in this order and split out of text before encoding. */
    public BpeTrainer withSpecialTokens(List<String> tokens) {
        return new BpeTrainer(vocabSize, minFrequency, tokens, progress);
    }

    /** Prints progress lines (words counted, merges done) to {@code out}. */
    public BpeTrainer withProgress(PrintStream out) {
        return new BpeTrainer(vocabSize, minFrequency, specialTokens, out);
    }

    /** Trains on text files read as HF's {@code train(files)} reads them: one sequence per line, line end included. */
    public Tokenizer trainFiles(List<Path> files) throws IOException {
        Map<String, long[]> counts = new LinkedHashMap<>();
        long sequences = 0;
        for (Path file : files) {
            try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                Iterator<String> lines = lines(r);
                while (lines.hasNext()) {
                    count(lines.next(), counts);
                    sequences++;
                    report(sequences, counts);
                }
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
        }
        return train(counts);
    }

    /** Trains on a stream of sequences (HF's {@code train_from_iterator}): each one pre-tokenized on its own. */
    public Tokenizer train(Iterator<String> sequences) {
        Map<String, long[]> counts = new LinkedHashMap<>();
        long n = 0;
        while (sequences.hasNext()) {
            count(sequences.next(), counts);
            report(++n, counts);
        }
        return train(counts);
    }

    private void report(long sequences, Map<String, long[]> counts) {
        if (progress != null && sequences % 100_000 == 0) {
            progress.printf("BpeTrainer: %,d sequences read, %,d distinct words%n", sequences, counts.size());
        }
    }

    /** GPT-2's pre-tokenizer words of one sequence, counted (unmapped: the byte map runs once per distinct word). */
    private static void count(String sequence, Map<String, long[]> counts) {
        Gpt2Split.split(sequence, (start, end) -> counts.computeIfAbsent(sequence.substring(start, end),
                w -> new long[1])[0]++);
    }

    /**
     * The words byte-mapped, in a HashMap filled in order of first occurrence: the map (and so the order in which
     * the merge loop numbers words) is the one counting mapped words straight into a HashMap would give.
     */
    private static Map<String, long[]> byteMapped(Map<String, long[]> firstSeenOrder) {
        Map<String, long[]> mapped = new HashMap<>();
        firstSeenOrder.forEach((word, count) -> mapped.put(ByteLevel.encode(word), count));
        return mapped;
    }

    private Tokenizer train(Map<String, long[]> unmappedCounts) {
        Map<String, long[]> wordCounts = byteMapped(unmappedCounts);
        unmappedCounts.clear();
        if (progress != null) {
            progress.printf("BpeTrainer: %,d distinct words; merging up to a vocabulary of %,d%n", wordCounts.size(),
                    vocabSize);
        }
        // 1. special tokens, then the alphabet (every character seen plus the 256 byte symbols) by code point
        Map<String, Integer> ids = new LinkedHashMap<>();
        List<String> tokens = new ArrayList<>();
        for (String s : new LinkedHashSet<>(specialTokens)) {
            ids.put(s, tokens.size());
            tokens.add(s);
        }
        TreeSet<Integer> alphabet = new TreeSet<>();
        for (char c : ByteLevel.alphabet()) {
            alphabet.add((int) c);
        }
        wordCounts.keySet().forEach(w -> w.codePoints().forEach(alphabet::add));
        for (int c : alphabet) {
            String s = new String(Character.toChars(c));
            if (!ids.containsKey(s)) {
                ids.put(s, tokens.size());
                tokens.add(s);
            }
        }
        // 2. words as symbol ids
        int[][] words = new int[wordCounts.size()][];
        long[] counts = new long[words.length];
        int w = 0;
        for (Map.Entry<String, long[]> e : wordCounts.entrySet()) {
            words[w] = e.getKey().codePoints().map(c -> ids.get(new String(Character.toChars(c)))).toArray();
            counts[w++] = e.getValue()[0];
        }
        wordCounts.clear();
        List<int[]> merges = new MergeLoop(words, counts, ids, tokens, vocabSize, minFrequency, progress).run();
        return tokenizer(ids, merges);
    }

    /** The trained vocabulary as HF's ByteLevel BPE tokenizer.json describes it. */
    private Tokenizer tokenizer(Map<String, Integer> ids, List<int[]> merges) {
        JsonObject json = new JsonObject();
        json.addProperty("version", "1.0");
        json.add("truncation", JsonNull.INSTANCE);
        json.add("padding", JsonNull.INSTANCE);
        JsonArray added = new JsonArray();
        for (String s : new LinkedHashSet<>(specialTokens)) {
            JsonObject t = new JsonObject();
            t.addProperty("id", ids.get(s));
            t.addProperty("content", s);
            t.addProperty("single_word", false);
            t.addProperty("lstrip", false);
            t.addProperty("rstrip", false);
            t.addProperty("normalized", false);
            t.addProperty("special", true);
            added.add(t);
        }
        json.add("added_tokens", added);
        json.add("normalizer", JsonNull.INSTANCE);
        json.add("pre_tokenizer", byteLevel(false, true));
        json.add("post_processor", byteLevel(true, false));
        json.add("decoder", byteLevel(true, true));
        JsonObject model = new JsonObject();
        model.addProperty("type", "BPE");
        model.add("dropout", JsonNull.INSTANCE);
        model.add("unk_token", JsonNull.INSTANCE);
        model.add("continuing_subword_prefix", JsonNull.INSTANCE);
        model.add("end_of_word_suffix", JsonNull.INSTANCE);
        model.addProperty("fuse_unk", false);
        model.addProperty("byte_fallback", false);
        model.addProperty("ignore_merges", false);
        json.add("model", model);
        int[] left = merges.stream().mapToInt(m -> m[0]).toArray();
        int[] right = merges.stream().mapToInt(m -> m[1]).toArray();
        return new Tokenizer(json, null, new BpeModel(new HashMap<>(ids), left, right, null, false, false, false));
    }

    private static JsonObject byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        JsonObject o = new JsonObject();
        o.addProperty("type", "ByteLevel");
        o.addProperty("add_prefix_space", addPrefixSpace);
        o.addProperty("trim_offsets", trimOffsets);
        o.addProperty("use_regex", true);
        return o;
    }

    /** Lines with their line ends, as Rust's {@code lines_with_ending} (split after each '\n'). */
    private static Iterator<String> lines(BufferedReader r) {
        return new Iterator<>() {
            private final StringBuilder line = new StringBuilder();
            private String next = advance();

            private String advance() {
                try {
                    line.setLength(0);
                    int c;
                    while ((c = r.read()) >= 0) {
                        line.append((char) c);
                        if (c == '\n') {
                            break;
                        }
                    }
                    return line.length() == 0 ? null : line.toString();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public String next() {
                if (next == null) {
                    throw new NoSuchElementException();
                }
                String out = next;
                next = advance();
                return out;
            }
        };
    }
}
