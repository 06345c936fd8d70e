package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.attn4j.data.Batch;
import org.attn4j.interop.ParityCase;
import org.attn4j.train.Trainer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.schedule.FixedSchedule;

/**
 * What the whole-model parity tests ({@link LanguageModelParityTest}, {@link Seq2SeqParityTest}) share: their cases
 * (a json configuration beside an npz of {@code param/}, {@code in/}, {@code out/} and {@code grad/} arrays) and
 * the comparison of a model loaded with a case's parameters against its logits, loss and gradients. Errors are
 * relative to each array's largest magnitude; a gradient's scale is floored at {@link #GRADIENT_FLOOR} of the case's
 * largest gradient (gradients that are zero in exact arithmetic hold only rounding noise on both sides).
 */
final class ModelParity {
    static final double TOLERANCE_F64 = 1e-12, TOLERANCE_F32 = 1e-4;
    /** A gradient's scale is at least this fraction of the case's largest gradient. */
    static final double GRADIENT_FLOOR = 1e-3;

    private ModelParity() {
    }

    /** Largest relative errors of the logits, the loss and the gradients, and the worst gradient's name. */
    record Errors(double logits, double loss, double gradients, String worstGradient) {
        boolean within(double tolerance) {
            return logits <= tolerance && loss <= tolerance && gradients <= tolerance;
        }

        String line(String name) {
            return String.format(Locale.ROOT, "%s logits_err=%.2e loss_err=%.2e grad_err=%.2e (worst %s)", name,
                    logits, loss, gradients, worstGradient);
        }
    }

    /** The cases of {@code dir}: their json files, sorted. */
    static List<Path> cases(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
    }

    /** An integer of the case's json, any sign (ParityCase.integer takes positive ones: sizes). */
    static int integer(ParityCase c, String key) {
        return c.config().get(key).getAsInt();
    }

    /** The case's data type, as its json's {@code dtype} names it. */
    static DataType dataType(ParityCase c) {
        return c.string("dtype").equals("float64") ? DataType.DOUBLE : DataType.FLOAT;
    }

    /** float64's tolerance or float32's, for the case's data type. */
    static double tolerance(ParityCase c) {
        return dataType(c) == DataType.DOUBLE ? TOLERANCE_F64 : TOLERANCE_F32;
    }

    /** Prints the case's errors and fails unless they are within its data type's tolerance. */
    static void assertWithinTolerance(ParityCase c, Errors e) {
        double tolerance = tolerance(c);
        System.out.println(e.line(c.name()));
        assertTrue(e.within(tolerance), e.line(c.name()) + " > " + tolerance);
    }

    /**
     * Loads the case's parameters into {@code model} (whose names must be the case's) and compares what it computes
     * with the case's: logits of {@code predict(source, in/input)}, and loss and gradients of {@code Trainer.gradients}
     * with the case's {@code label_smoothing}. {@code source}: {@code in/source}, or null for a language model.
     */
    static Errors compare(ParityCase c, TransformerModel model, INDArray source) {
        Map<String, INDArray> params = c.group("param");
        assertEquals(new TreeSet<>(model.parameters().keySet()), new TreeSet<>(params.keySet()),
                c.name() + ": attn4j's parameter names against the fixture's");
        model.loadParameters(params);
        INDArray input = c.arrays().get("in/input"), target = c.arrays().get("in/target");

        double logits = relativeError(model.predict(source, input), c.arrays().get("out/logits"), 1e-12);
        Trainer trainer = new Trainer(model, Trainer.Config.adam(new FixedSchedule(1e-3))
                .withLabelSmoothing(c.config().get("label_smoothing").getAsDouble()));
        Trainer.BatchGradients g = trainer.gradients(new Batch(source, input, target));
        double expectedLoss = c.arrays().get("out/loss").getDouble(0);
        double loss = Math.abs(g.loss() - expectedLoss) / Math.max(Math.abs(expectedLoss), 1e-12);

        Map<String, INDArray> expected = c.group("grad");
        assertEquals(new TreeSet<>(expected.keySet()), new TreeSet<>(g.gradients().keySet()),
                c.name() + ": gradients by name");
        double floor = GRADIENT_FLOOR * expected.values().stream().mapToDouble(a -> a.amaxNumber().doubleValue())
                .max().orElse(0);
        double worst = -1;
        String worstName = "none";
        for (Map.Entry<String, INDArray> e : expected.entrySet()) {
            double err = relativeError(g.gradients().get(e.getKey()), e.getValue(), floor);
            if (err > worst) {
                worst = err;
                worstName = e.getKey();
            }
        }
        return new Errors(logits, loss, worst, worstName);
    }

    /** max |actual - expected| / max(max |expected|, floor); infinite for NaN or a shape mismatch. */
    static double relativeError(INDArray actual, INDArray expected, double floor) {
        if (!java.util.Arrays.equals(actual.shape(), expected.shape())) {
            return Double.POSITIVE_INFINITY;
        }
        INDArray e = expected.castTo(DataType.DOUBLE);
        double scale = Math.max(e.amaxNumber().doubleValue(), Math.max(floor, 1e-12));
        double err = actual.castTo(DataType.DOUBLE).sub(e).amaxNumber().doubleValue() / scale;
        return Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
    }
}
