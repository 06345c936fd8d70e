package org.attn4j.data;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Tokens and their ids. Ids 0-3 are always the specials {@code <pad>}, {@code <bos>},
 * {@code <eos>} and {@code <unk>}; the other tokens follow in the order given.
 */
public final class Vocabulary {
    public static final String PAD = "<pad>", BOS = "<bos>", EOS = "<eos>", UNK = "<unk>";
    public static final int PAD_ID = 0, BOS_ID = 1, EOS_ID = 2, UNK_ID = 3;

    private final List<String> tokens;
    private final Map<String, Integer> ids = new HashMap<>();

    /** A vocabulary of the specials followed by {@code tokens} (duplicates and specials skipped). */
    public Vocabulary(Collection<String> tokens) {
        LinkedHashSet<String> all = new LinkedHashSet<>(List.of(PAD, BOS, EOS, UNK));
        all.addAll(tokens);
        this.tokens = List.copyOf(all);
        for (int i = 0; i < this.tokens.size(); i++) {
            ids.put(this.tokens.get(i), i);
        }
    }

    /** Rebuilds a vocabulary from its full token list (as {@link #tokens()} returns it). */
    public static Vocabulary fromTokens(List<String> all) {
        if (all.size() < 4 || !all.subList(0, 4).equals(List.of(PAD, BOS, EOS, UNK))) {
            throw new IllegalArgumentException("A vocabulary's token list must start with " + List.of(PAD, BOS, EOS, UNK)
                    + ", got " + all.subList(0, Math.min(4, all.size())));
        }
        if (new LinkedHashSet<>(all).size() != all.size()) {
            throw new IllegalArgumentException("A vocabulary's token list has duplicates");
        }
        return new Vocabulary(all.subList(4, all.size()));
    }

    /** Every token in id order, specials first. */
    public List<String> tokens() {
        return Collections.unmodifiableList(tokens);
    }

    public int size() {
        return tokens.size();
    }

    public String token(int id) {
        if (id < 0 || id >= tokens.size()) {
            throw new IllegalArgumentException("Token id " + id + " is outside the vocabulary [0, " + tokens.size() + ")");
        }
        return tokens.get(id);
    }

    /** The id of a token, or {@link #UNK_ID} for one not in the vocabulary. */
    public int id(String token) {
        return ids.getOrDefault(token, UNK_ID);
    }

    public boolean contains(String token) {
        return ids.containsKey(token);
    }

    /** Whitespace-separated words to ids, without specials. */
    public int[] encode(String text) {
        String trimmed = text.trim();
        if (trimmed.isEmpty()) {
            return new int[0];
        }
        return java.util.Arrays.stream(trimmed.split("\\s+")).mapToInt(this::id).toArray();
    }

    /** The words of a text that are not in the vocabulary, sorted. */
    public TreeSet<String> unknownWords(String text) {
        TreeSet<String> unknown = new TreeSet<>();
        for (String w : text.trim().split("\\s+")) {
            if (!w.isEmpty() && !ids.containsKey(w)) {
                unknown.add(w);
            }
        }
        return unknown;
    }

    /** Ids to words, stopping at the first end-of-sequence and leaving out padding and begin-of-sequence. */
    public String decode(int[] sequence) {
        List<String> words = new ArrayList<>();
        for (int id : sequence) {
            if (id == EOS_ID) {
                break;
            }
            if (id != PAD_ID && id != BOS_ID) {
                words.add(token(id));
            }
        }
        return String.join(" ", words);
    }
}
