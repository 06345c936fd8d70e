package org.attn4j.config;

/**
 * The components every attention-bearing configuration has ({@link AttentionConfig}, {@link BlockConfig},
 * {@code org.attn4j.model.ModelConfig}), each with its {@code with...} method: the same one line through the
 * record's builder, written once here. Each accessor means what the implementing record's component of that name
 * documents.
 *
 * @param <C> the configuration record
 */
public interface AttentionComponents<C> {
    /** Width C. */
    int dModel();

    /** Attention heads H. */
    int heads();

    /** Whether the linear layers have biases. */
    boolean bias();

    /** Self-attention's key/value heads (H: multi-head; a divisor of H: grouped-query; 1: multi-query). */
    int kvHeads();

    /** Self-attention's sliding window (0: none). */
    int window();

    /** Whether self-attention's query, key and value projections have biases even without {@link #bias()}. */
    boolean qkvBias();

    /** Rotary frequencies, used with rotary positions. */
    Rope rope();

    /** A builder holding this configuration, to change some components and build a new one. */
    AttentionBuilder<C, ?> toBuilder();

    /** {@code to} with the components of this interface set to {@code from}'s: where a toBuilder starts. */
    static <B extends AttentionBuilder<?, B>> B copy(AttentionComponents<?> from, B to) {
        return to.dModel(from.dModel()).heads(from.heads()).bias(from.bias()).kvHeads(from.kvHeads())
                .window(from.window()).qkvBias(from.qkvBias()).rope(from.rope());
    }

    /** The same with bias {@code v}: biases on the linear layers ({@code true}) or none (see {@link #withQkvBias}). */
    default C withBias(boolean v) {
        return toBuilder().bias(v).build();
    }

    /** The same with kvHeads {@code v}: self-attention's key/value heads (1: multi-query). */
    default C withKvHeads(int v) {
        return toBuilder().kvHeads(v).build();
    }

    /** The same with window {@code v}: self-attention's sliding window over this many positions (0: none). */
    default C withWindow(int v) {
        return toBuilder().window(v).build();
    }

    /** The same with qkvBias {@code v}: biases on self-attention's q, k and v even without {@code bias}. */
    default C withQkvBias(boolean v) {
        return toBuilder().qkvBias(v).build();
    }

    /** The same with rope {@code v}: rotary frequencies (base theta, Llama 3 scaling). */
    default C withRope(Rope v) {
        return toBuilder().rope(v).build();
    }
}
