package org.attn4j.spark;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.attn4j.data.Batch;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.model.TransformerModel;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.attn4j.train.TrainingDivergedException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Spark in {@code local[2]}: two workers on equal shards give one machine's weights; parameter
 * averaging learns; a task that fails is retried with the same result; a NaN weight stops training; workers
 * compute on the engine.
 */
class SparkTrainerTest {
    static final int V = 14, STEPS = 4;
    /** How often a test's data has thrown on purpose (executors run in this JVM in local mode). */
    static final AtomicInteger THROWN = new AtomicInteger();
    static JavaSparkContext sc;

    @BeforeAll
    static void start() {
        // local[2, 3]: two worker threads, and a task may fail up to 3 times (in local mode the master
        // string, not spark.task.maxFailures, sets it).
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2,3]").setAppName("attn4j-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1"));
    }

    @AfterAll
    static void stop() {
        sc.stop();
    }

    static Seq2SeqTransformer model() {
        Nd4j.getRandom().setSeed(11);
        return new Seq2SeqTransformer(ModelConfig.seq2seq(V, 16, 2, 32, 1, 16), DataType.DOUBLE);
    }

    /** Eight examples of one length (so each shard's batch pads like the whole batch). */
    static List<Example> examples() {
        Random rnd = new Random(5);
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int[] src = new int[5], in = new int[6], target = new int[6];
            in[0] = 1;
            for (int t = 0; t < 5; t++) {
                src[t] = 4 + rnd.nextInt(V - 4);
                in[t + 1] = src[t];
                target[t] = src[t];
            }
            target[5] = 2;
            out.add(new Example(src, in, target));
        }
        return out;
    }

    static Trainer.Config sgd() {
        return Trainer.Config.adam(Schedules.constant(0.5)).withOptimizer(Trainer.Optimizer.SGD).withClipNorm(0);
    }

    static Map<String, INDArray> sparkTrained(JavaRDD<Example> data) {
        SparkTrainer st = new SparkTrainer(sc, model(), sgd(), SparkTrainer.Options.gradientAveraging(4));
        for (int s = 0; s < STEPS; s++) {
            SparkTrainer.Round r = st.round(data);
            assertEquals(2, r.partitions());
            assertEquals(s + 1, r.step());
        }
        return st.trainer().model().parameters();
    }

    /**
     * Largest difference per tensor, relative to the tensor's largest value (at least 1: tensors that stay
     * near 0, such as the key bias whose true gradient is 0, are compared absolutely).
     */
    static double maxRelativeDifference(Map<String, INDArray> a, Map<String, INDArray> b) {
        double worst = 0;
        for (String p : a.keySet()) {
            INDArray x = a.get(p), y = b.get(p);
            double scale = Math.max(1, y.amaxNumber().doubleValue());
            worst = Math.max(worst, x.sub(y).amaxNumber().doubleValue() / scale);
        }
        return worst;
    }

    @Test
    void gradientAveragingOnTwoWorkersEqualsOneMachineOnTheWholeBatch() {
        List<Example> all = examples();
        TransformerModel single = model();
        Trainer one = new Trainer(single, sgd());
        Batch whole = Example.batch(all, single.config().padId());
        double firstLoss = one.evaluateLoss(whole);
        for (int s = 0; s < STEPS; s++) {
            one.step(whole);
        }
        Map<String, INDArray> spark = sparkTrained(sc.parallelize(all, 2).cache());
        double diff = maxRelativeDifference(spark, single.parameters());
        System.out.println("SparkTrainerTest: 2 workers vs 1 machine, max relative difference " + diff);
        assertTrue(diff < 1e-12, "2 workers vs 1 machine after " + STEPS + " SGD steps: max relative difference " + diff);
        assertTrue(one.evaluateLoss(whole) < firstLoss, "the steps should lower the loss");
    }

    /**
     * A worker's gradient is the engine's: what one partition sends equals the model's
     * {@code lossAndGradients} on its batch, weighted by its tokens; and rounds of both modes run on this JVM's
     * executors.
     */
    @Test
    void workersComputeTheEnginesGradients() {
        Seq2SeqTransformer driver = model();
        List<Example> shard = examples().subList(0, 4);
        Map<String, INDArray> weights = new LinkedHashMap<>();
        driver.parameters().forEach((k, v) -> weights.put(k, v));
        Contribution sent = Workers.run(shard.iterator(), 0,
                new Snapshot("engine-gradients", ModelSpec.of(driver), Flat.of(weights.values()), null, 0), sgd(), 0, 4);

        Batch batch = Workers.batch(shard, 0, 4, driver);
        TransformerModel.LossAndGradients engine = driver.lossAndGradients(driver.newEngineState(), batch.source(),
                batch.input(), batch.target(), 0, true);
        double[] expected = Flat.of(driver.parameters().keySet().stream().map(engine.gradients()::get).toList());
        assertEquals(engine.tokens(), sent.tokens);
        assertEquals(engine.loss() * engine.tokens(), sent.lossSum, 1e-12);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(sent.values[i] - expected[i] * engine.tokens()));
        }
        assertTrue(worst < 1e-12, "a worker's gradient against the engine's: max difference " + worst);

        JavaRDD<Example> data = sc.parallelize(examples(), 2).cache();
        new SparkTrainer(sc, driver, sgd(), SparkTrainer.Options.gradientAveraging(4)).round(data);
        new SparkTrainer(sc, driver, Trainer.Config.adam(Schedules.constant(1e-2)),
                SparkTrainer.Options.parameterAveraging(2, 4)).round(data);
        List<TransformerModel> workers = Workers.models();
        assertTrue(workers.size() >= 2, "models built by this JVM's executors: " + workers.size());
    }

    @Test
    void aTaskThatFailsIsRetriedAndTrainingEndsTheSame() {
        List<Example> all = examples();
        Map<String, INDArray> clean = sparkTrained(sc.parallelize(all, 2).cache());
        THROWN.set(0);
        JavaRDD<Example> flaky = sc.parallelize(all, 2).map(e -> {
            TaskContext task = TaskContext.get();
            if (task.partitionId() == 1 && task.attemptNumber() == 0) {
                THROWN.incrementAndGet();
                throw new IllegalStateException("injected failure in partition 1, attempt 0");
            }
            return e;
        }).cache();
        Map<String, INDArray> retried = sparkTrained(flaky);
        assertEquals(1, THROWN.get(), "the injected failure should have happened once");
        assertEquals(0, maxRelativeDifference(retried, clean), "a retried task must not change the result");
    }

    /**
     * Parameter averaging over one partition is local training: after a round of 3 local Adam steps the driver
     * holds the weights and the optimizer state of a trainer that took the same 3 steps (it failed when workers
     * sent back the state they started the round with).
     */
    @Test
    void parameterAveragingOnOnePartitionIsLocalTraining() {
        List<Example> all = examples();
        Trainer.Config adam = Trainer.Config.adam(Schedules.constant(1e-2));
        SparkTrainer st = new SparkTrainer(sc, model(), adam, SparkTrainer.Options.parameterAveraging(3, 4));
        st.round(sc.parallelize(all, 1));
        st.round(sc.parallelize(all, 1));
        Seq2SeqTransformer m = model();
        Trainer local = new Trainer(m, adam.withSeed(adam.seed() * 1_000_003L));
        for (int s = 0; s < 6; s++) {
            local.step(Workers.batch(all, s, 4, m));
        }
        assertEquals(6, st.trainer().stepCount());
        double weights = maxRelativeDifference(st.trainer().model().parameters(), m.parameters());
        double state = maxRelativeDifference(st.trainer().optimizerState(), local.optimizerState());
        assertTrue(weights < 1e-12 && state < 1e-12, "weights differ by " + weights + ", optimizer state by " + state);
    }

    @Test
    void parameterAveragingLowersTheLoss() {
        List<Example> all = examples();
        SparkTrainer st = new SparkTrainer(sc, model(), Trainer.Config.adam(Schedules.constant(1e-2)),
                SparkTrainer.Options.parameterAveraging(3, 4));
        Batch whole = Example.batch(all, 0);
        double before = st.trainer().evaluateLoss(whole);
        JavaRDD<Example> data = sc.parallelize(all, 2).cache();
        for (int r = 0; r < 4; r++) {
            assertEquals(3 * (r + 1), st.round(data).step());
        }
        double after = st.trainer().evaluateLoss(whole);
        assertTrue(after < 0.8 * before, "parameter averaging: loss " + before + " -> " + after);
        // A key bias's gradient is 0 up to rounding (softmax ignores a shift shared by all keys), so its state may
        // be exactly 0 whatever reaches the driver; every other parameter's state must not be.
        java.util.List<String> zero = st.trainer().optimizerState().entrySet().stream()
                .filter(e -> !e.getKey().endsWith("k.bias") && e.getValue().sumNumber().doubleValue() == 0)
                .map(Map.Entry::getKey).toList();
        assertTrue(zero.isEmpty(), "the averaged Adam state reaches the driver; all zero: " + zero);
    }

    @Test
    void aNaNWeightStopsTrainingWithAClearMessage() {
        SparkTrainer st = new SparkTrainer(sc, model(), sgd(), SparkTrainer.Options.gradientAveraging(4));
        INDArray weight = st.trainer().model().parameters().get("encoder.layers.0.norm1.weight");
        weight.putScalar(0, Double.NaN);
        INDArray before = st.trainer().model().parameters().get("head.weight").dup();
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> st.round(sc.parallelize(examples(), 2)));
        assertTrue(e.getMessage().matches("Distributed training stopped at step 0: the driver's weight "
                + "'encoder.layers.0.norm1.weight' holds NaN at flat index 0.*"),
                e.getMessage());
        assertSameBits("weights untouched", before, st.trainer().model().parameters().get("head.weight"));
        assertEquals(0, st.trainer().stepCount());
    }
}
