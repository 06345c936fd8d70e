package org.attn4j.train;

import static org.attn4j.testing.Exact.assertCloseToScale;
import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.attn4j.model.LanguageModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.WeightDecay;

/**
 * The trainer updates parameters in chunks, one ND4J updater each: a large parameter alone, in place, and the
 * small ones of a worker's share together, copied side by side into a flat row. The reference
 * here is ND4J's updaters used the plain way, one instance per parameter on its own arrays, with the global norm
 * and clipping written out: three steps of each optimizer (clipping active; AdamW decaying every parameter, and matrices only) must
 * give the same updates and optimizer state, each within 1e-5 (float32) or 1e-12 (float64) of its own largest
 * magnitude: Adam's m and v apart, so that a v entry the size of v's typical entries counts (with a norm summed in
 * another order, the clipping scale can differ in its last bit, and the weights by an ulp).
 */
class FlatUpdateTest {
    static Stream<Arguments> optimizers() {
        return Stream.of(Arguments.of(Trainer.Optimizer.ADAM, DataType.FLOAT, 1, ParameterUpdater.BIG, false),
                Arguments.of(Trainer.Optimizer.ADAM, DataType.FLOAT, 3, 100, false),
                Arguments.of(Trainer.Optimizer.ADAM, DataType.FLOAT, 2, ParameterUpdater.BIG, true),
                Arguments.of(Trainer.Optimizer.ADAMW, DataType.FLOAT, 2, 100, false),
                Arguments.of(Trainer.Optimizer.ADAMW, DataType.DOUBLE, 1, 100, true),
                Arguments.of(Trainer.Optimizer.ADAMW, DataType.DOUBLE, 3, ParameterUpdater.BIG, false),
                Arguments.of(Trainer.Optimizer.SGD_MOMENTUM, DataType.FLOAT, 3, 100, false),
                Arguments.of(Trainer.Optimizer.SGD, DataType.DOUBLE, 2, 100, false));
    }

    @ParameterizedTest(name = "{0} {1}, {2} shares, in place from {3} elements, column-major gradients {4}")
    @MethodSource("optimizers")
    void chunkedUpdatersEqualOnePerParameter(Trainer.Optimizer optimizer, DataType type, int shares, int big,
            boolean columnMajor) {
        LanguageModel model = TrainerTest.model(5, type, 0);
        Trainer.Config config = Trainer.Config.adam(Schedules.constant(0.05)).withOptimizer(optimizer).withClipNorm(0.5);
        boolean matricesOnly = type == DataType.DOUBLE; // AdamW: float32 decays every parameter, float64 matrices only
        if (optimizer == Trainer.Optimizer.ADAMW) {
            config = config.withWeightDecay(0.1).withDecayMatricesOnly(matricesOnly);
        } else if (optimizer == Trainer.Optimizer.SGD_MOMENTUM) {
            config = config.withMomentum(0.9);
        }
        Trainer trainer = new Trainer(model, config, shares, big);

        // The reference: copies of the weights, one ND4J updater per parameter.
        Map<String, INDArray> weights = new LinkedHashMap<>(), states = new LinkedHashMap<>();
        Map<String, GradientUpdater<?>> updaters = new LinkedHashMap<>();
        IUpdater updater = config.updater();
        Map<String, INDArray> initial = new LinkedHashMap<>();
        model.parameters().forEach((name, v) -> {
            weights.put(name, v.dup());
            initial.put(name, v.dup());
            long size = updater.stateSize(v.length());
            INDArray state = size == 0 ? null : Nd4j.zeros(type, 1, size);
            states.put(name, state);
            updaters.put(name, updater.instantiate(state, true));
        });
        WeightDecay decay = new WeightDecay(0.1, true);

        for (int step = 0; step < 3; step++) {
            Trainer.BatchGradients g = trainer.gradients(TrainerTest.countingBatch());
            double sumSquares = 0;
            for (INDArray grad : g.gradients().values()) { // in double, element by element: no rounding of a norm
                for (double v : grad.dup('c').data().asDouble()) {
                    sumSquares += v * v;
                }
            }
            double scale = Math.min(1, 0.5 / (Math.sqrt(sumSquares) + 1e-6));
            assertEquals(true, scale < 1, "clipping is active in the reference (gradient norm "
                    + Math.sqrt(sumSquares) + ")");
            for (Map.Entry<String, INDArray> e : g.gradients().entrySet()) {
                INDArray grad = e.getValue().dup(), param = weights.get(e.getKey());
                grad.muli(scale);
                updaters.get(e.getKey()).applyUpdater(grad, step, 0);
                if (optimizer == Trainer.Optimizer.ADAMW && (!matricesOnly || param.rank() >= 2)) {
                    decay.apply(param, grad, 0.05, step, 0);
                }
                param.subi(grad);
            }
            if (columnMajor) { // gradients from elsewhere, not plain row-major arrays (copied another way)
                Map<String, INDArray> f = new LinkedHashMap<>();
                g.gradients().forEach((name, grad) -> f.put(name, grad.dup('f')));
                g = new Trainer.BatchGradients(g.loss(), f, g.tokens());
            }
            trainer.apply(g);
        }
        Map<String, INDArray> state = trainer.optimizerState();
        double tol = type == DataType.FLOAT ? 1e-5 : 1e-12;
        for (String name : weights.keySet()) {
            INDArray start = initial.get(name);
            assertCloseToScale(name + "'s update over 3 steps", weights.get(name).sub(start),
                    model.parameters().get(name).sub(start), tol);
            if (states.get(name) != null) {
                long n = start.length(), k = states.get(name).length() / n;
                for (int j = 0; j < k; j++) { // Adam's m and v apart: each relative to its own largest entry
                    INDArrayIndex[] part = {NDArrayIndex.point(0), NDArrayIndex.interval(j * n, (j + 1) * n)};
                    assertCloseToScale("optimizer state " + j + " of " + name, states.get(name).get(part),
                            state.get(name).get(part), tol);
                }
            }
        }
        assertEquals(states.values().stream().filter(s -> s != null).count(), state.size(), "state arrays");

        // The state goes back where it came from: a second trainer restored from it holds the same bits.
        Trainer resumed = new Trainer(model, config, 1, ParameterUpdater.BIG);
        resumed.restore(trainer.stepCount(), state);
        resumed.optimizerState().forEach((name, s) -> assertSameBits("restored state of " + name, state.get(name), s));
    }
}
