package org.attn4j.dl4j;

import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.attn4j.config.Activation;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.Normalization;
import org.attn4j.nn.TransformerBlock;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.InputTypeUtil;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An attn4j encoder {@link TransformerBlock} as a DL4J layer, for {@code MultiLayerNetwork} and
 * {@code ComputationGraph}, trained by DL4J's own {@code fit}.
 *
 * <p>Input and output are DL4J's recurrent activations {@code [minibatch, dModel, timeSteps]} (NCW);
 * the input type is {@code InputType.recurrent(dModel)}. A DL4J feature mask {@code [minibatch,
 * timeSteps]} (1 = real step) becomes the block's key padding mask and is passed on unchanged.
 *
 * <pre>
 * new NeuralNetConfiguration.Builder().updater(new Adam(1e-3)).list()
 *     .layer(TransformerBlockLayer.encoder(64, 4, 256))
 *     .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
 *     .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(64).nOut(2).activation(Activation.SOFTMAX).build())
 *     .setInputType(InputType.recurrent(64))
 *     .build();
 * </pre>
 *
 * <p>{@code new TransformerBlockLayer.Builder(config).name("block0").build()} sets DL4J's common layer
 * settings as well. The settings are plain fields with getters and setters, so DL4J's JSON configuration (and with it
 * {@code ModelSerializer}) round-trips them. The block has no dropout of its own; DL4J's input dropout
 * ({@code dropOut(...)} on this layer) applies to its input as for any DL4J layer. DL4J's weight
 * initialization setting is ignored: the weights start as a fresh attn4j block's do.
 *
 * <p>What runs where: the layer's forward ({@code activate}) and backward ({@code backpropGradient})
 * are attn4j's engine, {@link BlockEngine}, on a copy of DL4J's parameters made before
 * each forward; its gradients go into DL4J's gradient views, and DL4J's updater, regularization and
 * serialization do the rest. A network whose data type is neither float32 nor float64 (the engine's
 * two) runs the block in float32, rounding its output and gradients to the network's type. DL4J's
 * {@code SameDiffLayer}, which passes back twice the gradient in M2.1, is not used.
 */
public class TransformerBlockLayer extends BaseLayer {
    private static final long serialVersionUID = 1L;

    private int dModel;
    private int heads;
    private int ffDim;
    private String ffActivation = "gelu";
    private boolean normFirst = true;
    private boolean causal;
    private double normEps = 1e-5;

    /** For DL4J's JSON deserialization; use {@link #encoder} or {@link #of} instead. */
    public TransformerBlockLayer() {
    }

    private TransformerBlockLayer(Builder builder) {
        super(builder);
        BlockConfig config = builder.config;
        this.dModel = config.dModel();
        this.heads = config.heads();
        this.ffDim = config.ffDim();
        this.ffActivation = config.activation().name().toLowerCase(Locale.ROOT);
        this.normFirst = config.normFirst();
        this.causal = config.causal();
        this.normEps = config.eps();
    }

    /** A pre-LN encoder block with exact GELU, as {@link BlockConfig#encoder}. */
    public static TransformerBlockLayer encoder(int dModel, int heads, int ffDim) {
        return of(BlockConfig.encoder(dModel, heads, ffDim));
    }

    /** The layer for an attn4j encoder block configuration (see {@link Builder#Builder}). */
    public static TransformerBlockLayer of(BlockConfig config) {
        return new Builder(config).build();
    }

    /** The attn4j block configuration these settings describe (validated). */
    public BlockConfig blockConfig() {
        return BlockConfig.encoder(dModel, heads, ffDim).withActivation(Activation.parse(ffActivation))
                .withNormFirst(normFirst).withCausal(causal).withEps(normEps);
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
            Collection<TrainingListener> listeners, int layerIndex, INDArray layerParamsView,
            boolean initializeParams, DataType networkDataType) {
        TransformerBlockLayerImpl layer = new TransformerBlockLayerImpl(conf, networkDataType, blockConfig());
        layer.setListeners(listeners);
        layer.setIndex(layerIndex);
        layer.setParamsViewArray(layerParamsView);
        Map<String, INDArray> params = initializer().init(conf, layerParamsView, initializeParams);
        layer.setParamTable(params);
        layer.setConf(conf);
        return layer;
    }

    @Override
    public ParamInitializer initializer() {
        return new TransformerBlockParams(blockConfig());
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        InputType.InputTypeRecurrent in = requireRecurrent(inputType);
        return InputType.recurrent(dModel, in.getTimeSeriesLength(), RNNFormat.NCW);
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        requireRecurrent(inputType);
    }

    @Override
    public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
        return InputTypeUtil.getPreprocessorForInputTypeRnnLayers(inputType, RNNFormat.NCW, getLayerName());
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        long params = initializer().numParams(this);
        return new LayerMemoryReport.Builder(layerName, TransformerBlockLayer.class, inputType, getOutputType(-1, inputType))
                .standardMemory(params, getIUpdater() == null ? 0 : getIUpdater().stateSize(params))
                .workingMemory(0, 0, 0, 0)
                .cacheMemory(MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS)
                .build();
    }

    private InputType.InputTypeRecurrent requireRecurrent(InputType inputType) {
        if (!(inputType instanceof InputType.InputTypeRecurrent in)) {
            throw new IllegalArgumentException("Layer '" + getLayerName() + "' (TransformerBlockLayer) expects "
                    + "recurrent input [minibatch, " + dModel + ", timeSteps], got " + inputType);
        }
        if (in.getSize() != dModel || in.getFormat() != RNNFormat.NCW) {
            throw new IllegalArgumentException("Layer '" + getLayerName() + "' (TransformerBlockLayer) expects "
                    + "InputType.recurrent(" + dModel + ") in NCW format, got " + inputType);
        }
        return in;
    }

    public int getDModel() {
        return dModel;
    }

    public void setDModel(int dModel) {
        this.dModel = dModel;
    }

    public int getHeads() {
        return heads;
    }

    public void setHeads(int heads) {
        this.heads = heads;
    }

    public int getFfDim() {
        return ffDim;
    }

    public void setFfDim(int ffDim) {
        this.ffDim = ffDim;
    }

    /** The feed-forward activation's name, as {@link Activation#parse} reads it. */
    public String getFfActivation() {
        return ffActivation;
    }

    public void setFfActivation(String ffActivation) {
        this.ffActivation = ffActivation;
    }

    public boolean isNormFirst() {
        return normFirst;
    }

    public void setNormFirst(boolean normFirst) {
        this.normFirst = normFirst;
    }

    public boolean isCausal() {
        return causal;
    }

    public void setCausal(boolean causal) {
        this.causal = causal;
    }

    /** LayerNorm's eps. */
    public double getNormEps() {
        return normEps;
    }

    public void setNormEps(double normEps) {
        this.normEps = normEps;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TransformerBlockLayer l && super.equals(o) && dModel == l.dModel && heads == l.heads
                && ffDim == l.ffDim && Objects.equals(ffActivation, l.ffActivation) && normFirst == l.normFirst
                && causal == l.causal && Double.compare(normEps, l.normEps) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), dModel, heads, ffDim, ffActivation, normFirst, causal, normEps);
    }

    /**
     * DL4J's builder: the block's configuration plus DL4J's common layer settings ({@code name},
     * {@code updater}, {@code l2}, {@code dropOut}, ...).
     */
    public static final class Builder extends BaseLayer.Builder<Builder> {
        private final BlockConfig config;

        /**
         * Only what a DL4J layer can hold is accepted: a block without cross-attention, with biases, LayerNorm,
         * as many key/value heads as heads, no dropout, no rotary embeddings, no ALiBi and no window.
         */
        public Builder(BlockConfig config) {
            if (config.crossAttention() || !config.bias() || config.rotary()
                    || config.dropout() != 0 || config.attnDropout() != 0 || config.norm() != Normalization.LAYER
                    || config.kvHeads() != config.heads() || config.alibi() || config.window() != 0) {
                throw new IllegalArgumentException("TransformerBlockLayer holds a block without cross-attention, "
                        + "with bias and LayerNorm, kvHeads = heads, no rotary embeddings, ALiBi or window, and no "
                        + "dropout (use DL4J's dropOut on the layer instead); given " + config);
            }
            this.config = config;
        }

        @Override
        @SuppressWarnings("unchecked")
        public TransformerBlockLayer build() {
            return new TransformerBlockLayer(this);
        }
    }
}
