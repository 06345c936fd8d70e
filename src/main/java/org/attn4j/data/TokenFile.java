package org.attn4j.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.attn4j.text.Tokenizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A text tokenized once into a binary file of token ids, read memory-mapped (as nanoGPT's {@code train.bin} and
 * llm.c's shards), from which training takes contiguous windows.
 *
 * <pre>
 *   header: 256 little-endian int32
 *     [0] 20240520 (llm.c's magic)    [1] 1: ids are uint16, 2: uint32 (llm.c's versions)    [2] tokens
 *     [3] vocabulary size of the tokenizer that wrote it
 *     [4..11] its fingerprint: the first 32 bytes of SHA-256 over its tokens in id order ({@link #fingerprint})
 *   then the ids, little-endian uint16 (vocabularies of at most 65,536) or uint32
 * </pre>
 * llm.c's data loader reads these files as they are (it reads header words 0 to 2 only). A file written by another
 * tokenizer is refused ({@link #requireTokenizer}), in one line, before any training.
 */
public final class TokenFile {
    static final int MAGIC = 20240520, HEADER_INTS = 256, HEADER_BYTES = 4 * HEADER_INTS, FINGERPRINT_INTS = 8;
    private static final long SEGMENT = 1L << 30; // bytes per mapping (a MappedByteBuffer holds at most 2 GB)

    private final Path file;
    private final long tokens;
    private final int width, vocabSize; // bytes per id: 2 or 4
    private final String fingerprint;
    private final List<MappedByteBuffer> segments = new ArrayList<>();

    private TokenFile(Path file, long tokens, int width, int vocabSize, String fingerprint, FileChannel ch)
            throws IOException {
        this.file = file;
        this.tokens = tokens;
        this.width = width;
        this.vocabSize = vocabSize;
        this.fingerprint = fingerprint;
        long bytes = tokens * width;
        for (long at = 0; at < bytes; at += SEGMENT) {
            MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, HEADER_BYTES + at, Math.min(SEGMENT, bytes - at));
            m.order(ByteOrder.LITTLE_ENDIAN);
            segments.add(m);
        }
    }

    /**
     * A tokenizer's fingerprint: SHA-256 over its tokens in id order (UTF-8, each followed by a zero byte), 64 hex
     * digits. Two tokenizers with the same vocabulary have the same fingerprint; their ids mean the same tokens.
     */
    public static String fingerprint(Tokenizer tokenizer) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (int id = 0; id < tokenizer.vocabSize(); id++) {
                String token = tokenizer.idToToken(id);
                sha.update((token == null ? "" : token).getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    /**
     * The token file of {@code text} at {@code file}: tokenized now with {@code tokenizer} (no special tokens added)
     * and written atomically when there is none, else the one there, which must have been written by the same
     * tokenizer ({@link #requireTokenizer}).
     */
    public static TokenFile tokenize(Path text, Tokenizer tokenizer, Path file) {
        if (!Files.exists(file)) {
            String content;
            try {
                content = Files.readString(text, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalArgumentException(text + ": cannot read the text (" + e.getMessage() + ")");
            }
            write(file, tokenizer.encode(content, false), tokenizer.vocabSize(), fingerprint(tokenizer));
        }
        return open(file).requireTokenizer(tokenizer);
    }

    /** Writes {@code ids} as a token file of a tokenizer with {@code vocabSize} tokens, atomically. */
    public static void write(Path file, int[] ids, int vocabSize, String fingerprint) {
        if (fingerprint.length() != 8 * FINGERPRINT_INTS || !fingerprint.matches("[0-9a-f]+")) {
            throw new IllegalArgumentException("A fingerprint is 64 hex digits, got '" + fingerprint + "'");
        }
        int width = vocabSize <= 65536 ? 2 : 4;
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + ids.length * width).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(width == 2 ? 1 : 2).putInt(ids.length).putInt(vocabSize);
        byte[] print = HexFormat.of().parseHex(fingerprint);
        b.put(print).position(HEADER_BYTES);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new IllegalArgumentException(file + ": token " + i + " is id " + ids[i]
                        + ", outside the vocabulary [0, " + vocabSize + ")");
            }
            if (width == 2) {
                b.putShort((short) ids[i]);
            } else {
                b.putInt(ids[i]);
            }
        }
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
            Files.write(tmp, b.array());
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot write the token file (" + e + ")");
        }
    }

    /** Opens a token file, checking its header against its size. */
    public static TokenFile open(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES) {
                throw bad(file, "has " + size + " bytes, fewer than the " + HEADER_BYTES + "-byte header");
            }
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(h, 0);
            h.flip();
            int magic = h.getInt(), version = h.getInt();
            long tokens = Integer.toUnsignedLong(h.getInt());
            int vocab = h.getInt();
            byte[] print = new byte[4 * FINGERPRINT_INTS];
            h.get(print);
            if (magic != MAGIC) {
                throw bad(file, "starts with " + magic + ", not a token file (expected " + MAGIC + ")");
            }
            if (version != 1 && version != 2) {
                throw bad(file, "has version " + version + "; expected 1 (uint16 ids) or 2 (uint32)");
            }
            int width = version == 1 ? 2 : 4;
            if (size != HEADER_BYTES + tokens * width) {
                throw bad(file, "has " + size + " bytes; its header's " + tokens + " tokens of " + width
                        + " bytes imply " + (HEADER_BYTES + tokens * width));
            }
            if (vocab <= 0) {
                throw bad(file, "records vocabulary size " + vocab + " (a token file this class wrote has one)");
            }
            return new TokenFile(file, tokens, width, vocab, HexFormat.of().formatHex(print), ch);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read the token file (" + e + ")");
        }
    }

    /**
     * This file, when {@code tokenizer} wrote it (the same vocabulary size and fingerprint); else one line naming
     * both tokenizers.
     */
    public TokenFile requireTokenizer(Tokenizer tokenizer) {
        String print = fingerprint(tokenizer);
        if (tokenizer.vocabSize() != vocabSize || !print.equals(fingerprint)) {
            throw bad(file, "was written with another tokenizer (vocabulary size " + vocabSize + ", fingerprint "
                    + fingerprint.substring(0, 12) + "); this model's has vocabulary size " + tokenizer.vocabSize()
                    + ", fingerprint " + print.substring(0, 12) + ": delete the file to tokenize the text again");
        }
        return this;
    }

    private static IllegalArgumentException bad(Path file, String what) {
        return new IllegalArgumentException(file + ": " + what);
    }

    public Path file() {
        return file;
    }

    /** Tokens in the file. */
    public long size() {
        return tokens;
    }

    /** The vocabulary size of the tokenizer that wrote it. */
    public int vocabSize() {
        return vocabSize;
    }

    /** The fingerprint of the tokenizer that wrote it ({@link #fingerprint(Tokenizer)}). */
    public String fingerprint() {
        return fingerprint;
    }

    /** Token {@code i}. */
    public int get(long i) {
        long at = i * width;
        MappedByteBuffer m = segments.get((int) (at / SEGMENT));
        int off = (int) (at % SEGMENT);
        return width == 2 ? Short.toUnsignedInt(m.getShort(off)) : m.getInt(off);
    }

    /**
     * Training batch {@code step} of a run seeded {@code seed}: {@code batch} windows of {@code context + 1}
     * contiguous tokens at random starts (depending on seed and step only, so a resumed run draws the same),
     * input the first {@code context}, target the last.
     */
    public Batch window(long seed, int step, int batch, int context) {
        long starts = requireWindows(context);
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + step);
        long[] at = new long[batch];
        for (int i = 0; i < batch; i++) {
            at[i] = random.nextLong(starts);
        }
        return batch(at, context);
    }

    /**
     * Evaluation batch {@code i} of {@code count}: {@code batch} windows at evenly spaced starts over the whole file,
     * the same every time.
     */
    public Batch evaluationBatch(int i, int count, int batch, int context) {
        long starts = requireWindows(context);
        long[] at = new long[batch];
        for (int j = 0; j < batch; j++) {
            at[j] = (long) ((double) (i * batch + j) / (count * batch) * starts);
        }
        return batch(at, context);
    }

    private long requireWindows(int context) {
        if (context < 1 || tokens < context + 1) {
            throw bad(file, "holds " + tokens + " tokens; windows of context " + context + " need at least "
                    + (context + 1));
        }
        return tokens - context; // starts 0 .. tokens - context - 1
    }

    private Batch batch(long[] starts, int context) {
        int[][] input = new int[starts.length][context], target = new int[starts.length][context];
        for (int i = 0; i < starts.length; i++) {
            for (int t = 0; t < context; t++) {
                input[i][t] = get(starts[i] + t);
                target[i][t] = get(starts[i] + t + 1);
            }
        }
        return new Batch(null, Nd4j.createFromArray(input).castTo(DataType.INT),
                Nd4j.createFromArray(target).castTo(DataType.INT));
    }
}
