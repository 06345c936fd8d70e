package org.attn4j.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.attn4j.config.WeightFormat;
import org.attn4j.examples.Cli;
import org.attn4j.examples.Flags;
import org.attn4j.model.LanguageModel;
import org.attn4j.text.Tokenizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What bfloat16 and int8 weights cost in accuracy: a trained model (default the committed {@code models/shakespeare-bpe})
 * loaded in each {@link WeightFormat} ({@link LanguageModel#fromPretrained(Path, WeightFormat)}), run on the
 * validation text it never trained on (the last 10% of {@code examples/data/tinyshakespeare.txt} by characters, as the
 * Shakespeare example splits it), in consecutive windows of the model's context, for at least {@code --positions
 * 10000} positions. Per format: the validation loss (mean cross-entropy a token, from {@code predict}'s logits) and
 * its change against float32, the logits' relative error against float32's ({@code ||l - l32|| / ||l32||} over all
 * positions) and top-1 agreement (the share of positions whose most likely next token is float32's).
 *
 * <p>Run: {@code mvn -q test-compile exec:java@format-accuracy}. Last line: {@code RESULT positions=...
 * float32_val_loss=... bfloat16_val_loss=... bfloat16_loss_change_pct=... bfloat16_logit_rel_err=...
 * bfloat16_top1_agreement=... int8_...}.
 */
public final class FormatAccuracy {
    private FormatAccuracy() {
    }

    public static void main(String[] args) throws Exception {
        Cli.main("format-accuracy", args, FormatAccuracy::run);
    }

    static void run(String[] args) throws Exception {
        Flags o = Flags.parse(args, Map.of("model", "models/shakespeare-bpe", "text", "examples/data/tinyshakespeare.txt",
                "positions", "10000", "batch", "16"));
        Path dir = o.path("model");
        String text = Files.readString(Path.of(o.text("text")), StandardCharsets.UTF_8);
        int split = text.offsetByCodePoints(0, (int) (text.codePointCount(0, text.length()) * 0.9));
        int[] ids = Tokenizer.fromPretrained(dir).encode(text.substring(split), false);
        LanguageModel full = LanguageModel.fromPretrained(dir);
        int context = full.config().maxLen(), windows = (o.integer("positions", 1) + context - 1) / context;
        if ((long) windows * context + 1 > ids.length) {
            throw new IllegalArgumentException("the validation text holds " + ids.length + " tokens, fewer than "
                    + (windows * context + 1) + " for " + windows + " windows of " + context);
        }
        Results reference = evaluate(full, ids, windows, context, o.integer("batch", 1), null);
        StringBuilder result = new StringBuilder(String.format(Locale.ROOT, "RESULT positions=%d float32_val_loss=%.5f",
                reference.positions, reference.loss));
        System.out.printf(Locale.ROOT, "%s, %d validation positions: float32 loss %.5f a token%n", dir, reference.positions,
                reference.loss);
        for (WeightFormat format : new WeightFormat[] {WeightFormat.BFLOAT16, WeightFormat.INT8}) {
            LanguageModel model = LanguageModel.fromPretrained(dir, format);
            Results r = evaluate(model, ids, windows, context, o.integer("batch", 1), reference);
            double change = 100 * (r.loss - reference.loss) / reference.loss;
            System.out.printf(Locale.ROOT, "%-9s loss %.5f (%+.3f%%), logits' relative error %.2e, top-1 agreement %.4f%n",
                    format, r.loss, change, r.relativeError, r.agreement);
            String key = format.name().toLowerCase(Locale.ROOT);
            result.append(String.format(Locale.ROOT, " %s_val_loss=%.5f %s_loss_change_pct=%.3f %s_logit_rel_err=%.2e "
                    + "%s_top1_agreement=%.4f", key, r.loss, key, change, key, r.relativeError, key, r.agreement));
        }
        System.out.println(result);
    }

    private static final class Results {
        double loss, relativeError, agreement;
        int positions;
        float[][] logits; // per window: [T * V]
    }

    /** Loss over the windows; against {@code reference} (null: this is the reference) the error and agreement too. */
    private static Results evaluate(LanguageModel model, int[] ids, int windows, int context, int batch, Results reference) {
        int vocab = model.config().targetVocab();
        Results r = new Results();
        r.logits = new float[windows][];
        double nll = 0, squaredError = 0, squared = 0;
        long agree = 0;
        for (int w0 = 0; w0 < windows; w0 += batch) {
            int b = Math.min(batch, windows - w0);
            int[][] input = new int[b][context];
            for (int i = 0; i < b; i++) {
                System.arraycopy(ids, (w0 + i) * context, input[i], 0, context);
            }
            INDArray logits = model.predict(null, Nd4j.createFromArray(input)).castTo(DataType.FLOAT).dup('c'); // [B, T, V]
            float[] all = logits.data().asFloat();
            logits.close();
            for (int i = 0; i < b; i++) {
                int w = w0 + i;
                r.logits[w] = java.util.Arrays.copyOfRange(all, i * context * vocab, (i + 1) * context * vocab);
                for (int t = 0; t < context; t++) {
                    int at = t * vocab, target = ids[w * context + t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    int best = 0;
                    for (int v = 0; v < vocab; v++) {
                        if (r.logits[w][at + v] > max) {
                            max = r.logits[w][at + v];
                            best = v;
                        }
                    }
                    double sum = 0;
                    for (int v = 0; v < vocab; v++) {
                        sum += Math.exp(r.logits[w][at + v] - max);
                    }
                    nll += max + Math.log(sum) - r.logits[w][at + target];
                    if (reference != null) {
                        float[] ref = reference.logits[w];
                        int refBest = 0;
                        for (int v = 0; v < vocab; v++) {
                            double d = r.logits[w][at + v] - ref[at + v];
                            squaredError += d * d;
                            squared += (double) ref[at + v] * ref[at + v];
                            refBest = ref[at + v] > ref[at + refBest] ? v : refBest;
                        }
                        agree += refBest == best ? 1 : 0;
                    }
                }
            }
        }
        r.positions = windows * context;
        r.loss = nll / r.positions;
        r.relativeError = reference == null ? 0 : Math.sqrt(squaredError / squared);
        r.agreement = reference == null ? 1 : (double) agree / r.positions;
        return r;
    }
}
