package org.attn4j.model;

import static org.attn4j.model.LanguageModelParityTest.relativeError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.attn4j.config.Activation;
import org.attn4j.data.Batch;
import org.attn4j.io.Npz;
import org.attn4j.model.LanguageModelParityTest.Errors;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.schedule.FixedSchedule;

/**
 * The whole encoder-decoder against PyTorch, through the public API only: a {@link Seq2SeqTransformer}
 * built from each case's configuration, loaded with the case's parameters by name, must give its logits
 * ({@code predict(source, input)}), loss and gradient of every parameter ({@code Trainer.gradients}, which
 * must run on the engine, not the graph). Cases are written by src/test/python/gen_seq2seq_fixtures.py
 * (PyTorch's TransformerEncoder and TransformerDecoder with attn4j's embeddings, positions, head and loss;
 * its docstring spells out the semantics). Errors and the gradient floor are {@link LanguageModelParityTest}'s:
 * relative to each array's largest magnitude, float64 within 1e-12, float32 within 1e-4, a gradient's scale
 * floored at 1e-3 of the case's largest gradient (the key projections' biases, self- and cross-attention,
 * have gradients that are zero in exact arithmetic: both sides hold only rounding noise there).
 */
class Seq2SeqParityTest {
    static final Path DIR = Path.of("src/test/resources/seq2seq_parity");

    /** One case: its configuration (json) and arrays (npz: param/, in/, out/, grad/). */
    record Seq2SeqCase(String name, JsonObject json, Map<String, INDArray> arrays) {
        static Seq2SeqCase load(Path json) throws IOException {
            String file = json.getFileName().toString();
            String name = file.substring(0, file.length() - ".json".length());
            return new Seq2SeqCase(name, JsonParser.parseString(Files.readString(json)).getAsJsonObject(),
                    new TreeMap<>(Npz.read(json.resolveSibling(name + ".npz"))));
        }

        DataType dataType() {
            return json.get("dtype").getAsString().equals("float64") ? DataType.DOUBLE : DataType.FLOAT;
        }

        ModelConfig config() {
            return ModelConfig.seq2seq(integer("target_vocab"), integer("d_model"), integer("heads"), integer("ff_dim"),
                            integer("decoder_layers"), integer("max_len"))
                    .withSourceVocab(integer("source_vocab")).withEncoderLayers(integer("encoder_layers"))
                    .withActivation(Activation.parse(json.get("activation").getAsString()))
                    .withNormFirst(json.get("norm_first").getAsBoolean())
                    .withPositions(PositionalEncoding.parse(json.get("positions").getAsString()))
                    .withTiedEmbeddings(json.get("tie_embeddings").getAsBoolean())
                    .withScaleEmbedding(json.get("scale_embedding").getAsBoolean())
                    .withEps(json.get("eps").getAsDouble()).withPadId(integer("pad_id"));
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

    static List<Path> cases() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
    }

    /** Builds the model of a case, loads its parameters and compares what it computes with PyTorch's. */
    static Errors compare(Seq2SeqCase c) {
        Seq2SeqTransformer model = new Seq2SeqTransformer(c.config(), c.dataType());
        Map<String, INDArray> params = c.group("param");
        assertEquals(new TreeSet<>(model.parameters().keySet()), params.keySet(),
                c.name() + ": attn4j's parameter names against the fixture's");
        model.loadParameters(params);
        INDArray source = c.arrays().get("in/source");
        INDArray input = c.arrays().get("in/input"), target = c.arrays().get("in/target");

        double logits = relativeError(model.predict(source, input), c.arrays().get("out/logits"), 1e-12);
        Trainer trainer = new Trainer(model, Trainer.Config.adam(new FixedSchedule(1e-3))
                .withLabelSmoothing(c.json().get("label_smoothing").getAsDouble()));
        Trainer.BatchGradients g = trainer.gradients(new Batch(source, input, target));
        double expectedLoss = c.arrays().get("out/loss").getDouble(0);
        double loss = Math.abs(g.loss() - expectedLoss) / Math.max(Math.abs(expectedLoss), 1e-12);

        Map<String, INDArray> expected = c.group("grad");
        assertEquals(expected.keySet(), new TreeSet<>(g.gradients().keySet()), c.name() + ": gradients by name");
        double floor = LanguageModelParityTest.GRADIENT_FLOOR * expected.values().stream()
                .mapToDouble(a -> a.amaxNumber().doubleValue()).max().orElse(0);
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

    @Test
    void bothPrecisionsOfEveryCaseArePresent() throws IOException {
        org.attn4j.testing.ParityFixtures.assertBothPrecisions(cases(), 4);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPyTorch(Path json) throws IOException {
        Seq2SeqCase c = Seq2SeqCase.load(json);
        Errors e = compare(c);
        double tolerance = c.dataType() == DataType.DOUBLE ? LanguageModelParityTest.TOLERANCE_F64
                : LanguageModelParityTest.TOLERANCE_F32;
        System.out.println(e.line(c.name()));
        assertTrue(e.within(tolerance), e.line(c.name()) + " > " + tolerance);
    }

    /**
     * The check has teeth: one encoder weight moved by 1e-5 (it reaches the logits only through
     * cross-attention) puts logits, loss and gradients out of float64's tolerance.
     */
    @Test
    void aWrongEncoderWeightIsCaught() throws IOException {
        Seq2SeqCase c = Seq2SeqCase.load(DIR.resolve("pre_gelu_learned_untied_f64.json"));
        INDArray w = c.arrays().get("param/encoder.layers.1.ff.linear2.bias");
        w.putScalar(0, w.getDouble(0) + 1e-5);
        Errors e = compare(c);
        double tolerance = LanguageModelParityTest.TOLERANCE_F64;
        System.out.println("perturbed: " + e.line(c.name()));
        assertTrue(e.logits() > tolerance && e.loss() > tolerance && e.gradients() > tolerance, e.line(c.name()));
    }
}
