/**
 * The value types every layer and kernel shares: {@link org.attn4j.config.Activation} (the
 * feed-forward's activation) and {@link org.attn4j.config.AttentionMask} (which keys each query may
 * attend to: one polarity everywhere, 1 = may attend, 0 = may not). The lowest package: it uses no
 * other attn4j package.
 */
package org.attn4j.config;
