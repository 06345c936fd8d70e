package org.attn4j.interop;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Maps PyTorch state_dict keys (and their gradients) to attn4j parameter names.
 *
 * <table>
 *   <caption>PyTorch to attn4j</caption>
 *   <tr><th>PyTorch</th><th>attn4j</th></tr>
 *   <tr><td>{@code in_proj_weight [3C, C]}</td><td>{@code q.weight}, {@code k.weight}, {@code v.weight} (row blocks)</td></tr>
 *   <tr><td>{@code in_proj_bias [3C]}</td><td>{@code q.bias}, {@code k.bias}, {@code v.bias}</td></tr>
 *   <tr><td>{@code q_proj_weight}, {@code k_proj_weight}, {@code v_proj_weight}</td><td>{@code q.weight}, {@code k.weight}, {@code v.weight}</td></tr>
 *   <tr><td>{@code out_proj.weight}, {@code out_proj.bias}</td><td>{@code out.weight}, {@code out.bias}</td></tr>
 *   <tr><td>{@code multihead_attn.*} (decoder layer)</td><td>{@code cross_attn.*}</td></tr>
 *   <tr><td>{@code linear1.*}, {@code linear2.*}</td><td>{@code ff.linear1.*}, {@code ff.linear2.*}</td></tr>
 *   <tr><td>{@code norm1.*}, {@code norm2.*}, {@code norm3.*}</td><td>the same</td></tr>
 * </table>
 * Linear weights keep PyTorch's {@code [out, in]} layout, so no transposes are needed.
 */
public final class TorchNames {
    private TorchNames() {
    }

    /**
     * Converts a PyTorch {@code nn.MultiheadAttention}, {@code TransformerEncoderLayer} or
     * {@code TransformerDecoderLayer} state_dict (or its gradients) to attn4j names under {@code prefix}.
     *
     * @param torch  PyTorch key to array
     * @param prefix attn4j name of the layer ("" for a top-level layer)
     */
    public static Map<String, INDArray> toAttn4j(Map<String, INDArray> torch, String prefix) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, INDArray> e : torch.entrySet()) {
            String key = e.getKey();
            INDArray value = e.getValue();
            int dot = key.lastIndexOf('.');
            String owner = attentionOwner(key);
            String leaf = owner == null ? key : key.substring(owner.length() + (owner.isEmpty() ? 0 : 1));
            String base = join(prefix, owner == null ? null : rename(owner));
            switch (owner == null ? "" : leaf) {
                case "in_proj_weight", "in_proj_bias" -> {
                    String kind = leaf.endsWith("weight") ? "weight" : "bias";
                    long rows = value.size(0);
                    if (rows % 3 != 0) {
                        throw new IllegalArgumentException("'" + key + "' has " + rows + " rows; expected 3 * d_model");
                    }
                    long c = rows / 3;
                    String[] parts = {"q", "k", "v"};
                    for (int i = 0; i < 3; i++) {
                        INDArray block = value.rank() == 1
                                ? value.get(NDArrayIndex.interval(i * c, (i + 1) * c))
                                : value.get(NDArrayIndex.interval(i * c, (i + 1) * c), NDArrayIndex.all());
                        out.put(join(base, parts[i] + "." + kind), block.dup('c'));
                    }
                }
                case "q_proj_weight", "k_proj_weight", "v_proj_weight" ->
                        out.put(join(base, leaf.charAt(0) + ".weight"), value);
                case "out_proj.weight", "out_proj.bias" -> out.put(join(base, "out." + leaf.substring(9)), value);
                default -> {
                    if (owner != null || dot < 0) {
                        throw new IllegalArgumentException("Unknown PyTorch parameter '" + key + "'");
                    }
                    String module = key.substring(0, dot);
                    String mapped = switch (module) {
                        case "linear1", "linear2" -> "ff." + module;
                        case "norm1", "norm2", "norm3" -> module;
                        default -> throw new IllegalArgumentException("Unknown PyTorch parameter '" + key
                                + "'; known: attention (in_proj_*, *_proj_weight, out_proj.*), linear1/2, norm1/2/3");
                    };
                    out.put(join(prefix, mapped + key.substring(dot)), value);
                }
            }
        }
        return out;
    }

    /** The attention module a key belongs to: "" for a bare MultiheadAttention, "self_attn", ...; else null. */
    private static String attentionOwner(String key) {
        for (String owner : Arrays.asList("self_attn", "multihead_attn")) {
            if (key.startsWith(owner + ".")) {
                return owner;
            }
        }
        boolean bare = key.startsWith("in_proj_") || key.endsWith("_proj_weight") || key.startsWith("out_proj.");
        return bare ? "" : null;
    }

    private static String rename(String owner) {
        return owner.equals("multihead_attn") ? "cross_attn" : owner;
    }

    private static String join(String a, String b) {
        if (b == null || b.isEmpty()) {
            return a;
        }
        return a == null || a.isEmpty() ? b : a + "." + b;
    }
}
