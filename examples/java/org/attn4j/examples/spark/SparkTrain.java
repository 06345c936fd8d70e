package org.attn4j.examples.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.attn4j.data.Vocabulary;
import org.attn4j.examples.Cli;
import org.attn4j.examples.Flags;
import org.attn4j.examples.sequence.SequenceTask;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.spark.Example;
import org.attn4j.spark.SparkTrainer;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The sequence task (copy, reverse or sort a string of digits) trained data-parallel on Spark: the
 * training set is an RDD split into one partition per worker; each step every worker computes the
 * gradient of its share of the batch, Spark sums them, and the driver updates the model
 * ({@code --mode gradient}); or each worker takes {@code --k} steps of its own and the driver averages
 * the weights ({@code --mode parameter}). Then greedy decoding on held-out sequences gives the exact
 * match, as single-machine training of the same batches would (gradient averaging is exact).
 *
 * <p>Arguments ({@code --key value} or {@code key=value}): {@code --master} (default: spark-submit's,
 * else {@code local[2]}), {@code --task reverse}, {@code --workers} (partitions; default Spark's
 * parallelism), {@code --mode gradient}, {@code --k 4}, {@code --steps 600}, {@code --batch 128} (all
 * workers together), {@code --train 20000}, {@code --maxLength 8}, {@code --heldOut 500},
 * {@code --dModel 64}, {@code --heads 4}, {@code --ff 256}, {@code --layers 1}, {@code --lr 5e-3},
 * {@code --warmup 60}, {@code --seed 1}, {@code --dtype float} (or {@code double}). The training set is dealt so that every worker count trains on
 * the same global batches, in the same order.
 * Last line: {@code RESULT task=... exact_match=... workers=... train_seconds=... epoch_seconds=... communication_share=...}.
 */
public final class SparkTrain {
    private SparkTrain() {
    }

    public static void main(String[] args) throws Exception {
        Cli.main("spark-train", args, SparkTrain::run);
    }

    /** The program; every option is checked before Spark starts (the worker count, when not given, just after). */
    public static void run(String[] args) {
        Flags o = Flags.parse(args, Map.ofEntries(Map.entry("master", ""), Map.entry("task", "reverse"),
                Map.entry("workers", "0"), Map.entry("mode", "gradient"), Map.entry("k", "4"),
                Map.entry("steps", "600"), Map.entry("batch", "128"), Map.entry("train", "20000"),
                Map.entry("maxLength", "8"), Map.entry("heldOut", "500"), Map.entry("dModel", "64"),
                Map.entry("heads", "4"), Map.entry("ff", "256"), Map.entry("layers", "1"), Map.entry("lr", "5e-3"),
                Map.entry("warmup", "60"), Map.entry("seed", "1"), Map.entry("dtype", "float")));
        SequenceTask task = SequenceTask.parse(o.choice("task", "copy", "reverse", "sort"));
        int steps = o.integer("steps", 1), batch = o.integer("batch", 1);
        int maxLength = o.integer("maxLength", 1), k = o.integer("k", 1);
        long seed = o.seed("seed");
        boolean parameterAveraging = o.choice("mode", "gradient", "parameter").equals("parameter");
        int givenWorkers = o.integer("workers", 0), trainCount = o.integer("train", 1), heldOut = o.integer("heldOut", 1);
        Flags.require(givenWorkers == 0 || batch % givenWorkers == 0, "batch", "a multiple of --workers "
                + givenWorkers + " (each worker takes an equal share)", batch);
        Flags.require(trainCount >= batch, "train", "at least --batch " + batch + " (one whole batch)", trainCount);
        ModelConfig config = Flags.valid("--dModel, --heads, --ff, --layers", () -> ModelConfig.seq2seq(
                SequenceTask.VOCABULARY.size(), o.integer("dModel", 1), o.integer("heads", 1), o.integer("ff", 1),
                o.integer("layers", 1), maxLength + 2));
        DataType dtype = o.choice("dtype", "float", "double").equals("double") ? DataType.DOUBLE : DataType.FLOAT;
        Trainer.Config trainerConfig = Trainer.Config.adam(Schedules.inverseSqrt(o.real("lr", 0),
                o.integer("warmup", 1))).withClipNorm(1.0).withSeed(seed);
        SequenceTask.Data data = Flags.valid("--heldOut, --maxLength", () -> new SequenceTask.Data(1, maxLength,
                heldOut, seed));

        SparkConf conf = new SparkConf().setAppName("attn4j-spark-train").setIfMissing("spark.master", "local[2]");
        if (!o.text("master").isEmpty()) {
            conf.setMaster(o.text("master"));
        }
        if (conf.get("spark.master").startsWith("local")) {
            conf.set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1")
                    .set("spark.driver.bindAddress", "127.0.0.1");
        }
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            int workers = givenWorkers > 0 ? givenWorkers : sc.defaultParallelism();
            Flags.require(batch % workers == 0, "batch", "a multiple of Spark's default parallelism " + workers
                    + " (or give --workers)", batch);
            List<Example> train = new ArrayList<>();
            for (int[] digits : data.trainingSequences(trainCount, new Random(seed + 1))) {
                train.add(example(task, digits));
            }
            train = train.subList(0, train.size() / batch * batch); // whole batches only
            JavaRDD<Example> rdd = sc.parallelize(dealt(train, workers, batch / workers), workers).cache();

            Nd4j.getRandom().setSeed(seed);
            // float64: 1 and 2 workers then compute the same steps to round-off, not just to float32's drift.
            Seq2SeqTransformer model = new Seq2SeqTransformer(config, dtype);
            SparkTrainer trainer = new SparkTrainer(sc, model, trainerConfig, parameterAveraging
                    ? SparkTrainer.Options.parameterAveraging(k, batch / workers)
                    : SparkTrainer.Options.gradientAveraging(batch / workers));
            int stepsPerEpoch = train.size() / batch;
            System.out.printf(Locale.ROOT, "%s on Spark %s: %d workers, %s averaging%s, batch %d (%d per worker), "
                    + "%d training sequences (%d steps an epoch), %d parameters%n", task.label(), sc.master(), workers,
                    parameterAveraging ? "parameter" : "gradient", parameterAveraging ? " every " + k + " steps" : "",
                    batch, batch / workers, train.size(), stepsPerEpoch, model.parameterCount());

            long start = System.nanoTime(), wall = 0, communication = 0;
            int timedSteps = 0, reported = 0;
            double loss = Double.NaN;
            while (trainer.trainer().stepCount() < steps) {
                SparkTrainer.Round r = trainer.round(rdd);
                loss = r.loss();
                int done = r.step();
                if (done > (parameterAveraging ? k : 1)) { // the first round builds the workers' models
                    wall += r.wallNanos();
                    communication += r.communicationNanos();
                    timedSteps += parameterAveraging ? k : 1;
                }
                if (done / 100 > reported || done >= steps) {
                    reported = done / 100;
                    System.out.printf(Locale.ROOT, "step %5d/%d  loss %.4f  %.1f s%n", done, steps, loss,
                            (System.nanoTime() - start) / 1e9);
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double perStep = timedSteps == 0 ? Double.NaN : wall / 1e9 / timedSteps;
            double share = wall == 0 ? Double.NaN : (double) communication / wall;

            SequenceTask.Evaluation eval = task.evaluate(model, data.heldOut(), 100, 3);
            eval.mistakes().forEach(m -> System.out.println("mistake: " + m));
            System.out.printf(Locale.ROOT, "time per step %.1f ms, per epoch %.1f s; broadcast, scheduling and "
                    + "aggregation %.0f%% of it%n", perStep * 1e3, perStep * stepsPerEpoch, 100 * share);
            System.out.printf(Locale.ROOT, "RESULT task=%s exact_match=%.4f workers=%d train_seconds=%.1f "
                    + "epoch_seconds=%.1f communication_share=%.3f%n", task.label(), eval.exactMatch(), workers, seconds,
                    perStep * stepsPerEpoch, share);
        }
    }

    /**
     * The training list reordered so that {@code parallelize} (which cuts it into equal runs) gives worker
     * p, as its s-th batch, the p-th slice of global batch s: any number of workers then trains on the
     * same batches as one, step for step.
     */
    static List<Example> dealt(List<Example> train, int workers, int perWorker) {
        int batch = workers * perWorker, steps = train.size() / batch;
        List<Example> out = new ArrayList<>(train.size());
        for (int p = 0; p < workers; p++) {
            for (int s = 0; s < steps; s++) {
                out.addAll(train.subList(s * batch + p * perWorker, s * batch + (p + 1) * perWorker));
            }
        }
        return out;
    }

    /** Source = the digits, decoder input = BOS + answer, target = answer + EOS (as {@link SequenceTask#batch}). */
    static Example example(SequenceTask task, int[] digits) {
        int[] source = SequenceTask.ids(digits), answer = SequenceTask.ids(task.apply(digits));
        int[] input = new int[answer.length + 1], target = new int[answer.length + 1];
        input[0] = Vocabulary.BOS_ID;
        System.arraycopy(answer, 0, input, 1, answer.length);
        System.arraycopy(answer, 0, target, 0, answer.length);
        target[answer.length] = Vocabulary.EOS_ID;
        return new Example(source, input, target);
    }
}
