package org.attn4j.text;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.PriorityQueue;

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
    final int[] mergeResult;                    // [merges] id of the merged token
    final String unkToken;
    final boolean byteFallback;
    final boolean fuseUnk;
    final boolean ignoreMerges;
    private final PairMap ranks;
    private final int unkId;
    private final int[] byteIds = new int[256]; // <0xNN> token ids, -1 where absent

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
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            idToToken[e.getValue()] = e.getKey();
        }
        this.mergeLeft = mergeLeft;
        this.mergeRight = mergeRight;
        this.mergeResult = new int[mergeLeft.length];
        this.ranks = new PairMap(mergeLeft.length);
        for (int r = 0; r < mergeLeft.length; r++) {
            Integer merged = vocab.get(idToToken[mergeLeft[r]] + idToToken[mergeRight[r]]);
            if (merged == null) {
                throw new TokenizerFormatException("tokenizer.json: model.merges[" + r + "] makes '"
                        + idToToken[mergeLeft[r]] + idToToken[mergeRight[r]] + "', which is not in model.vocab");
            }
            mergeResult[r] = merged;
            ranks.put(mergeLeft[r], mergeRight[r], r); // a repeated pair keeps its last rank, as HF's map does
        }
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
        int n = symbols.length;
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] removed = new boolean[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        // (rank << 32 | position): the lowest rank first, the leftmost among equal ranks
        PriorityQueue<Long> queue = new PriorityQueue<>();
        for (int i = 0; i + 1 < n; i++) {
            offer(queue, symbols[i], symbols[i + 1], i);
        }
        int left = n;
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int rank = (int) (top >>> 32);
            int pos = (int) top;
            if (removed[pos] || next[pos] < 0) {
                continue;
            }
            int right = next[pos];
            int current = ranks.get(symbols[pos], symbols[right]);
            if (current < 0 || mergeResult[current] != mergeResult[rank]) {
                continue; // the pair at pos changed since this entry was queued
            }
            symbols[pos] = mergeResult[rank];
            removed[right] = true;
            left--;
            next[pos] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = pos;
            }
            if (prev[pos] >= 0) {
                offer(queue, symbols[prev[pos]], symbols[pos], prev[pos]);
            }
            if (next[pos] >= 0) {
                offer(queue, symbols[pos], symbols[next[pos]], pos);
            }
        }
        int[] out = new int[left];
        for (int i = 0, k = 0; i < n; i++) {
            if (!removed[i]) {
                out[k++] = symbols[i];
            }
        }
        return out;
    }

    private void offer(PriorityQueue<Long> queue, int a, int b, int pos) {
        int rank = ranks.get(a, b);
        if (rank >= 0) {
            queue.add(((long) rank << 32) | pos);
        }
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

    /** Open addressing from a pair of ids to its merge rank. */
    private static final class PairMap {
        private final long[] keys;
        private final int[] values;
        private final int mask;

        PairMap(int expected) {
            int cap = Integer.highestOneBit(Math.max(4, expected * 2)) * 2;
            keys = new long[cap];
            values = new int[cap];
            Arrays.fill(keys, -1L);
            mask = cap - 1;
        }

        void put(int a, int b, int value) {
            long key = ((long) a << 32) | (b & 0xFFFFFFFFL);
            int i = slot(key);
            while (keys[i] != -1L && keys[i] != key) {
                i = (i + 1) & mask;
            }
            keys[i] = key;
            values[i] = value;
        }

        int get(int a, int b) {
            long key = ((long) a << 32) | (b & 0xFFFFFFFFL);
            for (int i = slot(key); keys[i] != -1L; i = (i + 1) & mask) {
                if (keys[i] == key) {
                    return values[i];
                }
            }
            return -1;
        }

        private int slot(long key) {
            long h = key * 0x9E3779B97F4A7C15L;
            return (int) (h >>> 40) & mask;
        }
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
