package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.attn4j.nn.PositionalEncoding;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Whole models: shapes, attention capture, and cached decoding equal to recomputation. */
class ModelTest {
    @BeforeEach
    void seed() {
        Nd4j.getRandom().setSeed(11);
    }

    static INDArray randomIds(int b, int t, int vocab, long seed) {
        java.util.Random r = new java.util.Random(seed);
        int[][] ids = new int[b][t];
        for (int[] row : ids) {
            for (int j = 0; j < t; j++) {
                row[j] = 1 + r.nextInt(vocab - 1);
            }
        }
        return Nd4j.createFromArray(ids).castTo(DataType.INT);
    }

    @Test
    void seq2seqShapesAndAttentionMaps() {
        Seq2SeqTransformer m = new Seq2SeqTransformer(ModelConfig.seq2seq(11, 16, 2, 32, 2, 20));
        INDArray src = randomIds(3, 5, 11, 1), tgt = randomIds(3, 4, 11, 2);
        src.putScalar(0, 4, 0); // one padded source position
        assertEquals(Arrays.toString(new long[] {3, 4, 11}), Arrays.toString(m.predict(src, tgt).shape()));
        AttentionMaps a = m.attention(src, tgt);
        assertEquals(2, a.encoderSelf().size());
        assertEquals(2, a.decoderSelf().size());
        assertEquals(2, a.cross().size());
        assertEquals(Arrays.toString(new long[] {3, 2, 4, 5}), Arrays.toString(a.cross().get(1).shape()));
        assertEquals(0.0, a.cross().get(0).getDouble(0, 1, 2, 4), "padded source position gets no weight");
        assertEquals(0.0, a.decoderSelf().get(0).getDouble(1, 0, 0, 1), "causal");
    }

    @ParameterizedTest
    @EnumSource(PositionalEncoding.class)
    void cachedDecodingEqualsRecomputation(PositionalEncoding positions) {
        for (boolean seq2seq : new boolean[] {true, false}) {
            ModelConfig config = (seq2seq ? ModelConfig.seq2seq(13, 16, 2, 32, 2, 24)
                    : ModelConfig.languageModel(13, 16, 2, 32, 2, 24)).withPositions(positions);
            TransformerModel m = seq2seq ? new Seq2SeqTransformer(config, DataType.DOUBLE)
                    : new LanguageModel(config, DataType.DOUBLE);
            INDArray source = seq2seq ? randomIds(2, 6, 13, 3) : null;
            INDArray tokens = randomIds(2, 9, 13, 4);
            DecodingSession cached = m.startDecoding(source);
            DecodingSession slow = m.startDecoding(source);
            INDArray first = cached.advance(tokens.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 3)));
            assertTrue(first.equalsWithEps(slow.recompute(prefix(tokens, 3)), 1e-12));
            for (int t = 3; t < 9; t++) {
                INDArray next = cached.advance(prefix(tokens, t + 1).get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                        org.nd4j.linalg.indexing.NDArrayIndex.interval(t, t + 1)));
                INDArray full = slow.recompute(prefix(tokens, t + 1));
                double diff = next.sub(full).amaxNumber().doubleValue();
                assertTrue(diff < 1e-10, positions + " seq2seq=" + seq2seq + " step " + t + " differs by " + diff);
            }
            // and predict's last position, log-softmaxed, equals the recomputation
            INDArray logits = m.predict(source, tokens);
            INDArray last = logits.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(8), org.nd4j.linalg.indexing.NDArrayIndex.all());
            INDArray logSoftmax = last.sub(Transforms.log(Transforms.exp(last, true).sum(true, 1), false));
            assertTrue(logSoftmax.equalsWithEps(slow.recompute(tokens), 1e-10));
        }
    }

    private static INDArray prefix(INDArray ids, int t) {
        return ids.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, t)).dup();
    }
}
