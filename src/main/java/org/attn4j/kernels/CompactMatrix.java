package org.attn4j.kernels;

import java.nio.ByteBuffer;
import org.attn4j.config.CompactWeights;
import org.attn4j.config.WeightFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A weight matrix {@code W [out, in]} (PyTorch's layout) stored in a compact {@link WeightFormat}, and the product a
 * linear layer needs from it: {@code y [n, out] = x [n, in] W^T + b} for a few rows of float32 activations (a decoding
 * step: one row a sequence). The product reads the compact weights themselves and widens them to float32 in vector
 * registers; each weight row is read from memory once per call for all n input rows, so a decoding step of a whole
 * batch streams the matrix once. The output rows are split over the caller's {@link Parallel}. A prompt's many rows
 * go through GEMM instead, on tiles of W widened to float32.
 *
 * <p>Sums are float32: the products of a chunk of the input dimension accumulate in vector lanes, then the lanes
 * (reduced in order, so a result does not change once the JIT has compiled the kernel). A row of a batch gets
 * exactly what it gets alone. A call allocates nothing but its split loop's closure (the laid-out activations and
 * the tiles are per-thread scratch, kept). Instances are immutable and may be used by many threads at once.
 *
 * <p>Made from a float32 or float64 matrix with {@link CompactMatrices#of}; {@link #get} widens one weight back, exactly as the
 * product does.
 */
public abstract class CompactMatrix implements CompactWeights {
    /** Output rows a thread takes at least: below that a hand-off to a worker costs more than the rows. */
    private static final int GRAIN = 64;
    /** Most input rows a product reads the compact weights for directly; more go through GEMM on widened tiles. */
    public static final int PRODUCT_ROWS = 8;
    /** Output rows widened at a time for GEMM: a tile of a 3,072-wide matrix stays within a core's L2 cache. */
    private static final int TILE = 64;
    /** A thread's laid-out activation rows (the caller's, read by every worker of its product). */
    private static final ThreadLocal<Scratch> ROWS = ThreadLocal.withInitial(Scratch::new);
    /** A thread's widened tile of W. */
    private static final ThreadLocal<Scratch> TILE_ROWS = ThreadLocal.withInitial(Scratch::new);

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
     * W^T, plus {@code bias [out]} (or null), split over {@link Parallel#shared()}: {@link #multiply(Parallel, Buf,
     * int, int, Buf, Buf, int)}.
     */
    public void multiply(Buf x, int xRow, int n, Buf bias, Buf y, int yRow) {
        multiply(Parallel.shared(), x, xRow, n, bias, y, yRow);
    }

    /**
     * Rows {@code [yRow, yRow + n)} of {@code y [., out]} = rows {@code [xRow, xRow + n)} of {@code x [., in]} times
     * W^T, plus {@code bias [out]} (or null). x, y and bias are float32; y must not overlap x. Up to
     * {@link #PRODUCT_ROWS} rows (a decoding step): W's output rows split over {@code parallel}'s threads, each
     * weight read once for all n rows. More rows (a prompt): tiles of W widened to float32 and multiplied by
     * OpenBLAS's GEMM, the tiles split over the threads.
     */
    public void multiply(Parallel parallel, Buf x, int xRow, int n, Buf bias, Buf y, int yRow) {
        checkRows(x, xRow, n, in, y, yRow, out, bias);
        if (n > PRODUCT_ROWS) {
            tiles(parallel, x, xRow, n, bias, y, yRow);
            return;
        }
        boolean lanes = RowMath.vector(x) && CompactLanes.FITS;
        float[] xs = ROWS.get().fit(n * in);
        for (int r = 0; r < n; r++) {
            layout(lanes, x.bytes(), (xRow + r) * in, xs, r * in);
        }
        ProductRows rows = new ProductRows(xs, n, in, out, bias == null ? null : bias.bytes(), y.bytes(), yRow * out);
        parallel.forRange(out, GRAIN, (o0, o1) -> rows(lanes, rows, o0, o1));
    }

    /**
     * The product of many rows: per tile of {@link #TILE} output rows, W's rows widened to float32 and
     * y[:, tile] = x W[tile]^T + b[tile] by GEMM (beta 1 over the bias, as {@link Blas#linear}).
     */
    private void tiles(Parallel parallel, Buf x, int xRow, int n, Buf bias, Buf y, int yRow) {
        parallel.forRange(out, TILE, (o0, o1) -> {
            for (int t0 = o0; t0 < o1; t0 += TILE) {
                int t1 = Math.min(o1, t0 + TILE);
                Buf tile = widenTile(t0, t1);
                for (int r = 0; bias != null && r < n; r++) {
                    RowMath.copy(bias, t0, y, (yRow + r) * out + t0, t1 - t0);
                }
                // y[:, t0:t1] = x W[t0:t1]^T (+ b[t0:t1], already there)
                Blas.gemm(false, true, n, t1 - t0, in, 1, new Strided(x, (long) xRow * in, in),
                        new Strided(tile, 0, in), bias == null ? 0 : 1, new Strided(y, (long) yRow * out + t0, out));
            }
        });
    }

    /**
     * Rows {@code [dxRow, dxRow + n)} of {@code dx [., in]} = (or {@code +=}, when {@code accumulate}) rows
     * {@code [dyRow, dyRow + n)} of {@code dy [., out]} times W: a linear layer's input gradient {@code dx = dy W} on
     * a frozen compact weight (a LoRA adapter's base in training), on the calling thread: a tile of W's rows at a time
     * widened to float32 (no float32 copy of the whole matrix) and multiplied by GEMM, each tile adding its rows'
     * share {@code dy[:, o0:o1] W[o0:o1]}. Float32; dx must not overlap dy.
     */
    public void multiplyTransposed(Buf dy, int dyRow, int n, Buf dx, int dxRow, boolean accumulate) {
        checkRows(dy, dyRow, n, out, dx, dxRow, in, null);
        int step = trainingTileRows();
        for (int o0 = 0; o0 < out; o0 += step) {
            int o1 = Math.min(out, o0 + step);
            Buf tile = widenTile(o0, o1);
            Blas.gemm(false, false, n, in, o1 - o0, 1, new Strided(dy, (long) dyRow * out + o0, out),
                    new Strided(tile, 0, in), accumulate || o0 > 0 ? 1 : 0, new Strided(dx, (long) dxRow * in, in));
        }
    }

    /** Weights the transposed product widens at a time (1 MiB of float32): dx is passed over once a tile. */
    private static final int TRAINING_TILE = 1 << 18;

    private int trainingTileRows() {
        return Math.max(1, Math.min(out, TRAINING_TILE / in));
    }

    /** W's rows [o0, o1) widened into this thread's tile, row-major {@code [o1 - o0, in]} from element 0. */
    private Buf widenTile(int o0, int o1) {
        Scratch heap = TILE_ROWS.get();
        Buf tile = heap.tile(Math.max(trainingTileRows(), TILE) * in);
        float[] widened = heap.fit((o1 - o0) * in);
        widen(o0, o1, widened);
        tile.bytes().asFloatBuffer().put(widened, 0, (o1 - o0) * in);
        return tile;
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
     * x's row at float {@code xAt} into {@code xs} from {@code xsAt}: laid out for this format's vector lanes
     * ({@link CompactLanes}), or in order for the scalar loops.
     */
    final void layout(boolean lanes, ByteBuffer x, int xAt, float[] xs, int xsAt) {
        if (lanes) {
            laneLayout(x, xAt, xs, xsAt);
            return;
        }
        for (int j = 0; j < in; j++) {
            xs[xsAt + j] = x.getFloat((xAt + j) * 4);
        }
    }

    /** x's row at float {@code xAt} into {@code xs} from {@code xsAt}, laid out for this format's vector lanes. */
    abstract void laneLayout(ByteBuffer x, int xAt, float[] xs, int xsAt);

    /** Output rows {@code [o0, o1)} of the product of {@code x}'s rows on this thread, in vector lanes or scalar. */
    abstract void rows(boolean lanes, ProductRows x, int o0, int o1);

    /** W's rows [o0, o1) as float32, {@code [o1 - o0, in]} in {@code to}. */
    abstract void widen(int o0, int o1, float[] to);

    /** A thread's scratch: floats on the heap, and a tile on ND4J's (for GEMM), grown as needed and kept. */
    private static final class Scratch {
        private float[] floats = new float[0];
        private Buf tile;

        float[] fit(int n) {
            if (floats.length < n) {
                floats = new float[n];
            }
            return floats;
        }

        Buf tile(int n) {
            if (tile == null || tile.length < n) {
                if (tile != null) {
                    tile.close();
                }
                tile = Buf.of(Nd4j.create(DataType.FLOAT, n));
            }
            return tile;
        }
    }
}
