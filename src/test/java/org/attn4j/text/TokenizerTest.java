package org.attn4j.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The API around encode and decode: special ids, batches, streaming, lookups, and one clear error per bad input. */
class TokenizerTest {
    @TempDir
    Path tmp;

    private static Tokenizer gpt2;

    /** GPT-2's 3.5 MB file is read once for the class. */
    private static synchronized Tokenizer load(String kind) {
        if (!kind.equals("gpt2")) {
            return Tokenizer.fromPretrained(Fixtures.DIR.resolve(kind));
        }
        if (gpt2 == null) {
            gpt2 = Tokenizer.fromPretrained(Fixtures.DIR.resolve(kind));
        }
        return gpt2;
    }

    @Test
    void gpt2ReadsHelloWorldFromTheFileOrItsFolder() {
        assertArrayEquals(new int[] {15496, 995}, load("gpt2").encode("Hello world"));
        Tokenizer fromFile = Tokenizer.fromPretrained(Fixtures.DIR.resolve("gpt2/tokenizer.json"));
        assertArrayEquals(new int[] {15496, 995}, fromFile.encode("Hello world"));
        assertEquals(50257, fromFile.vocabSize());
    }

    /** The ids tokenizer_config.json names (and, without it, what tokenizer.json's template and padding say). */
    @Test
    void specialTokenIdsComeFromTheConfigAndTheTemplate() {
        Tokenizer gpt2 = load("gpt2");
        assertEquals(OptionalInt.of(50256), gpt2.bosId());
        assertEquals(OptionalInt.of(50256), gpt2.eosId());
        assertEquals(OptionalInt.empty(), gpt2.padId());
        Tokenizer llama2 = load("llama2");
        assertEquals(OptionalInt.of(1), llama2.bosId());
        assertEquals(OptionalInt.of(2), llama2.eosId());
        assertEquals(OptionalInt.of(0), llama2.unkId());
        Tokenizer meta = load("metaspace");
        assertEquals(OptionalInt.empty(), meta.bosId());
        assertEquals(OptionalInt.of(meta.tokenToId("</s>")), meta.eosId());
        assertEquals(OptionalInt.of(0), meta.padId());
        assertEquals(OptionalInt.of(0), meta.unkId());
    }

    @Test
    void tokenLookupsAgreeAndUnknownTokensAreMinusOne() {
        Tokenizer gpt2 = load("gpt2");
        assertEquals(15496, gpt2.tokenToId("Hello"));
        assertEquals("Hello", gpt2.idToToken(15496));
        assertEquals("Ġworld", gpt2.idToToken(995));
        assertEquals(50256, gpt2.tokenToId("<|endoftext|>"));
        assertEquals(-1, gpt2.tokenToId("no such token"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gpt2.idToToken(50257));
        assertTrue(e.getMessage().contains("id 50257"), e.getMessage());
    }

    /** Rows are the texts' own encodings, padded after (or, as metaspace's padding says, before) with the pad id. */
    @Test
    void batchesPadToTheLongestWithAMask() {
        List<String> texts = List.of("Hello world, how are you?", "Hi", "");
        for (String kind : List.of("gpt2", "metaspace")) {
            Tokenizer tok = load(kind);
            Tokenizer.Batch batch = tok.encodeBatch(texts);
            int longest = texts.stream().mapToInt(t -> tok.encode(t).length).max().orElseThrow();
            assertArrayEquals(new long[] {3, longest}, batch.ids().shape());
            assertEquals(DataType.INT32, batch.ids().dataType());
            boolean left = kind.equals("metaspace");
            int pad = tok.padId().orElse(0);
            for (int b = 0; b < texts.size(); b++) {
                int[] want = tok.encode(texts.get(b));
                assertEquals(want.length, batch.lengths()[b]);
                int[] row = row(batch.ids(), b);
                int[] mask = row(batch.mask(), b);
                int offset = left ? longest - want.length : 0;
                assertArrayEquals(want, Arrays.copyOfRange(row, offset, offset + want.length), kind + " row " + b);
                for (int t = 0; t < longest; t++) {
                    boolean token = t >= offset && t < offset + want.length;
                    assertEquals(token ? 1 : 0, mask[t], kind + " mask " + b + "," + t);
                    if (!token) {
                        assertEquals(pad, row[t], kind + " padding " + b + "," + t);
                    }
                }
            }
        }
    }

    private static int[] row(INDArray a, int b) {
        return a.getRow(b).toIntVector();
    }

    /**
     * Fed one id at a time, the pieces add up to decode(all ids) (which matches HF, TokenizerParityTest), and no
     * piece carries the U+FFFD of a character split across tokens.
     */
    @Test
    void streamDecodingHoldsSplitCharactersBack() throws IOException {
        for (String kind : List.of("gpt2", "llama2", "metaspace")) {
            Tokenizer tok = load(kind);
            for (String text : Fixtures.texts().subList(0, 400)) {
                int[] ids = tok.encode(text);
                Tokenizer.StreamDecoder d = tok.streamDecoder();
                StringBuilder sb = new StringBuilder();
                for (int id : ids) {
                    String piece = d.next(id);
                    assertFalse(piece.contains("\uFFFD") && !text.contains("\uFFFD"), kind + ": " + piece);
                    sb.append(piece);
                }
                sb.append(d.finish());
                assertEquals(tok.decode(ids), sb.toString(), kind + " " + TokenizerParityTest.quote(text));
            }
        }
        Tokenizer gpt2 = load("gpt2");
        int[] emoji = gpt2.encode("😀");
        assertTrue(emoji.length > 1, "GPT-2 splits the emoji's four bytes: " + Arrays.toString(emoji));
        Tokenizer.StreamDecoder d = gpt2.streamDecoder();
        assertEquals("", d.next(emoji[0]));
        String rest = "";
        for (int i = 1; i < emoji.length; i++) {
            rest += d.next(emoji[i]);
        }
        assertEquals("😀", rest);
    }

    @Test
    void missingFileIsNamed() {
        Path missing = tmp.resolve("nowhere");
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.fromPretrained(missing));
        assertEquals(missing + ": not found; expected a folder holding tokenizer.json, or a tokenizer.json file",
                e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.fromPretrained(tmp));
        assertEquals(tmp.resolve("tokenizer.json") + ": file not found", e.getMessage());
    }

    @Test
    void truncatedFileIsInvalidJson() throws IOException {
        byte[] whole = Files.readAllBytes(Fixtures.DIR.resolve("llama3/tokenizer.json"));
        Path cut = tmp.resolve("tokenizer.json");
        Files.write(cut, Arrays.copyOf(whole, whole.length / 2));
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.fromPretrained(cut));
        assertTrue(e.getMessage().startsWith(cut + ": not valid JSON (truncated or corrupted?)"), e.getMessage());
    }

    @Test
    void invalidJsonIsRefused() throws IOException {
        Path bad = tmp.resolve("tokenizer.json");
        Files.writeString(bad, "{\"model\": {\"type\": BPE}}");
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.fromPretrained(bad));
        assertTrue(e.getMessage().startsWith(bad + ": not valid JSON"), e.getMessage());
    }

    @Test
    void unknownModelTypeIsNamed() throws IOException {
        JsonObject json = fixtureJson("llama3");
        json.getAsJsonObject("model").addProperty("type", "WordPiece");
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> loadJson(json));
        assertEquals("tokenizer.json: model type 'WordPiece' is not supported; supported: BPE", e.getMessage());
    }

    @Test
    void unknownComponentTypeIsNamed() throws IOException {
        JsonObject json = fixtureJson("llama3");
        JsonObject whitespace = new JsonObject();
        whitespace.addProperty("type", "Whitespace");
        json.add("pre_tokenizer", whitespace);
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> loadJson(json));
        assertEquals("tokenizer.json: pre_tokenizer type 'Whitespace' is not supported; supported: "
                + "ByteLevel, Split, Metaspace, Sequence", e.getMessage());
        JsonObject nested = fixtureJson("llama2");
        nested.getAsJsonObject("decoder").getAsJsonArray("decoders").get(1).getAsJsonObject()
                .addProperty("type", "WordPiece");
        e = assertThrows(TokenizerFormatException.class, () -> loadJson(nested));
        assertTrue(e.getMessage().startsWith("tokenizer.json: decoder.decoders[1] type 'WordPiece' is not supported"),
                e.getMessage());
    }

    @Test
    void idsOutsideTheVocabularyAreRefusedInDecode() {
        Tokenizer gpt2 = load("gpt2");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gpt2.decode(new int[] {15496, 50257}));
        assertEquals("decode: id 50257 at index 1 is not in the vocabulary (ids 0..50256 and 1 added tokens)",
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> gpt2.decode(new int[] {-1}));
    }

    @Test
    void loneSurrogatesAreRefusedInEncode() {
        Tokenizer gpt2 = load("gpt2");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gpt2.encode("ab\uD83Dc"));
        assertTrue(e.getMessage().startsWith("encode: lone surrogate U+D83D at index 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> gpt2.encode("\uDE00"));
        assertArrayEquals(gpt2.encode("😀"), gpt2.encode("\uD83D\uDE00"));
    }

    @Test
    void mergesNamingUnknownTokensAreRefused() throws IOException {
        JsonObject json = fixtureJson("llama3");
        JsonArray merges = json.getAsJsonObject("model").getAsJsonArray("merges");
        JsonArray bogus = new JsonArray();
        bogus.add("Ġ");
        bogus.add("nonexistent");
        merges.set(5, bogus);
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> loadJson(json));
        assertEquals("tokenizer.json: model.merges[5] names 'nonexistent', which is not in model.vocab", e.getMessage());
    }

    private static JsonObject fixtureJson(String kind) throws IOException {
        return JsonParser.parseString(Files.readString(Fixtures.DIR.resolve(kind).resolve("tokenizer.json")))
                .getAsJsonObject();
    }

    private Tokenizer loadJson(JsonObject json) throws IOException {
        Path file = tmp.resolve("tokenizer.json");
        Files.writeString(file, json.toString(), StandardCharsets.UTF_8);
        return Tokenizer.fromPretrained(file);
    }
}
