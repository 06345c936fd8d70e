package org.attn4j.model;

import static org.attn4j.model.ModelParity.TOLERANCE_F64;
import static org.attn4j.model.ModelParity.integer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.attn4j.config.Activation;
import org.attn4j.config.Normalization;
import org.attn4j.interop.ParityCase;
import org.attn4j.model.ModelParity.Errors;
import org.attn4j.nn.PositionalEncoding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The whole language model against PyTorch, through the public API only: a {@link LanguageModel}
 * built from each case's configuration, loaded with the case's parameters by name, must give its
 * logits ({@code predict}), loss and gradient of every parameter ({@code Trainer.gradients}).
 * Cases are written by src/test/python/gen_lm_fixtures.py (a GPT-style model written directly in
 * PyTorch, whose docstring spells out the semantics). Errors are relative to each array's largest
 * magnitude: float64 within 1e-12 (4e-14 measured), float32 within 1e-4 (2e-5 measured). A gradient's scale is floored at 1e-3 of the
 * case's largest gradient: without rotary positions the key projection's bias has a gradient that is
 * zero in exact arithmetic (softmax ignores a shift shared by all keys of a query), so both sides hold
 * only rounding noise there (~1e-17 in float64, ~1e-9 in float32), which no relative error can compare. The
 * comparison is {@link ModelParity}'s, shared with {@link Seq2SeqParityTest}.
 */
class LanguageModelParityTest {
    static final Path DIR = Path.of("src/test/resources/lm_parity");

    /** The model configuration of a case. */
    static ModelConfig config(ParityCase c) {
        return ModelConfig.languageModel(integer(c, "vocab"), integer(c, "d_model"), integer(c, "heads"),
                        integer(c, "ff_dim"), integer(c, "layers"), integer(c, "max_len"))
                .withActivation(Activation.parse(c.string("activation")))
                .withNormFirst(c.config().get("norm_first").getAsBoolean())
                .withPositions(PositionalEncoding.parse(c.string("positions")))
                .withTiedEmbeddings(c.config().get("tie_embeddings").getAsBoolean())
                .withScaleEmbedding(c.config().get("scale_embedding").getAsBoolean())
                .withEps(c.config().get("eps").getAsDouble()).withPadId(integer(c, "pad_id"))
                .withNorm(Normalization.parse(c.string("norm"))).withKvHeads(integer(c, "kv_heads"))
                .withBias(c.config().get("bias").getAsBoolean()).withWindow(integer(c, "window"));
    }

    static List<Path> cases() throws IOException {
        return ModelParity.cases(DIR);
    }

    /** Builds the model of a case, loads its parameters and compares what it computes with PyTorch's. */
    static Errors compare(ParityCase c) {
        return ModelParity.compare(c, new LanguageModel(config(c), ModelParity.dataType(c)), null);
    }

    @Test
    void bothPrecisionsOfEveryCaseArePresent() throws IOException {
        org.attn4j.testing.ParityFixtures.assertBothPrecisions(cases(), 10);
    }

    /** The preset case's configuration is what {@code ModelConfig.modernLanguageModel} builds. */
    @Test
    void theModernPresetIsTheFixturesConfiguration() throws IOException {
        ParityCase c = ParityCase.load(DIR.resolve("modern_preset_f64.json"));
        assertEquals("modernLanguageModel", c.string("preset"));
        assertEquals(ModelConfig.modernLanguageModel(integer(c, "vocab"), integer(c, "d_model"), integer(c, "heads"),
                integer(c, "ff_dim"), integer(c, "layers"), integer(c, "max_len")), config(c));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPyTorch(Path json) throws IOException {
        ParityCase c = ParityCase.load(json);
        ModelParity.assertWithinTolerance(c, compare(c));
    }

    /** The check has teeth: one weight moved by 1e-5 puts logits, loss and gradients out of float64's tolerance. */
    @Test
    void aWrongWeightIsCaught() throws IOException {
        ParityCase c = ParityCase.load(DIR.resolve("pre_gelu_learned_tied_f64.json"));
        INDArray w = c.arrays().get("param/decoder.layers.1.ff.linear2.bias");
        w.putScalar(0, w.getDouble(0) + 1e-5);
        Errors e = compare(c);
        assertTrue(e.logits() > TOLERANCE_F64 && e.loss() > TOLERANCE_F64 && e.gradients() > TOLERANCE_F64,
                e.line(c.name()));
    }
}
