package org.attn4j.nn;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.FeedForwardConfig;
import org.attn4j.samediff.NormGraph;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Wrong calls are answered with what was expected, what was given, and which argument. */
class ValidationTest {
    private static void rejects(Executable call, String... fragments) {
        Exception e = assertThrows(RuntimeException.class, call);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message '" + e.getMessage() + "' should mention '" + f + "'");
        }
    }

    private final MultiHeadAttention mha = MultiHeadAttention.create(AttentionConfig.of(8, 2), DataType.FLOAT);
    private final INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, 8);

    @Test
    void configurations() {
        rejects(() -> AttentionConfig.of(30, 4), "dModel 30 is not divisible by heads 4");
        rejects(() -> AttentionConfig.of(8, 0), "heads=0");
        rejects(() -> AttentionConfig.of(8, 2).withDropout(1.0), "attention dropout", "1.0");
        rejects(() -> new LayerNorm.Config(4, 0), "eps", "0.0");
        rejects(() -> new LayerNorm.Config(0, 1e-5), "width", "0");
        rejects(() -> BlockConfig.encoder(10, 3, 16), "dModel 10 is not divisible by heads 3");
        rejects(() -> FeedForwardConfig.of(4, -1, Activation.RELU), "hidden=-1");
        rejects(() -> Activation.parse("tanhh"), "Unknown activation 'tanhh'", "gelu");
        rejects(() -> ScaledDotProductAttention.Config.standard().withScale(-1), "scale", "-1");
    }

    @Test
    void inputShapesAndTypes() {
        rejects(() -> mha.apply(Nd4j.randn(DataType.FLOAT, 3, 8), AttentionMask.none()), "query must be rank 3", "[3, 8]");
        rejects(() -> mha.apply(Nd4j.randn(DataType.FLOAT, 2, 3, 7), AttentionMask.none()), "dModel=8", "[2, 3, 7]");
        rejects(() -> mha.apply(x, Nd4j.randn(DataType.FLOAT, 2, 4, 8), Nd4j.randn(DataType.FLOAT, 2, 5, 8),
                AttentionMask.none()), "value", "[2, 5, 8]", "[2, 4, 8]");
        rejects(() -> mha.apply(x.castTo(DataType.DOUBLE), AttentionMask.none()), "query is DOUBLE", "FLOAT");
        rejects(() -> mha.apply(Nd4j.create(DataType.FLOAT, 0, 3, 8), AttentionMask.none()), "query is empty");
        rejects(() -> LayerNorm.create(LayerNorm.Config.of(4), DataType.FLOAT).apply(x), "[..., 4]", "[2, 3, 8]");
    }

    @Test
    void masks() {
        rejects(() -> mha.apply(x, AttentionMask.ofPadding(Nd4j.ones(DataType.FLOAT, 2, 4))),
                "padding mask [B, Tk]", "[2, 4]", "[2, 3]");
        rejects(() -> mha.apply(x, AttentionMask.<INDArray>none().withAttention(Nd4j.ones(DataType.FLOAT, 3, 2))),
                "attention mask [Tq, Tk]", "[3, 2]");
        rejects(() -> mha.apply(x, AttentionMask.<INDArray>none().withAdditive(Nd4j.ones(DataType.FLOAT, 2, 2, 3, 4))),
                "additive mask [B, H, Tq, Tk]", "[2, 2, 3, 4]");
        rejects(() -> AttentionMask.ofPadding(x).withPadding(x), "padding mask is already set");
    }

    @Test
    void blocksAndParameters() {
        TransformerBlock encoder = TransformerBlock.create(BlockConfig.encoder(8, 2, 16), DataType.FLOAT);
        rejects(() -> encoder.apply(x, x, AttentionMask.none(), AttentionMask.none()), "has no cross-attention",
                "takes no memory");
        TransformerBlock decoder = TransformerBlock.create(BlockConfig.decoder(8, 2, 16), DataType.FLOAT);
        rejects(() -> decoder.apply(x, AttentionMask.none()), "has cross-attention", "needs a memory");
        rejects(() -> decoder.apply(x, Nd4j.randn(DataType.FLOAT, 3, 4, 8), AttentionMask.none(), AttentionMask.none()),
                "memory", "[3, 4, 8]");

        SameDiff sd = SameDiff.create();
        LayerNorm first = new LayerNorm("norm", LayerNorm.Config.of(4));
        new NormGraph(sd, first);
        new NormGraph(sd, first); // the same layer again: its variables are found, not made twice
        rejects(() -> new NormGraph(sd, new LayerNorm("norm", LayerNorm.Config.of(4))),
                "already has a variable named 'norm.weight'", "unique name");

        LayerNorm norm = LayerNorm.create(LayerNorm.Config.of(4), DataType.FLOAT);
        rejects(() -> norm.loadParameters(Map.of("weight", Nd4j.ones(4))), "missing [bias]");
        rejects(() -> norm.loadParameters(Map.of("weight", Nd4j.ones(4), "bias", Nd4j.ones(4), "gain", Nd4j.ones(4))),
                "unexpected [gain]");
        rejects(() -> norm.loadParameters(Map.of("weight", Nd4j.ones(5), "bias", Nd4j.ones(4))),
                "'weight'", "expected shape [4], given [5]");
    }
}
