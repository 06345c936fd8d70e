package org.attn4j.engine;

/**
 * A model's training pass on packed rows: each sequence's trailing padding (positions that are padding as
 * keys and whose outputs nothing reads: no loss, no later query) is left out of the rows, so the
 * products, norms and activations run on real tokens only. The gradients equal those of the padded rows
 * (whose contributions are exactly zero) up to rounding.
 *
 * @param starts    B + 1 offsets: sequence bi is rows [starts[bi], starts[bi + 1]), its first positions
 * @param rowPos    each row's position in its sequence
 * @param t         the padded length T, of the masks and the weights {@code [B, H, T, T]}
 * @param memStarts a decoder block's memory rows, as {@code starts} (null for a self-attention block)
 * @param s         the memory's padded length S
 */
record Packing(int[] starts, int[] rowPos, int t, int[] memStarts, int s) {
}
