package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Smoke test: the demo runs with tiny settings and ends with its RESULT line. */
class LayersDemoTest {
    @Test
    void runsAndReportsALowerLoss() throws Exception {
        String out = Stdout.capture(() -> LayersDemo.main(new String[] {"steps=40", "seed=2"}));
        assertTrue(out.contains("token 0 attends with weights [0.506, 0.186, 0.307]"), out);
        Matcher m = Pattern.compile("RESULT initial_loss=(\\S+) final_loss=(\\S+) steps=40").matcher(out);
        assertTrue(m.find(), out);
        assertTrue(Double.parseDouble(m.group(2)) < Double.parseDouble(m.group(1)), m.group());
    }
}
