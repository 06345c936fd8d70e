package org.attn4j.kernels;

/**
 * Which dropout masks a training step draws: inverted dropout (kept elements scaled by 1/(1-p), as
 * PyTorch) whose every element is decided by a counter-based hash of (seed, step, stream, element index),
 * with no random generator shared between calls. So a step's masks are the same on any number of threads,
 * in any order, and after a resume from a checkpoint; inference passes no seed and drops nothing.
 *
 * <p>A stream is one place that drops in one layer ({@link #stream}): for example block 2's attention
 * weights. The hash is SplitMix64's finalizer over the four numbers chained.
 *
 * @param seed the run's seed
 * @param step the training step (a new mask every step)
 */
public record DropoutSeed(long seed, long step) {
    /**
     * The places a block drops (attention weights and residual branches, the feed-forward's hidden units) and
     * a model's embeddings (layer -1: the target's or language model's, and an encoder's source).
     */
    public static final int SELF_WEIGHTS = 0, SELF_RESIDUAL = 1, CROSS_WEIGHTS = 2, CROSS_RESIDUAL = 3, FF_HIDDEN = 4,
            FF_RESIDUAL = 5, EMBEDDING = 6, SOURCE_EMBEDDING = 7, SITES = 8;
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    /** The stream of {@code site} in layer {@code layer} (a block's index in the model, -1 for none). */
    public static int stream(int layer, int site) {
        return (layer + 1) * SITES + site;
    }

    /**
     * The stream of a place named {@code name} (a LoRA module's adapter input: {@code <module>.lora_A.weight}):
     * FNV-1a over its characters, with the top bit set so that it is none of {@link #stream(int, int)}'s.
     */
    public static long stream(String name) {
        long h = 0xCBF29CE484222325L;
        for (int i = 0; i < name.length(); i++) {
            h = (h ^ name.charAt(i)) * 0x100000001B3L;
        }
        return h | Long.MIN_VALUE;
    }

    /** The hash's start for one stream; {@link #keep} continues it per element. */
    public long base(long stream) {
        return mix(mix(mix(seed) + step * GOLDEN) + stream * GOLDEN);
    }

    /** Whether element {@code index} of the stream with base {@code base} is kept, for drop probability p. */
    public static boolean keep(long base, long index, double p) {
        long u = mix(base + (index + 1) * GOLDEN) >>> 11; // 53 uniform bits
        return u >= (long) (p * 0x1p53);
    }

    /**
     * x[i] *= keep(i) / (1 - p) for i in [from, to) of the stream with base {@code base} (element index i):
     * the forward of dropout, and its backward on the gradient.
     */
    public static void apply(long base, double p, Buf x, int from, int to) {
        double scale = 1 / (1 - p);
        for (int i = from; i < to; i++) {
            x.put(i, keep(base, i, p) ? x.get(i) * scale : 0);
        }
    }

    /** SplitMix64's finalizer: a bijection of 64 bits whose output bits each depend on every input bit. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
