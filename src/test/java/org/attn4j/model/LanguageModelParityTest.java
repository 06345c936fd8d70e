package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.attn4j.config.Activation;
import org.attn4j.data.Batch;
import org.attn4j.io.Npz;
import org.attn4j.config.Normalization;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.schedule.FixedSchedule;

/**
 * The whole language model against PyTorch, through the public API only: a {@link LanguageModel}
 * built from each case's configuration, loaded with the case's parameters by name, must give its
 * logits ({@code predict}), loss and gradient of every parameter ({@code Trainer.gradients}).
 * Cases are written by src/test/python/gen_lm_fixtures.py (a GPT-style model written directly in
 * PyTorch, whose docstring spells out the semantics). Errors are relative to each array's largest
 * magnitude: float64 within 1e-12 (4e-14 measured), float32 within 1e-4 (2e-5 measured). A gradient's scale is floored at 1e-3 of the
 * case's largest gradient: without rotary positions the key projection's bias has a gradient that is
 * zero in exact arithmetic (softmax ignores a shift shared by all keys of a query), so both sides hold
 * only rounding noise there (~1e-17 in float64, ~1e-9 in float32), which no relative error can compare.
 */
class LanguageModelParityTest {
    static final Path DIR = Path.of("src/test/resources/lm_parity");
    static final double TOLERANCE_F64 = 1e-12, TOLERANCE_F32 = 1e-4;
    /** A gradient's scale is at least this fraction of the case's largest gradient. */
    static final double GRADIENT_FLOOR = 1e-3;

    /** One case: its configuration (json) and arrays (npz: param/, in/, out/, grad/). */
    record LmCase(String name, JsonObject json, Map<String, INDArray> arrays) {
        static LmCase load(Path json) throws IOException {
            String file = json.getFileName().toString();
            String name = file.substring(0, file.length() - ".json".length());
            return new LmCase(name, JsonParser.parseString(Files.readString(json)).getAsJsonObject(),
                    new TreeMap<>(Npz.read(json.resolveSibling(name + ".npz"))));
        }

        DataType dataType() {
            return json.get("dtype").getAsString().equals("float64") ? DataType.DOUBLE : DataType.FLOAT;
        }

        ModelConfig config() {
            return ModelConfig.languageModel(integer("vocab"), integer("d_model"), integer("heads"), integer("ff_dim"),
                            integer("layers"), integer("max_len"))
                    .withActivation(Activation.parse(json.get("activation").getAsString()))
                    .withNormFirst(json.get("norm_first").getAsBoolean())
                    .withPositions(PositionalEncoding.parse(json.get("positions").getAsString()))
                    .withTiedEmbeddings(json.get("tie_embeddings").getAsBoolean())
                    .withScaleEmbedding(json.get("scale_embedding").getAsBoolean())
                    .withEps(json.get("eps").getAsDouble()).withPadId(integer("pad_id"))
                    .withNorm(Normalization.parse(json.get("norm").getAsString())).withKvHeads(integer("kv_heads"))
                    .withBias(json.get("bias").getAsBoolean()).withWindow(integer("window"));
        }

        double labelSmoothing() {
            return json.get("label_smoothing").getAsDouble();
        }

        /** The entries under {@code group/}, by the rest of their name. */
        Map<String, INDArray> group(String group) {
            Map<String, INDArray> m = new TreeMap<>();
            arrays.forEach((k, v) -> {
                if (k.startsWith(group + "/")) {
                    m.put(k.substring(group.length() + 1), v);
                }
            });
            return m;
        }

        private int integer(String key) {
            return json.get(key).getAsInt();
        }
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

    static List<Path> cases() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
    }

    /** Builds the model of a case, loads its parameters and compares what it computes with PyTorch's. */
    static Errors compare(LmCase c) {
        LanguageModel model = new LanguageModel(c.config(), c.dataType());
        Map<String, INDArray> params = c.group("param");
        assertEquals(new TreeSet<>(model.parameters().keySet()), params.keySet(),
                c.name() + ": attn4j's parameter names against the fixture's");
        model.loadParameters(params);
        INDArray input = c.arrays().get("in/input"), target = c.arrays().get("in/target");

        double logits = relativeError(model.predict(null, input), c.arrays().get("out/logits"), 1e-12);
        Trainer trainer = new Trainer(model, Trainer.Config.adam(new FixedSchedule(1e-3))
                .withLabelSmoothing(c.labelSmoothing()));
        Trainer.BatchGradients g = trainer.gradients(new Batch(null, input, target));
        double expectedLoss = c.arrays().get("out/loss").getDouble(0);
        double loss = Math.abs(g.loss() - expectedLoss) / Math.max(Math.abs(expectedLoss), 1e-12);

        Map<String, INDArray> expected = c.group("grad");
        assertEquals(expected.keySet(), new TreeSet<>(g.gradients().keySet()), c.name() + ": gradients by name");
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

    @Test
    void bothPrecisionsOfEveryCaseArePresent() throws IOException {
        org.attn4j.testing.ParityFixtures.assertBothPrecisions(cases(), 10);
    }

    /** The preset case's configuration is what {@code ModelConfig.modernLanguageModel} builds. */
    @Test
    void theModernPresetIsTheFixturesConfiguration() throws IOException {
        LmCase c = LmCase.load(DIR.resolve("modern_preset_f64.json"));
        assertEquals("modernLanguageModel", c.json().get("preset").getAsString());
        assertEquals(ModelConfig.modernLanguageModel(c.integer("vocab"), c.integer("d_model"), c.integer("heads"),
                c.integer("ff_dim"), c.integer("layers"), c.integer("max_len")), c.config());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPyTorch(Path json) throws IOException {
        LmCase c = LmCase.load(json);
        Errors e = compare(c);
        double tolerance = c.dataType() == DataType.DOUBLE ? TOLERANCE_F64 : TOLERANCE_F32;
        System.out.println(e.line(c.name()));
        assertTrue(e.within(tolerance), e.line(c.name()) + " > " + tolerance);
    }

    /** The check has teeth: one weight moved by 1e-5 puts logits, loss and gradients out of float64's tolerance. */
    @Test
    void aWrongWeightIsCaught() throws IOException {
        LmCase c = LmCase.load(DIR.resolve("pre_gelu_learned_tied_f64.json"));
        INDArray w = c.arrays().get("param/decoder.layers.1.ff.linear2.bias");
        w.putScalar(0, w.getDouble(0) + 1e-5);
        Errors e = compare(c);
        assertTrue(e.logits() > TOLERANCE_F64 && e.loss() > TOLERANCE_F64 && e.gradients() > TOLERANCE_F64,
                e.line(c.name()));
    }
}
