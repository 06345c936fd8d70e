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

    /**
     * Rows {@code [yRow, yRow + n)} of {@code y [., out]} = rows {@code [xRow, xRow + n)} of {@code x [., in]} times
     * W^T, plus {@code bias [out]} (or null), on the calling thread: a training batch's rows (a frozen base under
     * LoRA adapters). W is widened a tile of rows at a time ({@link #widenRows}) into a float32 scratch of this
     * thread and multiplied by OpenBLAS's GEMM, so the product runs at float32 GEMM speed and no float32 copy of the
     * whole matrix is made; the widening costs about 1 / n of the product. The result is x times the widened
     * weights, as {@link #get} gives them, in float32 GEMM's rounding. y must not overlap x.
     */
    public void multiplyRows(Buf x, int xRow, int n, Buf bias, Buf y, int yRow) {
        checkRows(x, xRow, n, in, y, yRow, out, bias);
        Buf tile = tile();
        int step = tileRows();
        for (int o0 = 0; o0 < out; o0 += step) {
            int o1 = Math.min(out, o0 + step);
            widenRows(o0, o1, tile);
            for (int r = 0; bias != null && r < n; r++) {
                RowMath.copy(bias, o0, y, (yRow + r) * out + o0, o1 - o0);
            }
            // y[:, o0:o1] = x W[o0:o1]^T (+ b[o0:o1], already there)
            Blas.gemm(false, true, n, o1 - o0, in, 1, x, (long) xRow * in, in, tile, 0, in, bias == null ? 0 : 1, y,
                    (long) yRow * out + o0, out);
        }
    }

    /**
     * Rows {@code [dxRow, dxRow + n)} of {@code dx [., in]} = (or {@code +=}, when {@code accumulate}) rows
     * {@code [dyRow, dyRow + n)} of {@code dy [., out]} times W: a linear layer's input gradient {@code dx = dy W} on
     * a frozen compact weight, on the calling thread, a widened tile of W's rows at a time as in
     * {@link #multiplyRows} (each tile adds its rows' share, {@code dy[:, o0:o1] W[o0:o1]}). Float32; dx must not
     * overlap dy.
     */
    public void multiplyTransposed(Buf dy, int dyRow, int n, Buf dx, int dxRow, boolean accumulate) {
        checkRows(dy, dyRow, n, out, dx, dxRow, in, null);
        Buf tile = tile();
        int step = tileRows();
        for (int o0 = 0; o0 < out; o0 += step) {
            int o1 = Math.min(out, o0 + step);
            widenRows(o0, o1, tile);
            Blas.gemm(false, false, n, in, o1 - o0, 1, dy, (long) dyRow * out + o0, out, tile, 0, in,
                    accumulate || o0 > 0 ? 1 : 0, dx, (long) dxRow * in, in);
        }
    }

    /** Weights a tile holds at most (1 MiB of float32): W's rows are widened this many elements at a time. */
    private static final int TILE = 1 << 18;
    private static final ThreadLocal<Buf> TILES = new ThreadLocal<>();

    private int tileRows() {
        return Math.max(1, Math.min(out, TILE / in));
    }

    /** This thread's tile scratch, of at least one tile of this matrix's rows. */
    private Buf tile() {
        long need = (long) tileRows() * in;
        Buf t = TILES.get();
        if (t == null || t.length < need) {
            if (t != null) {
                t.close();
            }
            t = Buf.of(org.nd4j.linalg.factory.Nd4j.create(org.nd4j.linalg.api.buffer.DataType.FLOAT,
                    Math.max(need, TILE)));
            TILES.set(t);
        }
        return t;
    }

    /** Checks a product's operands: n rows of a [., aWidth] from aRow into n rows of b [., bWidth] from bRow. */
    private void checkRows(Buf a, int aRow, int n, int aWidth, Buf b, int bRow, int bWidth, Buf bias) {
        if (!a.isFloat() || !b.isFloat() || bias != null && !bias.isFloat()) {
            throw new IllegalArgumentException("a compact product takes float32 activations, given "
                    + a.array.dataType() + " and " + b.array.dataType()
                    + (bias == null ? "" : ", bias " + bias.array.dataType()));
        }
        if (n < 0 || aRow < 0 || bRow < 0 || (long) (aRow + n) * aWidth > a.length
                || (long) (bRow + n) * bWidth > b.length || bias != null && bias.length < out) {
            throw new IllegalArgumentException("[" + out + ", " + in + "] product of " + n + " rows: the input from row "
                    + aRow + " holds " + a.length + " elements (" + aWidth + " a row), the output from row " + bRow
                    + " holds " + b.length + " (" + bWidth + " a row)" + (bias == null ? "" : ", bias holds " + bias.length));
        }
    }

    /**
     * Rows {@code [o0, o1)} of W widened to float32, exactly as {@link #get} gives them, into the first
     * {@code (o1 - o0) * in} elements of the float32 {@code tile} (row-major {@code [o1 - o0, in]}).
     */
    abstract void widenRows(int o0, int o1, Buf tile);
}
