package org.attn4j.spark;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.data.Batch;
import org.attn4j.model.TransformerModel;
import org.attn4j.train.Trainer;
import org.attn4j.train.TrainingDivergedException;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The executor side of a round. Each executor JVM builds a model once and keeps it between rounds,
 * keyed by the driver's model id; since several tasks may run at once in one JVM (each core of an
 * executor, or {@code local[n]}), it keeps a small pool: one model per task running at the same time.
 */
final class Workers {
    /** Models of the last few model ids, so an application that trains several models does not leak them. */
    private static final int KEPT_MODEL_IDS = 4;
    private static final Map<String, Deque<Worker>> POOLS = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Deque<Worker>> eldest) {
            return size() > KEPT_MODEL_IDS;
        }
    };

    /** A built model and its trainers, one per (partition, mode): trainers seed dropout per partition. */
    private record Worker(TransformerModel model, Map<String, Trainer> trainers) {
    }

    private Workers() {
    }

    /**
     * One partition's contribution to a round.
     *
     * @param shard      the partition's examples
     * @param partition  the partition's index (seeds its dropout differently from the others')
     * @param config     the driver's trainer configuration
     * @param localSteps 0: gradient averaging (one gradient, no update); k: k local updates, then send weights
     * @param batchSize  examples per batch
     */
    static Contribution run(Iterator<Example> shard, int partition, Snapshot snapshot, Trainer.Config config,
            int localSteps, int batchSize) {
        List<Example> examples = new ArrayList<>();
        shard.forEachRemaining(examples::add);
        Contribution c = Contribution.empty();
        if (examples.isEmpty()) {
            return c;
        }
        long start = System.nanoTime();
        Worker w = borrow(snapshot);
        try {
            c.partitions = 1;
            String key = partition + "/" + localSteps;
            Trainer.Config local = config.withSeed(config.seed() * 1_000_003L + partition);
            Trainer trainer = w.trainers().computeIfAbsent(key, k -> new Trainer(w.model(), localSteps == 0
                    // The gradient is all a worker computes; an updater without state avoids restoring Adam's.
                    ? local.withWeightDecay(0).withMomentum(0).withOptimizer(Trainer.Optimizer.SGD) : local));
            Map<String, INDArray> params = w.model().parameters();
            Flat.assign(params.values(), snapshot.weights(), 1);
            if (localSteps == 0) {
                gradient(c, trainer, batch(examples, snapshot.step(), batchSize, w.model()), partition, snapshot.step());
            } else {
                localSteps(c, trainer, examples, snapshot, localSteps, batchSize, partition, params);
            }
        } finally {
            giveBack(snapshot.modelId(), w);
        }
        long nanos = System.nanoTime() - start;
        c.maxComputeNanos = nanos;
        c.sumComputeNanos = nanos;
        return c;
    }

    private static void gradient(Contribution c, Trainer trainer, Batch batch, int partition, int step) {
        trainer.restore(step, Map.of());
        Trainer.BatchGradients g = trainer.gradients(batch);
        try {
            if (!Double.isFinite(g.loss())) {
                c.problem = "partition " + partition + " computed a loss of " + g.loss() + " at step " + step;
                return;
            }
            // In the model's parameter order (the gradient map has an order of its own).
            c.values = Flat.of(trainer.model().parameters().keySet().stream().map(g.gradients()::get).toList());
            for (double v : c.values) {
                if (!Double.isFinite(v)) {
                    c.problem = "partition " + partition + " computed a non-finite gradient at step " + step;
                    c.values = null;
                    return;
                }
            }
            for (int i = 0; i < c.values.length; i++) {
                c.values[i] *= g.tokens();
            }
            c.lossSum = g.loss() * g.tokens();
            c.tokens = g.tokens();
        } finally {
            g.gradients().values().forEach(INDArray::close);
        }
    }

    private static void localSteps(Contribution c, Trainer trainer, List<Example> examples, Snapshot snapshot,
            int localSteps, int batchSize, int partition, Map<String, INDArray> params) {
        Map<String, INDArray> saved = Flat.arrays(trainer.optimizerState(), snapshot.optimizerState(), 1);
        trainer.restore(snapshot.step(), saved);
        for (int s = 0; s < localSteps; s++) {
            int step = snapshot.step() + s;
            try {
                Trainer.StepResult r = trainer.step(batch(examples, step, batchSize, trainer.model()));
                c.lossSum += r.loss() * r.tokens();
                c.tokens += r.tokens();
            } catch (TrainingDivergedException e) {
                c.problem = "partition " + partition + ": " + e.getMessage();
                c.tokens = 0;
                c.lossSum = 0;
                return;
            }
        }
        // Weighted by the tokens this partition trained on, so the driver's average follows the data.
        c.values = scaled(Flat.of(params.values()), c.tokens);
        c.state = scaled(Flat.of(trainer.optimizerState().values()), c.tokens); // copies of the state after the steps
    }

    private static double[] scaled(double[] v, double by) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= by;
        }
        return v;
    }

    /** Batch number {@code step} of a shard: the next {@code batchSize} examples, wrapping around at its end. */
    static Batch batch(List<Example> shard, int step, int batchSize, TransformerModel model) {
        int n = shard.size(), size = Math.min(batchSize, n);
        int from = (int) ((long) step * size % n);
        List<Example> chosen = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            chosen.add(shard.get((from + i) % n));
        }
        return Example.batch(chosen, model.config().padId());
    }

    /** The models the pools hold now (for tests: what executors in this JVM built). */
    static List<TransformerModel> models() {
        synchronized (POOLS) {
            return POOLS.values().stream().flatMap(Deque::stream).map(Worker::model).toList();
        }
    }

    private static Worker borrow(Snapshot s) {
        synchronized (POOLS) {
            Deque<Worker> pool = POOLS.computeIfAbsent(s.modelId(), k -> new ArrayDeque<>());
            if (!pool.isEmpty()) {
                return pool.pop();
            }
        }
        return new Worker(s.spec().build(), new HashMap<>()); // built outside the lock: other tasks go on
    }

    private static void giveBack(String modelId, Worker w) {
        synchronized (POOLS) {
            POOLS.computeIfAbsent(modelId, k -> new ArrayDeque<>()).push(w);
        }
    }
}
