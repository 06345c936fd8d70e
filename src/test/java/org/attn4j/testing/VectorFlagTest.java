package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.data.Batch;
import org.attn4j.decode.Greedy;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.nn.BlockPass;
import org.attn4j.nn.MultiHeadAttention;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A JVM started without {@code --add-modules jdk.incubator.vector} says once, through SLF4J, that the
 * fast path's loops run scalar, and then runs attention (float32 and float64, with a head dimension that
 * fills whole vector lanes), a block's training step, a language model's training step and cached decoding;
 * one started with it says nothing. Each case is a fresh JVM, since the check runs when the fast path's
 * classes load. (The pom's {@code without-vector-flag} execution runs the layer, model and decoding tests
 * without the flag, which checks the scalar path's numbers.)
 */
class VectorFlagTest {
    private static final String LINE = "jdk.incubator.vector is not loaded";

    /** The child JVM: what a user's first program does, in both precisions. */
    public static final class UseTheEngine {
        public static void main(String[] args) {
            for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
                MultiHeadAttention mha = MultiHeadAttention.create(AttentionConfig.of(32, 2), type);
                mha.apply(Nd4j.randn(type, 2, 10, 32), AttentionMask.causalOnly());
                TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(32, 2, 64), type);
                try (BlockPass pass = block.train(Nd4j.randn(type, 2, 10, 32), AttentionMask.none())) {
                    pass.backward(Nd4j.randn(type, 2, 10, 32));
                }
                LanguageModel model = new LanguageModel(ModelConfig.languageModel(11, 32, 2, 64, 1, 16), type);
                INDArray ids = Nd4j.createFromArray(new int[][] {{1, 2, 3, 4}, {5, 6, 7, 8}});
                new Trainer(model, Trainer.Config.adam(new FixedSchedule(1e-3))).step(new Batch(null, ids, ids));
                Greedy.decode(model, null, Nd4j.createFromArray(new int[][] {{1}}), -1, 8, true);
            }
        }
    }

    @Test
    void withoutTheFlagOneLineSaysTheLoopsRunScalar() throws Exception {
        assertEquals(1, count(childOutput(List.of())), "lines saying the loops run scalar");
    }

    @Test
    void withTheFlagNothingIsSaid() throws Exception {
        assertEquals(0, count(childOutput(List.of("--add-modules", "jdk.incubator.vector"))),
                "lines saying the loops run scalar");
    }

    private static long count(String output) {
        return output.lines().filter(l -> l.contains(LINE)).count();
    }

    private static String childOutput(List<String> flags) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(flags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), UseTheEngine.class.getName()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " ran past 60 s");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), command + ": " + text);
        return text;
    }
}
