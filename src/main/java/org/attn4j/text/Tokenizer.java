package org.attn4j.text;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A Hugging Face tokenizer read from {@code tokenizer.json}: text to ids and back exactly as the Rust
 * {@code tokenizers} library does, for BPE models (byte-level as GPT-2, Llama 3 and Qwen2; SentencePiece-style as
 * Llama 2 and Mistral).
 *
 * <pre>{@code
 * Tokenizer tok = Tokenizer.fromPretrained(Path.of("gpt2"));
 * int[] ids = tok.encode("Hello world");   // [15496, 995]
 * String text = tok.decode(ids);           // "Hello world"
 * }</pre>
 *
 * Encoding runs HF's pipeline: added tokens are split out (leftmost, longest first), the rest is normalized,
 * pre-tokenized into words and merged word by word (each distinct word once: results are cached), then the
 * post-processor adds its special tokens. A component the reader does not know is refused by name when loading,
 * never approximated. Instances are safe to share between threads.
 */
public final class Tokenizer {
    private final JsonObject json;          // tokenizer.json without model.vocab and model.merges
    private final JsonObject config;        // tokenizer_config.json, or null
    private final AddedTokens added;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final BpeModel model;
    private final PostProcessor postProcessor;
    private final Decoder decoder;
    private final int maxLength;            // truncation.max_length, or Integer.MAX_VALUE
    private final boolean truncateLeft;
    private final boolean padLeft;
    private final SpecialIds specials;
    private final boolean mapWordBytes;     // the pre-tokenizer's final byte-level map is applied on a cache miss
    private final WordCache wordCache = new WordCache(CACHE_MAX_WORD, CACHE_CAPACITY);

    /** Words longer than this are not cached (HF's limit too): they are rare and would crowd the cache. */
    private static final int CACHE_MAX_WORD = 255;
    private static final int CACHE_CAPACITY = 200_000;

    private record SpecialIds(OptionalInt bos, OptionalInt eos, OptionalInt pad, OptionalInt unk) {
    }

    Tokenizer(JsonObject json, JsonObject config, BpeModel model) {
        this.json = json;
        this.config = config;
        this.model = model;
        this.normalizer = TokenizerJson.normalizer(json.get("normalizer"), "normalizer");
        PreTokenizer read = TokenizerJson.preTokenizer(json.get("pre_tokenizer"), "pre_tokenizer");
        PreTokenizer unmapped = read == null ? null : PreTokenizer.withoutFinalByteMap(read);
        this.mapWordBytes = unmapped != null;
        this.preTokenizer = unmapped != null ? unmapped : read;
        this.postProcessor = TokenizerJson.postProcessor(json.get("post_processor"), "post_processor");
        this.decoder = TokenizerJson.decoder(json.get("decoder"), "decoder");
        this.added = new AddedTokens(TokenizerJson.addedTokens(json), normalizer);
        JsonElement truncation = json.get("truncation");
        if (truncation != null && truncation.isJsonObject()) {
            maxLength = truncation.getAsJsonObject().get("max_length").getAsInt();
            truncateLeft = "Left".equals(stringOr(truncation.getAsJsonObject(), "direction", "Right"));
        } else {
            maxLength = Integer.MAX_VALUE;
            truncateLeft = false;
        }
        JsonElement padding = json.get("padding");
        if (padding != null && padding.isJsonObject()) {
            JsonElement strategy = padding.getAsJsonObject().get("strategy");
            if (strategy != null && strategy.isJsonObject() && strategy.getAsJsonObject().has("Fixed")) {
                throw new TokenizerFormatException("tokenizer.json: padding.strategy " + strategy
                        + " is not supported (every encode would be padded); expected \"BatchLongest\" or null");
            }
            padLeft = "Left".equals(stringOr(padding.getAsJsonObject(), "direction", "Right"));
        } else {
            padLeft = false;
        }
        this.specials = specials();
    }

    /**
     * Reads a tokenizer: a directory holding {@code tokenizer.json} (and optionally {@code tokenizer_config.json},
     * which names the bos/eos/pad/unk tokens), or a {@code tokenizer.json} file itself.
     *
     * @throws TokenizerFormatException a missing or malformed file, or a component that is not supported (one line
     *                                  naming the file, the key and what was expected)
     */
    public static Tokenizer fromPretrained(Path path) {
        if (!Files.exists(path)) {
            throw new TokenizerFormatException(path + ": not found; expected a folder holding tokenizer.json, or a "
                    + "tokenizer.json file");
        }
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        TokenizerJson.Parsed parsed = TokenizerJson.parseTokenizer(file);
        Path configFile = file.resolveSibling("tokenizer_config.json");
        JsonObject config = Files.isRegularFile(configFile) ? TokenizerJson.parse(configFile) : null;
        return new Tokenizer(parsed.json(), config, TokenizerJson.model(parsed));
    }

    /** HF's {@code encode(text).ids}: the text's ids with the post-processor's special tokens. */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /**
     * The text's ids, with the post-processor's special tokens (BOS, EOS...) when {@code addSpecialTokens}.
     *
     * @throws IllegalArgumentException text that is not valid UTF-16 (a lone surrogate), naming its index
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        checkUtf16(text);
        IntList ids = new IntList(text.length() / 3 + 4);
        List<AddedTokens.Span> stretches = new ArrayList<>();
        PreTokenizer.WordSink addWord = (word, start, end) -> addWordIds(word, start, end, ids);
        for (AddedTokens.Span raw : added.splitRaw(text)) {
            if (raw.id() >= 0) {
                ids.add(raw.id());
                continue;
            }
            String normalized = normalizer == null ? raw.text() : normalizer.apply(raw.text());
            stretches.clear();
            added.splitNormalized(normalized, raw.atStart(), stretches);
            for (AddedTokens.Span s : stretches) {
                if (s.id() >= 0) {
                    ids.add(s.id());
                    continue;
                }
                if (preTokenizer == null) {
                    addWord.word(s.text(), 0, s.text().length());
                } else {
                    preTokenizer.forEachWord(new PreTokenizer.Piece(s.text(), s.atStart()), addWord);
                }
            }
        }
        int[] out = ids.toArray();
        int room = maxLength - (postProcessor == null || !addSpecialTokens ? 0 : postProcessor.added());
        if (out.length > room) {
            out = truncateLeft ? Arrays.copyOfRange(out, out.length - room, out.length) : Arrays.copyOf(out, room);
        }
        return postProcessor == null ? out : postProcessor.apply(out, addSpecialTokens);
    }

    /** Appends the ids of the word {@code text[start, end)}: from the cache, or merged (and cached) on a miss. */
    private void addWordIds(String text, int start, int end, IntList out) {
        if (wordCache.appendIds(text, start, end, out)) {
            return;
        }
        int[] ids = mapWordBytes ? model.encodeByteLevel(text, start, end)
                : model.encodeWord(text.substring(start, end));
        wordCache.put(text, start, end, ids);
        out.addAll(ids);
    }

    /** HF's {@code decode(ids, skip_special_tokens=False)}. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * The text of {@code ids} as HF's {@code decode} gives it; special added tokens are left out when
     * {@code skipSpecialTokens}.
     *
     * @throws IllegalArgumentException an id outside the vocabulary (HF drops it silently), naming it and its index
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int i = 0; i < ids.length; i++) {
            AddedTokens.Token t = added.byId(ids[i]);
            if (t != null) {
                if (!(skipSpecialTokens && t.special())) {
                    tokens.add(t.content());
                }
                continue;
            }
            String token = ids[i] >= 0 && ids[i] < model.idToToken.length ? model.idToToken[ids[i]] : null;
            if (token == null) {
                throw new IllegalArgumentException("decode: id " + ids[i] + " at index " + i
                        + " is not in the vocabulary (ids 0.." + (model.idToToken.length - 1) + " and "
                        + added.all().size() + " added tokens)");
            }
            if (!(skipSpecialTokens && isSpecial(token))) {
                tokens.add(token);
            }
        }
        if (decoder == null) {
            return String.join(" ", tokens);
        }
        return String.join("", decoder.apply(tokens));
    }

    private boolean isSpecial(String token) {
        AddedTokens.Token t = added.byContent(token);
        return t != null && t.special();
    }

    /**
     * Pads the texts' ids (with special tokens) to the longest, on the side tokenizer.json's {@code padding} names
     * (right when it names none), with {@link #padId()}, or 0 when the tokenizer has no pad token.
     */
    public Batch encodeBatch(List<String> texts) {
        int[][] all = new int[texts.size()][];
        int longest = 0;
        for (int b = 0; b < all.length; b++) {
            all[b] = encode(texts.get(b));
            longest = Math.max(longest, all[b].length);
        }
        int pad = specials.pad().orElse(0);
        int[] ids = new int[all.length * longest];
        int[] mask = new int[all.length * longest];
        int[] lengths = new int[all.length];
        Arrays.fill(ids, pad);
        for (int b = 0; b < all.length; b++) {
            int offset = b * longest + (padLeft ? longest - all[b].length : 0);
            System.arraycopy(all[b], 0, ids, offset, all[b].length);
            Arrays.fill(mask, offset, offset + all[b].length, 1);
            lengths[b] = all[b].length;
        }
        long[] shape = {all.length, longest};
        return new Batch(Nd4j.createFromArray(ids).reshape(shape).castTo(DataType.INT32),
                Nd4j.createFromArray(mask).reshape(shape).castTo(DataType.INT32), lengths);
    }

    /**
     * Encoded texts padded to one length.
     *
     * @param ids     {@code [B, T]} int32 token ids, padding where {@code mask} is 0
     * @param mask    {@code [B, T]} int32, 1 where there is a token, 0 at padding
     * @param lengths {@code [B]} tokens per text
     */
    public record Batch(INDArray ids, INDArray mask, int[] lengths) {
    }

    /** A decoder for ids that arrive one at a time (generation), special tokens kept. */
    public StreamDecoder streamDecoder() {
        return new StreamDecoder(this, false);
    }

    /** A decoder for ids that arrive one at a time, special added tokens left out when {@code skipSpecialTokens}. */
    public StreamDecoder streamDecoder(boolean skipSpecialTokens) {
        return new StreamDecoder(this, skipSpecialTokens);
    }

    /**
     * Decodes ids as they arrive: {@link #next} returns the text the new id completes, and holds text back while
     * it is incomplete (a UTF-8 character split across tokens would decode to U+FFFD), so the pieces of
     * {@code next} and {@link #finish} together equal {@code decode} of all the ids. Not thread-safe: one per
     * generated sequence.
     */
    public static final class StreamDecoder {
        private final Tokenizer tokenizer;
        private final boolean skipSpecialTokens;
        private final IntList window = new IntList(8); // the last emitted token(s), then the pending ones
        private int emitted;                           // how many of window are already printed
        private String emittedText = "";               // decode of window[0, emitted)

        StreamDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
            this.tokenizer = tokenizer;
            this.skipSpecialTokens = skipSpecialTokens;
        }

        /** The newly completed text; "" while the text so far ends inside a character. */
        public String next(int id) {
            window.add(id);
            String text = tokenizer.decode(window.toArray(), skipSpecialTokens);
            if (text.endsWith("\uFFFD") || !text.startsWith(emittedText)) {
                return "";
            }
            String piece = text.substring(emittedText.length());
            // keep the tokens just printed as context: decoders treat the first token of a text differently
            int[] kept = Arrays.copyOfRange(window.toArray(), emitted, window.size());
            window.clear();
            window.addAll(kept);
            emitted = kept.length;
            emittedText = tokenizer.decode(kept, skipSpecialTokens);
            return piece;
        }

        /** The text still held back (incomplete characters decode as U+FFFD, as {@code decode} does). */
        public String finish() {
            String text = tokenizer.decode(window.toArray(), skipSpecialTokens);
            String rest = text.startsWith(emittedText) ? text.substring(emittedText.length()) : text;
            window.clear();
            emitted = 0;
            emittedText = "";
            return rest;
        }
    }

    /**
     * Writes {@code tokenizer.json} (and {@code tokenizer_config.json}) into {@code dir}, created if needed: HF
     * {@code tokenizers} and attn4j read it back and encode every text as this tokenizer does.
     */
    public void savePretrained(Path dir) throws IOException {
        Files.createDirectories(dir);
        JsonObject out = json.deepCopy();
        out.add("model", TokenizerJson.modelJson(json.getAsJsonObject("model"), model));
        TokenizerJson.write(out, dir.resolve("tokenizer.json"));
        TokenizerJson.write(config != null ? config : defaultConfig(), dir.resolve("tokenizer_config.json"));
    }

    private JsonObject defaultConfig() {
        JsonObject c = new JsonObject();
        c.add("bos_token", TokenizerJson.nullable(tokenOrNull(specials.bos())));
        c.add("eos_token", TokenizerJson.nullable(tokenOrNull(specials.eos())));
        c.add("pad_token", TokenizerJson.nullable(tokenOrNull(specials.pad())));
        c.add("unk_token", TokenizerJson.nullable(tokenOrNull(specials.unk())));
        c.addProperty("tokenizer_class", "PreTrainedTokenizerFast");
        return c;
    }

    private String tokenOrNull(OptionalInt id) {
        return id.isPresent() ? idToToken(id.getAsInt()) : null;
    }

    /** The number of distinct tokens: the model's plus the added tokens it does not have (HF's with_added_tokens). */
    public int vocabSize() {
        int n = model.vocab.size();
        for (AddedTokens.Token t : added.all()) {
            if (!model.vocab.containsKey(t.content())) {
                n++;
            }
        }
        return n;
    }

    /** The id of a token string (added tokens first, then the model's vocabulary), or -1 when there is none. */
    public int tokenToId(String token) {
        AddedTokens.Token t = added.byContent(token);
        if (t != null) {
            return t.id();
        }
        Integer id = model.vocab.get(token);
        return id == null ? -1 : id;
    }

    /**
     * The token string of an id, as stored in the vocabulary (byte-level tokens show GPT-2's stand-ins: "Ġ" for a
     * space).
     *
     * @throws IllegalArgumentException an id that names no token
     */
    public String idToToken(int id) {
        AddedTokens.Token t = added.byId(id);
        if (t != null) {
            return t.content();
        }
        if (id < 0 || id >= model.idToToken.length || model.idToToken[id] == null) {
            throw new IllegalArgumentException("idToToken: id " + id + " is not in the vocabulary (ids 0.."
                    + (model.idToToken.length - 1) + " and " + added.all().size() + " added tokens)");
        }
        return model.idToToken[id];
    }

    /** The beginning-of-text token: tokenizer_config.json's {@code bos_token}, else the template's leading special. */
    public OptionalInt bosId() {
        return specials.bos();
    }

    /** The end-of-text token: tokenizer_config.json's {@code eos_token}, else the template's trailing special. */
    public OptionalInt eosId() {
        return specials.eos();
    }

    /** The padding token: tokenizer_config.json's {@code pad_token}, else tokenizer.json's {@code padding.pad_id}. */
    public OptionalInt padId() {
        return specials.pad();
    }

    /** The unknown token: tokenizer_config.json's {@code unk_token}, else the model's {@code unk_token}. */
    public OptionalInt unkId() {
        return specials.unk();
    }

    private SpecialIds specials() {
        OptionalInt bos = OptionalInt.empty();
        OptionalInt eos = OptionalInt.empty();
        if (postProcessor instanceof PostProcessor.Template t) {
            bos = t.before().length > 0 ? OptionalInt.of(t.before()[0]) : bos;
            eos = t.after().length > 0 ? OptionalInt.of(t.after()[t.after().length - 1]) : eos;
        }
        OptionalInt pad = OptionalInt.empty();
        JsonElement padding = json.get("padding");
        if (padding != null && padding.isJsonObject() && padding.getAsJsonObject().has("pad_id")) {
            pad = OptionalInt.of(padding.getAsJsonObject().get("pad_id").getAsInt());
        }
        OptionalInt unk = model.unkToken == null ? OptionalInt.empty() : OptionalInt.of(model.vocab.get(model.unkToken));
        return new SpecialIds(fromConfig("bos_token", bos), fromConfig("eos_token", eos),
                fromConfig("pad_token", pad), fromConfig("unk_token", unk));
    }

    /** A special token named in tokenizer_config.json (a string, or an object with "content"), else the fallback. */
    private OptionalInt fromConfig(String key, OptionalInt fallback) {
        JsonElement e = config == null ? null : config.get(key);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        String content = e.isJsonObject() ? e.getAsJsonObject().get("content").getAsString() : e.getAsString();
        int id = tokenToId(content);
        if (id < 0) {
            throw new TokenizerFormatException("tokenizer_config.json: " + key + " '" + content
                    + "' is not in the vocabulary of tokenizer.json");
        }
        return OptionalInt.of(id);
    }

    private static String stringOr(JsonObject o, String key, String absent) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? absent : e.getAsString();
    }

    private static void checkUtf16(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(String.format("encode: lone surrogate U+%04X at index %d of a "
                        + "text of %d chars; expected valid UTF-16 (Python and HF cannot encode it either)",
                        (int) c, i, text.length()));
            }
        }
    }
}
