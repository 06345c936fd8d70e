package org.attn4j.fast;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.attn4j.nn.Activation;
import org.attn4j.nn.AttentionMask;
import org.attn4j.nn.AttentionOutput;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A hand-written forward and backward pass of an encoder {@link TransformerBlock} (self-attention and
 * feed-forward, pre- or post-LN, GELU or ReLU, with or without biases, causal and/or key-padding
 * masks), computed on the block's own parameter arrays: an update through {@link FastTraining}
 * changes the block, and a change to the block is seen here.
 *
 * <pre>
 *   forward:  in1 = pre ? norm1(x) : x;     z1 = x + out(attn(q(in1), k(in1), v(in1)));   x1 = pre ? z1 : norm1(z1)
 *             in2 = pre ? norm2(x1) : x1;   z2 = x1 + linear2(act(linear1(in2)));         y  = pre ? z2 : norm2(z2)
 * </pre>
 * Why it exists: SameDiff's step for this block spends about as long between and around ops as in
 * the matrix products (BENCHMARKS.md); here there are three parallel phases forward and four backward,
 * no graph, no allocation after the first call of a shape. Not covered: dropout while training,
 * rotary positions, cross-attention, other masks; {@link #unsupported} names what a config lacks.
 *
 * <p>Weights and state are separate: a {@link State} holds one caller's activations and parameter
 * gradients, a {@link Cache} one decoding's keys, values and step activations, so any number of threads
 * can run one block, each with its own. Outputs and gradients are views of the state's arrays,
 * overwritten by the state's next call. The state-less {@link #forward(INDArray, AttentionMask)},
 * {@link #backward(INDArray)} and {@link #gradients()} use one state of this object's own: one call at a
 * time (block-level training, {@link FastTraining}).
 */
public final class FastBlock {
    private final TransformerBlock.Config config;
    private final DataType type;
    private final Parallel parallel;
    private final Lin q, k, v, out, linear1, linear2;
    private final Norm norm1, norm2;
    /** Least elements per worker for a copy, and least rows per worker for a row phase. */
    private static final int COPY_GRAIN = 1 << 15, ROW_GRAIN = 4;
    /** Least multiply-adds of attention per worker (below this a thread hand-off costs more). */
    private static final long PAIR_WORK = 1 << 17;

    private final Map<String, INDArray> parameters = new LinkedHashMap<>();
    private State own; // the state of the state-less calls, made on first use

    private FastBlock(TransformerBlock block, Parallel parallel) {
        this.config = block.config();
        this.type = block.dataType();
        this.parallel = parallel;
        Map<String, SDVariable> p = block.parameters();
        String prefix = block.name().isEmpty() ? "" : block.name() + ".";
        q = lin(p, prefix + "self_attn.q");
        k = lin(p, prefix + "self_attn.k");
        v = lin(p, prefix + "self_attn.v");
        out = lin(p, prefix + "self_attn.out");
        linear1 = lin(p, prefix + "ff.linear1");
        linear2 = lin(p, prefix + "ff.linear2");
        norm1 = norm(p, prefix + "norm1");
        norm2 = norm(p, prefix + "norm2");
    }

    /**
     * Why {@code config} cannot run here, or empty if it can. {@code training}: also for a backward
     * pass (dropout, inactive in inference, is then not covered).
     */
    public static Optional<String> unsupported(TransformerBlock.Config config, boolean training) {
        if (config.kind() != TransformerBlock.Kind.ENCODER) {
            return Optional.of("a DECODER block (cross-attention) has no fast path");
        }
        if (config.activation() != Activation.GELU && config.activation() != Activation.RELU) {
            return Optional.of("activation " + config.activation() + " has no fast path (GELU and RELU do)");
        }
        if (config.rotary()) {
            return Optional.of("rotary positions have no fast path");
        }
        if (training && (config.dropout() > 0 || config.attnDropout() > 0)) {
            return Optional.of("dropout " + config.dropout() + " / attention dropout " + config.attnDropout()
                    + " is not applied by the fast path while training");
        }
        return Optional.empty();
    }

    /** The fast path of {@code block} on the shared {@link Parallel} pool. */
    public static FastBlock of(TransformerBlock block) {
        return of(block, Parallel.shared());
    }

    public static FastBlock of(TransformerBlock block, Parallel parallel) {
        Optional<String> why = unsupported(block.config(), false);
        if (why.isPresent()) {
            throw new IllegalArgumentException("Block '" + block.name() + "': " + why.get());
        }
        return new FastBlock(block, parallel);
    }

    public TransformerBlock.Config config() {
        return config;
    }

    /** The workers this block's passes are split over. */
    Parallel parallel() {
        return parallel;
    }

    /** The block's parameter arrays by full name (shared, not copies). */
    public Map<String, INDArray> parameters() {
        return parameters;
    }

    /**
     * One caller's activations (kept from a forward for its backward) and parameter gradients. Not for
     * two threads at once; make one per thread with {@link #newState()}.
     */
    public final class State {
        private Activations a;
        private final Map<String, INDArray> gradients = new LinkedHashMap<>();
        private final Map<String, Buf> gradBufs = new java.util.HashMap<>();

        private State() {
            parameters.forEach((name, p) -> {
                INDArray g = Nd4j.zeros(p.dataType(), p.shape());
                gradients.put(name, g);
                gradBufs.put(name, Buf.of(g));
            });
        }

        /** Gradients of this state's last backward by parameter name, same shapes as the parameters. */
        public Map<String, INDArray> gradients() {
            return gradients;
        }

        Buf grad(String name) {
            return gradBufs.get(name);
        }
    }

    /** A new, empty state for forward and backward calls of one caller. */
    public State newState() {
        return new State();
    }

    private State own() {
        if (own == null) {
            own = new State();
        }
        return own;
    }

    /** Gradients of the last state-less {@link #backward(INDArray)} by parameter name. */
    public Map<String, INDArray> gradients() {
        return own().gradients();
    }

    /** {@link #forward(State, INDArray, AttentionMask)} on this object's own state. */
    public AttentionOutput<INDArray> forward(INDArray x, AttentionMask<INDArray> mask) {
        return forward(own(), x, mask);
    }

    /** {@link #backward(State, INDArray)} on this object's own state. */
    public INDArray backward(INDArray gradOutput) {
        return backward(own(), gradOutput);
    }

    /**
     * Forward of {@code x [B, T, C]} under a mask that is none, causal, key padding {@code [B, T]}
     * (1 = real token) or both; the activations are kept for {@link #backward}. Output {@code [B, T, C]}
     * and attention weights {@code [B, H, T, T]}, both views of this object's arrays.
     */
    public AttentionOutput<INDArray> forward(State state, INDArray x, AttentionMask<INDArray> mask) {
        Shapes.check(x, mask, config, type);
        int b = (int) x.size(0), t = (int) x.size(1);
        Activations a = state.a = fit(state.a, b, t);
        copy(x, a.xb);
        Shapes.finite("x", a.xb, x.shape());
        a.causal = mask.causal();
        a.keep = mask.padding() == null ? null : Buf.of(mask.padding(), type);
        a.forwarded = true;
        Blas.singleThreaded();
        forwardPhases(a);
        return new AttentionOutput<>(view(a.y, b, t, config.dModel()), view(a.p, b, config.heads(), t, t));
    }

    /**
     * Inference into arrays of the caller's own (what {@code TransformerBlock.apply} returns): a forward on
     * a state made for this call, so concurrent calls share nothing.
     */
    public AttentionOutput<INDArray> apply(INDArray x, AttentionMask<INDArray> mask) {
        return forward(new State(), x, mask);
    }

    /**
     * Gradients of the loss given its gradient {@code gradOutput [B, T, C]} with respect to the last
     * forward's output: the parameters' into {@link #gradients()}, the input's returned {@code [B, T, C]}.
     */
    public INDArray backward(State state, INDArray gradOutput) {
        Activations a = state.a;
        if (a == null || !a.forwarded) {
            throw new IllegalStateException("backward needs a forward first");
        }
        Optional<String> why = unsupported(config, true);
        if (why.isPresent()) {
            throw new IllegalStateException("Fast backward: " + why.get());
        }
        Shapes.same("gradOutput", gradOutput, new long[] {a.b, a.t, config.dModel()}, type);
        a.ensureBackward();
        copy(gradOutput, a.dyb);
        Shapes.finite("gradOutput", a.dyb, gradOutput.shape());
        Blas.singleThreaded();
        backwardPhases(state, a);
        return view(a.dx, a.b, a.t, config.dModel());
    }

    /**
     * {@code to} = the elements of {@code from} in c order, by a Java copy: an ND4J op here would leave
     * OpenMP threads spinning on the cores the workers need next.
     */
    private void copy(INDArray from, Buf to) {
        Buf src = Buf.of(from, type);
        parallel.forRange(src.length, COPY_GRAIN, (i0, i1) -> RowMath.copy(src, i0, to, i0, i1 - i0));
    }

    // ---- forward -------------------------------------------------------------------------------

    private void forwardPhases(Activations s) {
        boolean pre = config.normFirst();
        int c = config.dModel();
        // 1. Rows: in1 = pre ? norm1(x) : x, then q, k, v.
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> {
            if (pre) {
                RowMath.layerNorm(s.xb, norm1.gamma, norm1.beta, config.eps(), s.in1, s.xhat1, s.rstd1, r0, r1, c);
            }
            Buf in1 = pre ? s.in1 : s.xb;
            q.forward(in1, s.q, r0, r1);
            k.forward(in1, s.k, r0, r1);
            v.forward(in1, s.v, r0, r1);
        });
        // 2. (batch, head) pairs: P = softmax(q k^T / sqrt(D) + mask), o = P v.
        parallel.forRange(s.b * config.heads(), pairGrain(s.t, s.t), (p0, p1) -> attention(s, p0, p1));
        // 3. Rows: out-projection, residual, norm, feed-forward, residual, norm.
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> afterAttention(s, r0, r1));
    }

    /** Rows [r0, r1) from the attention's output o to the block's output y. */
    private void afterAttention(Activations s, int r0, int r1) {
        boolean pre = config.normFirst();
        int c = config.dModel();
        out.forward(s.o, s.z1, r0, r1);
        RowMath.add(s.xb, s.z1, s.z1, r0, r1, c); // z1 = x + attn
        if (!pre) {
            RowMath.layerNorm(s.z1, norm1.gamma, norm1.beta, config.eps(), s.x1, s.xhat1, s.rstd1, r0, r1, c);
        }
        Buf x1 = pre ? s.z1 : s.x1;
        if (pre) {
            RowMath.layerNorm(x1, norm2.gamma, norm2.beta, config.eps(), s.in2, s.xhat2, s.rstd2, r0, r1, c);
        }
        Buf in2 = pre ? s.in2 : x1;
        linear1.forward(in2, s.h, r0, r1);
        RowMath.activation(s.h, s.g, s.cdf, r0 * config.ffDim(), r1 * config.ffDim());
        linear2.forward(s.g, s.z2, r0, r1);
        RowMath.add(x1, s.z2, pre ? s.y : s.z2, r0, r1, c); // z2 = x1 + ff
        if (!pre) {
            RowMath.layerNorm(s.z2, norm2.gamma, norm2.beta, config.eps(), s.y, s.xhat2, s.rstd2, r0, r1, c);
        }
    }

    /** Pairs per worker so that each has at least PAIR_WORK multiply-adds of [t, total] attention. */
    private int pairGrain(int t, int total) {
        long perPair = 2L * t * total * (config.dModel() / config.heads());
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, PAIR_WORK / Math.max(1, perPair)));
    }

    private void attention(Activations s, int p0, int p1) {
        int t = s.t, c = config.dModel(), h = config.heads(), d = c / h;
        double scale = 1 / Math.sqrt(d);
        for (int pair = p0; pair < p1; pair++) {
            int bi = pair / h, hi = pair % h;
            long rows = (long) bi * t * c + (long) hi * d; // head hi of batch bi: [T, D], leading dim C
            long scores = (long) pair * t * t;
            Blas.gemm(false, true, t, t, d, scale, s.q, rows, c, s.k, rows, c, 0, s.p, scores, t);
            for (int i = 0; i < t; i++) {
                RowMath.softmaxRow(s.p, (int) scores + i * t, t, i, s.causal, s.keep, bi * t);
            }
            Blas.gemm(false, false, t, d, t, 1, s.p, scores, t, s.v, rows, c, 0, s.o, rows, c);
        }
    }

    // ---- incremental decoding ---------------------------------------------------------------------

    /**
     * This block's self-attention keys and values for incremental decoding: rows {@code [B, capacity, C]}
     * (head h in columns [h D, (h + 1) D)), of which the first {@link #length()} per batch row are filled.
     */
    public final class Cache {
        final int batch, limit;
        int capacity, length;
        Buf keys, values;
        Buf scores; // [B, H, Tnew, length + Tnew], grown on demand
        Activations acts; // the last step's, this decoding's own

        private Cache(int batch, int limit) {
            this.batch = batch;
            this.limit = limit;
            allocate(Math.min(limit, 64));
        }

        /** New arrays of {@code newCapacity} positions per row, holding row {@code rows[i]}'s cache as row i. */
        private void allocate(int newCapacity, int[] rows) {
            Buf k = Buf.of(Nd4j.create(type, (long) rows.length * newCapacity, config.dModel()));
            Buf v = Buf.of(Nd4j.create(type, (long) rows.length * newCapacity, config.dModel()));
            int c = config.dModel();
            for (int i = 0; i < rows.length && length > 0; i++) {
                RowMath.copy(keys, rows[i] * capacity * c, k, i * newCapacity * c, length * c);
                RowMath.copy(values, rows[i] * capacity * c, v, i * newCapacity * c, length * c);
            }
            keys = k;
            values = v;
            capacity = newCapacity;
        }

        private void allocate(int newCapacity) {
            allocate(newCapacity, java.util.stream.IntStream.range(0, batch).toArray());
        }

        /** Room for {@code total} positions per row, doubling the arrays when needed. */
        void ensure(int total) {
            if (total > capacity) {
                allocate((int) Math.min(limit, grow(total, capacity)));
            }
        }

        /** Positions cached per batch row. */
        public int length() {
            return length;
        }

        /** Keeps batch rows {@code rows} (repeats allowed), in that order: beam search's reordering. */
        void select(int[] rows) {
            allocate(capacity, rows);
        }
    }

    /** An empty cache for {@code batch} sequences of at most {@code capacity} positions (grown as needed). */
    public Cache newCache(int batch, int capacity) {
        if (batch < 1 || capacity < 1) {
            throw new IllegalArgumentException("cache: batch and capacity must be positive, given " + batch + " and "
                    + capacity);
        }
        return new Cache(batch, capacity);
    }

    /**
     * Incremental inference: the new tokens {@code x [B, Tnew, C]} attend to the cached positions and to
     * each other (causally if the block is causal); their keys and values are appended to {@code cache}.
     * Returns the output {@code [B, Tnew, C]}, a view of this object's arrays until the next call.
     */
    public INDArray step(INDArray x, Cache cache) {
        Shapes.check(x, AttentionMask.none(), config, type);
        int b = (int) x.size(0), t = (int) x.size(1);
        if (b != cache.batch || cache.length + t > cache.limit) {
            throw new IllegalArgumentException("step: the cache holds " + cache.batch + " rows of " + cache.length + " of "
                    + cache.limit + " positions; given x " + Arrays.toString(x.shape()));
        }
        cache.ensure(cache.length + t);
        Activations s = cache.acts = fit(cache.acts, b, t);
        copy(x, s.xb);
        Shapes.finite("x", s.xb, x.shape());
        int total = cache.length + t, heads = config.heads();
        long need = (long) b * heads * t * total;
        if (cache.scores == null || cache.scores.length < need) {
            cache.scores = Buf.of(Nd4j.create(type, grow(need, cache.scores == null ? 0 : cache.scores.length)));
        }
        Blas.singleThreaded();
        stepPhases(s, cache, total);
        cache.length = total;
        return view(s.y, b, t, config.dModel());
    }

    private void stepPhases(Activations s, Cache cache, int total) {
        boolean pre = config.normFirst();
        int c = config.dModel(), t = s.t, past = cache.length;
        // 1. Rows of the new tokens: norm, q, and k and v appended to the cache after each row's past.
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> {
            if (pre) {
                RowMath.layerNorm(s.xb, norm1.gamma, norm1.beta, config.eps(), s.in1, s.xhat1, s.rstd1, r0, r1, c);
            }
            Buf in1 = pre ? s.in1 : s.xb;
            q.forward(in1, s.q, r0, r1);
            for (int r = r0; r < r1; ) { // one GEMM per batch row's run of new tokens in [r0, r1)
                int bi = r / t, end = Math.min(r1, (bi + 1) * t), at = bi * cache.capacity + past + (r - bi * t);
                k.project(in1, r, end - r, cache.keys, at);
                v.project(in1, r, end - r, cache.values, at);
                r = end;
            }
        });
        // 2. Pairs: the new queries against every cached key.
        int h = config.heads(), d = c / h;
        double scale = 1 / Math.sqrt(d);
        parallel.forRange(s.b * h, pairGrain(t, total), (p0, p1) -> {
            for (int pair = p0; pair < p1; pair++) {
                int bi = pair / h, hi = pair % h;
                long rows = (long) bi * t * c + (long) hi * d;
                long keys = (long) bi * cache.capacity * c + (long) hi * d;
                long scores = (long) pair * t * total;
                Blas.gemm(false, true, t, total, d, scale, s.q, rows, c, cache.keys, keys, c, 0, cache.scores, scores,
                        total);
                for (int i = 0; i < t; i++) { // query i stands at position past + i
                    RowMath.softmaxRow(cache.scores, (int) scores + i * total, total, past + i, config.causal(), null, 0);
                }
                Blas.gemm(false, false, t, d, total, 1, cache.scores, scores, total, cache.values, keys, c, 0, s.o, rows,
                        c);
            }
        });
        // 3. Rows: as in the forward pass.
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> afterAttention(s, r0, r1));
    }

    // ---- backward ------------------------------------------------------------------------------

    private void backwardPhases(State state, Activations s) {
        boolean pre = config.normFirst();
        int c = config.dModel(), f = config.ffDim();
        // 1. Rows: back through norm2, the feed-forward, norm1 (post-LN) and the out-projection.
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> {
            if (!pre) {
                RowMath.layerNormBack(s.dyb, s.xhat2, s.rstd2, norm2.gamma, s.dz2, null, r0, r1, c);
            }
            Buf dz2 = pre ? s.dyb : s.dz2;
            linear2.backwardInput(dz2, s.dg, false, r0, r1);
            RowMath.activationBack(s.h, s.cdf, s.dg, s.dg, r0 * f, r1 * f); // dg becomes dh
            linear1.backwardInput(s.dg, s.din2, false, r0, r1);
            if (pre) { // dx1 = dz2 + norm2'(din2)
                RowMath.layerNormBack(s.din2, s.xhat2, s.rstd2, norm2.gamma, s.dx1, dz2, r0, r1, c);
            } else {
                RowMath.add(s.din2, dz2, s.dx1, r0, r1, c);
                RowMath.layerNormBack(s.dx1, s.xhat1, s.rstd1, norm1.gamma, s.dz1, null, r0, r1, c);
            }
            out.backwardInput(pre ? s.dx1 : s.dz1, s.dout, false, r0, r1);
        });
        // 2. Pairs: back through attention into dq, dk, dv.
        parallel.forRange(s.b * config.heads(), pairGrain(s.t, s.t), (p0, p1) -> attentionBack(s, p0, p1));
        // 3. Rows: din1 = dq Wq + dk Wk + dv Wv; dx = dz1 + (pre ? norm1'(din1) : din1).
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> {
            q.backwardInput(s.dq, s.din1, false, r0, r1);
            k.backwardInput(s.dk, s.din1, true, r0, r1);
            v.backwardInput(s.dv, s.din1, true, r0, r1);
            Buf dz1 = pre ? s.dx1 : s.dz1;
            if (pre) {
                RowMath.layerNormBack(s.din1, s.xhat1, s.rstd1, norm1.gamma, s.dx, dz1, r0, r1, c);
            } else {
                RowMath.add(s.din1, dz1, s.dx, r0, r1, c);
            }
        });
        // 4. Parameter gradients, each worker a share of every weight's rows and every bias's columns.
        Buf in1 = pre ? s.in1 : s.xb, in2 = pre ? s.in2 : s.x1;
        Buf dz1 = pre ? s.dx1 : s.dz1, dz2 = pre ? s.dyb : s.dz2;
        int parts = parallel.threads();
        parallel.forRange(parts, (w0, w1) -> {
            for (int w = w0; w < w1; w++) {
                linear2.backwardWeights(state, dz2, s.g, s.n, parts, w);
                linear1.backwardWeights(state, s.dg, in2, s.n, parts, w);
                out.backwardWeights(state, dz1, s.o, s.n, parts, w);
                q.backwardWeights(state, s.dq, in1, s.n, parts, w);
                k.backwardWeights(state, s.dk, in1, s.n, parts, w);
                v.backwardWeights(state, s.dv, in1, s.n, parts, w);
                int c0 = Parallel.split(c, parts, w), c1 = Parallel.split(c, parts, w + 1);
                norm1.backwardParams(state, pre ? s.din1 : s.dx1, s.xhat1, s.n, c, c0, c1);
                norm2.backwardParams(state, pre ? s.din2 : s.dyb, s.xhat2, s.n, c, c0, c1);
            }
        });
    }

    private void attentionBack(Activations s, int p0, int p1) {
        int t = s.t, c = config.dModel(), h = config.heads(), d = c / h;
        double scale = 1 / Math.sqrt(d);
        for (int pair = p0; pair < p1; pair++) {
            long rows = (long) (pair / h) * t * c + (long) (pair % h) * d;
            long scores = (long) pair * t * t;
            Blas.gemm(false, true, t, t, d, 1, s.dout, rows, c, s.v, rows, c, 0, s.dp, scores, t); // dP = dO V^T
            Blas.gemm(true, false, t, d, t, 1, s.p, scores, t, s.dout, rows, c, 0, s.dv, rows, c); // dV = P^T dO
            for (int i = 0; i < t; i++) {
                RowMath.softmaxBackRow(s.p, s.dp, (int) scores + i * t, t);
            }
            Blas.gemm(false, false, t, d, t, scale, s.dp, scores, t, s.k, rows, c, 0, s.dq, rows, c); // dQ = dS K
            Blas.gemm(true, false, t, d, t, scale, s.dp, scores, t, s.q, rows, c, 0, s.dk, rows, c); // dK = dS^T Q
        }
    }

    // ---- parameters ----------------------------------------------------------------------------

    private INDArray param(Map<String, SDVariable> p, String name) {
        SDVariable var = p.get(name);
        if (var == null) {
            return null;
        }
        INDArray arr = var.getArr();
        parameters.put(name, arr);
        return arr;
    }

    private Lin lin(Map<String, SDVariable> p, String name) {
        INDArray w = param(p, name + ".weight");
        if (w == null) {
            throw new IllegalArgumentException("parameter '" + name + ".weight' not found among " + p.keySet());
        }
        INDArray bias = param(p, name + ".bias");
        return new Lin(name, Buf.of(w), bias == null ? null : Buf.of(bias), (int) w.size(1), (int) w.size(0));
    }

    /** A linear layer y = x W^T + b with W [out, in] (PyTorch's layout); gradients go to a state's arrays. */
    private record Lin(String name, Buf w, Buf bias, int in, int out) {
        /** y[r0:r1] = x[r0:r1] W^T + b. */
        void forward(Buf x, Buf y, int r0, int r1) {
            project(x, r0, r1 - r0, y, r0);
        }

        /** m rows of y from row yRow = m rows of x from row xRow, times W^T, plus b. */
        void project(Buf x, int xRow, int m, Buf y, int yRow) {
            Blas.gemm(false, true, m, out, in, 1, x, (long) xRow * in, in, w, 0, in, 0, y, (long) yRow * out, out);
            RowMath.addBias(y, bias, yRow, yRow + m, out);
        }

        /** dx[r0:r1] (=, or += when accumulate) dy[r0:r1] W. */
        void backwardInput(Buf dy, Buf dx, boolean accumulate, int r0, int r1) {
            Blas.gemm(false, false, r1 - r0, in, out, 1, dy, (long) r0 * out, out, w, 0, in, accumulate ? 1 : 0, dx,
                    (long) r0 * in, in);
        }

        /** Part {@code part} of {@code parts} of dW = dy^T x (its rows) and db = column sums of dy. */
        void backwardWeights(State state, Buf dy, Buf x, int n, int parts, int part) {
            int o0 = Parallel.split(out, parts, part), o1 = Parallel.split(out, parts, part + 1);
            Blas.gemm(true, false, o1 - o0, in, n, 1, dy, o0, out, x, 0, in, 0, state.grad(name + ".weight"),
                    (long) o0 * in, in);
            if (bias != null) {
                RowMath.columnSums(dy, null, state.grad(name + ".bias"), n, out, o0, o1);
            }
        }
    }

    private Norm norm(Map<String, SDVariable> p, String name) {
        INDArray gamma = param(p, name + ".weight"), beta = param(p, name + ".bias");
        if (gamma == null || beta == null) {
            throw new IllegalArgumentException("parameters '" + name + ".weight' and '.bias' not found among "
                    + p.keySet());
        }
        return new Norm(name, Buf.of(gamma), Buf.of(beta));
    }

    /** A layer norm's scale and shift; gradients go to a state's arrays. */
    private record Norm(String name, Buf gamma, Buf beta) {
        /** dgamma = column sums of dy * xhat, dbeta = column sums of dy, for columns [c0, c1). */
        void backwardParams(State state, Buf dy, Buf xhat, int n, int width, int c0, int c1) {
            RowMath.columnSums(dy, xhat, state.grad(name + ".weight"), n, width, c0, c1);
            RowMath.columnSums(dy, null, state.grad(name + ".bias"), n, width, c0, c1);
        }
    }

    /**
     * The activations of one call, in flat arrays with room for {@code rowCap} rows and {@code pairCap}
     * score elements: rows [N, C] or [N, F], scores [B, H, T, T]. Reused while a new (B, T) fits, so
     * decoding (T = 1, then the prompt's T) and variable batches allocate rarely; the backward pass's
     * arrays are made on its first call.
     */
    private final class Activations {
        final int rowCap;
        final long pairCap;
        int b, t, n;
        final Buf xb, in1, xhat1, rstd1, q, k, v, p, o, z1, x1, in2, xhat2, rstd2, h, g, cdf, z2, y;
        Buf dyb, dz2, dg, din2, dx1, dz1, dout, dp, dq, dk, dv, din1, dx;
        boolean causal, forwarded;
        Buf keep;

        Activations(int rowCap, long pairCap) {
            this.rowCap = rowCap;
            this.pairCap = pairCap;
            int c = config.dModel(), f = config.ffDim();
            xb = rows(c);
            in1 = rows(c);
            xhat1 = rows(c);
            rstd1 = rows(1);
            q = rows(c);
            k = rows(c);
            v = rows(c);
            p = flat(pairCap);
            o = rows(c);
            z1 = rows(c);
            x1 = rows(c);
            in2 = rows(c);
            xhat2 = rows(c);
            rstd2 = rows(1);
            h = rows(f);
            g = rows(f);
            cdf = config.activation() == Activation.GELU ? rows(f) : null;
            z2 = rows(c);
            y = rows(c);
        }

        /** Whether (b, t) fits; if so, it becomes the current shape. */
        boolean fit(int b, int t) {
            if ((long) b * t > rowCap || (long) b * config.heads() * t * t > pairCap) {
                return false;
            }
            this.b = b;
            this.t = t;
            this.n = b * t;
            return true;
        }

        void ensureBackward() {
            if (dx != null) {
                return;
            }
            int c = config.dModel(), f = config.ffDim();
            dyb = rows(c);
            dz2 = rows(c);
            dg = rows(f);
            din2 = rows(c);
            dx1 = rows(c);
            dz1 = rows(c);
            dout = rows(c);
            dp = flat(pairCap);
            dq = rows(c);
            dk = rows(c);
            dv = rows(c);
            din1 = rows(c);
            dx = rows(c);
        }

        private Buf rows(int width) {
            return flat((long) rowCap * width);
        }

        private Buf flat(long length) {
            return Buf.of(Nd4j.create(type, Math.max(1, length)));
        }
    }

    /**
     * Activations with room for (b, t): the current ones if they fit, else new ones; what outgrew its room
     * gets up to twice what is needed, so a growing T (recomputing a prefix) reallocates only now and then.
     */
    private Activations fit(Activations current, int b, int t) {
        if (current != null && current.fit(b, t)) {
            return current;
        }
        Activations fresh = new Activations((int) grow(b * t, current == null ? 0 : current.rowCap),
                grow((long) b * config.heads() * t * t, current == null ? 0 : current.pairCap));
        fresh.fit(b, t);
        return fresh;
    }

    /** Room for {@code need}: {@code have} if it is enough, else twice {@code have} but at least need, at most 2 need. */
    private static long grow(long need, long have) {
        return need <= have ? have : Math.min(2 * need, Math.max(need, 2 * have));
    }

    /** The first elements of {@code buf} as an array of {@code shape} (a view). */
    static INDArray view(Buf buf, long... shape) {
        long length = 1;
        for (long d : shape) {
            length *= d;
        }
        INDArray flat = buf.array.reshape(buf.array.length());
        return (length == flat.length() ? flat : flat.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, length)))
                .reshape('c', shape);
    }
}
