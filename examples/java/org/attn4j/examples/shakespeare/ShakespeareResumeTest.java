package org.attn4j.examples.shakespeare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.attn4j.examples.KilledRun;
import org.attn4j.examples.Stdout;
import org.attn4j.io.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A training process killed after its first checkpoint and resumed ends with exactly the weights of an
 * uninterrupted run: the batches depend only on (seed, step), and the checkpoint holds the optimizer's state.
 */
class ShakespeareResumeTest {
    private static final String[] TINY = {"steps=240", "warmup=10", "evalEvery=40", "evalBatches=2",
        "checkpointEvery=20", "layers=1", "dModel=16", "heads=2", "ff=32", "context=16", "batch=4", "tokens=20"};

    private static String[] args(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of(TINY));
        a.add("out=" + out);
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void aKilledRunResumedEndsWithTheWeightsOfAnUninterruptedOne(@TempDir Path dir) throws Exception {
        Path whole = dir.resolve("whole"), killed = dir.resolve("killed");
        String plain = Stdout.capture(() -> assertEquals(0, ShakespeareExample.run(args(whole, "save="
                + whole.resolve("model")), System.err)));
        assertTrue(plain.contains("RESULT val_loss="), plain);

        KilledRun.killAfter(ShakespeareExample.class, args(killed, "save=" + killed.resolve("model")),
                killed.resolve("checkpoint").resolve(Checkpoint.LATEST), dir.resolve("child.log"));
        assertFalse(Files.exists(killed.resolve("model")), "the child finished before it was killed");

        String resumed = Stdout.capture(() -> assertEquals(0, ShakespeareExample.run(args(killed, "--resume", "save="
                + killed.resolve("model")), System.err)));
        Matcher m = Pattern.compile("Resuming from .* at step (\\d+)").matcher(resumed);
        assertTrue(m.find(), resumed);
        int step = Integer.parseInt(m.group(1));
        assertTrue(step >= 20 && step < 240, "resumed at step " + step);

        Map<String, INDArray> expected = Checkpoint.load(whole.resolve("model")).model().parameters().entrySet()
                .stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> e.getValue()));
        Checkpoint.load(killed.resolve("model")).model().parameters().forEach((name, v) ->
                assertTrue(v.equalsWithEps(expected.get(name), 0), name + " differs after resuming at step "
                        + step));
        assertEquals(expected.size(), Checkpoint.load(killed.resolve("model")).model().parameters().size());
        assertEquals(last(plain), last(resumed), "the resumed run reports the same losses");
    }

    private static String last(String out) {
        String[] lines = out.strip().split("\n");
        return lines[lines.length - 1].replaceAll(" train_seconds=.*", "");
    }
}
