package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Smoke test of the DL4J classifier: a short run learns the order task well above chance (50%). */
class Dl4jSequenceClassifierTest {
    @Test
    void aShortRunLearnsTheOrderTask() throws Exception {
        String out = Stdout.capture(() -> Dl4jSequenceClassifier.main(new String[] {"train=640", "test=200",
                "epochs=2", "length=8", "dModel=16", "heads=2"}));
        Matcher m = Pattern.compile("RESULT task=a_before_b accuracy=(\\S+) train_seconds=(\\S+)").matcher(out);
        assertTrue(m.find(), out);
        assertTrue(Double.parseDouble(m.group(1)) > 0.8, out);
    }
}
