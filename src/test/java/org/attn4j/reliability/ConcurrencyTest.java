package org.attn4j.reliability;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.attn4j.decode.Greedy;
import org.attn4j.decode.Hypothesis;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One model used for inference from 4 threads gives exactly what sequential use gives: with head dimension 8
 * (attention on OpenBLAS where vectors hold 16 floats) and 16 (on the vector lanes, {@code AttentionLanes}).
 */
class ConcurrencyTest {
    static Seq2SeqTransformer model(int dModel) {
        Nd4j.getRandom().setSeed(12);
        return new Seq2SeqTransformer(ModelConfig.seq2seq(15, dModel, 2, 2 * dModel, 2, 24));
    }

    @ParameterizedTest(name = "d {0}, 2 heads")
    @ValueSource(ints = {16, 32})
    void fourThreadsAgreeWithSequentialUseFromTheFirstCall(int dModel) throws Exception {
        Seq2SeqTransformer reference = model(dModel);
        Seq2SeqTransformer model = model(dModel); // its decoding graphs get built while 4 threads ask for them
        List<INDArray> sources = new ArrayList<>();
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < 24; i++) {
            int[][] s = new int[2][3 + r.nextInt(5)];
            for (int[] row : s) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = 3 + r.nextInt(12);
                }
            }
            sources.add(Nd4j.createFromArray(s).castTo(DataType.INT));
        }
        INDArray bos = Nd4j.ones(DataType.INT, 2, 1);
        List<INDArray> sequentialLogits = new ArrayList<>();
        List<List<Hypothesis>> sequentialDecodes = new ArrayList<>();
        for (INDArray s : sources) {
            sequentialLogits.add(reference.predict(s, s));
            sequentialDecodes.add(Greedy.decode(reference, s, bos, 2, 6, true));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Object[]>> futures = new ArrayList<>();
            for (int rep = 0; rep < 2; rep++) {
                for (INDArray s : sources) {
                    futures.add(pool.submit(() -> new Object[] {model.predict(s, s), Greedy.decode(model, s, bos, 2, 6, true)}));
                }
            }
            for (int i = 0; i < futures.size(); i++) {
                Object[] got = futures.get(i).get();
                int k = i % sources.size();
                assertSameBits("logits of input " + k, sequentialLogits.get(k), (INDArray) got[0]);
                @SuppressWarnings("unchecked")
                List<Hypothesis> h = (List<Hypothesis>) got[1];
                for (int row = 0; row < 2; row++) {
                    assertEquals(java.util.Arrays.toString(sequentialDecodes.get(k).get(row).tokens()),
                            java.util.Arrays.toString(h.get(row).tokens()), "decode of input " + k);
                    assertEquals(sequentialDecodes.get(k).get(row).logProb(), h.get(row).logProb(), 0.0);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
