package org.attn4j.samediff;

import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A layer's parameters as SameDiff variables: each variable is named as the parameter and holds the
 * layer's own array (not a copy), so the graph and the engine compute with the same weights and a change
 * made through one is seen by the other.
 */
final class Variables {
    private Variables() {
    }

    /**
     * The variable of {@code array}, one of {@code parameters} (a layer's, by full name), made in {@code sd} on
     * first use; null for a null array (a layer without bias).
     */
    static SDVariable of(SameDiff sd, Map<String, INDArray> parameters, INDArray array) {
        if (array == null) {
            return null;
        }
        for (Map.Entry<String, INDArray> e : parameters.entrySet()) {
            if (e.getValue() == array) {
                return variable(sd, e.getKey(), array);
            }
        }
        throw new IllegalArgumentException("The array is not one of the layer's parameters " + parameters.keySet());
    }

    /** The variable {@code name} holding {@code array}: found when the graph has it, made otherwise. */
    static SDVariable variable(SameDiff sd, String name, INDArray array) {
        if (sd.hasVariable(name)) {
            SDVariable v = sd.getVariable(name);
            if (v.getArr() != array) {
                throw new IllegalArgumentException("The graph already has a variable named '" + name
                        + "' that holds another layer's array: give each layer in one graph a unique name");
            }
            return v;
        }
        return sd.var(name, array);
    }
}
