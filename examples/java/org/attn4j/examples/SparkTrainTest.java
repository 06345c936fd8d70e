package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.attn4j.examples.spark.SparkTrain;
import org.junit.jupiter.api.Test;

/** Smoke test: the Spark example trains a few steps on {@code local[2]} and prints its RESULT line. */
class SparkTrainTest {
    @Test
    void runs() throws Exception {
        String out = Stdout.capture(() -> SparkTrain.main(new String[] {"--master", "local[2]", "--task", "reverse",
                "--steps", "4", "--batch", "8", "--train", "64", "--maxLength", "4", "--heldOut", "20", "--dModel", "16",
                "--heads", "2", "--ff", "32", "--layers", "1"}));
        assertTrue(out.matches("(?s).*RESULT task=reverse exact_match=\\d\\.\\d{4} workers=2 train_seconds=\\S+ "
                + "epoch_seconds=\\S+ communication_share=\\S+\\s*"), out);
    }
}
