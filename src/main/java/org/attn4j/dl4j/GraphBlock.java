package org.attn4j.dl4j;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.config.AttentionMask;
import org.attn4j.nn.TransformerBlock;
import org.attn4j.samediff.Gradients;
import org.attn4j.samediff.TransformerBlockGraph;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The layer's block in a private SameDiff graph, for data types the engine does not
 * run (other than float32 and float64), built by {@link TransformerBlockGraph} from a block of the layer's config.
 *
 * <p>DL4J's {@code SameDiffLayer} passes back twice the true gradient in M2.1; this does not use it.
 * The graph computes {@code loss = sum(block(x) * eps)} with DL4J's epsilon fed as {@code eps}, so
 * SameDiff's gradients of that loss are exactly the vector-Jacobian products DL4J asks for. The input
 * {@code x} is a graph variable rather than a placeholder, since SameDiff returns no gradient for a
 * placeholder. Before each pass the graph's weights are copied from DL4J's parameter views.
 */
final class GraphBlock implements BlockPass {
    private static final String INPUT = "dl4j.input", KEEP = "dl4j.keep", EPS = "dl4j.eps";

    private final DataType type;
    private final SameDiff sd;
    private final String output;
    private final List<String> parameters;

    GraphBlock(TransformerBlock.Config config, DataType type) {
        this.type = type;
        this.sd = SameDiff.create();
        TransformerBlock block = TransformerBlock.create(config, type);
        SDVariable x = sd.var(INPUT, Nd4j.zeros(type, 1, 1, config.dModel()));     // [B, T, C], set per call
        SDVariable keep = sd.placeHolder(KEEP, type, -1, -1);                     // [B, T], 1 = real step
        SDVariable eps = sd.placeHolder(EPS, type, -1, -1, config.dModel());      // [B, T, C]
        SDVariable out = new TransformerBlockGraph(sd, block).forward(x, AttentionMask.ofPadding(keep)).output(); // [B, T, C]
        sd.setLossVariables(out.mul(eps).sum());
        this.output = out.name();
        this.parameters = new ArrayList<>(block.parameters().keySet());
    }

    @Override
    public INDArray forward(Map<String, INDArray> params, INDArray input, INDArray keep) {
        return sd.output(feeds(params, input, keep), output).get(output);
    }

    @Override
    public INDArray backward(Map<String, INDArray> params, INDArray input, INDArray keep, INDArray epsilon,
            Map<String, INDArray> gradientViews) {
        Map<String, INDArray> feeds = feeds(params, input, keep);
        feeds.put(EPS, epsilon.castTo(type).permute(0, 2, 1).dup('c'));             // [B, C, T] -> [B, T, C]
        List<String> wanted = new ArrayList<>(parameters);
        wanted.add(INPUT);
        Map<String, INDArray> grads = Gradients.of(sd, feeds, wanted.toArray(new String[0]));
        for (String name : parameters) {
            gradientViews.get(TransformerBlockParams.dl4jKey(name)).assign(grads.get(name));
        }
        return grads.get(INPUT);
    }

    /** Copies DL4J's parameters into the graph, sets the input and returns the mask feed. */
    private Map<String, INDArray> feeds(Map<String, INDArray> params, INDArray input, INDArray keep) {
        for (String name : parameters) {
            sd.getVariable(name).getArr().assign(params.get(TransformerBlockParams.dl4jKey(name)));
        }
        sd.associateArrayWithVariable(input.castTo(type).permute(0, 2, 1).dup('c'), INPUT); // [B, C, T] -> [B, T, C]
        Map<String, INDArray> feeds = new HashMap<>();
        feeds.put(KEEP, keep == null ? Nd4j.ones(type, input.size(0), input.size(2)) : keep.castTo(type).dup('c'));
        return feeds;
    }
}
