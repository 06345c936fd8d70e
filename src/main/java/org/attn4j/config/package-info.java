/**
 * The value types every floor shares: {@link org.attn4j.config.Activation} (the feed-forward's activation),
 * {@link org.attn4j.config.AttentionMask} (which keys each query may attend to: one polarity everywhere,
 * 1 = may attend, 0 = may not), the configs the engine runs ({@link org.attn4j.config.BlockConfig},
 * {@link org.attn4j.config.AttentionConfig}, {@link org.attn4j.config.FeedForwardConfig},
 * {@link org.attn4j.config.Normalization}, {@link org.attn4j.config.Rope}), the weights records the layers build
 * and the engine reads ({@link org.attn4j.config.BlockWeights} and its parts: the layers' own arrays by role), and
 * what attention returns ({@link org.attn4j.config.AttentionOutput}, {@link org.attn4j.config.BlockOutput}). The
 * lowest package: it uses no other attn4j package.
 */
package org.attn4j.config;
