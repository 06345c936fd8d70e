package org.attn4j.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.function.Function;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A named part of a SameDiff graph that owns trainable variables, like PyTorch's {@code nn.Module}.
 *
 * <p>Parameter names are hierarchical and dot-separated: a layer named {@code block0.attn} owns
 * {@code block0.attn.q.weight}. The same names are used in checkpoints, weight mappings and error
 * messages. A module with the empty name owns top-level names such as {@code q.weight}.
 */
public abstract class Module {
    protected final SameDiff sd;
    protected final String name;
    protected final DataType dataType;
    private final Map<String, SDVariable> ownParameters = new LinkedHashMap<>();
    private final List<Module> children = new ArrayList<>();
    private final Map<String, EagerGraph> eagerGraphs = new java.util.concurrent.ConcurrentHashMap<>();
    private final GraphLock graphLock = new GraphLock();
    private volatile boolean inputChecks = true;

    protected Module(SameDiff sd, String name, DataType dataType) {
        this.sd = Objects.requireNonNull(sd, "sd");
        this.name = Objects.requireNonNull(name, "name");
        this.dataType = Objects.requireNonNull(dataType, "dataType");
        if (!dataType.isFPType()) {
            throw new IllegalArgumentException(
                    "Layer '" + name + "': parameters must be floating point, got " + dataType);
        }
    }

    /** The graph this module's variables and operations live in. */
    public SameDiff sameDiff() {
        return sd;
    }

    /** This module's name prefix ("" for a top-level module). */
    public String name() {
        return name;
    }

    /** Guards this module's graph when several threads use the module ({@link GraphLock}). */
    public GraphLock graphLock() {
        return graphLock;
    }

    /** Data type of the parameters (FLOAT by default, DOUBLE for checks). */
    public DataType dataType() {
        return dataType;
    }

    /** All trainable variables of this module and its sub-modules, by full name, in creation order. */
    public Map<String, SDVariable> parameters() {
        Map<String, SDVariable> all = new LinkedHashMap<>(ownParameters);
        for (Module child : children) {
            all.putAll(child.parameters());
        }
        return all;
    }

    /** Number of trainable scalars. */
    public long parameterCount() {
        return parameters().values().stream().mapToLong(v -> v.getArr().length()).sum();
    }

    /**
     * Replaces parameter values by name. Every parameter of this module must be given, and no other
     * name; shapes must match exactly. Values are cast to this module's data type.
     */
    public void loadParameters(Map<String, INDArray> values) {
        Map<String, SDVariable> params = parameters();
        TreeSet<String> missing = new TreeSet<>(params.keySet());
        missing.removeAll(values.keySet());
        TreeSet<String> unknown = new TreeSet<>(values.keySet());
        unknown.removeAll(params.keySet());
        if (!missing.isEmpty() || !unknown.isEmpty()) {
            throw new IllegalArgumentException("Parameters of '" + name + "' do not match: missing "
                    + missing + ", unexpected " + unknown + "; expected exactly " + params.keySet());
        }
        for (Map.Entry<String, SDVariable> e : params.entrySet()) { // in creation order: the first mismatch is reported
            INDArray current = e.getValue().getArr();
            INDArray given = values.get(e.getKey());
            if (!Arrays.equals(current.shape(), given.shape())) {
                throw new IllegalArgumentException("Parameter '" + e.getKey() + "': expected shape "
                        + Arrays.toString(current.shape()) + ", given " + Arrays.toString(given.shape()));
            }
        }
        params.forEach((k, v) -> v.getArr().assign(values.get(k).castTo(dataType)));
    }

    /** Full name of a local name: {@code qualify("weight")} is {@code "<name>.weight"}. */
    protected final String qualify(String local) {
        return name.isEmpty() ? local : name + "." + local;
    }

    /** Creates a trainable variable {@code <name>.<local>} holding {@code initial}. */
    protected final SDVariable parameter(String local, INDArray initial) {
        String full = qualify(local);
        if (sd.hasVariable(full)) {
            throw new IllegalArgumentException("The graph already has a variable named '" + full
                    + "': give each layer in one graph a unique name");
        }
        SDVariable v = sd.var(full, initial.castTo(dataType));
        ownParameters.put(full, v);
        return v;
    }

    /** Registers a sub-module so its parameters belong to this module. */
    protected final <M extends Module> M child(M module) {
        children.add(module);
        return module;
    }

    /**
     * Runs a piece of this module's graph on concrete arrays. The subgraph is built once for each
     * label and input signature (names, ranks and types of the non-null inputs) and reused after.
     *
     * @param label  what is being run, e.g. "forward" or "forward.causal"
     * @param inputs named input arrays; null values are left out of the signature
     * @param build  adds the operations, given one placeholder per input, and returns the outputs
     * @return the named outputs, computed
     */
    protected final Map<String, INDArray> runEager(String label, Map<String, INDArray> inputs,
            Function<Map<String, SDVariable>, Map<String, SDVariable>> build) {
        Map<String, INDArray> present = new LinkedHashMap<>();
        inputs.forEach((k, v) -> {
            if (v != null) {
                present.put(k, v);
            }
        });
        StringBuilder key = new StringBuilder(label);
        present.forEach((k, v) -> key.append('|').append(k).append(':').append(v.rank())
                .append(':').append(v.dataType()));
        EagerGraph built = eagerGraphs.get(key.toString());
        EagerGraph graph = built != null ? built : graphLock.write(() -> eagerGraphs.computeIfAbsent(key.toString(),
                k -> EagerGraph.build(sd, qualify("eager" + eagerGraphs.size()), present, build)));
        return graphLock.read(() -> graph.run(present));
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

    /** One built eager subgraph: its placeholders and output names. */
    private record EagerGraph(SameDiff sd, Map<String, String> placeholderNames,
            Map<String, String> outputNames) {
        static EagerGraph build(SameDiff sd, String prefix, Map<String, INDArray> inputs,
                Function<Map<String, SDVariable>, Map<String, SDVariable>> build) {
            Map<String, SDVariable> placeholders = new LinkedHashMap<>();
            Map<String, String> placeholderNames = new LinkedHashMap<>();
            inputs.forEach((k, v) -> {
                long[] shape = new long[v.rank()];
                Arrays.fill(shape, -1);
                SDVariable ph = sd.placeHolder(prefix + "." + k, v.dataType(), shape);
                placeholders.put(k, ph);
                placeholderNames.put(k, ph.name());
            });
            Map<String, String> outputNames = new LinkedHashMap<>();
            build.apply(placeholders).forEach((k, v) -> outputNames.put(k, v.name()));
            return new EagerGraph(sd, placeholderNames, outputNames);
        }

        Map<String, INDArray> run(Map<String, INDArray> inputs) {
            Map<String, INDArray> feeds = new HashMap<>();
            inputs.forEach((k, v) -> feeds.put(placeholderNames.get(k), v));
            Map<String, INDArray> computed = sd.output(feeds, new ArrayList<>(outputNames.values()));
            Map<String, INDArray> result = new LinkedHashMap<>();
            outputNames.forEach((k, v) -> result.put(k, computed.get(v)));
            return result;
        }
    }
}
