package org.attn4j.bench;

import java.util.Locale;
import org.attn4j.examples.sequence.SequenceTask;

/**
 * The encoder-decoder of the benchmark row {@code seq2seq_train_step}: the sequence example's model and
 * batch. Vocabulary V (SequenceTask's: 4 specials and 10 digits), batch B of random digit sequences of
 * lengths {@code minLength..maxLength}, width C, heads H, feed-forward width F, encoder and decoder blocks,
 * position table {@code maxLen}. The same sizes are in bench/torch_seq2seq.py.
 */
public record Seq2SeqSize(String name, int vocab, int batch, int minLength, int maxLength, int dModel, int heads,
        int ffDim, int encoderLayers, int decoderLayers, int maxLen) {
    public Seq2SeqSize {
        if (batch <= 0 || minLength < 1 || maxLength < minLength || maxLen < maxLength + 1) {
            throw new IllegalArgumentException("Seq2seq size '" + name + "' needs B > 0, 1 <= minLength <= maxLength and "
                    + "maxLen > maxLength (BOS or EOS is added); got B=" + batch + " lengths " + minLength + "-"
                    + maxLength + " maxLen=" + maxLen);
        }
        new BenchSize(name, batch, maxLength, dModel, heads, ffDim); // checks d, heads and ff
    }

    /**
     * exec:java@sequence's defaults: B=128, lengths 1-12, d=64, 4 heads, ff=256, 1+1 layers, maxLen 22 (its
     * longest test sequence, 20, plus BOS and EOS).
     */
    public static Seq2SeqSize sequence() {
        return new Seq2SeqSize("sequence", SequenceTask.VOCABULARY.size(), 128, 1, 12, 64, 4, 256, 1, 1, 22);
    }

    /** A size for smoke tests only: B=2, lengths 1-4, d=8, 2 heads, ff=16, 1+1 layers. */
    public static Seq2SeqSize tiny() {
        return new Seq2SeqSize("s2s_tiny", SequenceTask.VOCABULARY.size(), 2, 1, 4, 8, 2, 16, 1, 1, 6);
    }

    /** "sequence" or "s2s_tiny". */
    public static Seq2SeqSize parse(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "sequence" -> sequence();
            case "s2s_tiny" -> tiny();
            default -> throw new IllegalArgumentException("Unknown seq2seq size '" + name + "'; expected sequence or s2s_tiny");
        };
    }

    public String describe() {
        return String.format(Locale.ROOT, "%s encoder-decoder (V=%d B=%d lengths %d-%d d=%d heads=%d ff=%d layers=%d+%d)",
                name, vocab, batch, minLength, maxLength, dModel, heads, ffDim, encoderLayers, decoderLayers);
    }
}
