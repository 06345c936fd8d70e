package org.attn4j.kernels;

/**
 * One attention's rows for {@link AttentionKernel}: queries {@code q}, keys {@code k} and values {@code v}, weights {@code p} and, where
 * they drop, their dropped copy {@code pd} (else null), output rows {@code o}; {@code tq} and {@code tk} the
 * padded lengths. Packed rows (null: rows {@code [B, tq]} and {@code [B, tk]}): sequence bi's queries are rows
 * [qStart[bi], qStart[bi + 1]) and its keys and values rows [kStart[bi], kStart[bi + 1]), its first positions;
 * the rest of its positions are trailing padding, which the mask must exclude as keys.
 */
public record AttentionOperands(Buf q, Buf k, Buf v, Buf p, Buf pd, Buf o, int tq, int tk, int[] qStart, int[] kStart) {
    /** Unpacked rows {@code [B, tq]} and {@code [B, tk]}. */
    public AttentionOperands(Buf q, Buf k, Buf v, Buf p, Buf pd, Buf o, int tq, int tk) {
        this(q, k, v, p, pd, o, tq, tk, null, null);
    }

    /** Rows of sequence bi's first query: bi tq unpacked, else qStart[bi]. */
    int queryRow(int bi) {
        return qStart == null ? bi * tq : qStart[bi];
    }

    /** Rows of sequence bi's first key and value. */
    int keyRow(int bi) {
        return kStart == null ? bi * tk : kStart[bi];
    }

    /** Sequence bi's queries (tq unpacked). */
    int queries(int bi) {
        return qStart == null ? tq : qStart[bi + 1] - qStart[bi];
    }

    /** Sequence bi's keys (tk unpacked). */
    int keys(int bi) {
        return kStart == null ? tk : kStart[bi + 1] - kStart[bi];
    }
}
