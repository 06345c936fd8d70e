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
        assertTrue(evaluated.out().contains(file + ": 2 unknown word(s) on 1 of 2 lines (source [violet], reference "
                + "[purple]); they are read as <unk>"), evaluated.out());
        assertTrue(RESULT.matcher(evaluated.lastLine()).matches() && evaluated.lastLine().endsWith(" n=2"),
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
            {"--stpes", "3"}, {"unknown option '--stpes'", "[batch, corpus-pairs, d-model,"},
            {"--steps", "many"}, {"--steps: expected a whole number of at least 1, given 'many'"},
            {"--d-model", "30", "--heads", "4"}, {"--d-model: expected a multiple of --heads 4, given 30"},
            {"--sentence", "le chat dort", "--eval-file", "examples/data/translate-sample.txt"},
                {"--eval-file: expected either --sentence or --eval-file, not both"},
            {"--eval-file", dir.resolve("none.txt").toString()}, {"--eval-file: expected a readable file", "no such file"},
            {"--lr", "-1"}, {"--lr: expected a number greater than 0, given '-1'"},
            {"--pretrained", "--save", save.toString()}, {"--save: expected no --save with --pretrained"},
            {"--train-file", dir.resolve("none.txt").toString()}, {"--train-file: expected a readable file", "no such file"},
            {"--train-file", dir.toString()}, {"--train-file: expected a readable file", "(a folder)"},
            {"--model", "models/translate", "--train-file", "examples/data/translate-sample.txt"},
                {"--train-file: expected no --pretrained or --model with --train-file", "and --model 'models/translate'"},
            {"--valid-file", dir.resolve("none.txt").toString()}, {"--valid-file: expected a readable file"},
            {"--write-corpus", out.resolve("corpus").toString(), "--train-file", "examples/data/translate-sample.txt"},
                {"--write-corpus: expected --write-corpus without --pretrained, --model, --train-file"},
            {"--corpus-pairs", "0"}, {"--corpus-pairs: expected a whole number of at least 1, given 0"},
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

    /**
     * {@code --train-file}: a small corpus of the second grammar, written by {@code --write-corpus}, trained on
     * with tiny settings; unknown words in the file evaluated; the saved model evaluates it again on its own.
     */
    @Test
    void trainsOnAParallelFileSavesItAndLoadsIt(@TempDir Path dir) throws Exception {
        Path corpus = dir.resolve("corpus"), model = dir.resolve("model"), out = dir.resolve("out");
        Run written = run("--write-corpus", corpus.toString(), "--corpus-pairs", "300", "--test", "20", "--seed", "5");
        assertEquals(0, written.status(), written.err());
        assertEquals(301, Files.readAllLines(corpus.resolve("train.txt")).size());
        List<String> train = Files.readAllLines(corpus.resolve("train.txt"));
        Path eval = dir.resolve("eval.txt"), valid = corpus.resolve("test.txt");
        Files.writeString(eval, String.join("\n", train.subList(1, 21)) + "\n"
                + "la tante achète une banane . ||| the aunt buys a banana . ||| 0-0 1-1 2-2 3-3 4-4 5-5\n"
                + "la tante lave la tasse . ||| the aunt washes the cup .\n");
        String[] tiny = {"--steps", "20", "--batch", "16", "--d-model", "16", "--heads", "2", "--ff", "32",
            "--decoder-layers", "1", "--pictures", "1", "--out", out.toString()};
        Run trained = run(concat(tiny, "--train-file", corpus.resolve("train.txt").toString(), "--valid-file",
                valid.toString(), "--eval-file", eval.toString(), "--save", model.toString()));
        assertEquals(0, trained.status(), trained.err());
        assertTrue(trained.out().contains(": 300 pairs, ") && trained.out().contains("validation: 20 pairs (" + valid),
                trained.out());
        assertTrue(trained.out().contains(eval + ": 2 unknown word(s) on 1 of 22 lines (source [banane], reference "
                + "[banana])"), trained.out());
        assertTrue(trained.out().contains("21 sentences with a gold alignment"), trained.out());
        assertTrue(RESULT.matcher(trained.lastLine()).matches() && trained.lastLine().endsWith(" n=22"),
                trained.lastLine());
        assertEquals(21, Files.readAllLines(model.resolve(Inputs.VALIDATION_FILE)).size());
        assertTrue(Files.size(out.resolve("report.html")) > 1000);

        Run loaded = run("--model", model.toString(), "--eval-file", eval.toString(), "--out", out.toString());
        assertEquals(0, loaded.status(), loaded.err());
        assertTrue(loaded.out().contains("on 20 validation sentences"), loaded.out());
        assertEquals(trained.lastLine(), loaded.lastLine(), "the same model, alignment choice and scores");
    }

    /** A bad training, validation or test file: one line naming the file and line, before anything is written. */
    @Test
    void badParallelFilesEndWithOneLineNamingTheLine(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out"), save = dir.resolve("model"), good = dir.resolve("good.txt");
        Files.writeString(good, "le chat dort ||| the cat sleeps\nle chien dort ||| the dog sleeps\n");
        String[][] cases = {
            {"train", "le chat dort\n"}, {"bad.txt:1: expected 'source ||| target' or 'source ||| target ||| alignment', "
                + "found 1 field(s)"},
            {"train", "# a comment\nle chat dort ||| \n"}, {"bad.txt:2: expected words on both sides of '|||', found an "
                + "empty target"},
            {"train", "le chat ||| the cat ||| 0-0 2-1\n"}, {"bad.txt:1: alignment link '2-1' is outside the sentences: "
                + "the source has 2 words (0-1), the target 2 (0-1)"},
            {"train", "# nothing\n\n"}, {"bad.txt: no usable line", "found 2 line(s), all blank or comments"},
            {"train", "le chat dort ||| the cat sleeps\n"}, {"bad.txt: 1 usable line; a training file needs at least 2"},
            {"valid", "le chat ||| \n"}, {"bad.txt:1: expected words on both sides of '|||', found an empty target"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            Path bad = dir.resolve("bad.txt");
            Files.writeString(bad, cases[i][1]);
            String[] files = cases[i][0].equals("valid") ? new String[] {"--train-file", good.toString(), "--valid-file",
                bad.toString()} : new String[] {"--train-file", bad.toString()};
            Run r = run(concat(concat(TINY, files), "--save", save.toString(), "--out", out.toString()));
            String what = cases[i][1] + " -> " + r.err();
            assertEquals(2, r.status(), what);
            assertEquals(1, r.err().strip().lines().count(), what);
            assertTrue(r.err().startsWith("translate: " + bad) && r.err().contains(cases[i + 1][0]), what);
            for (String expected : cases[i + 1]) {
                assertTrue(r.err().contains(expected), expected + " in " + what);
            }
            assertEquals("", r.out(), what);
            assertTrue(Files.notExists(out) && Files.notExists(save), "nothing written: " + what);
        }
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "only one field\n");
        Run r = run(concat(TINY, "--train-file", good.toString(), "--eval-file", empty.toString(), "--save",
                save.toString()));
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains("empty.txt:1: expected 'source ||| target'") && r.err().contains("line skipped")
                && r.err().contains("translate: no line of " + empty + " could be evaluated"), r.err());
        assertTrue(Files.notExists(save), "no training before the test file was read");
    }

    /** Settings that would train in a moment, were the files good. */
    private static final String[] TINY = {"--steps", "1", "--batch", "2", "--d-model", "8", "--heads", "2", "--ff", "8",
        "--decoder-layers", "1", "--validation", "1", "--pictures", "0"};

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
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
