package org.attn4j.examples.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Smoke test: the translation demo with tiny settings, its files, its errors and their exit statuses. */
class TranslateTest {
    private static final Pattern RESULT = Pattern.compile("RESULT exact_match=([0-9.]+) bleu=([0-9.]+) aer=([0-9.]+) "
            + "precision=([0-9.]+) recall=([0-9.]+) n=(\\d+)");

    /** What one run printed and returned. */
    private record Run(int status, String out, String err) {
        String lastLine() {
            String[] lines = out.strip().split("\n");
            return lines[lines.length - 1];
        }
    }

    private static Run run(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Translate.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void trainsEvaluatesDrawsAndReportsErrors(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model"), out = dir.resolve("out");
        Run trained = run("--steps", "3", "--batch", "8", "--d-model", "16", "--heads", "2", "--ff", "32",
                "--encoder-layers", "1", "--decoder-layers", "1", "--validation", "10", "--test", "12", "--pictures", "1",
                "--save", model.toString(), "--out", out.toString());
        assertEquals(0, trained.status(), trained.err());
        Matcher m = RESULT.matcher(trained.lastLine());
        assertTrue(m.matches(), trained.lastLine());
        assertEquals("12", m.group(6));
        for (String f : List.of("cross-1.png", "cross-1.svg", "report.html")) {
            assertTrue(Files.size(out.resolve(f)) > 1000, f);
        }
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("Encoder self-attention") && html.contains("Decoder self-attention")
                && html.contains("title=\"") && !html.contains("http"), "self-contained report with hover values");

        Path file = dir.resolve("mine.txt");
        Files.writeString(file, "le chat noir dort ||| the black cat sleeps ||| 0-0 1-2 2-1 3-3\n"
                + "le chat violet dort ||| the purple cat sleeps ||| 0-0 1-2 2-1 3-3\n");
        Run evaluated = run("--model", model.toString(), "--eval-file", file.toString(), "--validation", "10",
                "--out", out.toString());
        assertEquals(0, evaluated.status(), evaluated.err());
        assertTrue(evaluated.err().contains("mine.txt:2: words outside the model's vocabulary: source [violet], "
                + "reference [purple]"), evaluated.err());
        assertTrue(RESULT.matcher(evaluated.lastLine()).matches() && evaluated.lastLine().endsWith(" n=1"),
                evaluated.lastLine());

        Run sentence = run("--model", model.toString(), "--sentence", "le chat noir dort", "--validation", "10");
        assertEquals(0, sentence.status(), sentence.err());
        assertTrue(sentence.out().contains("le chat noir dort  ->  ") && sentence.out().contains("Pharaoh: "), sentence.out());
        Run unknown = run("--model", model.toString(), "--sentence", "le chat violet dort", "--validation", "10");
        assertEquals(1, unknown.status());
        assertTrue(unknown.err().contains("words outside the model's vocabulary: [violet]"), unknown.err());

        Path weights;
        try (Stream<Path> files = Files.walk(model)) {
            weights = files.filter(p -> p.getFileName().toString().equals("weights.npz")).findFirst().orElseThrow();
        }
        Files.write(weights, java.util.Arrays.copyOf(Files.readAllBytes(weights), 100));
        Run damaged = run("--model", model.toString(), "--validation", "10");
        assertEquals(2, damaged.status());
        assertEquals(1, damaged.err().strip().lines().count(), damaged.err());
        assertTrue(damaged.err().contains("weights.npz: "), damaged.err());
    }

    @Test
    void aBadOptionEndsWithOneLineAndStatus2BeforeAnythingIsWritten(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out"), save = dir.resolve("model");
        String[][] cases = {
            {"--stpes", "3"}, {"unknown option '--stpes'", "[batch, d-model,"},
            {"--steps", "many"}, {"--steps: expected a whole number of at least 1, given 'many'"},
            {"--d-model", "30", "--heads", "4"}, {"--d-model: expected a multiple of --heads 4, given 30"},
            {"--sentence", "le chat dort", "--eval-file", "examples/data/translate-sample.txt"},
                {"--eval-file: expected either --sentence or --eval-file, not both"},
            {"--eval-file", dir.resolve("none.txt").toString()}, {"--eval-file: expected a readable file", "no such file"},
            {"--lr", "-1"}, {"--lr: expected a number greater than 0, given '-1'"},
            {"--pretrained", "--save", save.toString()}, {"--save: expected no --save with --pretrained"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            String[] args = java.util.Arrays.copyOf(cases[i], cases[i].length + 2);
            args[cases[i].length] = "--out";
            args[cases[i].length + 1] = out.toString();
            if (!List.of(cases[i]).contains("--save")) {
                args = java.util.Arrays.copyOf(args, args.length + 2);
                args[args.length - 2] = "--save";
                args[args.length - 1] = save.toString();
            }
            Run r = run(args);
            String what = String.join(" ", args) + " -> " + r.err();
            assertEquals(2, r.status(), what);
            assertEquals(1, r.err().strip().lines().count(), what);
            assertTrue(r.err().startsWith("translate: ") && !r.err().contains("Exception"), what);
            for (String expected : cases[i + 1]) {
                assertTrue(r.err().contains(expected), expected + " in " + what);
            }
            assertEquals("", r.out(), what);
            assertTrue(Files.notExists(out) && Files.notExists(save), "nothing written: " + what);
        }
    }

    /** The committed model with sizes that its weights do not have, and every checksum recomputed. */
    @Test
    void aCraftedModelIsRefusedInOneLine(@TempDir Path dir) throws Exception {
        Path model = org.attn4j.testing.CraftedModels.withHugeSizes(Path.of("models/translate"), dir.resolve("translate"));
        Run refused = run("--model", model.toString(), "--validation", "10");
        assertEquals(2, refused.status(), refused.err());
        assertEquals(1, refused.err().strip().lines().count(), refused.err());
        assertTrue(refused.err().startsWith("translate: cannot load the model: ") && refused.err().contains(
                "weights.npz does not fit ") && refused.err().contains("model.json: parameter 'embedding.weight' "
                + "expected shape [109, 1048576], found [109, 64]"), refused.err());
    }
}
