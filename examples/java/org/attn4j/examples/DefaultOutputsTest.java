package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.attn4j.bench.BlockBenchmark;
import org.attn4j.bench.KvCacheBenchmark;
import org.attn4j.bench.TrainMemory;
import org.attn4j.examples.sequence.SequenceExample;
import org.attn4j.examples.spark.SparkTrain;
import org.attn4j.examples.translate.Translate;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Running the examples never changes what ships: every example's smoke configuration runs with its
 * default output options (so it writes where a user's plain run would, under target/), and afterwards
 * every file git tracks has the bytes it had before and no new file has appeared outside ignored paths.
 * Skipped outside a git checkout, or where git is not installed.
 */
class DefaultOutputsTest {
    /** What a run of {@link Cli#run} or a translate run returned, with its standard error. */
    private record Ran(String name, int status, String err) {
    }

    @Test
    void examplesWithDefaultOutputsLeaveTrackedFilesAlone() throws Exception {
        Assumptions.assumeTrue(git("rev-parse", "--is-inside-work-tree").strip().equals("true"),
                "not in a git checkout (or no git): cannot tell which files ship");
        Map<String, String> before = trackedHashes();
        assertTrue(before.containsKey("pom.xml"), "git ls-files lists the checkout's files: " + before.keySet());
        TreeSet<String> untrackedBefore = untracked();

        List<Ran> runs = new ArrayList<>();
        runs.add(run("sequence", SequenceExample::run, "--task", "reverse", "steps=6", "evalEvery=3",
                "validate=20", "test=50", "long=10", "maxLength=5", "longMaxLength=7", "dModel=16", "heads=2",
                "ff=32", "batch=16", "warmup=2"));
        runs.add(run("sequence", SequenceExample::run, "--task", "copy", "--pretrained", "test=50", "long=10"));
        runs.add(run("translate", DefaultOutputsTest::translate, "--steps", "3", "--batch", "8", "--d-model", "16",
                "--heads", "2", "--ff", "32", "--decoder-layers", "1", "--validation", "10", "--test", "12",
                "--pictures", "1"));
        runs.add(run("translate", DefaultOutputsTest::translate, "--pretrained", "--validation", "10", "--test", "12",
                "--pictures", "1"));
        runs.add(run("translate", DefaultOutputsTest::translate, "--train-file", "examples/data/translate-sample.txt",
                "--steps", "2", "--batch", "4", "--d-model", "16", "--heads", "2", "--ff", "32", "--decoder-layers", "1",
                "--pictures", "1"));
        runs.add(run("basics", Basics::run, "steps=20", "trials=10"));
        runs.add(run("layers", LayersDemo::run, "steps=5"));
        runs.add(run("soak", Soak::run, "steps=6", "warmup=3", "every=3"));
        runs.add(run("kv-bench", KvCacheBenchmark::run, "lengths=3", "dModel=16", "layers=1", "repeats=1"));
        runs.add(run("block-bench", BlockBenchmark::run, "sizes=tiny", "workloads=forward,train_step", "warmup=1",
                "iters=1", "warmupSeconds=0"));
        runs.add(run("train-memory", TrainMemory::run, "size=tiny", "steps=4", "warmup=2", "every=2"));
        runs.add(run("dl4j-classifier", Dl4jSequenceClassifier::run, "train=64", "test=20", "epochs=1", "length=6",
                "dModel=8", "heads=2"));
        runs.add(run("spark-train", SparkTrain::run, "--master", "local[2]", "--steps", "2", "--batch", "8",
                "--train", "32", "--maxLength", "4", "--heldOut", "10", "--dModel", "16", "--heads", "2", "--ff", "32"));
        for (Ran r : runs) {
            assertEquals(0, r.status(), r.name() + " failed: " + r.err());
        }

        Map<String, String> after = trackedHashes();
        List<String> changed = new ArrayList<>();
        for (Map.Entry<String, String> e : before.entrySet()) {
            if (!e.getValue().equals(after.get(e.getKey()))) {
                changed.add(e.getKey());
            }
        }
        assertTrue(changed.isEmpty(), "the examples' default runs changed tracked files " + changed);
        TreeSet<String> appeared = untracked();
        appeared.removeAll(untrackedBefore);
        assertTrue(appeared.isEmpty(), "the examples' default runs wrote files outside ignored paths: " + appeared);
    }

    /** Translate reports its own errors and returns its status rather than going through Cli. */
    private static void translate(String[] args) throws IOException {
        int status = Translate.run(args, System.out, System.err);
        if (status != 0) {
            throw new IllegalStateException("translate ended with status " + status);
        }
    }

    private static Ran run(String name, Cli.Program program, String... args) throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int[] status = new int[1];
        PrintStream originalErr = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8)); // progress bars
        try {
            Stdout.capture(() -> status[0] = Cli.run(name, args, System.err, program));
        } finally {
            System.setErr(originalErr);
        }
        return new Ran(name + " " + String.join(" ", args), status[0], err.toString(StandardCharsets.UTF_8));
    }

    /** SHA-256 of every file git tracks, by path; a deleted file maps to "deleted". */
    private static Map<String, String> trackedHashes() throws IOException, InterruptedException,
            NoSuchAlgorithmException {
        Map<String, String> out = new TreeMap<>();
        for (String path : git("ls-files", "-z").split("\0")) {
            if (path.isEmpty()) {
                continue;
            }
            Path file = Path.of(path);
            out.put(path, Files.isRegularFile(file)
                    ? HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)))
                    : "deleted");
        }
        return out;
    }

    /** Untracked files that .gitignore does not cover. */
    private static TreeSet<String> untracked() throws IOException, InterruptedException {
        return new TreeSet<>(List.of(git("ls-files", "--others", "--exclude-standard", "-z").split("\0")));
    }

    /** Runs git in the working directory; empty output if git is missing or fails. */
    private static String git(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("git"));
        command.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            return "";
        }
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            return "";
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
