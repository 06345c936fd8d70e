package org.attn4j.kernels;

import static jdk.incubator.vector.FloatVector.fromByteBuffer;
import static org.attn4j.kernels.VectorMath.L;
import static org.attn4j.kernels.VectorMath.NATIVE;
import static org.attn4j.kernels.VectorMath.S;
import static org.attn4j.kernels.VectorMath.bound;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;

/** {@link AdamKernel#update} for float32 in {@link VectorMath}'s lanes: the same operations, lane by lane. */
final class AdamLanes {
    private AdamLanes() {
    }

    /**
     * The whole vectors of elements {@code [from, from + n)}; returns how many elements that was (the rest, fewer
     * than a vector, is {@link AdamKernel#update}'s scalar loop's).
     */
    static int update(Buf pB, Buf gB, Buf mB, int mAt, Buf vB, int vAt, int from, int n, AdamStep s) {
        ByteBuffer p = pB.bytes(), g = gB.bytes(), m = mB.bytes(), v = vB.bytes();
        float scale = (float) s.scale(), b1 = (float) s.beta1(), b2 = (float) s.beta2(), c1 = 1 - b1, c2 = 1 - b2;
        float alpha = (float) s.alpha(), eps = (float) s.eps(), decay = (float) s.decay();
        int vEnd = bound(n);
        for (int i = 0; i < vEnd; i += L) {
            FloatVector gi = fromByteBuffer(S, g, (from + i) * 4, NATIVE).mul(scale);
            FloatVector mi = fromByteBuffer(S, m, (mAt + i) * 4, NATIVE).mul(b1).add(gi.mul(c1));
            FloatVector vi = fromByteBuffer(S, v, (vAt + i) * 4, NATIVE).mul(b2).add(gi.mul(gi).mul(c2));
            FloatVector pi = fromByteBuffer(S, p, (from + i) * 4, NATIVE);
            FloatVector u = mi.mul(alpha).div(vi.sqrt().add(eps));
            if (decay != 0) {
                u = u.add(pi.mul(decay));
            }
            mi.intoByteBuffer(m, (mAt + i) * 4, NATIVE);
            vi.intoByteBuffer(v, (vAt + i) * 4, NATIVE);
            pi.sub(u).intoByteBuffer(p, (from + i) * 4, NATIVE);
        }
        return vEnd;
    }
}
