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

    /**
     * The inverse of {@link #toAttn4j}: attn4j parameter names (of a MultiHeadAttention,
     * TransformerBlock, or stacks of them such as {@code encoder.layers.0.*}) to PyTorch state_dict
     * keys. Query, key and value projections of equal width are fused into {@code in_proj_*} as
     * PyTorch does when kdim = vdim = d_model; otherwise they stay {@code q_proj_weight} etc.
     */
    public static Map<String, INDArray> toTorch(Map<String, INDArray> attn4j) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        Map<String, Map<String, INDArray>> attention = new LinkedHashMap<>(); // attention prefix -> q/k/v/out params
        for (Map.Entry<String, INDArray> e : attn4j.entrySet()) {
            String key = e.getKey();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(.*?)(?:^|\\.)?([qkv]|out)\\.(weight|bias)$").matcher(key);
            boolean isAttention = m.matches() && (m.group(1).isEmpty() || m.group(1).endsWith("attn"));
            if (isAttention) {
                attention.computeIfAbsent(m.group(1), k -> new LinkedHashMap<>()).put(m.group(2) + "." + m.group(3), e.getValue());
            } else {
                out.put(key.replace("ff.linear", "linear").replace("cross_attn", "multihead_attn"), e.getValue());
            }
        }
        attention.forEach((prefix, p) -> {
            String base = prefix.isEmpty() ? "" : prefix.replace("cross_attn", "multihead_attn") + ".";
            INDArray q = p.get("q.weight"), k = p.get("k.weight"), v = p.get("v.weight");
            if (q == null || k == null || v == null || p.get("out.weight") == null) {
                throw new IllegalArgumentException("Attention '" + prefix + "' lacks one of q, k, v, out weights: has "
                        + p.keySet());
            }
            if (java.util.Arrays.equals(q.shape(), k.shape()) && java.util.Arrays.equals(q.shape(), v.shape())) {
                out.put(base + "in_proj_weight", org.nd4j.linalg.factory.Nd4j.concat(0, q, k, v));
            } else {
                out.put(base + "q_proj_weight", q);
                out.put(base + "k_proj_weight", k);
                out.put(base + "v_proj_weight", v);
            }
            if (p.containsKey("q.bias")) {
                out.put(base + "in_proj_bias", org.nd4j.linalg.factory.Nd4j.concat(0, p.get("q.bias"), p.get("k.bias"),
                        p.get("v.bias")));
            }
            out.put(base + "out_proj.weight", p.get("out.weight"));
            if (p.containsKey("out.bias")) {
                out.put(base + "out_proj.bias", p.get("out.bias"));
            }
        });
        return out;
    }

    /** Writes a module's parameters to a plain npz under PyTorch's state_dict names, for {@code load_state_dict}. */
    public static void exportNpz(org.attn4j.nn.Module module, java.nio.file.Path file) throws java.io.IOException {
        Map<String, INDArray> weights = new LinkedHashMap<>();
        String prefix = module.name().isEmpty() ? "" : module.name() + ".";
        module.parameters().forEach((k, v) -> weights.put(k.substring(prefix.length()), v));
        try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(file)) {
            org.attn4j.io.Npz.write(toTorch(weights), out);
        }
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
