/** Vocabularies and padded id batches: text to {@code [B, T]} token ids and back. Knows nothing of models. */
package org.attn4j.data;
