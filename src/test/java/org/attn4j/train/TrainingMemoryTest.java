package org.attn4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.attn4j.data.Batch;
import org.attn4j.kernels.Parallel;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.TransformerModel;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link Trainer#memory()} against sizes counted by hand from the shapes, and the blocks sharing one set of backward
 * arrays and gradient shares: those do not grow with the number of blocks, the activations do.
 */
class TrainingMemoryTest {
    private static final int V = 12, C = 16, H = 2, F = 32, B = 4, T = 6, N = B * T;

    private static Trainer.Memory afterAStep(int layers) {
        Nd4j.getRandom().setSeed(1);
        LanguageModel model = new LanguageModel(ModelConfig.languageModel(V, C, H, F, layers, 16).withoutPadding(),
                DataType.FLOAT);
        Trainer trainer = new Trainer(model, Trainer.Config.adam(Schedules.constant(1e-3)).withSeed(3));
        int[][] in = new int[B][T], out = new int[B][T];
        for (int r = 0; r < B; r++) {
            for (int t = 0; t < T; t++) {
                in[r][t] = (r + t) % V;
                out[r][t] = (r + t + 1) % V;
            }
        }
        trainer.step(new Batch(null, Nd4j.createFromArray(in), Nd4j.createFromArray(out)));
        return trainer.memory();
    }

    @Test
    void theComponentsAreTheShapesCountedByHand() {
        Trainer.Memory m = afterAStep(2);
        TransformerModel.EngineMemory e = m.engine();
        long params = parameters(2);
        assertEquals(4 * params, m.weights(), "weights");
        assertEquals(4 * params, e.gradients(), "gradients: one per parameter, the tied head's in the embedding's");
        assertEquals(2 * 4 * params, m.optimizerState(), "Adam's m and v");
        assertEquals(4L * (N * V + N), e.logits(), "logits [N, V] and row losses [N]");
        assertEquals(2 * 4L * B * H * T * T, e.attention(), "each block's probabilities [B, H, T, T]");
        assertEquals(2 * 4L * 3 * N * F, e.hidden(), "each block's h, gelu(h) and its aux [N, F]");
        // x; per sublayer: norm out a, xhat, rstd [N, 1], z; attention q, k, v, o
        assertEquals(2 * 4L * (11 * N * C + 2 * N), e.blockRows(), "each block's rows");
        assertEquals(4L * (4 * N * C + N), e.stackRows(), "x0, x, final norm's h, xhat, rstd");
        // one block's: dy, dx, the attention's dOut, dfin, dO, dq, dk, dv, dp [B, H, T, T], the FF's dfin, dg [N, F];
        // the stack's dh, dx
        assertEquals(4L * (9 * N * C + B * H * T * T + N * F + 2 * N * C), e.backwardScratch(), "backward rows");
        long block = 4L * C * C + 4 * C + 2L * F * C + F + C; // q, k, v, out; W1, W2 with their biases
        assertEquals(4L * (Parallel.shared().threads() - 1) * (V * C + block), e.gradientShares(),
                "the other workers' shares of the head's and of one block's linear gradients");
    }

    @Test
    void blocksShareTheirBackwardArraysAndGradientShares() {
        TransformerModel.EngineMemory one = afterAStep(1).engine(), three = afterAStep(3).engine();
        assertEquals(one.backwardScratch(), three.backwardScratch(), "backward rows of one block, whatever the depth");
        assertEquals(one.gradientShares(), three.gradientShares(), "gradient shares of one block and the head");
        assertEquals(3 * one.attention(), three.attention(), "activations: every block's");
    }

    /** Parameters of the model by hand: embedding, positions, per block two norms, attention, FF; final norm. */
    private static long parameters(int layers) {
        long block = 2 * 2L * C + (4L * C * C + 4 * C) + (2L * F * C + F + C);
        return (long) V * C + 16L * C + layers * block + 2L * C;
    }
}
