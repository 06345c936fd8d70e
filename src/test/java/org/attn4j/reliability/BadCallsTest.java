package org.attn4j.reliability;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.data.Batches;
import org.attn4j.data.Vocabulary;
import org.attn4j.decode.BeamSearch;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.nn.LayerNorm;
import org.attn4j.nn.MultiHeadAttention;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.nn.ScaledDotProductAttention;
import org.attn4j.nn.TransformerBlock;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Wrong calls on models, data, decoding and training, each answered by an exception whose message
 * names the argument, what was expected and what was given (with ValidationTest: more than 30 cases).
 */
class BadCallsTest {
    static final Seq2SeqTransformer S2S;
    static final LanguageModel LM;
    static final MultiHeadAttention MHA = MultiHeadAttention.create(AttentionConfig.of(8, 2), DataType.FLOAT);

    static {
        Nd4j.getRandom().setSeed(1);
        S2S = new Seq2SeqTransformer(ModelConfig.seq2seq(10, 8, 2, 16, 1, 6));
        LM = new LanguageModel(ModelConfig.languageModel(10, 8, 2, 16, 1, 6));
    }

    static INDArray ids(int[][] a) {
        return Nd4j.createFromArray(a).castTo(DataType.INT);
    }

    static INDArray withNaN() {
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, 8);
        x.putScalar(1, 2, 5, Float.NaN);
        return x;
    }

    static INDArray keysWithNaN() {
        INDArray k = Nd4j.ones(DataType.FLOAT, 1, 1, 2, 2);
        k.putScalar(new long[] {0, 0, 1, 0}, Float.NaN);
        return k;
    }

    static Stream<Arguments> cases() {
        INDArray ok = ids(new int[][] {{4, 5, 6}});
        return Stream.of(
                bad("token id above the vocabulary", () -> S2S.predict(ids(new int[][] {{4, 10}}), ok),
                        "source holds token id 10 outside the vocabulary [0, 10)"),
                bad("negative token id", () -> LM.predict(null, ids(new int[][] {{-1, 4}})), "token id -1"),
                bad("fractional token ids", () -> LM.predict(null, Nd4j.createFromArray(new float[][] {{1.5f}})),
                        "whole token ids"),
                bad("sequence longer than the positions", () -> LM.predict(null, ids(new int[][] {{1, 2, 3, 4, 5, 6, 7}})),
                        "length 7", "cover 6 (maxLen)"),
                bad("source and target batch sizes differ", () -> S2S.predict(ids(new int[][] {{4}, {5}}), ok),
                        "batch size 2", "has 1"),
                bad("ids of the wrong rank", () -> LM.predict(null, Nd4j.ones(DataType.INT, 3)), "token ids [B, T]", "[3]"),
                bad("an empty batch", () -> Batches.pad(new int[0][], 0), "empty batch"),
                bad("a batch of empty sequences", () -> Batches.pad(new int[][] {{}, {}}, 0), "at least one token"),
                bad("a source given to a language model", () -> LM.predict(ok, ok), "takes no source"),
                bad("a language-model config for a seq2seq", () -> new Seq2SeqTransformer(
                        ModelConfig.languageModel(10, 8, 2, 16, 1, 6)), "needs an encoder"),
                bad("rotary with an odd head width", () -> AttentionConfig.of(6, 2).withRotary(true),
                        "even head width", "= 3"),
                bad("an unknown positional encoding", () -> PositionalEncoding.parse("relative"),
                        "Unknown positional encoding 'relative'", "rotary"),
                bad("padding id outside the vocabulary",
                        () -> ModelConfig.languageModel(5, 8, 2, 16, 1, 8).withPadId(7),
                        "padId 7"),
                bad("a decoding session fed past the positions (Greedy, BeamSearch and Sampler slide instead)",
                        () -> {
                            try (var session = LM.startDecoding(null)) {
                                session.advance(ids(new int[][] {{1, 2, 3, 4}}));
                                session.advance(ids(new int[][] {{5, 6, 7}}));
                            }
                        }, "Decoding past the model's 6 positions", "4 fed, 3 more asked"),
                bad("a beam of width 0", () -> new BeamSearch.Config(0, 0, 5), "beam width", "0"),
                bad("a cosine schedule that ends before warmup", () -> Schedules.warmupCosine(1e-3, 10, 5, 0),
                        "total > warmup", "total=5"),
                bad("a negative clipping norm", () -> Trainer.Config.adam(Schedules.constant(1e-3)).withClipNorm(-1),
                        "clipNorm"),
                bad("label smoothing of 1", () -> new Trainer(LM, Trainer.Config.adam(Schedules.constant(1e-3))
                        .withLabelSmoothing(1.0)), "label smoothing must be in [0, 1), got 1.0"),
                bad("an unknown token id to decode", () -> new Vocabulary(List.of("a")).token(9), "Token id 9"),
                bad("a vocabulary without its specials", () -> Vocabulary.fromTokens(List.of("a", "b")), "must start with"),
                bad("NaN in the input of a layer", () -> MHA.apply(withNaN(), AttentionMask.none()),
                        "query contains 1 NaN or infinite value, the first at [1, 2, 5]"),
                bad("infinity in the memory of a decoder block", () -> TransformerBlock.create(
                        BlockConfig.decoder(8, 2, 16), DataType.FLOAT).apply(Nd4j.randn(DataType.FLOAT, 2, 3, 8),
                        Nd4j.randn(DataType.FLOAT, 2, 3, 8).divi(0), AttentionMask.none(), AttentionMask.none()),
                        "memory contains 48 NaN or infinite values"),
                bad("NaN in attention's keys", () -> new ScaledDotProductAttention().apply(Nd4j.ones(DataType.FLOAT, 1, 1, 2, 2),
                        keysWithNaN(), Nd4j.ones(DataType.FLOAT, 1, 1, 2, 2), AttentionMask.none()),
                        "key contains 1 NaN or infinite value, the first at [0, 0, 1, 0]"),
                bad("LayerNorm on the wrong width", () -> LayerNorm.create(LayerNorm.Config.of(8), DataType.FLOAT)
                        .apply(Nd4j.ones(DataType.FLOAT, 2, 4)), "[..., 8]", "[2, 4]"));
    }

    static Arguments bad(String name, Executable call, String... fragments) {
        return Arguments.of(name, call, fragments);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void isRejectedClearly(String name, Executable call, String[] fragments) {
        RuntimeException e = assertThrows(RuntimeException.class, call, name);
        for (String f : fragments) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(f),
                    name + ": '" + e.getMessage() + "' should mention '" + f + "'");
        }
    }
}
