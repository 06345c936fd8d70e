package org.attn4j.dl4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.nn.AttentionMask;
import org.attn4j.nn.Gradients;
import org.attn4j.nn.TransformerBlock;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The runtime side of {@link TransformerBlockLayer}: a DL4J layer that runs an attn4j block in a
 * private SameDiff graph and does its own backpropagation.
 *
 * <p>DL4J's {@code SameDiffLayer} passes back twice the true gradient in M2.1; this layer does not use
 * it. Its graph computes {@code loss = sum(block(x) * eps)} with DL4J's epsilon fed as {@code eps}, so
 * SameDiff's gradients of that loss are exactly the vector-Jacobian products DL4J asks for. The input
 * {@code x} is a graph variable rather than a placeholder, since SameDiff returns no gradient for a
 * placeholder. Before each pass the graph's weights are copied from DL4J's parameter views, so
 * whatever changed them (an updater step, {@code setParams}, a gradient check) is seen.
 */
final class TransformerBlockLayerImpl extends BaseLayer<TransformerBlockLayer> {
    private static final String INPUT = "dl4j.input", KEEP = "dl4j.keep", EPS = "dl4j.eps";

    private transient Graph graph;

    TransformerBlockLayerImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** The block's graph, with its loss for backpropagation; names are attn4j's. */
    private record Graph(SameDiff sd, String output, List<String> parameters) {
        static Graph build(TransformerBlock.Config config, DataType dataType) {
            SameDiff sd = SameDiff.create();
            TransformerBlock block = new TransformerBlock(sd, "", config, dataType);
            SDVariable x = sd.var(INPUT, Nd4j.zeros(dataType, 1, 1, config.dModel()));     // [B, T, C], set per call
            SDVariable keep = sd.placeHolder(KEEP, dataType, -1, -1);                     // [B, T], 1 = real step
            SDVariable eps = sd.placeHolder(EPS, dataType, -1, -1, config.dModel());      // [B, T, C]
            SDVariable out = block.forward(x, AttentionMask.ofPadding(keep)).output();    // [B, T, C]
            sd.setLossVariables(out.mul(eps).sum());
            return new Graph(sd, out.name(), new ArrayList<>(block.parameters().keySet()));
        }
    }

    @Override
    public Type type() {
        return Type.RECURRENT;
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        applyDropOutIfNecessary(training, workspaceMgr);
        INDArray output;
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            Map<String, INDArray> feeds = prepare();
            INDArray out = graph.sd().output(feeds, graph.output()).get(graph.output());   // [B, T, C]
            output = out.permute(0, 2, 1);                                                   // [B, C, T]
        }
        return workspaceMgr.dup(ArrayType.ACTIVATIONS, output, 'c');
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        checkShape("epsilon", epsilon);
        INDArray inputGradient;
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            Map<String, INDArray> feeds = prepare();
            feeds.put(EPS, epsilon.castTo(dataType).permute(0, 2, 1).dup('c'));               // [B, C, T] -> [B, T, C]
            List<String> wanted = new ArrayList<>(graph.parameters());
            wanted.add(INPUT);
            Map<String, INDArray> grads = Gradients.of(graph.sd(), feeds, wanted.toArray(new String[0]));
            for (String name : graph.parameters()) {
                gradientViews.get(TransformerBlockParams.dl4jKey(name)).assign(grads.get(name));
            }
            inputGradient = grads.get(INPUT).permute(0, 2, 1);                                 // [B, C, T]
        }
        Gradient gradient = new DefaultGradient();
        for (String name : graph.parameters()) {
            String key = TransformerBlockParams.dl4jKey(name);
            gradient.setGradientFor(key, gradientViews.get(key));
        }
        INDArray delta = workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, inputGradient, 'c');
        return new Pair<>(gradient, backpropDropOutIfPresent(delta));
    }

    /**
     * Builds the graph on first use, copies DL4J's parameters into it, sets the input and returns the
     * mask feed. Runs outside DL4J's workspaces: the graph keeps these arrays between calls.
     */
    private Map<String, INDArray> prepare() {
        checkShape("input", input);
        if (graph == null) {
            graph = Graph.build(layerConf().blockConfig(), dataType);
        }
        SameDiff sd = graph.sd();
        for (String name : graph.parameters()) {
            sd.getVariable(name).getArr().assign(params.get(TransformerBlockParams.dl4jKey(name)));
        }
        long b = input.size(0), t = input.size(2);
        sd.associateArrayWithVariable(input.castTo(dataType).permute(0, 2, 1).dup('c'), INPUT);   // [B, C, T] -> [B, T, C]
        INDArray keep;
        if (maskArray == null) {
            keep = Nd4j.ones(dataType, b, t);
        } else {
            if (maskArray.rank() != 2 || maskArray.size(0) != b || maskArray.size(1) != t) {
                throw new IllegalArgumentException("Layer '" + layerConf().getLayerName() + "': expected a feature mask "
                        + "[minibatch=" + b + ", timeSteps=" + t + "] (1 = real step), got "
                        + Arrays.toString(maskArray.shape()));
            }
            keep = maskArray.castTo(dataType).dup('c');
        }
        Map<String, INDArray> feeds = new HashMap<>();
        feeds.put(KEEP, keep);
        return feeds;
    }

    private void checkShape(String what, INDArray x) {
        long dModel = layerConf().getDModel();
        if (x.rank() != 3 || x.size(1) != dModel) {
            throw new IllegalArgumentException("Layer '" + layerConf().getLayerName() + "' (TransformerBlockLayer): "
                    + what + " must be [minibatch, " + dModel + ", timeSteps] (NCW), got " + Arrays.toString(x.shape()));
        }
    }

    @Override
    public Layer clone() {
        TransformerBlockLayerImpl copy = new TransformerBlockLayerImpl(conf, dataType);
        Map<String, INDArray> table = new LinkedHashMap<>();
        params.forEach((k, v) -> table.put(k, v.dup()));
        copy.setParamTable(table);
        return copy;
    }
}
