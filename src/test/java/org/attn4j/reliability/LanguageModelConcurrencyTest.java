package org.attn4j.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.attn4j.decode.BeamSearch;
import org.attn4j.decode.Greedy;
import org.attn4j.decode.Hypothesis;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One language model decoding (greedy and beam, with the key/value cache) from 4 threads at once gives
 * exactly what the same decodes give one at a time: every session has its own caches and activations.
 */
class LanguageModelConcurrencyTest {
    @Test
    void fourThreadsDecodeExactlyAsSequentialUse() throws Exception {
        Nd4j.getRandom().setSeed(21);
        LanguageModel model = new LanguageModel(ModelConfig.languageModel(29, 32, 4, 64, 2, 48));
        java.util.Random r = new java.util.Random(8);
        List<INDArray> prompts = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            int[][] p = new int[2][2 + r.nextInt(6)];
            for (int[] row : p) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = 1 + r.nextInt(28);
                }
            }
            prompts.add(Nd4j.createFromArray(p));
        }
        BeamSearch.Config beam = new BeamSearch.Config(3, 0, 20);
        List<String> sequential = new ArrayList<>();
        for (INDArray p : prompts) {
            sequential.add(describe(Greedy.decode(model, null, p, 0, 20, true)) + " | "
                    + describe(BeamSearch.decode(model, null, p, 0, beam, true)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> futures = new ArrayList<>();
            for (int rep = 0; rep < 4; rep++) {
                for (INDArray p : prompts) {
                    futures.add(pool.submit(() -> describe(Greedy.decode(model, null, p, 0, 20, true)) + " | "
                            + describe(BeamSearch.decode(model, null, p, 0, beam, true))));
                }
            }
            for (int i = 0; i < futures.size(); i++) {
                assertEquals(sequential.get(i % prompts.size()), futures.get(i).get(), "decode " + i + " (prompt "
                        + i % prompts.size() + ")");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static String describe(List<Hypothesis> hs) {
        StringBuilder s = new StringBuilder();
        for (Hypothesis h : hs) {
            s.append(Arrays.toString(h.tokens())).append(' ').append(h.logProb()).append("; ");
        }
        return s.toString();
    }
}
