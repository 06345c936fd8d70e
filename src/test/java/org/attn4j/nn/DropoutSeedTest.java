package org.attn4j.nn;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.engine.BlockEngine;
import org.attn4j.engine.BlockState;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.Parallel;
import org.attn4j.nn.TransformerBlock;
import org.attn4j.testing.FiniteDifferences;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The engine's dropout ({@link DropoutSeed}): SameDiff draws other masks, so it is tested on its own terms:
 * the masks' statistics, p = 0 being no dropout, and a block's gradients with the masks held fixed against
 * central differences in float64.
 */
class DropoutSeedTest {
    @Test
    void aboutPOfTheElementsDropAndTheRestAreScaledByOneOverOneMinusP() {
        int n = 1_000_000;
        double p = 0.3;
        DropoutSeed seed = new DropoutSeed(42, 7);
        INDArray a = dropped(seed.base(DropoutSeed.stream(2, DropoutSeed.FF_HIDDEN)), p, n);
        INDArray b = dropped(new DropoutSeed(42, 8).base(DropoutSeed.stream(2, DropoutSeed.FF_HIDDEN)), p, n);
        INDArray c = dropped(seed.base(DropoutSeed.stream(3, DropoutSeed.FF_HIDDEN)), p, n);
        double keptValue = (float) (1 / (1 - p)), sigma = Math.sqrt(p * (1 - p) / n);
        long zeros = 0, kept = 0;
        for (int i = 0; i < n; i++) {
            double v = a.getDouble(i);
            zeros += v == 0 ? 1 : 0;
            kept += v == keptValue ? 1 : 0;
        }
        assertEquals(n, zeros + kept, "every element is dropped or scaled by 1/(1-p)");
        assertEquals(p, (double) zeros / n, 6 * sigma, "fraction dropped");
        // another step, another layer: independent masks, which agree on about p^2 + (1-p)^2 of the elements
        for (INDArray other : new INDArray[] {b, c}) {
            double agree = a.eq(other).castTo(DataType.DOUBLE).meanNumber().doubleValue();
            assertEquals(p * p + (1 - p) * (1 - p), agree, 6 * sigma, "agreement with an independent mask");
        }
        assertTrue(a.equals(dropped(seed.base(DropoutSeed.stream(2, DropoutSeed.FF_HIDDEN)), p, n)), "repeatable");
    }

    @Test
    void probabilityZeroIsTheIdentity() {
        INDArray x = Nd4j.randn(DataType.FLOAT, 1000);
        INDArray y = x.dup();
        DropoutSeed.apply(new DropoutSeed(1, 2).base(5), 0, Buf.of(y), 0, 1000);
        assertSameBits("rate 0 leaves the buffer", x, y);
    }

    /** n float32 ones through the mask of stream base {@code base}. */
    private static INDArray dropped(long base, double p, int n) {
        INDArray x = Nd4j.ones(DataType.FLOAT, n);
        DropoutSeed.apply(base, p, Buf.of(x), 0, n);
        return x;
    }

    /** A block whose dropout probabilities are 0 gives exactly what it gives without a seed. */
    @Test
    void aSeedWithoutProbabilitiesChangesNothing() {
        Nd4j.getRandom().setSeed(3);
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(16, 2, 24), DataType.FLOAT);
        BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(2));
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 5, 16), g = Nd4j.randn(DataType.FLOAT, 2, 5, 16);
        BlockState plain = fast.newState(), seeded = fast.newState();
        INDArray y0 = fast.forward(plain, x, AttentionMask.causalOnly(), null, null).output();
        INDArray y1 = fast.forward(seeded, x, AttentionMask.causalOnly(), null, null, new DropoutSeed(9, 1), 0).output();
        assertSameBits("output with a seed but rate 0", y0, y1);
        assertSameBits("input gradient with a seed but rate 0", fast.backward(plain, g), fast.backward(seeded, g));
        plain.gradients().forEach((k, v) -> assertSameBits(k, v, seeded.gradients().get(k)));
    }

    static Stream<Arguments> blocks() {
        return Stream.of(Arguments.of(true, Activation.GELU, false), Arguments.of(false, Activation.SWIGLU, true));
    }

    /**
     * A decoder block (self-attention, cross-attention, feed-forward: every place that drops) with residual
     * dropout 0.3 and attention dropout 0.25: with one seed the masks are fixed, so the loss is a smooth
     * function whose gradients central differences check, of every parameter, the input and the memory.
     */
    @ParameterizedTest(name = "pre={0} {1} rotary={2}")
    @MethodSource("blocks")
    void gradientsWithFixedMasksMatchCentralDifferences(boolean pre, Activation act, boolean rotary) {
        Nd4j.getRandom().setSeed(17);
        int b = 2, t = 4, s = 3, c = 8, h = 2, f = 12;
        TransformerBlock block = TransformerBlock.create(BlockConfig.decoder(c, h, f).withNormFirst(pre)
                .withActivation(act).withRotary(rotary).withDropout(0.3).withAttnDropout(0.25), DataType.DOUBLE);
        BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(2));
        INDArray x = Nd4j.randn(DataType.DOUBLE, b, t, c), memory = Nd4j.randn(DataType.DOUBLE, b, s, c);
        INDArray g = Nd4j.randn(DataType.DOUBLE, b, t, c);
        INDArray keep = Nd4j.ones(DataType.DOUBLE, b, s);
        keep.putScalar(new long[] {1, s - 1}, 0);
        DropoutSeed seed = new DropoutSeed(5, 3);
        BlockState state = fast.newState();
        java.util.function.DoubleSupplier loss = () -> fast.forward(state, x, AttentionMask.causalOnly(), memory, keep,
                seed, 1).output().mul(g).sumNumber().doubleValue();
        INDArray inference = fast.forward(state, x, AttentionMask.causalOnly(), memory, keep).output().dup();
        INDArray training = fast.forward(state, x, AttentionMask.causalOnly(), memory, keep, seed, 1).output();
        assertTrue(inference.neq(training).any(), "the seeded forward drops");
        INDArray dx = fast.backward(state, g).dup(), dMemory = state.memoryGradient().dup();
        Map<String, INDArray> analytic = new HashMap<>();
        state.gradients().forEach((k, v) -> analytic.put(k, v.dup()));
        Map<String, INDArray> targets = new HashMap<>(fast.parameters());
        targets.put("x", x);
        targets.put("memory", memory);
        analytic.put("x", dx);
        analytic.put("memory", dMemory);

        int checked = FiniteDifferences.check(targets, analytic, loss, 1e-6);
        assertEquals(block.parameterCount() + b * t * c + b * s * c, checked);
    }
}
