package org.attn4j.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A named layer that owns trainable arrays, like PyTorch's {@code nn.Module}: the weights, not the state of
 * any call (each call or session keeps its own), so one module serves any number of threads.
 *
 * <p>Parameter names are hierarchical and dot-separated: a layer named {@code block0.attn} owns
 * {@code block0.attn.q.weight}. The same names are used in checkpoints, weight mappings and error
 * messages, and by {@code org.attn4j.samediff} for the variables of the same layer in a SameDiff graph.
 * A module with the empty name owns top-level names such as {@code q.weight}.
 */
public abstract class Module {
    protected final String name;
    protected final DataType dataType;
    private final Map<String, INDArray> ownParameters = new LinkedHashMap<>();
    private final List<Module> children = new ArrayList<>();
    private final WeightsLock weightsLock = new WeightsLock();
    private volatile boolean inputChecks = true;

    protected Module(String name, DataType dataType) {
        this.name = Objects.requireNonNull(name, "name");
        this.dataType = Objects.requireNonNull(dataType, "dataType");
        if (!dataType.isFPType()) {
            throw new IllegalArgumentException(
                    "Layer '" + name + "': parameters must be floating point, got " + dataType);
        }
    }

    /** This module's name prefix ("" for a top-level module). */
    public String name() {
        return name;
    }

    /** Guards this module's weights when several threads use the module ({@link WeightsLock}). */
    public WeightsLock weightsLock() {
        return weightsLock;
    }

    /** Data type of the parameters (FLOAT by default, DOUBLE for checks). */
    public DataType dataType() {
        return dataType;
    }

    /**
     * All trainable arrays of this module and its sub-modules, by full name, in creation order: the parameters
     * themselves (not copies), so changing one changes the layer.
     */
    public Map<String, INDArray> parameters() {
        Map<String, INDArray> all = new LinkedHashMap<>(ownParameters);
        for (Module child : children) {
            all.putAll(child.parameters());
        }
        return all;
    }

    /** Number of trainable scalars. */
    public long parameterCount() {
        return parameters().values().stream().mapToLong(INDArray::length).sum();
    }

    /**
     * Replaces parameter values by name. Every parameter of this module must be given, and no other
     * name; shapes must match exactly. Values are cast to this module's data type.
     */
    public void loadParameters(Map<String, INDArray> values) {
        Map<String, INDArray> params = parameters();
        TreeSet<String> missing = new TreeSet<>(params.keySet());
        missing.removeAll(values.keySet());
        TreeSet<String> unknown = new TreeSet<>(values.keySet());
        unknown.removeAll(params.keySet());
        if (!missing.isEmpty() || !unknown.isEmpty()) {
            throw new IllegalArgumentException("Parameters of '" + name + "' do not match: missing "
                    + missing + ", unexpected " + unknown + "; expected exactly " + params.keySet());
        }
        for (Map.Entry<String, INDArray> e : params.entrySet()) { // in creation order: the first mismatch is reported
            INDArray given = values.get(e.getKey());
            if (!Arrays.equals(e.getValue().shape(), given.shape())) {
                throw new IllegalArgumentException("Parameter '" + e.getKey() + "': expected shape "
                        + Arrays.toString(e.getValue().shape()) + ", given " + Arrays.toString(given.shape()));
            }
        }
        params.forEach((k, v) -> v.assign(values.get(k).castTo(dataType)));
    }

    /** Full name of a local name: {@code qualify("weight")} is {@code "<name>.weight"}. */
    protected final String qualify(String local) {
        return name.isEmpty() ? local : name + "." + local;
    }

    /** Set while {@link #unfilled} builds modules: their random initial values would be overwritten at once. */
    private static final ThreadLocal<Boolean> UNFILLED = ThreadLocal.withInitial(() -> false);

    /**
     * Builds modules (on this thread, inside {@code build}) whose randomly initialized parameters are allocated but
     * not drawn: a loader that reads every parameter from a file (a 124 M parameter model spent 18 s drawing values
     * it then overwrote). Norms and zero biases are set as usual.
     */
    public static <M extends Module> M unfilled(java.util.function.Supplier<M> build) {
        UNFILLED.set(true);
        try {
            return build.get();
        } finally {
            UNFILLED.set(false);
        }
    }

    /**
     * Creates the trainable array {@code <name>.<local>} of {@code shape} holding {@code initial}'s values, which are
     * drawn only when the module is not built {@link #unfilled}.
     */
    protected final INDArray parameter(String local, java.util.function.Supplier<INDArray> initial, long... shape) {
        if (UNFILLED.get()) {
            return register(local, org.nd4j.linalg.factory.Nd4j.create(dataType, shape));
        }
        INDArray drawn = initial.get();
        // The supplier's array is new and ours: kept as it is when it already has the layout, else copied and freed
        // at once (left to the garbage collector, a large model's drawn copies add up to twice its weights).
        if (drawn.dataType() == dataType && drawn.ordering() == 'c' && !drawn.isView()
                && java.util.Arrays.equals(drawn.shape(), shape)) {
            return register(local, drawn);
        }
        INDArray kept = parameter(local, drawn);
        if (drawn.closeable()) {
            drawn.close();
        }
        return kept;
    }

    /** Creates the trainable array {@code <name>.<local>} holding {@code initial} (in this module's type, c order). */
    protected final INDArray parameter(String local, INDArray initial) {
        return register(local, initial.castTo(dataType).dup('c'));
    }

    private INDArray register(String local, INDArray v) {
        String full = qualify(local);
        if (ownParameters.containsKey(full)) {
            throw new IllegalArgumentException("Layer '" + name + "' already has a parameter named '" + full + "'");
        }
        ownParameters.put(full, v);
        return v;
    }

    /**
     * Removes the parameter {@code <name>.<local>} from {@link #parameters()} (a layer whose weight is now held in a
     * compact format for inference); the caller frees its array.
     */
    protected final void release(String local) {
        if (ownParameters.remove(qualify(local)) == null) {
            throw new IllegalArgumentException("Layer '" + name + "' has no parameter named '" + qualify(local) + "'");
        }
    }

    /** This module and every module under it, depth first, this one first (PyTorch's {@code modules()}). */
    public final List<Module> modules() {
        List<Module> all = new ArrayList<>();
        all.add(this);
        for (Module child : children) {
            all.addAll(child.modules());
        }
        return all;
    }

    /** Registers a sub-module so its parameters belong to this module. */
    protected final <M extends Module> M child(M module) {
        children.add(module);
        return module;
    }

    /**
     * Whether eager calls ({@code apply}) reject inputs holding NaN or infinity with a message that
     * says where (on by default; one pass over the input).
     */
    public void setInputChecks(boolean on) {
        this.inputChecks = on;
    }

    /** Whether eager inputs are checked for NaN and infinity ({@link #setInputChecks}). */
    protected final boolean inputChecks() {
        return inputChecks;
    }

    /** Checks that an eager input has the parameters' floating-point type and, if enabled, is finite. */
    protected final void checkDataType(String what, INDArray x) {
        if (inputChecks) {
            Checks.finite(what, x);
        }
        checkType(what, x);
    }

    /** Checks that an eager input has the parameters' floating-point type (no NaN check). */
    protected final void checkType(String what, INDArray x) {
        if (x != null && x.dataType() != dataType) {
            throw new IllegalArgumentException("Layer '" + name + "': " + what + " is " + x.dataType()
                    + " but the layer's parameters are " + dataType + "; cast it with castTo("
                    + dataType + ")");
        }
    }
}
