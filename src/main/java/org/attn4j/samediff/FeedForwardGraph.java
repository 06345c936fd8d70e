package org.attn4j.samediff;

import org.attn4j.config.Activation;
import org.attn4j.config.FeedForwardConfig;
import org.attn4j.nn.FeedForward;
import org.attn4j.nn.Linear;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * A {@link FeedForward} in a SameDiff graph: {@code linear2(dropout(act(linear1(x))))}, or with SwiGLU
 * {@code linear2(dropout(silu(linear1(x)) * gate(x)))}; dropout only while SameDiff trains ({@link Dropout}).
 */
public final class FeedForwardGraph {
    private final SameDiff sd;
    private final FeedForwardConfig config;
    private final LinearGraph linear1, linear2, gate;

    public FeedForwardGraph(SameDiff sd, FeedForward layer) {
        this.sd = sd;
        this.config = layer.config();
        Linear[] linears = layer.linears();
        this.linear1 = new LinearGraph(sd, linears[0]);
        this.linear2 = new LinearGraph(sd, linears[1]);
        this.gate = linears[2] == null ? null : new LinearGraph(sd, linears[2]);
    }

    /** {@code [B, T, C] -> [B, T, C]}. */
    public SDVariable forward(SDVariable x) {
        return Graphs.reshapeLike(forwardRows(sd.reshape(x, -1, config.dModel())), x, 1, config.dModel());
    }

    /** Rows {@code [N, C] -> [N, C]}: no reshapes. */
    SDVariable forwardRows(SDVariable rows) {
        SDVariable hidden = activation(config.activation(), linear1.forwardRows(rows)); // [N, F]
        if (gate != null) {
            hidden = hidden.mul(gate.forwardRows(rows));
        }
        return linear2.forwardRows(Dropout.apply(hidden, config.dropout()));
    }

    /** The activation elementwise, with PyTorch's exact definitions (for SWIGLU: the SiLU of the gated branch). */
    public static SDVariable activation(Activation activation, SDVariable x) {
        SameDiff sd = x.getSameDiff();
        return switch (activation) {
            case RELU -> sd.nn.relu(x, 0.0);
            case GELU -> x.mul(0.5).mul(sd.math.erf(x.mul(1 / Math.sqrt(2))).add(1.0));
            case GELU_TANH -> {
                SDVariable inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
                yield x.mul(0.5).mul(sd.math.tanh(inner).add(1.0));
            }
            case SILU, SWIGLU -> x.mul(sd.nn.sigmoid(x));
        };
    }
}
