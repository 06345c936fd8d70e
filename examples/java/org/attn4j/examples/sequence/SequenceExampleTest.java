package org.attn4j.examples.sequence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.attn4j.examples.BadOptions;
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
                "decoderLayers=1", "batch=16", "warmup=4", "positions=rope", "out=" + dir.resolve("out")};
        String[] training = Arrays.copyOf(tiny, tiny.length + 1);
        training[tiny.length] = "save=" + dir.resolve("model");
        String out = Stdout.capture(() -> SequenceExample.main(training));
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
        assertTrue(Files.exists(dir.resolve("model/LATEST")));

        String[] again = Arrays.copyOf(tiny, tiny.length + 1);
        again[tiny.length] = "model=" + dir.resolve("model");
        String reloaded = Stdout.capture(() -> SequenceExample.main(again));
        String[] relines = reloaded.strip().split("\n");
        Matcher r = RESULT.matcher(relines[relines.length - 1]);
        assertTrue(r.matches(), relines[relines.length - 1]);
        assertEquals(m.group(1), r.group(1), "the reloaded model scores the same");
        assertEquals(m.group(2), r.group(2), "the reloaded model reports its training time");
    }

    @Test
    void aBadOptionEndsWithOneLineAndStatus2BeforeAnythingIsWritten(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out"), save = dir.resolve("model");
        String[][] cases = {
            {"--stpes", "3"}, {"unknown option '--stpes'", "[batch, dModel,"},
            {"--steps", "many"}, {"--steps: expected a whole number of at least 1, given 'many'"},
            {"--steps", "3"}, {"--steps: expected more than --warmup 60", "given 3"}, // the cosine schedule
            {"minLength=7", "maxLength=5"}, {"--maxLength: expected at least --minLength 7, given 5"},
            {"dModel=30", "heads=4"}, {"--dModel, --heads", "dModel 30 is not divisible by heads 4"},
            {"task=shuffle"}, {"--task: expected one of copy, reverse, sort, given 'shuffle'"},
            {"lr=fast"}, {"--lr: expected a number greater than 0, given 'fast'"},
            {"--pretrained", "--save", save.toString()}, {"--save: expected no --save with --pretrained"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            String[] args = Arrays.copyOf(cases[i], cases[i].length + 1);
            args[cases[i].length] = "out=" + out;
            if (!Arrays.asList(cases[i]).contains("--pretrained")) {
                args = Arrays.copyOf(args, args.length + 1);
                args[args.length - 1] = "save=" + save;
            }
            BadOptions.rejected("sequence", SequenceExample::run, out, args, cases[i + 1]);
            assertTrue(Files.notExists(save), "nothing saved: " + String.join(" ", args));
        }
        BadOptions.rejected("sequence", SequenceExample::run, out, new String[] {"--model", dir.resolve("none").toString(),
                "out=" + out}, "--model: expected a checkpoint this example saved", "none");
    }

    /** The committed copy model with sizes that its weights do not have, and every checksum recomputed. */
    @Test
    void aCraftedModelIsRefusedInOneLineWithStatus2(@TempDir Path dir) throws Exception {
        Path model = org.attn4j.testing.CraftedModels.withHugeSizes(Path.of("models/sequence-copy"), dir.resolve("sequence-copy"));
        Path out = dir.resolve("out");
        BadOptions.rejected("sequence", SequenceExample::run, out, new String[] {"--task", "copy", "--model",
                model.toString(), "test=10", "long=10", "out=" + out}, "--model: expected a checkpoint this example saved",
                "weights.npz does not fit ", "parameter 'embedding.weight' expected shape [", ", 1048576], found [");
    }
}
