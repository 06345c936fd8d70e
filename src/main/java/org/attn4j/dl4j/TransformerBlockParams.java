package org.attn4j.dl4j;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.attn4j.config.BlockConfig;
import org.attn4j.nn.TransformerBlock;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The block's parameters as views into DL4J's flattened parameter (and gradient) array, in the
 * block's creation order, each in row-major (PyTorch) layout.
 *
 * <p>Keys are attn4j's parameter names with '_' written as '-' ({@code self-attn.q.weight} for
 * {@code self_attn.q.weight}): DL4J joins layer name and parameter key with '_' and splits them again
 * at the last '_' (ComputationGraph and the updater), so a key must not contain one. Dots are kept.
 * {@link #attn4jName} and {@link #dl4jKey} convert.
 *
 * <p>For DL4J's regularization and bias updater, linear-layer weights are weights and every
 * {@code .bias} is a bias; LayerNorm gains are neither, so L1/L2 leave them alone.
 */
final class TransformerBlockParams implements ParamInitializer {
    private static final Map<BlockConfig, Map<String, long[]>> SHAPES = new ConcurrentHashMap<>();

    private final BlockConfig config;

    /**
     * The parameters of a layer of this configuration. DL4J asks a layer configuration for its initializer
     * and passes that same layer back to it, so the layer argument of the methods below is not read.
     */
    TransformerBlockParams(BlockConfig config) {
        this.config = config;
    }

    /** DL4J's key for an attn4j parameter name. */
    static String dl4jKey(String attn4jName) {
        return attn4jName.replace('_', '-');
    }

    /** The attn4j parameter name of a DL4J key. */
    static String attn4jName(String dl4jKey) {
        return dl4jKey.replace('-', '_');
    }

    /** attn4j parameter name to shape, in creation order, read off a block built once per configuration. */
    static Map<String, long[]> shapes(BlockConfig config) {
        return SHAPES.computeIfAbsent(config, c -> {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            TransformerBlock.create(c, DataType.FLOAT).parameters().forEach((name, v) -> shapes.put(name, v.shape()));
            return Collections.unmodifiableMap(shapes);
        });
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        long n = 0;
        for (long[] shape : shapes(config).values()) {
            long size = 1;
            for (long d : shape) {
                size *= d;
            }
            n += size;
        }
        return n;
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        List<String> keys = new ArrayList<>();
        shapes(config).keySet().forEach(name -> keys.add(dl4jKey(name)));
        return keys;
    }

    @Override
    public List<String> weightKeys(Layer layer) {
        return paramKeys(layer).stream().filter(k -> isWeightParam(layer, k)).toList();
    }

    @Override
    public List<String> biasKeys(Layer layer) {
        return paramKeys(layer).stream().filter(k -> isBiasParam(layer, k)).toList();
    }

    @Override
    public boolean isWeightParam(Layer layer, String key) {
        return key.endsWith(".weight") && !key.startsWith("norm");
    }

    @Override
    public boolean isBiasParam(Layer layer, String key) {
        return key.endsWith(".bias");
    }

    /** Views of the parameters; when {@code initializeParams}, filled with a fresh attn4j block's values. */
    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramsView, boolean initializeParams) {
        Map<String, INDArray> views = views(conf, paramsView);
        if (initializeParams) {
            Map<String, INDArray> fresh = TransformerBlock.create(config, paramsView.dataType()).parameters();
            fresh.forEach((name, v) -> views.get(dl4jKey(name)).assign(v));
        }
        return views;
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        return views(conf, gradientView);
    }

    /** Consecutive row-major views of a flat {@code [1, N]} array, one per parameter. */
    private Map<String, INDArray> views(NeuralNetConfiguration conf, INDArray flat) {
        long expected = numParams(conf);
        if (flat.length() != expected) {
            throw new IllegalArgumentException("Layer '" + conf.getLayer().getLayerName() + "': expected a parameter "
                    + "array of " + expected + " values, got " + flat.length());
        }
        INDArray row = flat.reshape(flat.length());
        Map<String, INDArray> views = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, long[]> e : shapes(config).entrySet()) {
            long size = 1;
            for (long d : e.getValue()) {
                size *= d;
            }
            views.put(dl4jKey(e.getKey()),
                    row.get(NDArrayIndex.interval(offset, offset + size)).reshape('c', e.getValue()));
            offset += size;
        }
        return views;
    }
}
