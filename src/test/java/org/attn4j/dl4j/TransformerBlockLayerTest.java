package org.attn4j.dl4j;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.engine.BlockEngine;
import org.attn4j.engine.BlockState;
import org.attn4j.nn.TransformerBlock;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The attn4j block inside DL4J networks: DL4J's own gradient check (with a DL4J layer below the block,
 * so the gradient the block passes down is checked too), the block's forward against attn4j's eager
 * block, the layer's output and gradients against the engine's {@link BlockEngine} on the same weights,
 * and a ModelSerializer round trip. All in float64 (GradientCheckUtil requires it).
 */
class TransformerBlockLayerTest {
    private static final int IN = 5, C = 8, HEADS = 2, FF = 16, T = 4, BATCH = 3, CLASSES = 3;

    @BeforeEach
    void doubles() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        Nd4j.getRandom().setSeed(7);
    }

    @AfterEach
    void floats() {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
    }

    private static BlockConfig block(boolean normFirst) {
        return BlockConfig.encoder(C, HEADS, FF).withNormFirst(normFirst);
    }

    /** dense (per step) -> attn4j block -> average over time -> softmax classifier. */
    private static MultiLayerNetwork network(BlockConfig block, org.nd4j.linalg.learning.config.IUpdater updater) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .dataType(DataType.DOUBLE).seed(12345).updater(updater)
                .list()
                .layer(new DenseLayer.Builder().nOut(C).activation(org.nd4j.linalg.activations.Activation.TANH).build())
                .layer(TransformerBlockLayer.of(block))
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(CLASSES)
                        .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(IN))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        // Away from the initial point: LayerNorm gains of exactly 1 and biases of 0 are a special case.
        net.params().addi(Nd4j.randn(DataType.DOUBLE, net.params().shape()).muli(0.2));
        return net;
    }

    private static INDArray input() {
        return Nd4j.randn(DataType.DOUBLE, BATCH, IN, T);          // [minibatch, features, time]
    }

    private static INDArray labels() {
        INDArray y = Nd4j.zeros(DataType.DOUBLE, BATCH, CLASSES);
        for (int i = 0; i < BATCH; i++) {
            y.putScalar(i, i % CLASSES, 1);
        }
        return y;
    }

    @ParameterizedTest(name = "normFirst={0}")
    @ValueSource(booleans = {true, false})
    void multiLayerNetworkPassesGradientCheckUtil(boolean normFirst) {
        MultiLayerNetwork net = network(block(normFirst), new NoOp());
        boolean passed = GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net)
                .input(input()).labels(labels())
                .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8));
        assertTrue(passed, "GradientCheckUtil failed for normFirst=" + normFirst
                + " (rerun with -Dattn4j.gradientcheck.log=INFO for its line per parameter)");
    }

    /** Also a causal post-LN SiLU block with a feature mask (rows of 4, 2 and 1 real steps). */
    @Test
    void computationGraphWithMaskPassesGradientCheckUtil() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .dataType(DataType.DOUBLE).seed(12345).updater(new NoOp())
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.recurrent(IN))
                .addLayer("dense", new DenseLayer.Builder().nOut(C)
                        .activation(org.nd4j.linalg.activations.Activation.TANH).build(), "in")
                .addLayer("block_0", new TransformerBlockLayer.Builder(
                        block(false).withCausal(true).withActivation(Activation.SILU)).build(), "dense")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "block_0")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nOut(CLASSES)
                        .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build(), "pool")
                .setOutputs("out")
                .build();
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        graph.params().addi(Nd4j.randn(DataType.DOUBLE, graph.params().shape()).muli(0.2));
        assertTrue(graph.paramTable().containsKey("block_0_self-attn.q.weight"), graph.paramTable().keySet().toString());
        boolean passed = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(graph)
                .inputs(new INDArray[] {input()}).labels(new INDArray[] {labels()})
                .inputMask(new INDArray[] {Nd4j.createFromArray(new double[][] {{1, 1, 1, 1}, {1, 1, 0, 0}, {1, 0, 0, 0}})})
                .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8));
        assertTrue(passed, "GradientCheckUtil failed for a masked ComputationGraph (rerun with "
                + "-Dattn4j.gradientcheck.log=INFO for its line per parameter)");
    }

    @ParameterizedTest(name = "causal={0}, masked={0}")
    @ValueSource(booleans = {false, true})
    void forwardEqualsTheEagerAttn4jBlock(boolean causalAndMasked) {
        BlockConfig config = block(false).withCausal(causalAndMasked);
        MultiLayerNetwork net = network(config, new NoOp());
        Layer layer = net.getLayer(1);
        INDArray x = Nd4j.randn(DataType.DOUBLE, BATCH, C, T);       // [B, C, T]
        INDArray keep = Nd4j.createFromArray(new double[][] {{1, 1, 1, 1}, {1, 1, 1, 0}, {1, 1, 0, 0}});
        if (causalAndMasked) {
            layer.setMaskArray(keep);
        }
        INDArray dl4j = layer.activate(x, false, LayerWorkspaceMgr.noWorkspaces());   // [B, C, T]

        TransformerBlock eager = TransformerBlock.create(config, DataType.DOUBLE);
        Map<String, INDArray> weights = new HashMap<>();
        layer.paramTable().forEach((k, v) -> weights.put(TransformerBlockParams.attn4jName(k), v));
        eager.loadParameters(weights);
        AttentionMask<INDArray> mask = causalAndMasked ? AttentionMask.ofPadding(keep).withCausal() : AttentionMask.none();
        INDArray expected = eager.apply(x.permute(0, 2, 1).dup('c'), mask).output().permute(0, 2, 1);

        assertEquals(0, expected.sub(dl4j).amaxNumber().doubleValue(), 1e-12);
        assertTrue(expected.amaxNumber().doubleValue() > 0.1);
    }

    /**
     * The layer is the engine: DL4J's forward and backward equal {@link BlockEngine}'s on a block holding
     * the same weights.
     */
    @ParameterizedTest(name = "causal and masked={0}")
    @ValueSource(booleans = {false, true})
    void forwardAndBackwardAreTheEngines(boolean causalAndMasked) {
        BlockConfig config = block(true).withCausal(causalAndMasked);
        MultiLayerNetwork net = network(config, new Adam(1e-2));
        net.initGradientsView(); // what fit does first: DL4J's gradient views for backpropGradient to fill
        Layer layer = net.getLayer(1);
        INDArray x = Nd4j.randn(DataType.DOUBLE, BATCH, C, T);                 // [B, C, T]
        INDArray dOut = Nd4j.randn(DataType.DOUBLE, BATCH, C, T);              // [B, C, T]
        INDArray keep = Nd4j.createFromArray(new double[][] {{1, 1, 1, 1}, {1, 1, 1, 0}, {1, 1, 0, 0}});
        layer.setMaskArray(causalAndMasked ? keep : null);
        INDArray y = layer.activate(x, true, LayerWorkspaceMgr.noWorkspaces());
        Pair<Gradient, INDArray> back = layer.backpropGradient(dOut, LayerWorkspaceMgr.noWorkspaces());

        TransformerBlock copy = TransformerBlock.create(config, DataType.DOUBLE);
        Map<String, INDArray> weights = new HashMap<>();
        layer.paramTable().forEach((k, v) -> weights.put(TransformerBlockParams.attn4jName(k), v));
        copy.loadParameters(weights);
        BlockEngine engine = BlockEngine.of(copy.config(), copy.weights());
        BlockState state = engine.newState();
        AttentionMask<INDArray> mask = causalAndMasked ? AttentionMask.ofPadding(keep).withCausal() : AttentionMask.none();
        INDArray expected = engine.forward(state, x.permute(0, 2, 1).dup('c'), mask).output().permute(0, 2, 1);
        INDArray expectedDx = engine.backward(state, dOut.permute(0, 2, 1).dup('c')).permute(0, 2, 1);

        assertEquals(0, expected.sub(y).amaxNumber().doubleValue(), 1e-14, "output");
        assertEquals(0, expectedDx.sub(back.getSecond()).amaxNumber().doubleValue(), 1e-14, "input gradient");
        assertEquals(weights.size(), back.getFirst().gradientForVariable().size());
        state.gradients().forEach((name, g) -> {
            INDArray dl4j = back.getFirst().getGradientFor(TransformerBlockParams.dl4jKey(name));
            assertEquals(0, g.sub(dl4j).amaxNumber().doubleValue(), 1e-14, name);
            assertTrue(g.amaxNumber().doubleValue() > 0, name + " has a gradient");
        });
    }

    /**
     * A network of another floating-point type (HALF) runs the block on the engine in float32: its output, input
     * gradient and parameter gradients are the float32 block's on the same (half-rounded) values, rounded to half.
     */
    @Test
    void aHalfNetworkRunsTheEngineInFloat32() {
        BlockConfig config = block(true);
        Map<String, long[]> shapes = TransformerBlockParams.shapes(config);
        Map<String, INDArray> half = new HashMap<>(), float32 = new HashMap<>();
        Map<String, INDArray> halfGrads = new HashMap<>(), floatGrads = new HashMap<>();
        shapes.forEach((name, shape) -> {
            INDArray w = Nd4j.randn(DataType.FLOAT, shape).muli(0.3).castTo(DataType.HALF);
            half.put(TransformerBlockParams.dl4jKey(name), w);
            float32.put(TransformerBlockParams.dl4jKey(name), w.castTo(DataType.FLOAT));
            halfGrads.put(TransformerBlockParams.dl4jKey(name), Nd4j.zeros(DataType.HALF, shape));
            floatGrads.put(TransformerBlockParams.dl4jKey(name), Nd4j.zeros(DataType.FLOAT, shape));
        });
        INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, C, T).castTo(DataType.HALF);        // [B, C, T]
        INDArray eps = Nd4j.randn(DataType.FLOAT, BATCH, T, C).castTo(DataType.HALF);      // [B, T, C]
        EngineBlock h = new EngineBlock(config, DataType.HALF), f = new EngineBlock(config, DataType.FLOAT);
        INDArray yh = h.forward(half, x, null), yf = f.forward(float32, x.castTo(DataType.FLOAT), null);
        assertEquals(DataType.HALF, yh.dataType());
        assertSameBits("output: the float32 block's, rounded to half", yf.castTo(DataType.HALF), yh);
        INDArray dh = h.backward(half, x, null, eps.permute(0, 2, 1), halfGrads);
        INDArray df = f.backward(float32, x.castTo(DataType.FLOAT), null, eps.castTo(DataType.FLOAT).permute(0, 2, 1),
                floatGrads);
        assertEquals(DataType.HALF, dh.dataType());
        assertSameBits("input gradient", df.castTo(DataType.HALF), dh);
        floatGrads.forEach((k, g) -> {
            assertSameBits(k, g.castTo(DataType.HALF), halfGrads.get(k));
            assertTrue(g.amaxNumber().doubleValue() > 0, k + " has a gradient");
        });
    }

    /** The engine runs on DL4J's own arrays: a change to DL4J's parameters changes the next output. */
    @Test
    void theEngineSeesDl4jParameterChangesAndAClonesOwnArrays() {
        MultiLayerNetwork net = network(block(true), new NoOp());
        Layer layer = net.getLayer(1);
        INDArray x = Nd4j.randn(DataType.DOUBLE, BATCH, C, T);
        INDArray before = layer.activate(x, false, LayerWorkspaceMgr.noWorkspaces());
        Layer clone = ((TransformerBlockLayerImpl) layer).clone();
        layer.getParam("ff.linear2.bias").addi(1);
        INDArray after = layer.activate(x, false, LayerWorkspaceMgr.noWorkspaces());
        assertEquals(0, before.add(1).sub(after).amaxNumber().doubleValue(), 1e-12, "pre-LN: the bias adds to the output");
        assertSameBits("the clone keeps its weights", before, clone.activate(x, false, LayerWorkspaceMgr.noWorkspaces()));
    }

    /** Every activation's layer gives the engine's output on the same weights, SiLU and SwiGLU included. */
    @Test
    void everyActivationRunsOnTheEngine() {
        INDArray x = Nd4j.randn(DataType.DOUBLE, BATCH, C, T);                 // [B, C, T]
        for (Activation a : Activation.values()) {
            BlockConfig config = block(true).withActivation(a);
            Layer layer = network(config, new NoOp()).getLayer(1);
            INDArray y = layer.activate(x, false, LayerWorkspaceMgr.noWorkspaces());
            TransformerBlock copy = TransformerBlock.create(config, DataType.DOUBLE);
            Map<String, INDArray> weights = new HashMap<>();
            layer.paramTable().forEach((k, v) -> weights.put(TransformerBlockParams.attn4jName(k), v));
            copy.loadParameters(weights);
            INDArray expected = copy.apply(x.permute(0, 2, 1).dup('c'), AttentionMask.none()).output().permute(0, 2, 1);
            assertEquals(0, expected.sub(y).amaxNumber().doubleValue(), 1e-14, a.name());
        }
    }

    @Test
    void modelSerializerRoundTripKeepsOutputsParametersAndUpdater(@TempDir Path dir) throws Exception {
        MultiLayerNetwork net = network(block(true).withActivation(Activation.RELU), new Adam(1e-2));
        DataSet data = new DataSet(input(), labels());
        for (int i = 0; i < 3; i++) {
            net.fit(data);
        }
        File file = dir.resolve("net.zip").toFile();
        ModelSerializer.writeModel(net, file, true);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(file, true);

        assertEquals(net.getLayerWiseConfigurations(), restored.getLayerWiseConfigurations());
        assertSameBits("restored parameters", net.params(), restored.params());
        INDArray x = input();
        assertSameBits("restored output", net.output(x), restored.output(x));
        // The Adam state came back too: one more step moves both networks alike.
        net.fit(data);
        restored.fit(data);
        assertSameBits("parameters after one more step", net.params(), restored.params());
    }

    @Test
    void trainingByDl4jFitLowersTheLoss() {
        MultiLayerNetwork net = network(block(true), new Adam(1e-2));
        DataSet data = new DataSet(input(), labels());
        double before = net.score(data);
        for (int i = 0; i < 30; i++) {
            net.fit(data);
        }
        assertTrue(net.score(data) < 0.5 * before, "loss " + before + " -> " + net.score(data));
    }

    @Test
    void wrongInputWidthIsRejectedWithTheExpectedLayout() {
        MultiLayerNetwork net = network(block(true), new NoOp());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> net.getLayer(1).activate(Nd4j.zeros(DataType.DOUBLE, 2, C + 1, 3), false,
                        LayerWorkspaceMgr.noWorkspaces()));
        assertTrue(e.getMessage().contains("[minibatch, 8, timeSteps] (NCW)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TransformerBlockLayer.of(BlockConfig.decoder(C, HEADS, FF)));
    }

    /** Options the layer cannot hold are refused by name, not silently dropped. */
    @Test
    void optionsTheLayerCannotHoldAreRefused() {
        BlockConfig plain = BlockConfig.encoder(C, HEADS, FF);
        for (BlockConfig c : List.of(plain.withNorm(org.attn4j.config.Normalization.RMS),
                plain.withKvHeads(HEADS / 2), plain.withAlibi(true), plain.withWindow(2), plain.withRotary(true))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TransformerBlockLayer.of(c));
            assertTrue(e.getMessage().contains("given " + c), e.getMessage());
        }
        assertEquals(plain, TransformerBlockLayer.of(plain).blockConfig());
    }
}
