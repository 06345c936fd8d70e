package org.attn4j.nn;

import java.util.Arrays;
import org.attn4j.config.AttentionMask;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Argument checks for eager calls, with messages that name the tensor, the expected and the given. */
final class Checks {
    private Checks() {
    }

    static void notNull(String what, Object x) {
        if (x == null) {
            throw new IllegalArgumentException(what + " is required but was null");
        }
    }

    static void rank(String what, INDArray x, int rank, String layout) {
        notNull(what, x);
        if (x.rank() != rank) {
            throw new IllegalArgumentException(what + " must be rank " + rank + " " + layout + ", got shape "
                    + Arrays.toString(x.shape()));
        }
        if (x.length() == 0) {
            throw new IllegalArgumentException(what + " is empty (shape " + Arrays.toString(x.shape())
                    + "); expected " + layout + " with every size at least 1");
        }
    }

    /** A backward's {@code gradOutput} must be of the layer's parameters' {@code type}. */
    static void gradientType(INDArray gradOutput, org.nd4j.linalg.api.buffer.DataType type) {
        if (gradOutput.dataType() != type) {
            throw new IllegalArgumentException("gradOutput is " + gradOutput.dataType()
                    + " but the layer's parameters are " + type + "; cast it with castTo(" + type + ")");
        }
    }

    /** Checks every dimension of x; a negative expected size is not checked. */
    static void shape(String what, INDArray x, long... expected) {
        long[] s = x.shape();
        boolean ok = s.length == expected.length;
        for (int i = 0; ok && i < s.length; i++) {
            ok = expected[i] < 0 || s[i] == expected[i];
        }
        if (!ok) {
            throw new IllegalArgumentException(what + " has shape " + Arrays.toString(s) + ", expected "
                    + Arrays.toString(expected).replace("-1", "any"));
        }
    }

    /** Rejects NaN and infinite values, saying how many and where the first one is. */
    static void finite(String what, INDArray x) {
        if (x == null || !x.dataType().isFPType()) {
            return;
        }
        INDArray bad = x.isNaN().castTo(org.nd4j.linalg.api.buffer.DataType.INT)
                .addi(x.isInfinite().castTo(org.nd4j.linalg.api.buffer.DataType.INT));
        long count = bad.sumNumber().longValue();
        if (count > 0) {
            long first = bad.reshape(bad.length()).argMax().getLong(0);
            long[] at = org.nd4j.linalg.api.shape.Shape.ind2subC(x.shape(), first);
            throw new IllegalArgumentException(what + " contains " + count + " NaN or infinite value"
                    + (count > 1 ? "s" : "") + ", the first at " + Arrays.toString(at) + " (" + x.getDouble(at) + ")");
        }
    }

    static void sameType(INDArray reference, String what, INDArray x) {
        if (x != null && x.dataType() != reference.dataType()) {
            throw new IllegalArgumentException(what + " is " + x.dataType() + " but the query is "
                    + reference.dataType() + "; use one floating-point type for all inputs");
        }
    }

    /** Checks the parts of an eager mask against batch b, heads h, queries tq and keys tk. */
    static void mask(AttentionMask<INDArray> mask, long b, long h, long tq, long tk) {
        notNull("mask (use AttentionMask.none())", mask);
        if (mask.padding() != null) {
            shape("padding mask [B, Tk]", mask.padding(), b, tk);
        }
        if (mask.attention() != null) {
            INDArray m = mask.attention();
            if (m.rank() == 2) {
                shape("attention mask [Tq, Tk]", m, tq, tk);
            } else {
                shape("attention mask [B, Tq, Tk]", m, b, tq, tk);
            }
        }
        if (mask.additive() != null) {
            INDArray m = mask.additive();
            switch (m.rank()) {
                case 2 -> shape("additive mask [Tq, Tk]", m, tq, tk);
                case 3 -> shape("additive mask [B, Tq, Tk]", m, b, tq, tk);
                default -> shape("additive mask [B, H, Tq, Tk]", m, b, h, tq, tk);
            }
            if (!m.dataType().isFPType()) {
                throw new IllegalArgumentException("additive mask must be floating point, got " + m.dataType());
            }
        }
    }

    static void lesson(double[] query, double[][] keys, String what) {
        notNull("query", query);
        notNull(what, keys);
        if (keys.length == 0) {
            throw new IllegalArgumentException("Expected at least one key, got none");
        }
        for (int j = 0; j < keys.length; j++) {
            if (keys[j] == null || keys[j].length != query.length) {
                throw new IllegalArgumentException("Key " + j + " has " + (keys[j] == null ? "no" : keys[j].length)
                        + " entries; expected " + query.length + " like the query");
            }
        }
    }
}
