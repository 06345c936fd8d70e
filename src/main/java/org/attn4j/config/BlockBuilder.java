package org.attn4j.config;

/**
 * Sets the components of {@link BlockComponents} one at a time, for the builders of {@link BlockConfig} and
 * {@code org.attn4j.model.ModelConfig}.
 *
 * @param <C> the configuration it builds
 * @param <B> the builder itself, which every setter returns
 */
public abstract class BlockBuilder<C, B extends BlockBuilder<C, B>> extends AttentionBuilder<C, B> {
    protected int ffDim;
    protected Activation activation;
    protected boolean normFirst;
    protected double dropout;
    protected double attnDropout;
    protected double eps;
    protected Normalization norm;

    /** Every component unset (0, false or null). */
    protected BlockBuilder() {
    }

    public B ffDim(int v) {
        ffDim = v;
        return self();
    }

    public B activation(Activation v) {
        activation = v;
        return self();
    }

    public B normFirst(boolean v) {
        normFirst = v;
        return self();
    }

    public B dropout(double v) {
        dropout = v;
        return self();
    }

    public B attnDropout(double v) {
        attnDropout = v;
        return self();
    }

    public B eps(double v) {
        eps = v;
        return self();
    }

    public B norm(Normalization v) {
        norm = v;
        return self();
    }
}
