package org.attn4j.io;

import static org.attn4j.io.CheckpointTest.VOCAB;
import static org.attn4j.io.CheckpointTest.folder;
import static org.attn4j.io.CheckpointTest.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.attn4j.kernels.BFloat16;
import org.attn4j.formats.Safetensors;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.model.TransformerModel;
import org.attn4j.testing.CraftedFiles;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Checkpoints with bfloat16 weights: each weight comes back as its rounding, widened exactly; the
 * optimizer state stays full precision; damaged and crafted files are refused with the file and the problem.
 */
class BFloat16CheckpointTest {
    @Test
    void float32WeightsComeBackRoundedAndTheOptimizerStateExact(@TempDir Path dir) throws IOException {
        Trainer t = new Trainer(CheckpointTest.lm(7), Trainer.Config.adam(Schedules.constant(1e-3)));
        t.step(CheckpointTest.batch());
        TransformerModel lm = t.model();
        Checkpoint.save(dir, lm, null, VOCAB, 1, t.optimizerState(), Checkpoint.Storage.BFLOAT16);
        Path folder = folder(dir);
        assertTrue(Files.exists(folder.resolve(Checkpoint.WEIGHTS_BF16)));
        assertFalse(Files.exists(folder.resolve(Checkpoint.WEIGHTS)));

        Checkpoint.Loaded back = Checkpoint.load(dir);
        assertEquals(DataType.FLOAT, back.model().dataType());
        long count = 0;
        for (Map.Entry<String, INDArray> e : lm.parameters().entrySet()) {
            float[] saved = e.getValue().dup('c').data().asFloat();
            float[] loaded = back.model().parameters().get(e.getKey()).dup('c').data().asFloat();
            for (int i = 0; i < saved.length; i++) {
                float expected = BFloat16.toFloat(BFloat16.fromFloat(saved[i]));
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(loaded[i]), e.getKey() + "[" + i + "]");
            }
            count += saved.length;
        }
        // 2 bytes a weight plus the header
        long size = Files.size(folder.resolve(Checkpoint.WEIGHTS_BF16));
        assertTrue(size >= 2 * count && size < 2 * count + 8192, size + " bytes for " + count + " weights");
        t.optimizerState().forEach((k, v) -> assertTrue(v.equalsWithEps(back.optimizerState().get(k), 0), k));
        INDArray in = ids(new int[][] {{1, 4, 5, 6}});
        double moved = lm.predict(null, in).sub(back.model().predict(null, in)).amaxNumber().doubleValue();
        assertTrue(moved > 0 && moved < 0.05, "the rounded model's log-probabilities moved by " + moved);
    }

    @Test
    void float64WeightsRoundOnceAndLoadAsFloat64(@TempDir Path dir) {
        Nd4j.getRandom().setSeed(8);
        Seq2SeqTransformer s2s = new Seq2SeqTransformer(ModelConfig.seq2seq(VOCAB.size(), 16, 2, 32, 1, 16), DataType.DOUBLE);
        Checkpoint.save(dir, s2s, VOCAB, VOCAB, 0, null, Checkpoint.Storage.BFLOAT16);
        Checkpoint.Loaded back = Checkpoint.load(dir);
        assertEquals(DataType.DOUBLE, back.model().dataType());
        s2s.parameters().forEach((name, v) -> {
            double[] saved = v.dup('c').data().asDouble();
            double[] loaded = back.model().parameters().get(name).dup('c').data().asDouble();
            for (int i = 0; i < saved.length; i++) {
                assertEquals(BFloat16.toFloat(BFloat16.fromDouble(saved[i])), loaded[i], 0.0, name + "[" + i + "]");
                assertTrue(Math.abs(loaded[i] - saved[i]) <= 0x1p-8 * Math.abs(saved[i]), name + "[" + i + "]");
            }
        });
    }

    @Test
    void damagedAndCraftedFilesAreRefused(@TempDir Path root) throws IOException {
        Path dir = root.resolve("ckpt");
        LanguageModel lm = CheckpointTest.lm(9);
        Checkpoint.save(dir, lm, null, VOCAB, 0, null, Checkpoint.Storage.BFLOAT16);
        Path folder = folder(dir), weights = folder.resolve(Checkpoint.WEIGHTS_BF16);
        byte[] good = Files.readAllBytes(weights);

        byte[] flipped = good.clone();
        flipped[flipped.length - 3] ^= 1;
        Files.write(weights, flipped);
        expect(dir, weights + ": checksum mismatch");

        // Crafted, with every checksum recomputed: a shape that does not fit the configuration
        String header = new String(good, 8, (int) java.nio.ByteBuffer.wrap(good, 0, 8)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(), StandardCharsets.UTF_8).strip();
        byte[] data = java.util.Arrays.copyOfRange(good, good.length - dataBytes(lm), good.length);
        String embedding = "\"embedding.weight\":{\"dtype\":\"BF16\",\"shape\":[12,16]";
        assertTrue(header.contains(embedding), header);
        rewrite(dir, CraftedFiles.safetensors(header.replace(embedding,
                "\"embedding.weight\":{\"dtype\":\"BF16\",\"shape\":[16,12]"), data));
        expect(dir, weights + " does not fit", "parameter 'embedding.weight' expected shape [12, 16], found [16, 12]");
        // ... a header whose sizes do not add up
        rewrite(dir, CraftedFiles.safetensors(header.replace(embedding,
                "\"embedding.weight\":{\"dtype\":\"BF16\",\"shape\":[12,17]"), data));
        expect(dir, weights + ": tensor 'embedding.weight' (BF16 [12, 17]", "needs 408 bytes");
        // ... integers where weights belong
        rewrite(dir, CraftedFiles.safetensors(header.replace(embedding,
                "\"embedding.weight\":{\"dtype\":\"I32\",\"shape\":[12,8]"), data));
        expect(dir, "parameter 'embedding.weight' expected shape [12, 16], found [12, 8]");
        // ... not a safetensors file at all
        rewrite(dir, new byte[] {1, 2, 3});
        expect(dir, weights + ": shorter than the 8-byte header length");
    }

    /** Bytes of the weights' data: 2 per parameter element. */
    private static int dataBytes(TransformerModel m) {
        return 2 * m.parameters().values().stream().mapToInt(v -> (int) v.length()).sum();
    }

    @Test
    void aManifestMustNameExactlyOneWeightsFile(@TempDir Path dir) throws IOException {
        Checkpoint.save(dir, CheckpointTest.lm(10), null, VOCAB, 0, null, Checkpoint.Storage.BFLOAT16);
        Path model = folder(dir).resolve(Checkpoint.MODEL);
        String json = Files.readString(model);
        setModelJson(dir, json.replace("\"files\": {", "\"files\": {\n    \"weights.npz\": \"" + "0".repeat(64) + "\","));
        expect(dir, model + ": expected one weights file, weights.npz or weights.safetensors, found [weights.npz, "
                + "weights.safetensors]");
        setModelJson(dir, json.replaceAll("\"weights.safetensors\": \"[0-9a-f]{64}\"", ""));
        expect(dir, model + ": expected one weights file");
    }

    /** Replaces the weights file and recomputes the checksums that cover it, as a crafted checkpoint would. */
    private static void rewrite(Path dir, byte[] weights) throws IOException {
        Path folder = folder(dir), file = folder.resolve(Checkpoint.WEIGHTS_BF16);
        String json = Files.readString(folder.resolve(Checkpoint.MODEL));
        Files.write(file, weights);
        setModelJson(dir, json.replaceAll("(\"weights.safetensors\": \")[0-9a-f]{64}", "$1" + Checkpoint.sha256(weights)));
    }

    private static void setModelJson(Path dir, String json) throws IOException {
        Path folder = folder(dir);
        Files.writeString(folder.resolve(Checkpoint.MODEL), json);
        Files.writeString(dir.resolve(Checkpoint.LATEST), folder.getFileName() + " "
                + Checkpoint.sha256(json.getBytes(StandardCharsets.UTF_8)) + "\n");
    }

    private static void expect(Path dir, String... fragments) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.load(dir));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + e.getMessage() + "' should say '" + f + "'");
        }
    }
}
