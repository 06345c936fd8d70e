package org.attn4j.engine;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.GradientShares;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One caller's parameter gradients of a block, by parameter name (same shapes as the parameters), and the
 * workers' row shares of the linear layers' weight gradients ({@link GradientShares}).
 */
final class GradientBuffers {
    final Map<String, INDArray> gradients = new LinkedHashMap<>();
    private final Map<String, Buf> bufs = new HashMap<>();
    final GradientShares shares;

    /**
     * Zero gradients of {@code parameters} but the {@code frozen} ones; shares of {@code linearGradients} in
     * {@code scratch}'s arrays, but for the weights taken {@code byOutputRows} ({@link GradientShares#OUTPUT_ROWS}).
     */
    GradientBuffers(Map<String, INDArray> parameters, Set<String> frozen, List<String> linearGradients,
            Set<String> byOutputRows, BackwardScratch scratch) {
        parameters.forEach((name, p) -> {
            if (frozen.contains(name)) {
                return; // no gradient array for a frozen weight: LoRA's memory is the adapters'
            }
            INDArray g = Nd4j.zeros(p.dataType(), p.shape());
            gradients.put(name, g);
            bufs.put(name, Buf.of(g));
        });
        Map<String, INDArray> linear = new LinkedHashMap<>();
        linearGradients.forEach(name -> linear.put(name, gradients.get(name)));
        shares = new GradientShares(linear, scratch.shares(linear, byOutputRows), byOutputRows); // the linear layers' only
    }

    /** Bytes of the gradient arrays. */
    long bytes() {
        return gradients.values().stream().mapToLong(g -> g.length() * g.dataType().width()).sum();
    }

    /** The gradient of parameter {@code name}. */
    Buf grad(String name) {
        return bufs.get(name);
    }

    void close() {
        gradients.values().forEach(g -> {
            if (g.closeable()) {
                g.close();
            }
        });
        gradients.clear();
        bufs.clear();
    }
}
