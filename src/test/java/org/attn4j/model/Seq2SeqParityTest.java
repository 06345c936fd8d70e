package org.attn4j.model;

import static org.attn4j.model.ModelParity.integer;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.attn4j.config.Activation;
import org.attn4j.interop.ParityCase;
import org.attn4j.model.ModelParity.Errors;
import org.attn4j.nn.PositionalEncoding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The whole encoder-decoder against PyTorch, through the public API only: a {@link Seq2SeqTransformer}
 * built from each case's configuration, loaded with the case's parameters by name, must give its logits
 * ({@code predict(source, input)}), loss and gradient of every parameter ({@code Trainer.gradients}, which
 * must run on the engine, not the graph). Cases are written by src/test/python/gen_seq2seq_fixtures.py
 * (PyTorch's TransformerEncoder and TransformerDecoder with attn4j's embeddings, positions, head and loss;
 * its docstring spells out the semantics). Errors and the gradient floor are {@link ModelParity}'s, as for
 * {@link LanguageModelParityTest}:
 * relative to each array's largest magnitude, float64 within 1e-12, float32 within 1e-4, a gradient's scale
 * floored at 1e-3 of the case's largest gradient (the key projections' biases, self- and cross-attention,
 * have gradients that are zero in exact arithmetic: both sides hold only rounding noise there).
 */
class Seq2SeqParityTest {
    static final Path DIR = Path.of("src/test/resources/seq2seq_parity");

    /** The model configuration of a case. */
    static ModelConfig config(ParityCase c) {
        return ModelConfig.seq2seq(integer(c, "target_vocab"), integer(c, "d_model"), integer(c, "heads"),
                        integer(c, "ff_dim"), integer(c, "decoder_layers"), integer(c, "max_len"))
                .withSourceVocab(integer(c, "source_vocab")).withEncoderLayers(integer(c, "encoder_layers"))
                .withActivation(Activation.parse(c.string("activation")))
                .withNormFirst(c.config().get("norm_first").getAsBoolean())
                .withPositions(PositionalEncoding.parse(c.string("positions")))
                .withTiedEmbeddings(c.config().get("tie_embeddings").getAsBoolean())
                .withScaleEmbedding(c.config().get("scale_embedding").getAsBoolean())
                .withEps(c.config().get("eps").getAsDouble()).withPadId(integer(c, "pad_id"));
    }

    static List<Path> cases() throws IOException {
        return ModelParity.cases(DIR);
    }

    /** Builds the model of a case, loads its parameters and compares what it computes with PyTorch's. */
    static Errors compare(ParityCase c) {
        return ModelParity.compare(c, new Seq2SeqTransformer(config(c), ModelParity.dataType(c)),
                c.arrays().get("in/source"));
    }

    @Test
    void bothPrecisionsOfEveryCaseArePresent() throws IOException {
        org.attn4j.testing.ParityFixtures.assertBothPrecisions(cases(), 4);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPyTorch(Path json) throws IOException {
        ParityCase c = ParityCase.load(json);
        ModelParity.assertWithinTolerance(c, compare(c));
    }

    /**
     * The check has teeth: one encoder weight moved by 1e-5 (it reaches the logits only through
     * cross-attention) puts logits, loss and gradients out of float64's tolerance.
     */
    @Test
    void aWrongEncoderWeightIsCaught() throws IOException {
        ParityCase c = ParityCase.load(DIR.resolve("pre_gelu_learned_untied_f64.json"));
        INDArray w = c.arrays().get("param/encoder.layers.1.ff.linear2.bias");
        w.putScalar(0, w.getDouble(0) + 1e-5);
        Errors e = compare(c);
        double tolerance = ModelParity.TOLERANCE_F64;
        System.out.println("perturbed: " + e.line(c.name()));
        assertTrue(e.logits() > tolerance && e.loss() > tolerance && e.gradients() > tolerance, e.line(c.name()));
    }
}
