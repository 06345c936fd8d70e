package org.attn4j.text;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * HF's BPE model: a word is split into characters (or {@code <0xNN>} byte tokens, or the unknown token), then the
 * adjacent pair of lowest merge rank is merged, leftmost first, until no pair has a merge. Results are cached per
 * word ({@link Tokenizer} keeps the cache), so the merges run once per distinct word of a text.
 */
final class BpeModel {
    final Map<String, Integer> vocab;
    final String[] idToToken;                   // [max id + 1], null where the model has no token
    final int[] mergeLeft;                      // [merges] left id of merge rank r
    final int[] mergeRight;                     // [merges] right id
    final String unkToken;
    final boolean byteFallback;
    final boolean fuseUnk;
    final boolean ignoreMerges;
    private final Merges merges;
    private final int unkId;
    private final int[] byteIds = new int[256]; // <0xNN> token ids, -1 where absent
    private final int[] byteLevelIds;           // [256] ids of GPT-2's stand-in characters; null unless all exist

    BpeModel(Map<String, Integer> vocab, int[] mergeLeft, int[] mergeRight, String unkToken, boolean byteFallback,
            boolean fuseUnk, boolean ignoreMerges) {
        this.vocab = vocab;
        int maxId = -1;
        for (int id : vocab.values()) {
            if (id < 0) {
                throw new TokenizerFormatException("tokenizer.json: model.vocab has a negative id " + id);
            }
            maxId = Math.max(maxId, id);
        }
        this.idToToken = new String[maxId + 1];
        int distinctIds = 0;
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            distinctIds += idToToken[e.getValue()] == null ? 1 : 0;
            idToToken[e.getValue()] = e.getKey();
        }
        this.mergeLeft = mergeLeft;
        this.mergeRight = mergeRight;
        int[] mergeResult = new int[mergeLeft.length];
        PairRanks ranks = new PairRanks(mergeLeft.length);
        for (int r = 0; r < mergeLeft.length; r++) {
            Integer merged = vocab.get(idToToken[mergeLeft[r]] + idToToken[mergeRight[r]]);
            if (merged == null) {
                throw new TokenizerFormatException("tokenizer.json: model.merges[" + r + "] makes '"
                        + idToToken[mergeLeft[r]] + idToToken[mergeRight[r]] + "', which is not in model.vocab");
            }
            mergeResult[r] = merged;
            ranks.put(mergeLeft[r], mergeRight[r], r);
        }
        this.merges = new Merges(mergeResult, ranks, distinctIds == vocab.size() && !vocab.containsKey(""));
        this.unkToken = unkToken;
        if (unkToken != null && !vocab.containsKey(unkToken)) {
            throw new TokenizerFormatException("tokenizer.json: model.unk_token '" + unkToken
                    + "' is not in model.vocab");
        }
        this.unkId = unkToken == null ? -1 : vocab.get(unkToken);
        this.byteFallback = byteFallback;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        for (int b = 0; b < 256; b++) {
            byteIds[b] = vocab.getOrDefault(byteToken(b), -1);
        }
        this.byteLevelIds = byteLevelIds(vocab);
    }

    /** The ids of the 256 stand-in characters by byte, or null when the vocabulary lacks one. */
    private static int[] byteLevelIds(Map<String, Integer> vocab) {
        int[] ids = new int[256];
        char[] alphabet = ByteLevel.alphabet();
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(alphabet[b]));
            if (id == null) {
                return null; // such a byte takes the unknown token or is dropped: encodeWord knows how
            }
            ids[b] = id;
        }
        return ids;
    }

    /** SentencePiece's name for a byte, {@code <0x0A>} (HF's {@code format!("<{b:#04X}>")}). */
    static String byteToken(int b) {
        final String hex = "0123456789ABCDEF";
        return "<0x" + hex.charAt(b >> 4) + hex.charAt(b & 15) + ">";
    }

    /** The ids of one pre-tokenized word. */
    int[] encodeWord(String word) {
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                return new int[] {whole};
            }
        }
        int[] symbols = initialSymbols(word);
        return merges.apply(symbols, symbols.length);
    }

    /**
     * The ids of the word {@code text[start, end)} after GPT-2's byte-to-character map ({@link ByteLevel}): equal to
     * {@code encodeWord(ByteLevel.encode(word))}, but the first symbols come from a table by byte, with no mapped
     * string built and no vocabulary lookups.
     */
    int[] encodeByteLevel(String text, int start, int end) {
        if (ignoreMerges || byteLevelIds == null) {
            return encodeWord(ByteLevel.encode(text.substring(start, end)));
        }
        int[] symbols = byteLevelSymbols(text, start, end);
        return merges.apply(symbols, symbols.length);
    }

    /** The word's UTF-8 bytes as the ids of their stand-in characters. */
    private int[] byteLevelSymbols(String text, int start, int end) {
        int[] symbols = new int[end - start];
        for (int i = start; i < end; i++) {
            char c = text.charAt(i);
            if (c >= 0x80) { // not ASCII: characters and bytes no longer correspond one to one
                byte[] bytes = text.substring(start, end).getBytes(StandardCharsets.UTF_8);
                symbols = new int[bytes.length];
                for (int k = 0; k < bytes.length; k++) {
                    symbols[k] = byteLevelIds[bytes[k] & 0xFF];
                }
                return symbols;
            }
            symbols[i - start] = byteLevelIds[c];
        }
        return symbols;
    }

    /** Characters as ids; unknown ones as their UTF-8 byte tokens (byte_fallback), else the (fused) unknown token. */
    private int[] initialSymbols(String word) {
        int[] out = new int[word.length() * 4];
        int n = 0;
        boolean lastUnk = false;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int len = Character.charCount(cp);
            String ch = word.substring(i, i + len);
            i += len;
            Integer id = vocab.get(ch);
            if (id != null) {
                out[n++] = id;
                lastUnk = false;
                continue;
            }
            if (byteFallback) {
                byte[] bytes = ch.getBytes(StandardCharsets.UTF_8);
                boolean all = true;
                for (byte b : bytes) {
                    all &= byteIds[b & 0xFF] >= 0;
                }
                if (all) {
                    for (byte b : bytes) {
                        out[n++] = byteIds[b & 0xFF];
                    }
                    lastUnk = false;
                    continue;
                }
            }
            if (unkId >= 0 && !(fuseUnk && lastUnk)) {
                out[n++] = unkId;
            }
            lastUnk = unkId >= 0;
            // no unknown token: HF drops the character silently, and so does this
        }
        return Arrays.copyOf(out, n);
    }

    /** The vocabulary in id order, for writing the file back. */
    Map<String, Integer> vocabInIdOrder() {
        Map<String, Integer> ordered = new LinkedHashMap<>();
        for (int id = 0; id < idToToken.length; id++) {
            if (idToToken[id] != null) {
                ordered.put(idToToken[id], id);
            }
        }
        return ordered;
    }
}
