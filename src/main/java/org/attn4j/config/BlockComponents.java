package org.attn4j.config;

/**
 * The components a block's configuration and a model's share ({@link BlockConfig},
 * {@code org.attn4j.model.ModelConfig}: the model's are its blocks'), each with its {@code with...} method,
 * written once here.
 *
 * @param <C> the configuration record
 */
public interface BlockComponents<C> extends AttentionComponents<C> {
    /** Feed-forward inner width F. */
    int ffDim();

    /** Feed-forward nonlinearity. */
    Activation activation();

    /** Pre-LN ({@code true}) or post-LN. */
    boolean normFirst();

    /** Residual and feed-forward dropout while training. */
    double dropout();

    /** Attention-weight dropout while training. */
    double attnDropout();

    /** Norm eps. */
    double eps();

    /** LayerNorm or RMSNorm. */
    Normalization norm();

    @Override
    BlockBuilder<C, ?> toBuilder();

    /** {@code to} with the components of this interface set to {@code from}'s: where a toBuilder starts. */
    static <B extends BlockBuilder<?, B>> B copy(BlockComponents<?> from, B to) {
        return AttentionComponents.copy(from, to).ffDim(from.ffDim()).activation(from.activation())
                .normFirst(from.normFirst()).dropout(from.dropout()).attnDropout(from.attnDropout()).eps(from.eps())
                .norm(from.norm());
    }

    /** The same with dModel {@code v}: width C. */
    default C withDModel(int v) {
        return toBuilder().dModel(v).build();
    }

    /**
     * The same with {@code v} attention heads; multi-head self-attention stays multi-head (kvHeads follows), a
     * grouped-query one keeps its kvHeads.
     */
    default C withHeads(int v) {
        return toBuilder().heads(v).kvHeads(kvHeads() == heads() ? v : kvHeads()).build();
    }

    /** The same with ffDim {@code v}: feed-forward inner width F. */
    default C withFfDim(int v) {
        return toBuilder().ffDim(v).build();
    }

    /** The same with activation {@code v}: feed-forward nonlinearity. */
    default C withActivation(Activation v) {
        return toBuilder().activation(v).build();
    }

    /** The same with normFirst {@code v}: pre-LN ({@code true}) or post-LN. */
    default C withNormFirst(boolean v) {
        return toBuilder().normFirst(v).build();
    }

    /** The same with dropout {@code v}: residual and feed-forward dropout while training. */
    default C withDropout(double v) {
        return toBuilder().dropout(v).build();
    }

    /** The same with attnDropout {@code v}: attention-weight dropout while training. */
    default C withAttnDropout(double v) {
        return toBuilder().attnDropout(v).build();
    }

    /** The same with eps {@code v}: norm eps. */
    default C withEps(double v) {
        return toBuilder().eps(v).build();
    }

    /** The same with norm {@code v}: LayerNorm or RMSNorm. */
    default C withNorm(Normalization v) {
        return toBuilder().norm(v).build();
    }
}
