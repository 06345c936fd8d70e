package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.attn4j.data.Batch;
import org.attn4j.decode.Greedy;
import org.attn4j.decode.Hypothesis;
import org.attn4j.kernels.RowMath;
import org.attn4j.nn.LanesProbe;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.schedule.FixedSchedule;

/**
 * An encoder-decoder whose attention runs on the vector lanes ({@code AttentionLanes}: float32, head dimension 16,
 * at most 16 keys a sequence), through the public API: its loss and every gradient against the same weights in
 * float64 (which run on OpenBLAS), on batches of uneven lengths (packed rows, padded sources); and its cached
 * greedy decoding (a new query after the earlier keys: causal with fewer queries than keys) against decoding that
 * recomputes the whole prefix each step. Without {@code --add-modules jdk.incubator.vector} (the pom's
 * {@code without-vector-flag} execution) the same model runs on the scalar loops and BLAS and must meet the same
 * tolerances.
 */
class LanesModelTest {
    private static final int BOS = 1, EOS = 2, VOCAB = 15;

    private static ModelConfig config() {
        return ModelConfig.seq2seq(VOCAB, 32, 2, 64, 2, 24); // d 32, 2 heads: head dimension 16
    }

    @Test
    void float32LossAndGradientsMatchFloat64() {
        Nd4j.getRandom().setSeed(7);
        Seq2SeqTransformer f32 = new Seq2SeqTransformer(config(), DataType.FLOAT);
        Seq2SeqTransformer f64 = new Seq2SeqTransformer(config(), DataType.DOUBLE);
        f32.parameters().forEach((name, a) -> f64.parameters().get(name).assign(a.castTo(DataType.DOUBLE)));
        Batch batch = batch(new Random(3), 16, 12);
        Trainer.BatchGradients want = new Trainer(f64, Trainer.Config.adam(new FixedSchedule(1e-3))).gradients(batch);
        long lanesBefore = LanesProbe.pairs();
        Trainer.BatchGradients got = new Trainer(f32, Trainer.Config.adam(new FixedSchedule(1e-3))).gradients(batch);
        // the float32 model must really have run on the lanes (scalar loops and BLAS without the Vector API flag)
        assertEquals(RowMath.VECTOR_AVAILABLE, LanesProbe.pairs() > lanesBefore,
                "attention pairs on the lanes: " + (LanesProbe.pairs() - lanesBefore));
        assertEquals(want.loss(), got.loss(), 1e-5 * Math.abs(want.loss()), "loss");
        double largest = want.gradients().values().stream().mapToDouble(a -> a.amaxNumber().doubleValue()).max()
                .orElseThrow();
        for (Map.Entry<String, INDArray> e : want.gradients().entrySet()) {
            double[] w = e.getValue().castTo(DataType.DOUBLE).data().asDouble();
            double[] g = got.gradients().get(e.getKey()).castTo(DataType.DOUBLE).data().asDouble();
            // relative to the parameter's largest entry, but not below 1e-3 of the largest anywhere: the key
            // projection's bias has a gradient of exactly 0 (softmax ignores a shift shared by every key), which
            // float32 gives as round-off
            double scale = Math.max(e.getValue().amaxNumber().doubleValue(), 1e-3 * largest);
            for (int i = 0; i < w.length; i++) {
                assertTrue(Math.abs(w[i] - g[i]) <= 1e-4 * scale, e.getKey() + "[" + i + "]: float32 " + g[i]
                        + ", float64 " + w[i] + " (scale " + scale + ")");
            }
        }
    }

    @Test
    void cachedDecodingMatchesRecomputingThePrefix() {
        Nd4j.getRandom().setSeed(8);
        Seq2SeqTransformer model = new Seq2SeqTransformer(config(), DataType.FLOAT);
        INDArray source = batch(new Random(5), 6, 12).source();
        INDArray bos = Nd4j.valueArrayOf(new long[] {6, 1}, BOS, DataType.INT);
        List<Hypothesis> cached = Greedy.decode(model, source, bos, EOS, 14, true);
        List<Hypothesis> recomputed = Greedy.decode(model, source, bos, EOS, 14, false);
        for (int row = 0; row < 6; row++) {
            assertArrayEquals(recomputed.get(row).tokens(), cached.get(row).tokens(), "tokens of row " + row);
            assertEquals(recomputed.get(row).logProb(), cached.get(row).logProb(), 1e-4, "log-probability of row " + row);
        }
    }

    /** b copy-task rows of lengths 1..maxLength: source, BOS + answer, answer + EOS, each padded with 0. */
    private static Batch batch(Random r, int b, int maxLength) {
        int[] lengths = new int[b];
        int longest = 0;
        for (int i = 0; i < b; i++) {
            lengths[i] = 1 + r.nextInt(maxLength);
            longest = Math.max(longest, lengths[i]);
        }
        int[][] source = new int[b][longest], input = new int[b][longest + 1], target = new int[b][longest + 1];
        for (int i = 0; i < b; i++) {
            input[i][0] = BOS;
            for (int j = 0; j < lengths[i]; j++) {
                source[i][j] = 3 + r.nextInt(VOCAB - 3);
                input[i][j + 1] = source[i][j];
                target[i][j] = source[i][j];
            }
            target[i][lengths[i]] = EOS;
        }
        return new Batch(ints(source), ints(input), ints(target));
    }

    private static INDArray ints(int[][] x) {
        return Nd4j.createFromArray(x).castTo(DataType.INT);
    }
}
