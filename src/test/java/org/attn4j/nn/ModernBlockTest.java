package org.attn4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.attn4j.engine.BlockCache;
import org.attn4j.engine.BlockEngine;
import org.attn4j.engine.BlockState;
import org.attn4j.kernels.Parallel;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.Normalization;
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
 * The engine's new block options on their own: central differences in float64 against its backward (RMSNorm pre
 * and post, grouped- and multi-query attention, ALiBi, windows), cached decoding against recomputation for each,
 * the grouped-query cache's size and the window's eviction, and the errors of bad configurations.
 */
class ModernBlockTest {
    private static final BlockConfig BASE = BlockConfig.encoder(8, 4, 12).withCausal(true);

    static Stream<Arguments> options() {
        return Stream.of(
                Arguments.of("RMSNorm pre", BASE.withNorm(Normalization.RMS)),
                Arguments.of("RMSNorm post, not causal", BASE.withNorm(Normalization.RMS).withNormFirst(false)
                        .withCausal(false)),
                Arguments.of("grouped-query 4/2, rotary", BASE.withKvHeads(2).withRotary(true)),
                Arguments.of("multi-query, not causal", BASE.withKvHeads(1).withCausal(false)),
                Arguments.of("ALiBi", BASE.withAlibi(true)),
                Arguments.of("window 2", BASE.withWindow(2)),
                Arguments.of("window 3 both ways", BASE.withWindow(3).withCausal(false)),
                Arguments.of("current-style + ALiBi + window", BlockConfig.modern(8, 4, 2, 12).withAlibi(true)
                        .withRotary(false).withWindow(3)),
                Arguments.of("current-style", BlockConfig.modern(8, 4, 2, 12)));
    }

    /** The causal ones: decoding is causal (a later token would change an earlier one's output). */
    static Stream<Arguments> causalOptions() {
        return options().filter(a -> ((BlockConfig) a.get()[1]).causal());
    }

    /** d sum(y * g) / d(x, every parameter) by the engine's backward against central differences. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("options")
    void backwardMatchesCentralDifferences(String name, BlockConfig config) {
        Nd4j.getRandom().setSeed(19);
        TransformerBlock block = TransformerBlock.create(config, DataType.DOUBLE);
        block.parameters().values().forEach(p -> p.addi(Nd4j.randn(DataType.DOUBLE, p.shape())
                .muli(0.2)));
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 5, 8), g = Nd4j.randn(DataType.DOUBLE, 2, 5, 8);
        AttentionMask<INDArray> mask = AttentionMask.ofPadding(Nd4j.createFromArray(new double[][] {{1, 1, 1, 1, 1},
                {1, 1, 1, 0, 0}}));
        BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(2));
        BlockState state = fast.newState();
        fast.forward(state, x, mask);
        INDArray dx = fast.backward(state, g).dup();
        Map<String, INDArray> values = new LinkedHashMap<>(), analytic = new LinkedHashMap<>();
        values.put("x", x);
        analytic.put("x", dx);
        state.gradients().forEach((k, v) -> analytic.put(k, v.dup()));
        values.putAll(fast.parameters());
        int checked = FiniteDifferences.check(values, analytic, () -> loss(fast, x, mask, g));
        System.out.println(name + ": " + checked + " entries against central differences");
    }

    private static double loss(BlockEngine fast, INDArray x, AttentionMask<INDArray> mask, INDArray g) {
        return fast.forward(fast.newState(), x, mask).output().mul(g).sumNumber().doubleValue();
    }

    /** A prompt of 3, then one token at a time: each step's output equals the forward of the whole prefix. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("causalOptions")
    void cachedStepsEqualRecomputation(String name, BlockConfig config) {
        for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
            Nd4j.getRandom().setSeed(23);
            TransformerBlock block = TransformerBlock.create(config, type);
            BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(2));
            INDArray x = Nd4j.randn(type, 2, 10, 8);
            BlockCache cache = fast.newCache(2, 16);
            double worst = 0;
            int at = 0;
            for (int t : new int[] {3, 1, 1, 1, 1, 2, 1}) {
                INDArray step = fast.step(x.get(all(), interval(at, at + t), all()).dup(), cache).dup();
                at += t;
                INDArray whole = fast.forward(fast.newState(), x.get(all(), interval(0, at), all()).dup(),
                        AttentionMask.none()).output();
                INDArray last = whole.get(all(), interval(at - t, at), all());
                worst = Math.max(worst, last.castTo(DataType.DOUBLE).sub(step.castTo(DataType.DOUBLE)).amaxNumber()
                        .doubleValue());
            }
            assertEquals(at, cache.length(), name + ": positions decoded");
            System.out.printf("%s, %s: cached steps against recomputation, max difference %.1e%n", name, type, worst);
            double tolerance = type == DataType.DOUBLE ? 1e-12 : 1e-5;
            assertTrue(worst <= tolerance, name + " " + type + ": cached step differs from recomputation by " + worst);
            if (config.window() > 0) {
                assertEquals(config.window() - 1, cache.stored(), name + ": a window keeps window - 1 keys between steps");
            }
            cache.close();
        }
    }

    /** The cache of a grouped-query block holds heads / kvHeads times fewer elements; a window's stays bounded. */
    @Test
    void cacheMemoryShrinks() {
        long[] elements = new long[3];
        int[] kvHeads = {4, 2, 1};
        for (int i = 0; i < 3; i++) {
            TransformerBlock block = TransformerBlock.create(BlockConfig.modern(32, 4, kvHeads[i], 48),
                    DataType.FLOAT);
            BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(1));
            BlockCache cache = fast.newCache(2, 64);
            for (int t = 0; t < 40; t++) {
                fast.step(Nd4j.randn(DataType.FLOAT, 2, 1, 32), cache);
            }
            elements[i] = cache.elements();
            System.out.printf("cache after 40 tokens, heads 4, kvHeads %d: %d elements (%d bytes float32)%n", kvHeads[i],
                    elements[i], 4 * elements[i]);
            cache.close();
        }
        assertEquals(2 * elements[1], elements[0], "kvHeads 2 of 4: half the cache");
        assertEquals(4 * elements[2], elements[0], "kvHeads 1 of 4: a quarter");

        long[] after200 = new long[2];
        long after40 = 0;
        for (int window : new int[] {0, 8}) {
            TransformerBlock block = TransformerBlock.create(BlockConfig.modern(32, 4, 2, 48)
                    .withWindow(window), DataType.FLOAT);
            BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(1));
            BlockCache cache = fast.newCache(2, 1000);
            for (int t = 0; t < 200; t++) {
                fast.step(Nd4j.randn(DataType.FLOAT, 2, 1, 32), cache);
                if (t == 39) {
                    after40 = cache.elements();
                }
            }
            after200[window == 0 ? 0 : 1] = cache.elements();
            System.out.printf("window %d: after 200 tokens %d keys held per row, %d elements (after 40: %d)%n", window,
                    cache.stored(), cache.elements(), after40);
            assertEquals(200, cache.length());
            assertEquals(window == 0 ? 200 : 7, cache.stored());
            cache.close();
        }
        assertEquals(after40, after200[1], "the window's cache does not grow with the sequence");
        assertTrue(after200[0] >= 2L * 2 * 200 * 16, "without a window every key stays: " + after200[0]);
    }

    @Test
    void badConfigurationsSayWhatIsWrong() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BlockConfig.encoder(24, 6, 48).withNorm(Normalization.RMS).withKvHeads(4));
        assertTrue(e.getMessage().startsWith("heads 6 is not a multiple of kvHeads 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AttentionConfig.of(16, 4).withKvHeads(0));
        assertTrue(e.getMessage().contains("kvHeads 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AttentionConfig.of(16, 4).withKvHeads(8));
        assertTrue(e.getMessage().contains("heads 4 is not a multiple of kvHeads 8"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BASE.withWindow(-1));
        assertTrue(e.getMessage().contains("window must be 0 (none) or positive, got -1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Normalization.parse("batch"));
        assertTrue(e.getMessage().contains("'batch'") && e.getMessage().contains("[layer, rms]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new org.attn4j.nn.RMSNorm.Config(8, 0));
        assertTrue(e.getMessage().contains("eps must be a positive finite number, got 0.0"), e.getMessage());
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex all() {
        return org.nd4j.linalg.indexing.NDArrayIndex.all();
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex interval(int from, int to) {
        return org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to);
    }
}
