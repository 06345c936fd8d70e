package org.attn4j.nn;

import org.attn4j.config.AttentionOutput;
import org.attn4j.config.BlockConfig;
import org.attn4j.samediff.MultiHeadAttentionGraph;
import org.attn4j.samediff.NormGraph;
import org.attn4j.samediff.TransformerBlockGraph;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.testing.FiniteDifferences;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;

/**
 * The SameDiff graphs of the 2026 options against central differences in float64 (DL4J's criteria, as
 * GradientCheckTest): RMSNorm, and multi-head attention with grouped-query heads, ALiBi and a window, on their
 * own and inside a block; then the engine's {@code apply} against the graph's forward for the same options.
 */
class ModernGradientCheckTest {
    private static final DataType F64 = DataType.DOUBLE;

    /**
     * Checks x and the parameters whose names contain one of {@code parts} (all: none given); every parameter gets
     * random values first. Each loss evaluation runs the graph (~20 ms for a block), so the checks stay on the
     * parameters the new options touch.
     */
    private static int check(SameDiff sd, Module m, SDVariable x, SDVariable out, String... parts) {
        List<String> names = new ArrayList<>();
        m.parameters().forEach((name, v) -> {
            v.assign(name.contains("norm") && name.endsWith("weight")
                    ? Nd4j.randn(F64, v.shape()).muli(0.2).addi(1) : Nd4j.randn(F64, v.shape()).muli(0.5));
            if (parts.length == 0 || java.util.Arrays.stream(parts).anyMatch(name::contains)) {
                names.add(name);
            }
        });
        names.add(x.name());
        SDVariable loss = out.mul(sd.constant(Nd4j.randn(F64, out.eval().shape()))).sum();
        sd.setLossVariables(loss);
        return FiniteDifferences.check(sd, loss, names);
    }

    @Test
    void rmsNorm() {
        Nd4j.getRandom().setSeed(42);
        SameDiff sd = SameDiff.create();
        RMSNorm norm = new RMSNorm("norm", new RMSNorm.Config(6, 1e-5), F64);
        SDVariable x = sd.var("x", Nd4j.randn(F64, 2, 3, 6));
        assertTrue(check(sd, norm, x, new NormGraph(sd, norm).forward(x)) == 6 + 36);
    }

    @Test
    void groupedQueryAttentionWithAlibiAndWindow() {
        Nd4j.getRandom().setSeed(43);
        SameDiff sd = SameDiff.create();
        MultiHeadAttention mha = new MultiHeadAttention("attn", AttentionConfig.of(8, 4).withKvHeads(2)
                .withAlibi(true).withWindow(3).withCausal(true), F64);
        SDVariable x = sd.var("x", Nd4j.randn(F64, 1, 5, 8));
        INDArray keep = Nd4j.createFromArray(new double[][] {{1, 1, 1, 1, 0}});
        assertTrue(check(sd, mha, x, new MultiHeadAttentionGraph(sd, mha).forward(x, AttentionMask.ofPadding(sd.constant(keep))).output(), "attn.k.",
                "attn.v.") == 40 + 2 * (32 + 4)); // k, v: [kvHeads D = 4, 8] and [4]
    }

    @Test
    void currentStyleBlockWithMultiQuery() {
        Nd4j.getRandom().setSeed(44);
        SameDiff sd = SameDiff.create();
        TransformerBlock block = new TransformerBlock("block", BlockConfig.modern(8, 4, 1, 12), F64);
        SDVariable x = sd.var("x", Nd4j.randn(F64, 1, 3, 8));
        assertTrue(check(sd, block, x, new TransformerBlockGraph(sd, block).forward(x, AttentionMask.none()).output(), "self_attn.k",
                "norm1") == 24 + 16 + 8); // k: [D = 2, 8], no bias; RMSNorm: weight only
    }

    /** MultiHeadAttention.apply runs the engine (AttentionEngine): the same output and weights as the graph. */
    @Test
    void engineApplyMatchesTheGraph() {
        AttentionConfig[] configs = {AttentionConfig.of(8, 4).withKvHeads(2).withRotary(true),
                AttentionConfig.of(8, 4).withKvHeads(1).withAlibi(true).withCausal(true),
                AttentionConfig.of(12, 6).withKvHeads(3).withAlibi(true).withWindow(2)};
        for (AttentionConfig config : configs) {
            for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
                Nd4j.getRandom().setSeed(45);
                MultiHeadAttention mha = MultiHeadAttention.create(config, type);
                INDArray x = Nd4j.randn(type, 2, 5, config.dModel());
                AttentionMask<INDArray> mask = AttentionMask.ofPadding(Nd4j.createFromArray(new double[][] {
                        {1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}).castTo(type));
                AttentionOutput<INDArray> engine = mha.apply(x, mask);
                SameDiff sd = SameDiff.create();
                SDVariable in = sd.constant(x);
                AttentionOutput<SDVariable> graph = new MultiHeadAttentionGraph(sd, mha).forward(in, AttentionMask.ofPadding(sd.constant(mask.padding())));
                double tol = type == DataType.DOUBLE ? 1e-12 : 1e-5;
                double out = graph.output().eval().sub(engine.output()).amaxNumber().doubleValue();
                double weights = graph.weights().eval().sub(engine.weights()).amaxNumber().doubleValue();
                System.out.printf("%s %s: engine apply - graph: output %.1e, weights %.1e%n", config, type, out, weights);
                assertTrue(out <= tol && weights <= tol, config + " " + type + ": " + out + ", " + weights);
            }
        }
    }
}
