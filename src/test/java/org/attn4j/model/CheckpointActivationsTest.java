package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.testing.Exact;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Gradient checkpointing ({@link TransformerModel.EngineState#checkpointActivations}): the loss and every gradient
 * equal, bit for bit in float64, those of the same state without it, with dropout (the recomputed forward must draw
 * the same masks), padding (packed rows) and several steps on one state (whose arrays are freed and made again): a
 * GPT-2-like language model, LoRA adapters on it, and an encoder-decoder.
 */
class CheckpointActivationsTest {
    private static final DropoutSeed DROPOUT = new DropoutSeed(5, 2);

    /** [2, 7] ids with trailing padding (id 0) in the second row, and next-token targets. */
    private static INDArray[] batch(int shift) {
        int[][] input = new int[2][7], target = new int[2][7];
        for (int t = 0; t < 7; t++) {
            input[0][t] = 1 + (3 * t + shift) % 19;
            target[0][t] = 1 + (5 * t + shift) % 19;
            input[1][t] = t < 4 ? 1 + (7 * t + shift) % 19 : 0;
            target[1][t] = t < 4 ? 1 + (2 * t + shift) % 19 : 0;
        }
        return new INDArray[] {Nd4j.createFromArray(input), Nd4j.createFromArray(target)};
    }

    private static Map<String, INDArray> copies(Map<String, INDArray> m) {
        Map<String, INDArray> c = new LinkedHashMap<>();
        m.forEach((k, v) -> c.put(k, v.dup()));
        return c;
    }

    /** Three batches through a plain state and a checkpointing one: the same loss and gradients each time. */
    private static void sameGradients(String what, Trainable trained, INDArray source) {
        TransformerModel.EngineState plain = trained.newEngineState(), checkpointed = trained.newEngineState();
        checkpointed.checkpointActivations(true);
        for (int shift = 0; shift < 3; shift++) {
            INDArray[] b = batch(shift);
            TransformerModel.LossAndGradients want = trained.lossAndGradients(plain, source, b[0], b[1], 0.1, true,
                    DROPOUT);
            Map<String, INDArray> expected = copies(want.gradients());
            TransformerModel.LossAndGradients got = trained.lossAndGradients(checkpointed, source, b[0], b[1], 0.1,
                    true, DROPOUT);
            assertEquals(want.loss(), got.loss(), 0, what + " loss, batch " + shift);
            Exact.assertSameBits(what + " gradients, batch " + shift, expected, got.gradients());
        }
    }

    @Test
    void languageModelGradientsAreTheSameBitForBit() {
        Nd4j.getRandom().setSeed(1);
        LanguageModel lm = new LanguageModel(ModelConfig.languageModel(20, 16, 2, 24, 3, 8).withDropout(0.2)
                .withAttnDropout(0.1), DataType.DOUBLE);
        sameGradients("language model", new WholeModel(lm), null);
    }

    @Test
    void loraAdapterGradientsAreTheSameBitForBit() {
        Nd4j.getRandom().setSeed(2);
        LanguageModel lm = new LanguageModel(ModelConfig.languageModel(20, 16, 2, 24, 3, 8).withDropout(0.2)
                .withoutPadding(), DataType.DOUBLE); // a Hugging Face architecture's: id 0 is a token
        LoraAdapters lora = LoraAdapters.create(lm, LoraConfig.of(2, 4, "all-linear").withDropout(0.1));
        lora.parameters().values().forEach(p -> p.assign(Nd4j.randn(DataType.DOUBLE, p.shape()).muli(0.1)));
        sameGradients("LoRA", lora, null);
    }

    @Test
    void encoderDecoderGradientsAreTheSameBitForBit() {
        Nd4j.getRandom().setSeed(3);
        Seq2SeqTransformer model = new Seq2SeqTransformer(ModelConfig.seq2seq(20, 16, 2, 24, 2, 8).withDropout(0.2),
                DataType.DOUBLE);
        INDArray source = Nd4j.createFromArray(new int[][] {{3, 4, 5, 6, 0}, {7, 8, 9, 10, 11}});
        sameGradients("encoder-decoder", new WholeModel(model), source);
    }
}
