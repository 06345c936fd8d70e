package org.attn4j.model;

import java.util.List;

/**
 * One tensor of a Hugging Face checkpoint and the attn4j parameters it fills: usually one, as it is or
 * transposed (GPT-2's Conv1D weights are stored {@code [in, out]}, attn4j's {@code [out, in]}); GPT-2's fused
 * {@code c_attn} fills q, k and v, side by side along its last axis.
 *
 * @param name  the tensor's name in the file
 * @param shape its shape in the file
 * @param parts the parameters, in order along the last axis
 */
record HfTensor(String name, long[] shape, List<Part> parts) {
    /** A parameter filled from the tensor (or its slice), transposed or not. */
    record Part(String parameter, boolean transposed) {
    }

    static HfTensor same(String name, String parameter, long... shape) {
        return new HfTensor(name, shape, List.of(new Part(parameter, false)));
    }

    static HfTensor transposed(String name, String parameter, long... shape) {
        return new HfTensor(name, shape, List.of(new Part(parameter, true)));
    }

    /** Whether the file's data can be read straight into the one parameter. */
    boolean direct() {
        return parts.size() == 1 && !parts.get(0).transposed();
    }
}
