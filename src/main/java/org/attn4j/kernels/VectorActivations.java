package org.attn4j.kernels;

import static jdk.incubator.vector.FloatVector.fromByteBuffer;
import static org.attn4j.kernels.VectorMath.L;
import static org.attn4j.kernels.VectorMath.NATIVE;
import static org.attn4j.kernels.VectorMath.CHUNK;
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
 * Each activation has a loop of its own. Those through exp, erfc, tanh or sigmoid run a chunk of the range at a
 * time: its argument into a scratch chunk, the function on it in place, then the outputs (no vector is handed
 * to a method: {@link VectorMath}'s class comment says why).
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

    /** x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 (kept in aux). */
    private static void gelu(ByteBuffer h, ByteBuffer g, ByteBuffer aux, int from, int to) {
        VectorMath.Scratch w = VectorMath.scratch();
        for (int c = from; c < to; c += CHUNK) {
            int n = Math.min(CHUNK, to - c);
            for (int i = 0; i < n; i += L) {
                fromByteBuffer(S, h, (c + i) * 4, NATIVE).mul(-INV_SQRT2).intoArray(w.a, i);
            }
            erfc(w.a, w.b, w.c, n);
            for (int i = 0; i < n; i += L) {
                FloatVector phi = FloatVector.fromArray(S, w.b, i).mul(0.5f);
                phi.intoByteBuffer(aux, (c + i) * 4, NATIVE);
                fromByteBuffer(S, h, (c + i) * 4, NATIVE).mul(phi).intoByteBuffer(g, (c + i) * 4, NATIVE);
            }
        }
    }

    /** x (1 + t) / 2, t = tanh(sqrt(2/pi) x (1 + c x^2)) (kept in aux). */
    private static void geluTanh(ByteBuffer h, ByteBuffer g, ByteBuffer aux, int from, int to) {
        float[] t = VectorMath.scratch().a;
        for (int c = from; c < to; c += CHUNK) {
            int n = Math.min(CHUNK, to - c);
            for (int i = 0; i < n; i += L) {
                FloatVector x = fromByteBuffer(S, h, (c + i) * 4, NATIVE);
                x.mul(x).mul(GELU_CUBIC).add(1f).mul(x).mul(SQRT_2_OVER_PI).intoArray(t, i);
            }
            tanh(t, 0, n);
            for (int i = 0; i < n; i += L) {
                FloatVector x = fromByteBuffer(S, h, (c + i) * 4, NATIVE), ti = FloatVector.fromArray(S, t, i);
                ti.intoByteBuffer(aux, (c + i) * 4, NATIVE);
                x.mul(0.5f).mul(ti.add(1f)).intoByteBuffer(g, (c + i) * 4, NATIVE);
            }
        }
    }

    /** x sigmoid(x) (the sigmoid kept in aux). */
    private static void silu(ByteBuffer h, ByteBuffer g, ByteBuffer aux, int from, int to) {
        float[] sig = VectorMath.scratch().a;
        for (int c = from; c < to; c += CHUNK) {
            int n = Math.min(CHUNK, to - c);
            for (int i = 0; i < n; i += L) {
                fromByteBuffer(S, h, (c + i) * 4, NATIVE).intoArray(sig, i);
            }
            sigmoid(sig, 0, n);
            for (int i = 0; i < n; i += L) {
                FloatVector s = FloatVector.fromArray(S, sig, i);
                s.intoByteBuffer(aux, (c + i) * 4, NATIVE);
                fromByteBuffer(S, h, (c + i) * 4, NATIVE).mul(s).intoByteBuffer(g, (c + i) * 4, NATIVE);
            }
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

    /** Phi(x) + x phi(x), phi(x) = e^(-x^2 / 2) / sqrt(2 pi) (Phi kept in aux by the forward). */
    private static void geluBack(ByteBuffer h, ByteBuffer aux, ByteBuffer dg, ByteBuffer dh, int from, int to) {
        float[] e = VectorMath.scratch().a;
        for (int c = from; c < to; c += CHUNK) {
            int n = Math.min(CHUNK, to - c);
            for (int i = 0; i < n; i += L) {
                FloatVector x = fromByteBuffer(S, h, (c + i) * 4, NATIVE);
                x.mul(x).mul(-0.5f).intoArray(e, i);
            }
            exp(e, 0, n);
            for (int i = 0; i < n; i += L) {
                int at = (c + i) * 4;
                FloatVector x = fromByteBuffer(S, h, at, NATIVE);
                FloatVector d = x.fma(FloatVector.fromArray(S, e, i).mul(INV_SQRT_2PI), fromByteBuffer(S, aux, at, NATIVE));
                fromByteBuffer(S, dg, at, NATIVE).mul(d).intoByteBuffer(dh, at, NATIVE);
            }
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
        int vEnd = from + bound(to - from);
        float[] s = VectorMath.scratch().a;
        for (int c = from; c < vEnd; c += CHUNK) {
            int n = Math.min(CHUNK, vEnd - c);
            for (int i = 0; i < n; i += L) {
                fromByteBuffer(S, h, (c + i) * 4, NATIVE).intoArray(s, i);
            }
            sigmoid(s, 0, n);
            for (int i = 0; i < n; i += L) {
                int at = (c + i) * 4;
                FloatVector si = FloatVector.fromArray(S, s, i);
                si.intoByteBuffer(sig, at, NATIVE);
                fromByteBuffer(S, h, at, NATIVE).mul(si).mul(fromByteBuffer(S, u, at, NATIVE)).intoByteBuffer(g, at, NATIVE);
            }
        }
        if (vEnd < to) {
            ScalarMath.swiglu(hB, uB, gB, sigB, vEnd, to);
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
