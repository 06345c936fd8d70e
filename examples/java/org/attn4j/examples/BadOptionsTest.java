package org.attn4j.examples;

import java.nio.file.Path;
import org.attn4j.bench.BlockBenchmark;
import org.attn4j.bench.KvCacheBenchmark;
import org.attn4j.bench.TrainMemory;
import org.attn4j.examples.spark.SparkTrain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every example run by an exec:java execution answers a bad option (unknown, of the wrong kind, or
 * contradicting another) with one line naming it, what was expected and what was given, exit status 2,
 * no stack trace, and nothing printed or written. The sequence and translation examples are checked in
 * their own tests.
 */
class BadOptionsTest {
    @TempDir
    Path dir;

    @Test
    void basics() throws Exception {
        Path out = dir.resolve("basics");
        BadOptions.rejected("basics", Basics::run, out, new String[] {"out=" + out, "--outt", "x"},
                "unknown option '--outt'", "[out, seed, steps, trials]");
        BadOptions.rejected("basics", Basics::run, out, new String[] {"out=" + out, "steps=ten"},
                "--steps: expected a whole number of at least 1, given 'ten'");
        BadOptions.rejected("basics", Basics::run, out, new String[] {"out=" + out, "trials=0"},
                "--trials: expected a whole number of at least 1, given 0");
    }

    @Test
    void layers() throws Exception {
        Path none = dir.resolve("none");
        BadOptions.rejected("layers", LayersDemo::run, none, new String[] {"stepz=3"}, "unknown option 'stepz=3'");
        BadOptions.rejected("layers", LayersDemo::run, none, new String[] {"steps=1.5"},
                "--steps: expected a whole number of at least 1, given '1.5'");
        BadOptions.rejected("layers", LayersDemo::run, none, new String[] {"seed=x"},
                "--seed: expected a whole number, given 'x'");
    }

    @Test
    void soak() throws Exception {
        Path none = dir.resolve("none");
        BadOptions.rejected("soak", Soak::run, none, new String[] {"steps=10", "warmup=20"},
                "--warmup: expected at most --steps 10", "given 20");
        BadOptions.rejected("soak", Soak::run, none, new String[] {"every=often"},
                "--every: expected a whole number of at least 1, given 'often'");
        BadOptions.rejected("soak", Soak::run, none, new String[] {"--steps"}, "--steps needs a value");
    }

    @Test
    void kvBench() throws Exception {
        Path none = dir.resolve("none");
        BadOptions.rejected("kv-bench", KvCacheBenchmark::run, none, new String[] {"dModel=30"},
                "--dModel: expected a multiple of the benchmark's 4 heads, given 30");
        BadOptions.rejected("kv-bench", KvCacheBenchmark::run, none, new String[] {"lengths=3,,5"},
                "--lengths: expected whole numbers of at least 1 separated by commas, given '3,,5'");
        BadOptions.rejected("kv-bench", KvCacheBenchmark::run, none, new String[] {"--layer", "2"},
                "unknown option '--layer'");
    }

    @Test
    void dl4jClassifier() throws Exception {
        Path none = dir.resolve("none");
        BadOptions.rejected("dl4j-classifier", Dl4jSequenceClassifier::run, none, new String[] {"dModel=30", "heads=4"},
                "--dModel: expected a multiple of --heads 4, given 30");
        BadOptions.rejected("dl4j-classifier", Dl4jSequenceClassifier::run, none, new String[] {"lr=0"},
                "--lr: expected a number greater than 0, given '0'");
        BadOptions.rejected("dl4j-classifier", Dl4jSequenceClassifier::run, none, new String[] {"length=1"},
                "--length: expected a whole number of at least 2, given 1");
    }

    @Test
    void sparkTrain() throws Exception {
        Path none = dir.resolve("none");
        BadOptions.rejected("spark-train", SparkTrain::run, none, new String[] {"--workers", "3", "--batch", "8"},
                "--batch: expected a multiple of --workers 3", "given 8");
        BadOptions.rejected("spark-train", SparkTrain::run, none, new String[] {"--train", "4", "--batch", "8"},
                "--train: expected at least --batch 8", "given 4");
        BadOptions.rejected("spark-train", SparkTrain::run, none, new String[] {"--mode", "both"},
                "--mode: expected one of gradient, parameter, given 'both'");
        BadOptions.rejected("spark-train", SparkTrain::run, none, new String[] {"--dModel", "30"},
                "--dModel, --heads, --ff, --layers: dModel 30 is not divisible by heads 4");
    }

    @Test
    void benchmarks() throws Exception {
        Path none = dir.resolve("none");
        BadOptions.rejected("block-bench", BlockBenchmark::run, none, new String[] {"sizes=toy,huge"},
                "--sizes: expected names from toy, standard, tiny separated by commas, given 'toy,huge'");
        BadOptions.rejected("block-bench", BlockBenchmark::run, none, new String[] {"iters=0"},
                "--iters: expected a whole number of at least 1, given 0");
        BadOptions.rejected("train-memory", TrainMemory::run, none, new String[] {"steps=10", "warmup=20"},
                "--warmup: expected at most --steps 10", "given 20");
        BadOptions.rejected("train-memory", TrainMemory::run, none, new String[] {"path=gpu"},
                "--path: expected one of fast, samediff, lm, seq2seq, given 'gpu'");
    }
}
