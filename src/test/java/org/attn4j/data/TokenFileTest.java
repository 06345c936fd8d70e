package org.attn4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.attn4j.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Token files: the bytes are llm.c's layout (read back here by hand, not by the class), the windows are contiguous
 * stretches of the text's ids, and a file another tokenizer wrote is refused in one line.
 */
class TokenFileTest {
    private static final Path SHAKESPEARE = Path.of("models/shakespeare-bpe"),
            GPT2 = Path.of("src/test/resources/tokenizers/gpt2");
    private static final String TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\n"
            + "It is the east, and Juliet is the sun.\n";

    @Test
    void theFileHoldsTheTextsIdsInLlmcsLayout(@TempDir Path dir) throws IOException {
        Tokenizer tokenizer = Tokenizer.fromPretrained(SHAKESPEARE);
        Path text = Files.writeString(dir.resolve("a.txt"), TEXT), file = dir.resolve("a.bin");
        TokenFile tokens = TokenFile.tokenize(text, tokenizer, file);
        int[] ids = tokenizer.encode(TEXT, false);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(20240520, b.getInt(0));
        assertEquals(1, b.getInt(4), "uint16 ids for a vocabulary of " + tokenizer.vocabSize());
        assertEquals(ids.length, b.getInt(8));
        assertEquals(tokenizer.vocabSize(), b.getInt(12));
        assertEquals(1024 + 2 * ids.length, Files.size(file));
        for (int i = 0; i < ids.length; i++) {
            assertEquals(ids[i], Short.toUnsignedInt(b.getShort(1024 + 2 * i)), "id " + i + " in the file");
            assertEquals(ids[i], tokens.get(i), "id " + i + " read back");
        }
        assertEquals(ids.length, tokens.size());
        assertEquals(TEXT, tokenizer.decode(ids));
    }

    @Test
    void largeVocabulariesTakeFourBytesAnId(@TempDir Path dir) throws IOException {
        int[] ids = {0, 65535, 65536, 69999, 7};
        Path file = dir.resolve("wide.bin");
        TokenFile.write(file, ids, 70000, "ab".repeat(32));
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(2, b.getInt(4));
        assertEquals(1024 + 4 * ids.length, Files.size(file));
        TokenFile tokens = TokenFile.open(file);
        assertArrayEquals(ids, new int[] {tokens.get(0), tokens.get(1), tokens.get(2), tokens.get(3), tokens.get(4)});
        assertEquals("ab".repeat(32), tokens.fingerprint());
    }

    @Test
    void windowsAreContiguousStretchesDrawnBySeedAndStep(@TempDir Path dir) {
        int[] ids = new int[500];
        Arrays.setAll(ids, i -> (i * 7) % 300);
        Path file = dir.resolve("w.bin");
        TokenFile.write(file, ids, 300, "00".repeat(32));
        TokenFile tokens = TokenFile.open(file);
        Batch b = tokens.window(3, 5, 4, 16);
        int[][] input = b.input().toIntMatrix(), target = b.target().toIntMatrix();
        for (int r = 0; r < 4; r++) {
            int start = indexOf(ids, input[r]);
            assertTrue(start >= 0, "row " + r + " is a stretch of the file");
            assertArrayEquals(Arrays.copyOfRange(ids, start + 1, start + 17), target[r], "the next tokens");
        }
        assertArrayEquals(input, tokens.window(3, 5, 4, 16).input().toIntMatrix(), "the same seed and step");
        assertNotEquals(Arrays.deepToString(input), Arrays.deepToString(tokens.window(3, 6, 4, 16).input().toIntMatrix()));
        int[][] eval = tokens.evaluationBatch(1, 2, 4, 16).input().toIntMatrix();
        assertArrayEquals(Arrays.copyOfRange(ids, 484 * 4 / 8, 484 * 4 / 8 + 16), eval[0], "evenly spaced starts");
        assertEquals("tiny.bin: holds 5 tokens; windows of context 16 need at least 17", assertThrows(
                IllegalArgumentException.class, () -> {
                    TokenFile.write(dir.resolve("tiny.bin"), new int[5], 300, "00".repeat(32));
                    TokenFile.open(dir.resolve("tiny.bin")).window(0, 0, 1, 16);
                }).getMessage().replace(dir + "/", ""));
    }

    @Test
    void aFileAnotherTokenizerWroteIsRefusedInOneLine(@TempDir Path dir) throws IOException {
        Path text = Files.writeString(dir.resolve("a.txt"), TEXT), file = dir.resolve("a.bin");
        TokenFile.tokenize(text, Tokenizer.fromPretrained(GPT2), file);
        Tokenizer shakespeare = Tokenizer.fromPretrained(SHAKESPEARE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TokenFile.tokenize(text, shakespeare, file));
        assertTrue(e.getMessage().matches(file + ": was written with another tokenizer \\(vocabulary size 50257, "
                + "fingerprint [0-9a-f]{12}\\); this model's has vocabulary size 512, fingerprint [0-9a-f]{12}: delete "
                + "the file to tokenize the text again"), e.getMessage());

        // the same vocabulary size, other tokens: told apart by the fingerprint
        int[] ids = shakespeare.encode(TEXT, false);
        TokenFile.write(file, ids, 512, "00".repeat(32));
        e = assertThrows(IllegalArgumentException.class, () -> TokenFile.open(file).requireTokenizer(shakespeare));
        assertTrue(e.getMessage().contains("(vocabulary size 512, fingerprint 000000000000); this model's has "
                + "vocabulary size 512, fingerprint " + TokenFile.fingerprint(shakespeare).substring(0, 12)), e.getMessage());

        Files.write(file, Arrays.copyOf(Files.readAllBytes(file), 1030));
        assertEquals(file + ": has 1030 bytes; its header's " + ids.length + " tokens of 2 bytes imply "
                + (1024 + 2 * ids.length), assertThrows(IllegalArgumentException.class, () -> TokenFile.open(file))
                .getMessage());
        Files.writeString(file, "not a token file".repeat(100));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TokenFile.open(file)).getMessage()
                .endsWith("not a token file (expected 20240520)"));
    }

    private static int indexOf(int[] all, int[] part) {
        for (int i = 0; i + part.length <= all.length; i++) {
            if (Arrays.equals(Arrays.copyOfRange(all, i, i + part.length), part)) {
                return i;
            }
        }
        return -1;
    }
}
