package org.attn4j.dl4j;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.config.BlockConfig;
import org.attn4j.engine.BlockEngine;
import org.attn4j.nn.TransformerBlock;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The runtime side of {@link TransformerBlockLayer}: a DL4J layer whose forward and backward are
 * attn4j's engine, {@link BlockEngine}, run on DL4J's parameter views ({@link EngineBlock}; a network of a
 * data type other than float32 or float64 runs it in float32).
 *
 * <p>DL4J's layout stays at this boundary: input and epsilon {@code [B, C, T]} become the block's
 * {@code [B, T, C]}, the feature mask {@code [B, T]} its key padding, and the block's output and input
 * gradient go back as {@code [B, C, T]} into DL4J's workspace. The block runs outside DL4J's
 * workspaces, since it keeps activations from a forward for its backward.
 */
final class TransformerBlockLayerImpl extends BaseLayer<org.deeplearning4j.nn.conf.layers.BaseLayer> {
    private final BlockConfig config;
    private transient EngineBlock pass;

    /** The layer of {@code conf}, whose layer configuration describes {@code config}. */
    TransformerBlockLayerImpl(NeuralNetConfiguration conf, DataType dataType, BlockConfig config) {
        super(conf, dataType);
        this.config = config;
    }

    /** How this layer runs its block (made on first use). */
    EngineBlock pass() {
        if (pass == null) {
            pass = new EngineBlock(config, dataType);
        }
        return pass;
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
        checkShapes("input", input);
        INDArray output;
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            output = pass().forward(params, input, maskArray).permute(0, 2, 1);       // [B, T, C] -> [B, C, T]
        }
        return workspaceMgr.dup(ArrayType.ACTIVATIONS, output, 'c');
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        checkShapes("input", input);
        checkShapes("epsilon", epsilon);
        INDArray inputGradient;
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            inputGradient = pass().backward(params, input, maskArray, epsilon, gradientViews)
                    .permute(0, 2, 1);                                                   // [B, T, C] -> [B, C, T]
        }
        Gradient gradient = new DefaultGradient();
        gradientViews.forEach(gradient::setGradientFor);
        INDArray delta = workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, inputGradient, 'c');
        return new Pair<>(gradient, backpropDropOutIfPresent(delta));
    }

    /** {@code x} must be {@code [B, dModel, T]}, and a feature mask {@code [B, T]}. */
    private void checkShapes(String what, INDArray x) {
        long dModel = config.dModel();
        if (x.rank() != 3 || x.size(1) != dModel) {
            throw new IllegalArgumentException("Layer '" + layerConf().getLayerName() + "' (TransformerBlockLayer): "
                    + what + " must be [minibatch, " + dModel + ", timeSteps] (NCW), got " + Arrays.toString(x.shape()));
        }
        if (maskArray != null && (maskArray.rank() != 2 || maskArray.size(0) != x.size(0)
                || maskArray.size(1) != x.size(2))) {
            throw new IllegalArgumentException("Layer '" + layerConf().getLayerName() + "': expected a feature mask "
                    + "[minibatch=" + x.size(0) + ", timeSteps=" + x.size(2) + "] (1 = real step), got "
                    + Arrays.toString(maskArray.shape()));
        }
    }

    @Override
    public Layer clone() {
        TransformerBlockLayerImpl copy = new TransformerBlockLayerImpl(conf, dataType, config);
        Map<String, INDArray> table = new LinkedHashMap<>();
        params.forEach((k, v) -> table.put(k, v.dup()));
        copy.setParamTable(table);
        return copy;
    }
}
