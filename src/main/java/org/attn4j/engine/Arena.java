package org.attn4j.engine;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.kernels.Buf;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The flat arrays of one block call's activations, with room for {@code rowCap} query rows, {@code pairCap} self
 * scores ([B, H, T, T]), {@code memCap} memory rows and {@code crossCap} cross scores ([B, H, T, S]); it frees
 * them all at once.
 */
final class Arena {
    private final List<Buf> owned = new ArrayList<>();
    private final DataType type;
    final int rowCap, memCap;
    final long pairCap, crossCap;

    Arena(DataType type, int rowCap, long pairCap, int memCap, long crossCap) {
        this.type = type;
        this.rowCap = rowCap;
        this.pairCap = pairCap;
        this.memCap = memCap;
        this.crossCap = crossCap;
    }

    /** Query rows [N, width]. */
    Buf rows(int width) {
        return flat((long) rowCap * width);
    }

    /** Memory rows [M, width]. */
    Buf memoryRows(int width) {
        return flat((long) memCap * width);
    }

    Buf flat(long length) {
        Buf b = Buf.of(Nd4j.create(type, Math.max(1, length)));
        owned.add(b);
        return b;
    }

    /** Frees every array made here. */
    void close() {
        owned.forEach(Buf::close);
        owned.clear();
    }

    /** Room for {@code need}: {@code have} if it is enough, else twice {@code have} but at least need, at most 2 need. */
    static long grow(long need, long have) {
        return need <= have ? have : Math.min(2 * need, Math.max(need, 2 * have));
    }
}
