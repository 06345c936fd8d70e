package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Smoke test of the soak: a short run reports resident memory that does not run away after warm-up. */
class SoakTest {
    @Test
    void aShortSoakReportsFlatMemory() throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            Soak.main(new String[] {"steps=60", "warmup=20", "every=20"});
        } finally {
            System.setOut(original);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("RESULT steps=60 rss_warm_mb=(\\S+) rss_end_mb=(\\S+) rss_max_mb=(\\S+) rss_growth=(\\S+)")
                .matcher(out);
        assertTrue(m.find(), out);
        // The long run's criterion is 10%; a 60-step run only shows that nothing runs away.
        assertTrue(Double.parseDouble(m.group(4)) < 0.5, out);
    }
}
