package org.attn4j.bench;

import java.util.Locale;

/**
 * One benchmark size: batch B, length T, width C (d), heads H, feed-forward width F, and the matmul
 * FLOPs of each workload at that size (the same formulas are in BENCHMARKS.md and bench/torch_block.py).
 *
 * <p>FLOPs count only matrix products, 2*M*N*K each (elementwise work, softmax and norms are left out):
 * <pre>
 *   attention = 3 projections 2*BT*C*C*3 + scores 2*B*T*T*C + weights x values 2*B*T*T*C + output 2*BT*C*C
 *             = 8*BT*C^2 + 4*B*T^2*C
 *   block     = attention + feed-forward 2 * 2*BT*C*F = 8*BT*C^2 + 4*B*T^2*C + 4*BT*C*F
 *   training  = 3 * block (backward costs two products per forward product: one for the input's
 *               gradient, one for the weight's)
 * </pre>
 */
public record BenchSize(String name, int batch, int length, int dModel, int heads, int ffDim) {
    public BenchSize {
        if (batch <= 0 || length <= 0 || dModel <= 0 || heads <= 0 || ffDim <= 0 || dModel % heads != 0) {
            throw new IllegalArgumentException("Size '" + name + "' needs positive B, T, d, heads, ff with d divisible by "
                    + "heads; got B=" + batch + " T=" + length + " d=" + dModel + " heads=" + heads + " ff=" + ffDim);
        }
    }

    /** The small size: B=32, T=32, d=64, 4 heads, ff=256. */
    public static BenchSize toy() {
        return new BenchSize("toy", 32, 32, 64, 4, 256);
    }

    /** The main size: B=8, T=128, d=256, 8 heads, ff=1024. */
    public static BenchSize standard() {
        return new BenchSize("standard", 8, 128, 256, 8, 1024);
    }

    /** A size for smoke tests only: B=2, T=4, d=8, 2 heads, ff=16. */
    public static BenchSize tiny() {
        return new BenchSize("tiny", 2, 4, 8, 2, 16);
    }

    /** "toy", "standard" or "tiny". */
    public static BenchSize parse(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "toy" -> toy();
            case "standard" -> standard();
            case "tiny" -> tiny();
            default -> throw new IllegalArgumentException("Unknown size '" + name + "'; expected toy, standard or tiny");
        };
    }

    /** Matmul FLOPs of multi-head self-attention's forward pass. */
    public long attentionFlops() {
        long bt = (long) batch * length, c = dModel;
        return 8 * bt * c * c + 4L * batch * length * length * c;
    }

    /** Matmul FLOPs of a block's forward pass. */
    public long blockForwardFlops() {
        return attentionFlops() + 4L * batch * length * dModel * ffDim;
    }

    /** Matmul FLOPs of a block's training step: forward plus a backward of twice the forward's products. */
    public long trainStepFlops() {
        return 3 * blockForwardFlops();
    }
}
