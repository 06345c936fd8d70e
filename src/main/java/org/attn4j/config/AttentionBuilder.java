package org.attn4j.config;

/**
 * Sets the components of {@link AttentionComponents} one at a time, for the builders of {@link AttentionConfig},
 * {@link BlockConfig} and {@code org.attn4j.model.ModelConfig}; each builder validates them together in
 * {@link #build}, through its record's constructor.
 *
 * @param <C> the configuration it builds
 * @param <B> the builder itself, which every setter returns
 */
public abstract class AttentionBuilder<C, B extends AttentionBuilder<C, B>> {
    protected int dModel;
    protected int heads;
    protected boolean bias;
    protected int kvHeads;
    protected int window;
    protected boolean qkvBias;
    protected Rope rope;

    /** Every component unset (0, false or null). */
    protected AttentionBuilder() {
    }

    /** The configuration, validated as its record's constructor validates any. */
    public abstract C build();

    @SuppressWarnings("unchecked") // B is the class that extends this one
    protected final B self() {
        return (B) this;
    }

    public B dModel(int v) {
        dModel = v;
        return self();
    }

    public B heads(int v) {
        heads = v;
        return self();
    }

    public B bias(boolean v) {
        bias = v;
        return self();
    }

    public B kvHeads(int v) {
        kvHeads = v;
        return self();
    }

    public B window(int v) {
        window = v;
        return self();
    }

    public B qkvBias(boolean v) {
        qkvBias = v;
        return self();
    }

    public B rope(Rope v) {
        rope = v;
        return self();
    }
}
