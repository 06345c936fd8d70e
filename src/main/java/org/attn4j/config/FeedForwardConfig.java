package org.attn4j.config;

/**
 * A position-wise feed-forward layer's configuration ({@code org.attn4j.nn.FeedForward}).
 *
 * @param dModel     input and output width C
 * @param hidden     inner width F
 * @param activation the nonlinearity
 * @param bias       whether the linear layers have biases
 * @param dropout    dropout after the activation, active only while training
 */
public record FeedForwardConfig(int dModel, int hidden, Activation activation, boolean bias, double dropout) {
    public FeedForwardConfig {
        if (dModel <= 0 || hidden <= 0) {
            throw new IllegalArgumentException("FeedForward widths must be positive, got dModel=" + dModel
                    + ", hidden=" + hidden);
        }
        if (activation == null) {
            throw new IllegalArgumentException("activation is required but was null");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("feed-forward dropout must be in [0, 1), got " + dropout);
        }
    }

    public static FeedForwardConfig of(int dModel, int hidden, Activation activation) {
        return new FeedForwardConfig(dModel, hidden, activation, true, 0);
    }
}
