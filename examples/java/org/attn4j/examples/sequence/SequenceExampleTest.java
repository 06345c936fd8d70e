package org.attn4j.examples.sequence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.attn4j.examples.Stdout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Smoke test: the sequence example trains a tiny model, saves it, draws its attention, and reloads it. */
class SequenceExampleTest {
    private static final Pattern RESULT = Pattern.compile("RESULT task=reverse exact_match=(\\d\\.\\d{4}) n=50 "
            + "train_seconds=(\\d+\\.\\d) train_cpu_seconds=\\d+\\.\\d steps=(\\d+) long_exact_match=\\d\\.\\d{4} long_n=10 "
            + "positions=rotary");

    @Test
    void trainsSavesDrawsAndReloads(@TempDir Path dir) throws Exception {
        String[] tiny = {"--task", "reverse", "--steps=12", "evalEvery=6", "validate=20", "test=50", "long=10",
                "maxLength=5", "longMaxLength=7", "dModel=16", "heads=2", "ff=32", "encoderLayers=1",
                "decoderLayers=1", "batch=16", "warmup=4", "positions=rope", "models=" + dir.resolve("models"),
                "out=" + dir.resolve("out")};
        String out = Stdout.capture(() -> SequenceExample.main(tiny));
        String[] lines = out.strip().split("\n");
        Matcher m = RESULT.matcher(lines[lines.length - 1]);
        assertTrue(m.matches(), lines[lines.length - 1]);
        assertEquals("12", m.group(3));
        assertTrue(out.contains("First mistakes on the held-out set:"), out);
        for (String name : new String[] {"encoder_self", "decoder_self", "cross"}) {
            for (String ext : new String[] {".png", ".svg"}) {
                assertTrue(Files.size(dir.resolve("out/reverse/" + name + ext)) > 1000, name + ext);
            }
        }
        assertTrue(Files.readString(dir.resolve("out/reverse/cross.svg")).contains("layer 0 head 1"));
        assertTrue(Files.exists(dir.resolve("models/sequence-reverse/LATEST")));

        String[] again = new String[tiny.length + 1];
        System.arraycopy(tiny, 0, again, 0, tiny.length);
        again[tiny.length] = "--pretrained";
        String reloaded = Stdout.capture(() -> SequenceExample.main(again));
        String[] relines = reloaded.strip().split("\n");
        Matcher r = RESULT.matcher(relines[relines.length - 1]);
        assertTrue(r.matches(), relines[relines.length - 1]);
        assertEquals(m.group(1), r.group(1), "the reloaded model scores the same");
        assertEquals(m.group(2), r.group(2), "the reloaded model reports its training time");
    }
}
