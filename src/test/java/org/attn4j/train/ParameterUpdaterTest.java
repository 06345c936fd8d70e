package org.attn4j.train;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.attn4j.kernels.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.WeightDecay;

/**
 * {@link ParameterUpdater} against ND4J's updaters used the plain way, one instance per parameter on its own
 * state, as SameDiff's {@code fit} uses them: element-wise rules give the same bits however the parameters are
 * chunked. The parameters mix large ones (updated in place), small ones (copied side by side into a row) and a
 * column-major one (copied another way), over three workers.
 */
class ParameterUpdaterTest {
    private static final Parallel parallel = new Parallel(3); // daemon workers

    static Stream<Arguments> updaters() {
        return Stream.of(Arguments.of(new Adam(1e-2), DataType.FLOAT), Arguments.of(new Adam(1e-2), DataType.DOUBLE),
                Arguments.of(new Nesterovs(1e-2, 0.9), DataType.FLOAT), Arguments.of(new Sgd(1e-2), DataType.DOUBLE));
    }

    /** Two parameters of at least {@link ParameterUpdater#BIG} elements, five small ones, one of them f-order. */
    private static Map<String, INDArray> parameters(DataType type) {
        Nd4j.getRandom().setSeed(21);
        Map<String, INDArray> p = new LinkedHashMap<>();
        p.put("big.a", Nd4j.randn(type, 96, 90));
        p.put("small.a", Nd4j.randn(type, 7, 5));
        p.put("small.b", Nd4j.randn(type, 13));
        p.put("big.b", Nd4j.randn(type, 8200));
        p.put("small.c", Nd4j.randn(type, 4, 4, 3));
        p.put("small.f", Nd4j.randn(type, 6, 9).dup('f'));
        p.put("small.d", Nd4j.randn(type, 1));
        return p;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("updaters")
    void updatesAreThoseOfOneNd4jUpdaterPerParameter(IUpdater rule, DataType type) {
        Map<String, INDArray> params = parameters(type), grads = new LinkedHashMap<>();
        params.forEach((name, a) -> grads.put(name, a.ulike()));
        Map<String, INDArray> reference = new LinkedHashMap<>();
        Map<String, GradientUpdater<?>> plain = new LinkedHashMap<>();
        params.forEach((name, a) -> {
            reference.put(name, a.dup());
            long size = rule.stateSize(a.length());
            INDArray state = size == 0 ? null : Nd4j.zeros(type, 1, size);
            GradientUpdater<?> u = rule.instantiate(state, true);
            if (state != null) {
                u.setStateViewArray(state, a.shape(), a.ordering(), true);
            }
            plain.put(name, u);
        });
        ParameterUpdater updater = new ParameterUpdater(params, grads, rule, parallel);
        for (int step = 0; step < 3; step++) {
            Map<String, INDArray> before = new LinkedHashMap<>();
            grads.forEach((name, g) -> {
                g.assign(Nd4j.randn(type, g.shape()));
                before.put(name, g.dup());
            });
            updater.update();
            for (String name : params.keySet()) {
                INDArray update = grads.get(name).dup();
                plain.get(name).applyUpdater(update, step, 0);
                reference.get(name).subi(update);
                assertSameBits("gradient of " + name + " after step " + step, before.get(name), grads.get(name));
            }
        }
        assertEquals(3, updater.iteration());
        params.forEach((name, a) -> {
            assertTrue(a.sub(parameters(type).get(name)).amaxNumber().doubleValue() > 0, name + " moved");
            assertSameBits(name + " after 3 steps", reference.get(name), a);
        });
    }

    /**
     * AdamW as the trainer runs it (gradients scaled by a clipping factor, then Adam, then the decoupled weight decay
     * on the matrices at the step's learning rate, then the subtraction) against ND4J's ops doing those steps on
     * each parameter alone: the same bits, and the gradients left as they were (the update's own pass only reads
     * them). Every parameter takes {@code AdamKernel}: the large ones in place, the small ones (the f-order one too)
     * in the flat rows.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void adamWithClippingAndDecayIsNd4jsOpsToTheBit(DataType type) {
        Adam rule = new Adam(new org.nd4j.linalg.schedule.ExponentialSchedule(
                org.nd4j.linalg.schedule.ScheduleType.ITERATION, 3e-2, 0.7));
        WeightDecay decay = new WeightDecay(0.1, true);
        Map<String, INDArray> params = parameters(type), reference = new LinkedHashMap<>();
        Map<String, GradientUpdater<?>> plain = new LinkedHashMap<>();
        params.forEach((name, a) -> {
            reference.put(name, a.dup());
            INDArray state = Nd4j.zeros(type, 1, rule.stateSize(a.length()));
            GradientUpdater<?> u = rule.instantiate(state, true);
            u.setStateViewArray(state, a.shape(), a.ordering(), true);
            plain.put(name, u);
        });
        ParameterUpdater updater = new ParameterUpdater(params, null, rule, parallel, 3, ParameterUpdater.BIG, decay,
                a -> a.rank() >= 2);
        for (int step = 0; step < 3; step++) {
            double scale = 0.75 - 0.2 * step, lr = 0.05 / (step + 1);
            Map<String, INDArray> grads = new LinkedHashMap<>(), before = new LinkedHashMap<>();
            for (Map.Entry<String, INDArray> e : params.entrySet()) {
                grads.put(e.getKey(), Nd4j.randn(type, e.getValue().shape()));
                before.put(e.getKey(), grads.get(e.getKey()).dup());
            }
            updater.apply(grads, scale, step, lr);
            for (String name : params.keySet()) {
                INDArray update = before.get(name).dup().muli(scale), ref = reference.get(name);
                plain.get(name).applyUpdater(update, step, 0);
                if (ref.rank() >= 2) {
                    decay.apply(ref, update, lr, step, 0);
                }
                ref.subi(update);
                assertSameBits("gradient of " + name + " after step " + step, before.get(name), grads.get(name));
            }
        }
        params.forEach((name, a) -> assertSameBits(name + " after 3 steps", reference.get(name), a));
        updater.state().forEach((name, s) -> assertSameBits("Adam's m and v of " + name,
                plainState(plain.get(name)), s));
    }

    static Stream<DataType> types() {
        return Stream.of(DataType.FLOAT, DataType.DOUBLE);
    }

    /** The state array an ND4J updater was given (m, then v). */
    private static INDArray plainState(GradientUpdater<?> u) {
        org.nd4j.linalg.learning.AdamUpdater adam = (org.nd4j.linalg.learning.AdamUpdater) u;
        return Nd4j.concat(1, adam.getM().reshape(1, -1), adam.getV().reshape(1, -1));
    }

    @Test
    void aMissingOrMisshapedGradientIsNamed() {
        Map<String, INDArray> params = parameters(DataType.FLOAT), grads = new LinkedHashMap<>();
        params.forEach((name, a) -> grads.put(name, a.ulike()));
        grads.remove("small.b");
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> new ParameterUpdater(params, grads, new Adam(1e-3), parallel));
        assertEquals("Gradient of 'small.b': expected FLOAT [13], given none", missing.getMessage());
        grads.put("small.b", Nd4j.zeros(DataType.FLOAT, 1, 13));
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> new ParameterUpdater(params, grads, new Adam(1e-3), parallel));
        assertEquals("Gradient of 'small.b': expected FLOAT [13], given FLOAT [1, 13]", shape.getMessage());
    }
}
