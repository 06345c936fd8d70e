package org.attn4j.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionConfig;
import org.attn4j.model.ModelConfig;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.FeedForwardConfig;
import org.attn4j.config.Normalization;
import org.attn4j.config.Rope;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.nn.TransformerBlock;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;

/**
 * The configuration records are written at the call site as a preset plus {@code with...} calls, so every
 * component must have its {@code with...} method, and each must change its own component and no other (a
 * component added without one, or a copy that passes a field to the wrong place, fails here). The withers are
 * their record's builder underneath: each builder gives back what it was made from, and each of its setters
 * changes its own component and no other.
 */
class ConfigWithersTest {
    private static final Rope THETA = Rope.theta(500_000);

    @Test
    void everyModelConfigComponentHasAWitherThatChangesOnlyIt() {
        ModelConfig base = ModelConfig.seq2seq(11, 8, 2, 16, 1, 6);
        checkWithers(base, modelValues(), Map.of("tieEmbeddings", "withTiedEmbeddings"));
    }

    @Test
    void everyBlockConfigComponentHasAWitherThatChangesOnlyIt() {
        BlockConfig base = BlockConfig.encoder(8, 2, 16);
        checkWithers(base, blockValues(), Map.of());
    }

    @Test
    void everyTrainingLoopOptionHasAWitherThatChangesOnlyIt() {
        org.attn4j.train.TrainingLoop.Options base = org.attn4j.train.TrainingLoop.Options.of(100, 10);
        Map<String, Object> other = new LinkedHashMap<>();
        other.put("steps", 50);
        other.put("evalEvery", 5);
        other.put("patience", 3);
        other.put("higherIsBetter", false);
        other.put("target", 0.99);
        other.put("progress", System.err);
        checkWithers(base, other, Map.of());
    }

    @Test
    void everyTrainerConfigComponentHasAWitherThatChangesOnlyIt() {
        // AdamW's decay and SGD's momentum exist only with their optimizer, so each is changed from a base that has it
        Trainer.Config adamW = Trainer.Config.adam(Schedules.constant(1e-3)).withOptimizer(Trainer.Optimizer.ADAMW);
        Map<String, String> names = Map.of("decayMatricesOnly", "withDecayMatricesOnly");
        Set<String> covered = checkWithers(adamW, trainerValues(), names, "momentum");
        checkWithers(adamW.withOptimizer(Trainer.Optimizer.SGD_MOMENTUM), Map.of("momentum", 0.9), names,
                covered.toArray(String[]::new));
    }

    @Test
    void headsCarryMultiHeadAttentionAlongAndLeaveGroupedQueryAlone() {
        assertEquals(8, ModelConfig.languageModel(11, 16, 2, 32, 1, 8).withHeads(8).kvHeads());
        assertEquals(2, ModelConfig.modernLanguageModel(11, 16, 4, 32, 1, 8).withKvHeads(2).withHeads(8).kvHeads());
        assertEquals(4, BlockConfig.encoder(16, 2, 32).withHeads(4).kvHeads());
        assertEquals(1, BlockConfig.modern(16, 4, 1, 32).withHeads(8).kvHeads());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BlockConfig.modern(24, 4, 4, 48).withKvHeads(2).withHeads(3));
        assertTrue(e.getMessage().contains("kvHeads 2"), e.getMessage());
    }

    @Test
    void decayAndMomentumNeedTheirOptimizer() {
        Trainer.Config adam = Trainer.Config.adam(Schedules.constant(1e-3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> adam.withWeightDecay(0.1));
        assertEquals("weightDecay 0.1 needs optimizer ADAMW, got ADAM", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> adam.withMomentum(0.9));
        assertEquals("momentum 0.9 needs optimizer SGD_MOMENTUM, got ADAM", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> adam.withOptimizer(Trainer.Optimizer.ADAMW)
                .withWeightDecay(0.1).withOptimizer(Trainer.Optimizer.SGD));
        assertEquals("weightDecay 0.1 needs optimizer ADAMW, got SGD", e.getMessage());
    }

    @Test
    void everyAttentionConfigComponentButTheWidthsHasAWitherThatChangesOnlyIt() {
        AttentionConfig base = AttentionConfig.of(8, 2);
        Map<String, Object> other = attentionValues();
        other.keySet().removeAll(List.of("dModel", "heads", "kDim", "vDim")); // fixed at the preset
        checkWithers(base, other, Map.of(), "dModel", "heads", "kDim", "vDim");
        AttentionConfig cross = base.withKeyValueDims(5, 7);
        assertEquals(List.of(5, 7), List.of(cross.kDim(), cross.vDim()));
        assertEquals(base, cross.withKeyValueDims(8, 8));
    }

    @Test
    void modelConfigBuilderRoundTripsAndSetsEachComponentAlone() {
        // the constructor's, not the builder's: a builder that drops a component must not make the expected value
        ModelConfig everyComponentSet = new ModelConfig(13, 12, 16, 4, 20, 2, 3, Activation.RELU, false, 0.1, 0.2,
                PositionalEncoding.ROTARY, 9, true, false, 1e-6, 3, Normalization.RMS, 2, false, 3, true, THETA);
        for (ModelConfig c : List.of(everyComponentSet, ModelConfig.seq2seq(11, 8, 2, 16, 1, 6))) {
            assertEquals(c, c.toBuilder().build());
        }
        checkBuilder(ModelConfig.seq2seq(11, 8, 2, 16, 1, 6), modelValues());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.builder().build());
        assertTrue(e.getMessage().startsWith("Model sizes must be positive: targetVocab=0"), e.getMessage());
    }

    @Test
    void blockConfigBuilderRoundTripsAndSetsEachComponentAlone() {
        BlockConfig everyComponentSet = new BlockConfig(true, 16, 4, 20, Activation.RELU, false, true, 0.1, 0.2, 1e-6,
                false, true, Normalization.RMS, 2, true, 3, true, THETA);
        for (BlockConfig c : List.of(everyComponentSet, BlockConfig.decoder(8, 2, 16))) {
            assertEquals(c, c.toBuilder().build());
        }
        checkBuilder(BlockConfig.encoder(8, 2, 16), blockValues());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BlockConfig.builder().build());
        assertEquals("norm is required but was null", e.getMessage());
        // a width and heads valid only together (layers.md): each wither alone refuses, the builder takes both
        BlockConfig wide = BlockConfig.encoder(24, 4, 96);
        assertThrows(IllegalArgumentException.class, () -> wide.withDModel(10));
        assertThrows(IllegalArgumentException.class, () -> wide.withHeads(5));
        BlockConfig narrow = wide.toBuilder().dModel(10).heads(5).kvHeads(5).build();
        assertEquals(List.of(10, 5, 5, 96), List.of(narrow.dModel(), narrow.heads(), narrow.kvHeads(), narrow.ffDim()));
    }

    @Test
    void attentionConfigBuilderRoundTripsAndSetsEachComponentAlone() {
        AttentionConfig everyComponentSet = new AttentionConfig(16, 4, 5, 7, false, true, 0.1, true, 2, true, 3, true,
                THETA);
        for (AttentionConfig c : List.of(everyComponentSet, AttentionConfig.of(8, 2))) {
            assertEquals(c, c.toBuilder().build());
        }
        checkBuilder(AttentionConfig.of(8, 2), attentionValues());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AttentionConfig.builder().build());
        assertTrue(e.getMessage().startsWith("dModel, heads, kDim and vDim must be positive"), e.getMessage());
    }

    @Test
    void trainerConfigBuilderRoundTripsAndSetsEachComponentAlone() {
        Trainer.Config adamW = Trainer.Config.adam(Schedules.constant(1e-3)).withOptimizer(Trainer.Optimizer.ADAMW);
        // between them, every component set (a decay and a momentum need different optimizers)
        List<Trainer.Config> everyComponentSet = List.of(
                new Trainer.Config(Trainer.Optimizer.ADAMW, Schedules.constant(0.5), 0.8, 0.99, 0.1, 0, 0.5, 0.1, 7,
                        true, 3, true),
                new Trainer.Config(Trainer.Optimizer.SGD_MOMENTUM, Schedules.constant(0.5), 0.8, 0.99, 0, 0.9, 0.5,
                        0.1, 7, true, 3, true));
        for (Trainer.Config c : everyComponentSet) {
            assertEquals(c, c.toBuilder().build());
        }
        Set<String> covered = checkBuilder(adamW, trainerValues(), "momentum");
        checkBuilder(adamW.withOptimizer(Trainer.Optimizer.SGD_MOMENTUM), Map.of("momentum", 0.9),
                covered.toArray(String[]::new));
        NullPointerException e = assertThrows(NullPointerException.class, () -> Trainer.Config.builder().build());
        assertEquals("optimizer", e.getMessage());
    }

    @Test
    void modelBlocksTakeTheModelsBlockComponentsAndItsPositionVariant() {
        ModelConfig modern = ModelConfig.modernLanguageModel(11, 16, 4, 32, 2, 8).withKvHeads(2).withWindow(3)
                .withQkvBias(true).withRope(THETA).withDropout(0.1);
        assertEquals(BlockConfig.modern(16, 4, 2, 32).withCausal(false).withWindow(3).withQkvBias(true)
                .withRope(THETA).withDropout(0.1), modern.block(false));
        ModelConfig seq2seq = ModelConfig.seq2seq(11, 8, 2, 16, 1, 6).withNormFirst(false).withEps(1e-6);
        assertEquals(BlockConfig.decoder(8, 2, 16).withCausal(false).withNormFirst(false).withEps(1e-6),
                seq2seq.block(true));
        BlockConfig alibi = seq2seq.withPositions(PositionalEncoding.ALIBI).block(false);
        assertEquals(List.of(true, false), List.of(alibi.alibi(), alibi.rotary()));
    }

    @Test
    void aBlocksSublayerConfigsTakeItsComponents() {
        BlockConfig block = BlockConfig.modern(16, 4, 2, 32).withCrossAttention(true).withWindow(3).withAlibi(true)
                .withQkvBias(true).withAttnDropout(0.1).withDropout(0.2);
        AttentionConfig cross = AttentionConfig.of(16, 4).withBias(false).withDropout(0.1);
        assertEquals(cross.withCausal(true).withRotary(true).withKvHeads(2).withAlibi(true).withWindow(3)
                .withQkvBias(true), block.selfAttentionConfig());
        assertEquals(cross, block.crossAttentionConfig());
        assertEquals(new FeedForwardConfig(16, 32, Activation.SWIGLU, false, 0.2), block.feedForwardConfig());
    }

    /** A value for each ModelConfig component that differs from seq2seq(11, 8, 2, 16, 1, 6)'s and is valid alone. */
    private static Map<String, Object> modelValues() {
        Map<String, Object> other = new LinkedHashMap<>();
        other.put("sourceVocab", 13);
        other.put("targetVocab", 12);
        other.put("dModel", 12);
        other.put("heads", 4);
        other.put("ffDim", 20);
        other.put("encoderLayers", 2);
        other.put("decoderLayers", 3);
        other.put("activation", Activation.RELU);
        other.put("normFirst", false);
        other.put("dropout", 0.1);
        other.put("attnDropout", 0.2);
        other.put("positions", PositionalEncoding.ROTARY);
        other.put("maxLen", 9);
        other.put("tieEmbeddings", true);
        other.put("scaleEmbedding", false);
        other.put("eps", 1e-6);
        other.put("padId", 3);
        other.put("norm", Normalization.RMS);
        other.put("kvHeads", 1);
        other.put("bias", false);
        other.put("window", 3);
        other.put("qkvBias", true);
        other.put("rope", THETA);
        return other;
    }

    /** A value for each BlockConfig component that differs from encoder(8, 2, 16)'s and is valid alone. */
    private static Map<String, Object> blockValues() {
        Map<String, Object> other = new LinkedHashMap<>();
        other.put("crossAttention", true);
        other.put("dModel", 12);
        other.put("heads", 4);
        other.put("ffDim", 20);
        other.put("activation", Activation.RELU);
        other.put("normFirst", false);
        other.put("causal", true);
        other.put("dropout", 0.1);
        other.put("attnDropout", 0.2);
        other.put("eps", 1e-6);
        other.put("bias", false);
        other.put("rotary", true);
        other.put("norm", Normalization.RMS);
        other.put("kvHeads", 1);
        other.put("alibi", true);
        other.put("window", 3);
        other.put("qkvBias", true);
        other.put("rope", THETA);
        return other;
    }

    /** A value for each Trainer.Config component but momentum that differs from adam's with ADAMW. */
    private static Map<String, Object> trainerValues() {
        Map<String, Object> other = new LinkedHashMap<>();
        other.put("optimizer", Trainer.Optimizer.SGD);
        other.put("learningRate", Schedules.constant(0.5));
        other.put("beta1", 0.8);
        other.put("beta2", 0.99);
        other.put("weightDecay", 0.1);
        other.put("clipNorm", 0.5);
        other.put("labelSmoothing", 0.1);
        other.put("seed", 7L);
        other.put("decayMatricesOnly", true);
        other.put("microBatches", 3);
        other.put("checkpointActivations", true);
        return other;
    }

    /** A value for each AttentionConfig component that differs from of(8, 2)'s and is valid alone. */
    private static Map<String, Object> attentionValues() {
        Map<String, Object> other = new LinkedHashMap<>();
        other.put("dModel", 12);
        other.put("heads", 4);
        other.put("kDim", 5);
        other.put("vDim", 7);
        other.put("bias", false);
        other.put("causal", true);
        other.put("dropout", 0.1);
        other.put("rotary", true);
        other.put("kvHeads", 1);
        other.put("alibi", true);
        other.put("window", 3);
        other.put("qkvBias", true);
        other.put("rope", THETA);
        return other;
    }

    /**
     * For each component in {@code other}: {@code base.toBuilder().<name>(value).build()} gives {@code value} there
     * and base's value in every other component (the builder moves nothing along, not even kvHeads with heads).
     * Components neither in {@code other} nor in {@code elsewhere} fail the test. Returns the components checked.
     */
    private static Set<String> checkBuilder(Record base, Map<String, Object> other, String... elsewhere) {
        requireValues(base, other, elsewhere);
        for (Map.Entry<String, Object> e : other.entrySet()) {
            Object builder = invoke(base, "toBuilder");
            invoke(builder, e.getKey(), e.getValue());
            Record changed = (Record) invoke(builder, "build");
            for (RecordComponent c : base.getClass().getRecordComponents()) {
                Object expected = c.getName().equals(e.getKey()) ? e.getValue() : get(base, c);
                assertEquals(expected, get(changed, c), "builder's " + e.getKey() + " -> " + c.getName());
            }
        }
        return other.keySet();
    }

    private static void requireValues(Record base, Map<String, Object> other, String... elsewhere) {
        Set<String> missing = new TreeSet<>();
        for (RecordComponent c : base.getClass().getRecordComponents()) {
            if (!other.containsKey(c.getName()) && !Set.of(elsewhere).contains(c.getName())) {
                missing.add(c.getName());
            }
        }
        assertTrue(missing.isEmpty(), base.getClass().getName() + ": no value to try for " + missing);
    }

    /** Calls {@code target}'s public method {@code name} with the arguments' count. */
    private static Object invoke(Object target, String name, Object... args) {
        for (Method m : target.getClass().getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == args.length) {
                try {
                    return m.invoke(target, args);
                } catch (ReflectiveOperationException e) {
                    throw new AssertionError(name + Arrays.toString(args) + " failed: " + e.getCause(), e);
                }
            }
        }
        return fail(target.getClass().getName() + " has no public " + name + " of " + args.length + " arguments");
    }

    /**
     * For each component in {@code other}: {@code with<Name>(value)} on {@code base} gives {@code value} there and
     * base's value in every other component (heads may carry kvHeads along). Components neither in {@code other}
     * nor in {@code elsewhere} fail the test. Returns the components checked.
     */
    private static Set<String> checkWithers(Record base, Map<String, Object> other, Map<String, String> names,
            String... elsewhere) {
        requireValues(base, other, elsewhere);
        for (Map.Entry<String, Object> e : other.entrySet()) {
            String name = e.getKey();
            String wither = names.getOrDefault(name, "with" + Character.toUpperCase(name.charAt(0)) + name.substring(1));
            Record changed = (Record) invoke(base, wither, e.getValue());
            for (RecordComponent c : base.getClass().getRecordComponents()) {
                Object before = get(base, c), after = get(changed, c);
                if (c.getName().equals(name)) {
                    assertEquals(e.getValue(), after, wither + " did not set " + name);
                } else if (!(name.equals("heads") && c.getName().equals("kvHeads"))) {
                    assertEquals(before, after, wither + " changed " + c.getName());
                }
            }
        }
        return other.keySet();
    }

    private static Object get(Record r, RecordComponent c) {
        try {
            return c.getAccessor().invoke(r);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
