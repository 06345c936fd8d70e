package org.attn4j.kernels;

import static jdk.incubator.vector.FloatVector.fromByteBuffer;
import static org.attn4j.kernels.VectorMath.L;
import static org.attn4j.kernels.VectorMath.NATIVE;
import static org.attn4j.kernels.VectorMath.S;
import static org.attn4j.kernels.VectorMath.bound;
import static org.attn4j.kernels.VectorMath.erfc;
import static org.attn4j.kernels.VectorMath.exp;
import static org.attn4j.kernels.VectorMath.sigmoid;
import static org.attn4j.kernels.VectorMath.tanh;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import org.attn4j.config.Activation;

/**
 * {@link RowMath}'s activations (ReLU, GELU, GELU_TANH, SiLU, SwiGLU) and their backwards for float32 in
 * {@link VectorMath}'s lanes; the tail of a range shorter than a vector runs {@link ScalarMath}'s loops.
 * Each activation has a loop of its own, so that each compiles on its own: the JIT stops inlining ordinary
 * methods once a method has grown past its node-count cutoff, which a loop with {@link VectorMath#exp} in it
 * reaches, and a helper left out there boxes every vector it is handed.
 */
final class VectorActivations {
    private static final float INV_SQRT2 = 0.70710678f, INV_SQRT_2PI = 0.39894228f;
    private static final float SQRT_2_OVER_PI = (float) ScalarMath.SQRT_2_OVER_PI;
    private static final float GELU_CUBIC = (float) ScalarMath.GELU_CUBIC;

    private VectorActivations() {
    }

    /**
     * {@link RowMath#activation} in float lanes: GELU through {@link VectorMath#erfc}, tanh and sigmoid through
     * {@link VectorMath#exp}.
     * One loop per activation, so that each compiles on its own (see the class comment).
     */
    public static void activation(Activation act, Buf hB, Buf gB, Buf auxB, int from, int to) {
        int vEnd = from + bound(to - from);
        switch (act) {
            case RELU -> relu(hB.bytes(), gB.bytes(), from, vEnd);
            case GELU -> gelu(hB.bytes(), gB.bytes(), auxB.bytes(), from, vEnd);
            case GELU_TANH -> geluTanh(hB.bytes(), gB.bytes(), auxB.bytes(), from, vEnd);
            case SILU -> silu(hB.bytes(), gB.bytes(), auxB.bytes(), from, vEnd);
            case SWIGLU -> throw new IllegalArgumentException("SWIGLU has two inputs: use swiglu");
        }
        if (vEnd < to) {
            ScalarMath.activation(act, hB, gB, auxB, vEnd, to);
        }
    }

    private static void relu(ByteBuffer h, ByteBuffer g, int from, int to) {
        for (int i = from; i < to; i += L) {
            fromByteBuffer(S, h, i * 4, NATIVE).max(0f).intoByteBuffer(g, i * 4, NATIVE);
        }
    }

    private static void gelu(ByteBuffer h, ByteBuffer g, ByteBuffer aux, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE);
            FloatVector phi = erfc(x.mul(-INV_SQRT2)).mul(0.5f);
            phi.intoByteBuffer(aux, i * 4, NATIVE);
            x.mul(phi).intoByteBuffer(g, i * 4, NATIVE);
        }
    }

    private static void geluTanh(ByteBuffer h, ByteBuffer g, ByteBuffer aux, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE);
            FloatVector t = tanh(x.mul(x).mul(GELU_CUBIC).add(1f).mul(x).mul(SQRT_2_OVER_PI));
            t.intoByteBuffer(aux, i * 4, NATIVE);
            x.mul(0.5f).mul(t.add(1f)).intoByteBuffer(g, i * 4, NATIVE);
        }
    }

    private static void silu(ByteBuffer h, ByteBuffer g, ByteBuffer aux, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE);
            FloatVector sig = sigmoid(x);
            sig.intoByteBuffer(aux, i * 4, NATIVE);
            x.mul(sig).intoByteBuffer(g, i * 4, NATIVE);
        }
    }

    /** {@link RowMath#activationBack} in float lanes, one loop per activation as in {@link #activation}. */
    public static void activationBack(Activation act, Buf hB, Buf auxB, Buf dgB, Buf dhB, int from, int to) {
        ByteBuffer h = hB.bytes(), aux = auxB == null ? null : auxB.bytes(), dg = dgB.bytes(), dh = dhB.bytes();
        int vEnd = from + bound(to - from);
        switch (act) {
            case RELU -> reluBack(h, dg, dh, from, vEnd);
            case GELU -> geluBack(h, aux, dg, dh, from, vEnd);
            case GELU_TANH -> geluTanhBack(h, aux, dg, dh, from, vEnd);
            case SILU -> siluBack(h, aux, dg, dh, from, vEnd);
            case SWIGLU -> throw new IllegalArgumentException("SWIGLU has two inputs: use swigluBack");
        }
        if (vEnd < to) {
            ScalarMath.activationBack(act, hB, auxB, dgB, dhB, vEnd, to);
        }
    }

    private static void reluBack(ByteBuffer h, ByteBuffer dg, ByteBuffer dh, int from, int to) {
        for (int i = from; i < to; i += L) {
            VectorMask<Float> positive = fromByteBuffer(S, h, i * 4, NATIVE).compare(VectorOperators.GT, 0f);
            FloatVector d = FloatVector.zero(S).blend(1f, positive);
            fromByteBuffer(S, dg, i * 4, NATIVE).mul(d).intoByteBuffer(dh, i * 4, NATIVE);
        }
    }

    private static void geluBack(ByteBuffer h, ByteBuffer aux, ByteBuffer dg, ByteBuffer dh, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE);
            FloatVector d = x.fma(exp(x.mul(x).mul(-0.5f)).mul(INV_SQRT_2PI), fromByteBuffer(S, aux, i * 4, NATIVE));
            fromByteBuffer(S, dg, i * 4, NATIVE).mul(d).intoByteBuffer(dh, i * 4, NATIVE);
        }
    }

    /** (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 c x^2) / 2 */
    private static void geluTanhBack(ByteBuffer h, ByteBuffer aux, ByteBuffer dg, ByteBuffer dh, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE), t = fromByteBuffer(S, aux, i * 4, NATIVE);
            FloatVector du = x.mul(x).mul(3 * GELU_CUBIC).add(1f).mul(SQRT_2_OVER_PI);
            FloatVector sech2 = t.mul(t).neg().add(1f);
            FloatVector d = t.add(1f).add(x.mul(sech2).mul(du)).mul(0.5f);
            fromByteBuffer(S, dg, i * 4, NATIVE).mul(d).intoByteBuffer(dh, i * 4, NATIVE);
        }
    }

    /** s (1 + x (1 - s)) */
    private static void siluBack(ByteBuffer h, ByteBuffer aux, ByteBuffer dg, ByteBuffer dh, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE), s = fromByteBuffer(S, aux, i * 4, NATIVE);
            FloatVector d = s.mul(x.mul(s.neg().add(1f)).add(1f));
            fromByteBuffer(S, dg, i * 4, NATIVE).mul(d).intoByteBuffer(dh, i * 4, NATIVE);
        }
    }

    /** {@link RowMath#swiglu} in float lanes. */
    public static void swiglu(Buf hB, Buf uB, Buf gB, Buf sigB, int from, int to) {
        ByteBuffer h = hB.bytes(), u = uB.bytes(), g = gB.bytes(), sig = sigB.bytes();
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE), s = sigmoid(x);
            s.intoByteBuffer(sig, i * 4, NATIVE);
            x.mul(s).mul(fromByteBuffer(S, u, i * 4, NATIVE)).intoByteBuffer(g, i * 4, NATIVE);
        }
        if (i < to) {
            ScalarMath.swiglu(hB, uB, gB, sigB, i, to);
        }
    }

    /** {@link RowMath#swigluBack} in float lanes. */
    public static void swigluBack(Buf hB, Buf uB, Buf sigB, Buf dgB, Buf dhB, Buf duB, int from, int to) {
        ByteBuffer h = hB.bytes(), u = uB.bytes(), sig = sigB.bytes(), dg = dgB.bytes(), dh = dhB.bytes(),
                du = duB.bytes();
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            FloatVector x = fromByteBuffer(S, h, i * 4, NATIVE), s = fromByteBuffer(S, sig, i * 4, NATIVE);
            FloatVector d = fromByteBuffer(S, dg, i * 4, NATIVE), ui = fromByteBuffer(S, u, i * 4, NATIVE);
            d.mul(x).mul(s).intoByteBuffer(du, i * 4, NATIVE);
            d.mul(ui).mul(s).mul(x.mul(s.neg().add(1f)).add(1f)).intoByteBuffer(dh, i * 4, NATIVE);
        }
        if (i < to) {
            ScalarMath.swigluBack(hB, uB, sigB, dgB, dhB, duB, i, to);
        }
    }
}
