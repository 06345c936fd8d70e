package org.attn4j.bench;

/**
 * One training step on fixed data: a lone block with loss mean((block(x) - y)^2) ({@link #of}), or a
 * language model ({@link LmTraining}), or an encoder-decoder ({@link Seq2SeqTraining}).
 */
interface BlockStep {
    /** Forward, backward and an Adam(W) update. */
    void step();

    /** The loss on the (first) fixed batch, without an update. */
    double loss();

    /** {@code fast} ({@link BlockEngineTraining}) or {@code samediff} ({@link BlockTraining}). */
    static BlockStep of(String path, BenchSize size) {
        return switch (path) {
            case "fast" -> new BlockEngineTraining(size);
            case "samediff" -> new BlockTraining(size);
            default -> throw new IllegalArgumentException("path must be fast or samediff, given '" + path + "'");
        };
    }
}
