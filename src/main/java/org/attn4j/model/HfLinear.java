package org.attn4j.model;

import java.util.List;

/**
 * One linear layer of a Hugging Face model's blocks, by transformers' module name (PEFT's adapters are named after
 * it), and the attn4j weights {@code [out_i, in]} it is: usually one; GPT-2's fused {@code c_attn} is q, k and v,
 * its output rows in thirds. GPT-2's Conv1D layers count as linears of the same in and out (as PEFT treats them).
 *
 * @param module  e.g. {@code model.layers.0.self_attn.q_proj}, {@code transformer.h.0.attn.c_attn}
 * @param in      input width
 * @param out     output width (all parts together)
 * @param weights the attn4j weight parameters, in order along the output rows, each {@code out / weights.size()}
 */
record HfLinear(String module, int in, int out, List<String> weights) {
    HfLinear {
        weights = List.copyOf(weights);
    }

    /** The module's name within its block ({@code self_attn.q_proj}, {@code mlp.c_proj}). */
    String kind() {
        return module.replaceFirst("^.*?\\.\\d+\\.", "");
    }
}
