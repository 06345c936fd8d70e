package org.attn4j.dl4j;

import java.util.Map;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.engine.BlockEngine;
import org.attn4j.engine.BlockState;
import org.attn4j.kernels.Parallel;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The layer's block on the engine: a {@link BlockEngine} on a block of its own, whose parameters are
 * copied from DL4J's parameter views before each forward, so whatever changed them (an updater step,
 * {@code setParams}, a gradient check's nudge) is seen. The engine cannot run on DL4J's views directly:
 * they are offsets into DL4J's one flat array, and the engine takes whole c-order arrays only.
 *
 * <p>The backward reuses the activations (and weights) of the forward on the same input and mask
 * arrays: DL4J runs {@code activate} and then {@code backpropGradient} on the input it set. On any other
 * input it runs the forward first. Parameter gradients are copied from the engine's state into DL4J's
 * gradient views.
 *
 * <p>The engine computes in float32 or float64. A network of another floating-point type (HALF, BFLOAT16)
 * runs the block in float32: its parameters, input and epsilon are widened on the way in, and the output and
 * gradients rounded back to the network's type on the way out.
 */
final class EngineBlock {
    private final BlockConfig config;
    private final DataType type, network; // the engine's type, and DL4J's
    private final BlockEngine fast;
    private final BlockState state;
    private INDArray forwardedInput, forwardedKeep; // DL4J's arrays of the state's last forward

    EngineBlock(BlockConfig config, DataType network) {
        this.config = config;
        this.network = network;
        this.type = network == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
        this.fast = BlockEngine.of(config, TransformerBlock.create(config, type).weights());
        this.state = fast.newState();
    }

    /**
     * The block's output {@code [B, T, C]} on DL4J's input {@code [B, C, T]} with its feature mask
     * {@code keep [B, T]} (1 = real step; null: every step), with the weights in {@code params}
     * (DL4J's parameter views by DL4J key). Called outside DL4J's workspaces.
     */
    INDArray forward(Map<String, INDArray> params, INDArray input, INDArray keep) {
        // Small ND4J copies on one OpenMP thread: more would keep spinning on the cores the engine needs next.
        Parallel.singleThreadedNd4j(() -> fast.parameters().forEach((name, p) ->
                p.assign(params.get(TransformerBlockParams.dl4jKey(name)))));
        INDArray x = input.castTo(type).permute(0, 2, 1);                       // [B, C, T] -> [B, T, C]
        // A copy of the mask outside DL4J's workspaces: the state keeps it for the backward.
        AttentionMask<INDArray> mask = keep == null ? AttentionMask.none()
                : AttentionMask.ofPadding(keep.castTo(type).dup('c'));          // [B, T]
        INDArray y = fast.forward(state, x, config.causal() ? mask.withCausal() : mask).output(); // [B, T, C]
        forwardedInput = input;
        forwardedKeep = keep;
        return y.castTo(network);
    }

    /**
     * The vector-Jacobian products of DL4J's {@code epsilon [B, C, T]} (the loss's gradient at the
     * output) for the same input and mask: the parameters' written into {@code gradientViews} (by DL4J
     * key), the input's returned {@code [B, T, C]}.
     */
    INDArray backward(Map<String, INDArray> params, INDArray input, INDArray keep, INDArray epsilon,
            Map<String, INDArray> gradientViews) {
        if (input != forwardedInput || keep != forwardedKeep) {
            forward(params, input, keep);
        }
        INDArray dx = fast.backward(state, epsilon.castTo(type).permute(0, 2, 1)); // [B, C, T] -> [B, T, C]
        Parallel.singleThreadedNd4j(() -> state.gradients().forEach((name, g) ->
                gradientViews.get(TransformerBlockParams.dl4jKey(name)).assign(g.castTo(network))));
        return dx.castTo(network);
    }
}
