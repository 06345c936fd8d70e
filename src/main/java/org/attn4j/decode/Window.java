package org.attn4j.decode;

import java.util.Arrays;
import org.attn4j.model.StepDecoder;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The tokens a decoding shows the model, {@code [start, length)} of every row: all of them until the model's
 * positions ({@code maxLen}) are used up, then the window slides. The rule, the same for {@link Greedy},
 * {@link BeamSearch} and {@link Sampler}, cached or recomputed:
 * <ul>
 *   <li>a prefix longer than {@code maxLen} starts with its last {@code maxLen} tokens;</li>
 *   <li>when one more token would not fit, the window starts again over the last {@code max(1, maxLen / 2)}
 *       tokens (a fresh key/value cache over them: nanoGPT's cropped context, recomputed half as often).</li>
 * </ul>
 * A model with learned or sinusoidal positions then sees those tokens at positions 0.. again. All rows of a
 * batch have the same length, so they share {@code start}.
 */
final class Window {
    private final StepDecoder session;
    private final int maxLen, keep;
    private int start;

    /** A window over rows that start with {@code prefixLength} tokens. */
    Window(StepDecoder session, int prefixLength) {
        this.session = session;
        this.maxLen = session.maxLength();
        this.keep = Math.max(1, maxLen / 2);
        this.start = Math.max(0, prefixLength - maxLen);
    }

    /** Log-probabilities {@code [B, V]} after the prefixes {@code rows}: the first step. */
    INDArray first(int[][] rows, boolean useCache) {
        try (INDArray ids = ids(rows)) {
            return useCache ? session.advance(ids) : session.recompute(ids);
        }
    }

    /** Log-probabilities {@code [B, V]} after {@code rows}, whose last tokens {@code next} are new. */
    INDArray next(int[][] rows, int[] next, boolean useCache) {
        int length = rows[0].length;
        if (length - start > maxLen) {
            start = length - keep;
            try (INDArray ids = ids(rows)) {
                return useCache ? session.restart(ids) : session.recompute(ids);
            }
        }
        try (INDArray ids = useCache ? column(next) : ids(rows)) {
            return useCache ? session.advance(ids) : session.recompute(ids);
        }
    }

    /** The new tokens as a column {@code [B, 1]}. */
    private static INDArray column(int[] ids) {
        return Nd4j.createFromArray(ids).castTo(DataType.INT).reshape(ids.length, 1);
    }

    /** The window of every row, {@code [B, length - start]}. */
    private INDArray ids(int[][] rows) {
        int[][] w = Arrays.stream(rows).map(r -> Arrays.copyOfRange(r, start, r.length)).toArray(int[][]::new);
        return Nd4j.createFromArray(w).castTo(DataType.INT);
    }
}
