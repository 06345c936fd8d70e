package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Smoke test of the soak: a short run trains and reports resident memory and heap. The 10% bound on
 * growth belongs to the long run after its 2,000-step warm-up; in a 60-step run the native pools are
 * still filling (growth of 0.1-0.4 was seen here), so this checks only that the figures are measured.
 */
class SoakTest {
    @Test
    void aShortSoakMeasuresMemory() throws Exception {
        String out = Stdout.capture(() -> Soak.main(new String[] {"steps=60", "warmup=20", "every=20"}));
        Matcher m = Pattern.compile("RESULT steps=60 rss_warm_mb=(\\S+) rss_end_mb=(\\S+) rss_max_mb=(\\S+) "
                + "rss_growth=(\\S+) heap_end_mb=(\\S+)").matcher(out);
        assertTrue(m.find(), out);
        for (int g = 1; g <= 5; g++) {
            double v = Double.parseDouble(m.group(g));
            assertTrue(Double.isFinite(v) && v >= 0, "figure " + g + " is " + v + ": " + out);
        }
        assertTrue(Double.parseDouble(m.group(1)) > 10, "resident memory of a JVM with ND4J is more than 10 MB: " + out);
        assertTrue(out.contains("step     60  loss"), out);
    }
}
