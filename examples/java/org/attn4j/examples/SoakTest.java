package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Smoke test of the soak: a short run reports resident memory that does not run away after warm-up. */
class SoakTest {
    @Test
    void aShortSoakReportsFlatMemory() throws Exception {
        String out = Stdout.capture(() -> Soak.main(new String[] {"steps=60", "warmup=20", "every=20"}));
        Matcher m = Pattern.compile("RESULT steps=60 rss_warm_mb=(\\S+) rss_end_mb=(\\S+) rss_max_mb=(\\S+) rss_growth=(\\S+)")
                .matcher(out);
        assertTrue(m.find(), out);
        // The long run's criterion is 10%; a 60-step run only shows that nothing runs away.
        assertTrue(Double.parseDouble(m.group(4)) < 0.5, out);
    }
}
