package org.attn4j.bench;

import java.util.Locale;

/**
 * The language model of the benchmark row {@code lm_train_step}: vocabulary V, batch B, context T,
 * width C, heads H, feed-forward width F, blocks L (the model is
 * {@code ModelConfig.languageModel(V, C, H, F, L, T)}). The same sizes are in bench/torch_lm.py.
 *
 * <p>FLOPs count matrix products only: L blocks of {@link BenchSize#blockForwardFlops()} plus the tied
 * head 2*BT*C*V, and a training step three times the forward.
 */
public record LmSize(String name, int vocab, int batch, int length, int dModel, int heads, int ffDim, int layers) {
    public LmSize {
        if (vocab < 2 || batch <= 0 || length <= 0 || layers <= 0) {
            throw new IllegalArgumentException("LM size '" + name + "' needs vocab >= 2 and positive B, T, layers; got V="
                    + vocab + " B=" + batch + " T=" + length + " layers=" + layers);
        }
        new BenchSize(name, batch, length, dModel, heads, ffDim); // checks d, heads and ff
    }

    /** nanoGPT's CPU recipe for Tiny Shakespeare: V=66, B=12, T=64, d=128, 4 heads, ff=512, 4 layers. */
    public static LmSize charGpt() {
        return new LmSize("char_gpt", 66, 12, 64, 128, 4, 512, 4);
    }

    /** A size for smoke tests only: V=11, B=2, T=5, d=8, 2 heads, ff=16, 2 layers. */
    public static LmSize tiny() {
        return new LmSize("lm_tiny", 11, 2, 5, 8, 2, 16, 2);
    }

    /** "char_gpt" or "lm_tiny". */
    public static LmSize parse(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "char_gpt" -> charGpt();
            case "lm_tiny" -> tiny();
            default -> throw new IllegalArgumentException("Unknown LM size '" + name + "'; expected char_gpt or lm_tiny");
        };
    }

    /** One block of this model, as a {@link BenchSize}. */
    public BenchSize block() {
        return new BenchSize(name, batch, length, dModel, heads, ffDim);
    }

    /** Matmul FLOPs of one training step. */
    public long trainStepFlops() {
        return 3 * (layers * block().blockForwardFlops() + 2L * batch * length * dModel * vocab);
    }

    public String describe() {
        return String.format(Locale.ROOT, "%s language model (V=%d B=%d T=%d d=%d heads=%d ff=%d layers=%d)", name, vocab,
                batch, length, dModel, heads, ffDim, layers);
    }
}
