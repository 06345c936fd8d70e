package org.attn4j.examples.shakespeare;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Locale;
import org.attn4j.config.WeightFormat;
import org.attn4j.data.Batch;
import org.attn4j.model.LanguageModel;
import org.attn4j.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The accuracy bar on a trained model: the committed {@code models/shakespeare-bpe} loaded in bfloat16 and
 * int8 ({@link LanguageModel#fromPretrained(Path, WeightFormat)}) keeps its validation loss within +0.2% and +0.5% of
 * float32's, on the example's first 4 fixed validation batches of 12 x 64 tokens (3,072 positions; the benchmark
 * {@code exec:java@format-accuracy} measures 10,000). The loss is the mean cross-entropy of predict's logits, so each
 * format is measured by the same code. Prints one line, {@code FORMATS ...}.
 */
class ShakespeareWeightFormatsTest {
    private static final Path MODEL = Path.of("models/shakespeare-bpe");

    @Test
    void bfloat16AndInt8KeepTheValidationLossWithinTheirBars() {
        CharText text = CharText.withTokenizer(Tokenizer.fromPretrained(MODEL),
                ShakespeareExample.readText("examples/data/tinyshakespeare.txt"));
        double full = loss(LanguageModel.fromPretrained(MODEL), text);
        double bf16 = loss(LanguageModel.fromPretrained(MODEL, WeightFormat.BFLOAT16), text);
        double int8 = loss(LanguageModel.fromPretrained(MODEL, WeightFormat.INT8), text);
        System.out.printf(Locale.ROOT, "FORMATS shakespeare-bpe val_loss float32=%.5f bfloat16=%.5f (%+.3f%%) "
                + "int8=%.5f (%+.3f%%)%n", full, bf16, 100 * (bf16 / full - 1), int8, 100 * (int8 / full - 1));
        assertTrue(bf16 <= full * 1.002, "bfloat16 " + bf16 + " against float32 " + full);
        assertTrue(int8 <= full * 1.005, "int8 " + int8 + " against float32 " + full);
        assertTrue(bf16 != full && int8 != full, "the formats changed the weights");
    }

    /** Mean cross-entropy a token of predict's logits over the first 4 validation batches. */
    private static double loss(LanguageModel model, CharText text) {
        double sum = 0;
        long n = 0;
        for (int i = 0; i < 4; i++) {
            Batch b = text.evaluationBatch(true, i, 12, model.config().maxLen());
            float[] logits = model.predict(null, b.input()).castTo(DataType.FLOAT).dup('c').data().asFloat(); // [B, T, V]
            int[][] target = b.target().toIntMatrix();
            int vocab = model.config().targetVocab();
            for (int r = 0; r < target.length; r++) {
                for (int t = 0; t < target[r].length; t++) {
                    int at = (r * target[r].length + t) * vocab;
                    double max = Double.NEGATIVE_INFINITY, exp = 0;
                    for (int v = 0; v < vocab; v++) {
                        max = Math.max(max, logits[at + v]);
                    }
                    for (int v = 0; v < vocab; v++) {
                        exp += Math.exp(logits[at + v] - max);
                    }
                    sum += max + Math.log(exp) - logits[at + target[r][t]];
                    n++;
                }
            }
        }
        return sum / n;
    }
}
