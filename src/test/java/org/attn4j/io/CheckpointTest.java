package org.attn4j.io;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.attn4j.data.Batch;
import org.attn4j.data.Vocabulary;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Checkpoints: round trips, resumes, atomic replacement, and one clear message per kind of damage. */
class CheckpointTest {
    static final Vocabulary VOCAB = new Vocabulary(List.of("a", "b", "c", "d", "e", "f", "g", "h"));

    static INDArray ids(int[][] a) {
        return Nd4j.createFromArray(a).castTo(DataType.INT);
    }

    static Batch batch() {
        return new Batch(null, ids(new int[][] {{1, 4, 5, 6, 7}, {1, 8, 9, 10, 11}}),
                ids(new int[][] {{4, 5, 6, 7, 2}, {8, 9, 10, 11, 2}}));
    }

    static LanguageModel lm(long seed) {
        Nd4j.getRandom().setSeed(seed);
        return new LanguageModel(ModelConfig.languageModel(VOCAB.size(), 16, 2, 32, 2, 16).withDropout(0.1));
    }

    /**
     * A process killed between writing the new LATEST's temporary file and renaming it leaves that file behind
     * (InterruptedSaveTest's saver, killed at random moments 60 times, hit it at round 16; every later save
     * failed with "LATEST.tmp already exists", so a resumed run could never save again). The next save must
     * work, and clear what was left.
     */
    @Test
    void aSaveAfterOneKilledBeforeItsRenameWorks(@TempDir Path dir) throws IOException {
        LanguageModel model = lm(3);
        Checkpoint.save(dir, model, null, VOCAB, 1, null);
        Files.writeString(dir.resolve(Checkpoint.LATEST + ".tmp"), "ckpt-00000002-deadbeef 00\n"); // the old name
        Files.writeString(dir.resolve(Checkpoint.LATEST + ".tmp-0c1d"), "ckpt-00000002-deadbeef 00\n"); // a newer one
        Checkpoint.save(dir, model, null, VOCAB, 2, null);
        assertEquals(2, Checkpoint.load(dir).step());
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.map(f -> f.getFileName().toString())
                    .filter(n -> n.startsWith(Checkpoint.LATEST + ".tmp")).toList(), "abandoned LATEST.tmp files");
        }
    }

    @Test
    void bothModelKindsRoundTripToIdenticalOutputs(@TempDir Path dir) throws IOException {
        Nd4j.getRandom().setSeed(4);
        Seq2SeqTransformer s2s = new Seq2SeqTransformer(ModelConfig.seq2seq(VOCAB.size(), 16, 2, 32, 1, 16)
                .withPositions(PositionalEncoding.ROTARY), DataType.DOUBLE);
        INDArray src = ids(new int[][] {{4, 5, 6}}), in = ids(new int[][] {{1, 7, 8}});
        Checkpoint.save(dir.resolve("s2s"), s2s, VOCAB, VOCAB, 0, null);
        Checkpoint.Loaded back = Checkpoint.load(dir.resolve("s2s"));
        assertSameBits("seq2seq logits after a round trip", s2s.predict(src, in), back.model().predict(src, in));
        assertEquals(s2s.config(), back.model().config());
        assertEquals(DataType.DOUBLE, back.model().dataType());
        assertEquals(VOCAB.tokens(), back.targetVocabulary().tokens());
        assertNull(back.optimizerState());

        LanguageModel lm = lm(1);
        Checkpoint.save(dir.resolve("lm"), lm, null, VOCAB, 7, null);
        Checkpoint.Loaded lmBack = Checkpoint.load(dir.resolve("lm"));
        assertSameBits("language model logits after a round trip", lm.predict(null, in), lmBack.model().predict(null, in));
        assertEquals(7, lmBack.step());
        assertNull(lmBack.sourceVocabulary());
    }

    @Test
    void weightsAreAPlainNpzWithParameterNames(@TempDir Path dir) throws IOException {
        LanguageModel lm = lm(2);
        Checkpoint.save(dir, lm, null, VOCAB, 0, null);
        Path weights = folder(dir).resolve(Checkpoint.WEIGHTS);
        try (ZipFile zip = new ZipFile(weights.toFile())) {
            int n = 0;
            for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); n++) {
                ZipEntry entry = e.nextElement();
                assertEquals(ZipEntry.STORED, entry.getMethod(), entry.getName());
                String header = new String(zip.getInputStream(entry).readNBytes(128), StandardCharsets.ISO_8859_1);
                assertTrue(header.contains("'fortran_order': False"), header);
                assertTrue(lm.parameters().containsKey(entry.getName().replace(".npy", "")), entry.getName());
            }
            assertEquals(lm.parameters().size(), n);
        }
    }

    @Test
    void resumingFromACheckpointContinuesTheSameLossSequence(@TempDir Path dir) {
        Trainer.Config config = Trainer.Config.adam(Schedules.inverseSqrt(3e-3, 4)).withSeed(9);
        Trainer straight = new Trainer(lm(3), config);
        double[] expected = new double[8];
        for (int i = 0; i < 8; i++) {
            expected[i] = straight.step(batch()).loss();
        }
        Trainer first = new Trainer(lm(3), config);
        for (int i = 0; i < 3; i++) {
            first.step(batch());
        }
        Checkpoint.save(dir, first.model(), null, VOCAB, first.stepCount(), first.optimizerState());
        Checkpoint.Loaded loaded = Checkpoint.load(dir);
        Trainer resumed = new Trainer(loaded.model(), config);
        resumed.restore(loaded.step(), loaded.optimizerState());
        for (int i = 3; i < 8; i++) {
            assertEquals(expected[i], resumed.step(batch()).loss(), 0.0, "step " + i);
        }
    }

    @Test
    void anUnfinishedSaveLeavesThePreviousCheckpoint(@TempDir Path dir) throws IOException {
        LanguageModel lm = lm(5);
        Checkpoint.save(dir, lm, null, VOCAB, 1, null);
        INDArray in = ids(new int[][] {{1, 4, 5}});
        INDArray before = lm.predict(null, in);
        // A save killed half-way: its staging folder has a partial weights file and LATEST is untouched.
        Path staging = Files.createDirectory(dir.resolve(".tmp-killed"));
        Files.write(staging.resolve(Checkpoint.WEIGHTS), new byte[] {'P', 'K', 3, 4});
        assertSameBits("logits of LATEST beside a killed save", before, Checkpoint.load(dir).model().predict(null, in));
        // The next complete save replaces it and cleans up.
        Checkpoint.save(dir, lm, null, VOCAB, 2, null);
        assertEquals(2, Checkpoint.load(dir).step());
        try (var s = Files.list(dir)) {
            assertEquals(2, s.count(), "LATEST and one checkpoint folder remain");
        }
    }

    @Test
    void damageIsReportedWithTheFileAndTheProblem(@TempDir Path root) throws IOException {
        LanguageModel lm = lm(6);
        Path dir = root.resolve("ckpt");
        Checkpoint.save(dir, lm, null, VOCAB, 0, null);
        Path folder = folder(dir), weights = folder.resolve(Checkpoint.WEIGHTS), model = folder.resolve(Checkpoint.MODEL);
        byte[] good = Files.readAllBytes(weights);

        Files.write(weights, java.util.Arrays.copyOf(good, good.length / 2));
        expect(dir, weights + ": checksum mismatch");
        byte[] flipped = good.clone();
        flipped[flipped.length - 7] ^= 1;
        Files.write(weights, flipped);
        expect(dir, weights + ": checksum mismatch");
        Files.delete(weights);
        expect(dir, weights + ": missing");
        Files.write(weights, good);

        byte[] json = Files.readAllBytes(model);
        String edited = new String(json, StandardCharsets.UTF_8).replace("\"dModel\": 16", "\"dModel\": 8");
        Files.writeString(model, edited);
        expect(dir, model + ": checksum mismatch");
        // The same edit with a matching checksum: the weights no longer fit the configuration.
        Path latest = dir.resolve(Checkpoint.LATEST);
        Files.writeString(latest, folder.getFileName() + " " + Checkpoint.sha256(edited.getBytes(StandardCharsets.UTF_8)));
        expect(dir, "does not fit", "parameter 'embedding.weight' expected shape [12, 8], found [12, 16]");

        Files.writeString(latest, "garbage");
        expect(dir, latest + ": expected \"ckpt-<step>-<id> <sha256>\"");
        Files.delete(latest);
        expect(dir, latest + ": missing");
        expect(root.resolve("nowhere"), "no such checkpoint directory");
    }

    @Test
    void theCommittedModelsPassTheChecks() {
        for (String name : List.of("translate", "sequence-copy", "sequence-reverse", "sequence-sort")) {
            Checkpoint.Loaded loaded = Checkpoint.load(Path.of("models", name));
            assertEquals(loaded.model().config().targetVocab(), loaded.targetVocabulary().size(), name);
        }
    }

    private static void expect(Path dir, String... fragments) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.load(dir));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + e.getMessage() + "' should say '" + f + "'");
        }
    }

    static Path folder(Path dir) throws IOException {
        return dir.resolve(Files.readString(dir.resolve(Checkpoint.LATEST)).split(" ")[0]);
    }

}
