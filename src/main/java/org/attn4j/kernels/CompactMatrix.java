package org.attn4j.kernels;

import java.nio.ByteBuffer;
import org.attn4j.config.CompactWeights;
import org.attn4j.config.WeightFormat;

/**
 * A weight matrix {@code W [out, in]} (PyTorch's layout) stored in a compact {@link WeightFormat}, and the product a
 * linear layer needs from it: {@code y [n, out] = x [n, in] W^T + b} for a few rows of float32 activations (a decoding
 * step: one row a sequence). The product reads the compact weights themselves and widens them to float32 in vector
 * registers; each weight row is read from memory once per call for all n input rows, so a decoding step of a whole
 * batch streams the matrix once. The output rows are split over {@link Parallel#shared()}'s threads.
 *
 * <p>Sums are float32: the products of a block of the input dimension accumulate in vector lanes, then the lanes in
 * a fixed order (so a result does not change once the JIT has compiled the kernel). A call allocates nothing but its
 * split loop's closure. Instances are immutable and may be used by many threads at once.
 *
 * <p>Made from a float32 or float64 matrix with {@link CompactMatrices#of}; {@link #get} widens one weight back, exactly as the
 * product does.
 */
public abstract class CompactMatrix implements CompactWeights {
    /** Output rows a thread takes at least: below that a hand-off to a worker costs more than the rows. */
    private static final int GRAIN = 64;

    protected final int out, in;

    CompactMatrix(int out, int in) {
        if (out <= 0 || in <= 0) {
            throw new IllegalArgumentException("a weight matrix needs positive sizes, given [" + out + ", " + in + "]");
        }
        this.out = out;
        this.in = in;
    }


    @Override
    public abstract WeightFormat format();

    @Override
    public int rows() {
        return out;
    }

    @Override
    public int columns() {
        return in;
    }

    /** Bytes the matrix holds (weights and scales): what a product streams from memory. */
    @Override
    public long bytes() {
        return format().bytes(out, in);
    }

    /** The weight {@code W[row, column]} as the product sees it (widened to float32). */
    public abstract float get(int row, int column);

    /**
     * Rows {@code [yRow, yRow + n)} of {@code y [., out]} = rows {@code [xRow, xRow + n)} of {@code x [., in]} times
     * W^T, plus {@code bias [out]} (or null). x, y and bias are float32; y must not overlap x.
     */
    public void multiply(Buf x, int xRow, int n, Buf bias, Buf y, int yRow) {
        if (!x.isFloat() || !y.isFloat() || bias != null && !bias.isFloat()) {
            throw new IllegalArgumentException("a compact product takes float32 activations, given x "
                    + x.array.dataType() + ", y " + y.array.dataType() + (bias == null ? "" : ", bias " + bias.array.dataType()));
        }
        if (n < 0 || (long) (xRow + n) * in > x.length || (long) (yRow + n) * out > y.length
                || bias != null && bias.length < out) {
            throw new IllegalArgumentException("[" + out + ", " + in + "] product of " + n + " rows: x from row " + xRow
                    + " holds " + x.length + " elements, y from row " + yRow + " holds " + y.length
                    + (bias == null ? "" : ", bias holds " + bias.length));
        }
        ByteBuffer xb = x.bytes(), yb = y.bytes(), bb = bias == null ? null : bias.bytes();
        boolean lanes = RowMath.vector(x) && CompactLanes.FITS;
        Parallel.shared().forRange(out, GRAIN, (o0, o1) -> rows(lanes, xb, xRow * in, n, bb, yb, yRow * out, o0, o1));
    }

    /**
     * Output rows {@code [o0, o1)} of the product on this thread, in vector lanes ({@link CompactLanes}) or scalar:
     * x's n rows start at float {@code xAt} (row stride in), y's at {@code yAt} (row stride out), bias is null or
     * [out].
     */
    abstract void rows(boolean lanes, ByteBuffer x, int xAt, int n, ByteBuffer bias, ByteBuffer y, int yAt, int o0,
            int o1);
}
