package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Smoke test: Basics runs with tiny settings, prints the lesson's numbers, writes its files and its RESULT line. */
class BasicsTest {
    @Test
    void runsTheLessonAndWritesItsPictures(@TempDir Path dir) throws Exception {
        String out = Stdout.capture(() -> Basics.main(new String[] {"out=" + dir, "steps=60", "trials=20", "seed=3"}));
        // The lesson's numbers: softmax([2, 0, 1] / 2).
        assertTrue(out.contains("query 0 weights [0.506, 0.186, 0.307]"), out);
        for (String file : new String[] {"scaling.png", "bank.png", "tour.html"}) {
            assertTrue(Files.size(dir.resolve(file)) > 1000, file);
        }
        String html = Files.readString(dir.resolve("tour.html"));
        assertTrue(html.contains("<svg") && html.contains("id=\"next\"") && !html.contains("src=\"http"), "tour.html");

        String[] lines = out.strip().split("\n");
        Matcher m = Pattern.compile("RESULT bank_accuracy=(\\S+) bank_attends_sense_word=(\\S+) nd4j_max_diff=(\\S+) "
                + "sweep_dk=1024 max_weight_scaled=(\\S+) max_weight_unscaled=(\\S+) steps=60 ")
                .matcher(lines[lines.length - 1]);
        assertTrue(m.find(), lines[lines.length - 1]);
        assertTrue(Double.parseDouble(m.group(1)) >= 0.9, "bank accuracy " + m.group(1));
        assertTrue(Double.parseDouble(m.group(2)) > 0.5, "bank attends the sense word " + m.group(2));
        assertTrue(Double.parseDouble(m.group(3)) < 1e-12, "plain arrays against ND4J " + m.group(3));
        assertTrue(Double.parseDouble(m.group(5)) > Double.parseDouble(m.group(4)) + 0.3,
                "unscaled weights are more extreme " + m.group());
    }
}
