package org.attn4j.bench;

/** One training step of a lone block on a fixed batch, loss mean((block(x) - y)^2). */
interface BlockStep {
    /** Forward, backward and an Adam update. */
    void step();

    /** The loss on the fixed batch, without an update. */
    double loss();

    /** {@code fast} ({@link FastBlockTraining}) or {@code samediff} ({@link BlockTraining}). */
    static BlockStep of(String path, BenchSize size) {
        return switch (path) {
            case "fast" -> new FastBlockTraining(size);
            case "samediff" -> new BlockTraining(size);
            default -> throw new IllegalArgumentException("path must be fast or samediff, given '" + path + "'");
        };
    }
}
