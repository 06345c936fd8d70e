package org.attn4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.config.Activation;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.model.TransformerModel;
import org.attn4j.nn.PositionalEncoding;
import org.junit.jupiter.api.Test;

/** The shapes worked out from a configuration equal the parameters of the model built from it. */
class ParameterShapesTest {
    @Test
    void equalTheParametersOfBuiltModels() {
        List<ModelConfig> configs = new ArrayList<>();
        PositionalEncoding[] positions = PositionalEncoding.values();
        Activation[] activations = Activation.values();
        int i = 0;
        for (boolean seq2seq : new boolean[] {false, true}) {
            for (boolean tied : new boolean[] {false, true}) {
                for (boolean normFirst : new boolean[] {false, true}) {
                    PositionalEncoding p = positions[i % positions.length];
                    Activation a = activations[i % activations.length];
                    i++;
                    int decoderLayers = 1 + (i + 1) % 2;
                    ModelConfig kind = seq2seq
                            ? ModelConfig.seq2seq(9, 8, 2, 12, decoderLayers, 6).withSourceVocab(7)
                                    .withEncoderLayers(1 + i % 2)
                            : ModelConfig.languageModel(9, 8, 2, 12, decoderLayers, 6);
                    configs.add(kind.withActivation(a).withNormFirst(normFirst).withPositions(p)
                            .withTiedEmbeddings(tied).withScaleEmbedding(true));
                }
            }
        }
        // Every position kind and activation at least once, in both model kinds.
        for (PositionalEncoding p : positions) {
            configs.add(ModelConfig.languageModel(11, 8, 2, 16, 1, 5).withPositions(p));
            configs.add(ModelConfig.seq2seq(11, 8, 2, 16, 1, 5).withPositions(p));
        }
        for (Activation a : activations) {
            configs.add(ModelConfig.seq2seq(6, 4, 1, 3, 2, 4).withSourceVocab(5).withEncoderLayers(1).withActivation(a)
                    .withNormFirst(false).withTiedEmbeddings(true).withScaleEmbedding(false));
        }
        for (ModelConfig config : configs) {
            TransformerModel built = config.isSeq2Seq() ? new Seq2SeqTransformer(config) : new LanguageModel(config);
            Map<String, String> expected = new LinkedHashMap<>(), worked = new LinkedHashMap<>();
            built.parameters().forEach((k, v) -> expected.put(k, Arrays.toString(v.shape())));
            ParameterShapes.of(config).forEach((k, v) -> worked.put(k, Arrays.toString(v)));
            assertEquals(expected.toString(), worked.toString(), config.toString()); // names, shapes and order
        }
        assertEquals(23, configs.size());
    }
}
