package org.attn4j.fast;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.attn4j.nn.AttentionMask;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training forward and backward of a decoder-only language model on the engine, as llm.c's
 * {@code gpt2_forward}/{@code gpt2_backward}: every step written out, on the model's own parameter arrays.
 *
 * <pre>
 *   x0     = E[ids] * scale + P[t]                     [N, C]   (N = B T rows)
 *   x      = block_L(... block_1(x0))                  [N, C]   causal, key padding where ids == pad
 *   h      = pre-LN ? norm(x) : x                      [N, C]
 *   logits = h W^T + b                                 [N, V]   (W = E when tied)
 *   loss   = mean over rows whose target != pad of (1 - s) (-log p[target]) + s mean_v(-log p[v])
 * </pre>
 * Activations and gradients live in a {@link State} the caller owns, so threads training copies of one
 * model's weights, or one trainer and any number of decoders, share nothing. What it does not cover
 * (dropout, rotary positions, activations other than GELU and ReLU) is named by {@link #unsupported}.
 */
public final class FastLanguageModel {
    private final FastDecoder.Weights w;
    private final List<FastBlock> blocks = new ArrayList<>();
    private final Parallel parallel;
    private final DataType type;
    private final int width, vocab;
    private final boolean causal;
    private static final int ROW_GRAIN = 8;

    public FastLanguageModel(List<TransformerBlock> blocks, FastDecoder.Weights weights, Parallel parallel) {
        for (TransformerBlock b : blocks) {
            this.blocks.add(FastBlock.of(b, parallel));
        }
        this.w = weights;
        this.type = weights.embedding().dataType();
        this.width = (int) weights.embedding().size(1);
        this.vocab = (int) weights.embedding().size(0);
        this.parallel = parallel;
        this.causal = blocks.isEmpty() || blocks.get(0).config().causal();
    }

    /** Why these blocks cannot be trained here, or null if they can. */
    public static String unsupported(List<TransformerBlock> blocks) {
        for (TransformerBlock b : blocks) {
            var why = FastBlock.unsupported(b.config(), true);
            if (why.isPresent()) {
                return "block '" + b.name() + "': " + why.get();
            }
        }
        return null;
    }

    /**
     * Gradients of the last backward, views of a state's arrays.
     *
     * @param embedding  {@code [V, C]} (includes the head's share when tied)
     * @param positions  {@code [maxLen, C]}, or null (positions not learned)
     * @param normWeight {@code [C]}, or null (post-LN: no final norm); likewise normBias
     * @param headWeight {@code [V, C]}, or null when tied; likewise headBias
     * @param blocks     per block, by the block's full parameter names
     */
    public record Gradients(INDArray embedding, INDArray positions, INDArray normWeight, INDArray normBias,
            INDArray headWeight, INDArray headBias, List<Map<String, INDArray>> blocks) {
    }

    /** One caller's activations and gradients; reused while the batch shape fits. */
    public final class State {
        private final List<FastBlock.State> blockStates = new ArrayList<>();
        private final Gradients gradients;
        private final Buf dEmbedding, dPositions, dNormW, dNormB, dHeadW, dHeadB;
        private int capacity, b, t, n, counted;
        private Buf x0, x, h, xhat, rstd, logits, rowLoss, dh, dx;
        private int[] ids, targets;
        private boolean forwarded;

        private State() {
            List<Map<String, INDArray>> blockGrads = new ArrayList<>();
            for (FastBlock block : blocks) {
                FastBlock.State s = block.newState();
                blockStates.add(s);
                blockGrads.add(s.gradients());
            }
            boolean tied = w.headWeight() == w.embedding();
            gradients = new Gradients(zerosLike(w.embedding()), w.learnedPositions() ? zerosLike(w.positions()) : null,
                    zerosLike(w.normWeight()), zerosLike(w.normBias()), tied ? null : zerosLike(w.headWeight()),
                    zerosLike(w.headBias()), blockGrads);
            dEmbedding = Buf.of(gradients.embedding());
            dPositions = buf(gradients.positions());
            dNormW = buf(gradients.normWeight());
            dNormB = buf(gradients.normBias());
            dHeadW = tied ? dEmbedding : Buf.of(gradients.headWeight());
            dHeadB = buf(gradients.headBias());
        }

        /** The last backward's gradients. */
        public Gradients gradients() {
            return gradients;
        }

        /** Non-padding targets of the last forward (what the loss is the mean over). */
        public int counted() {
            return counted;
        }

        /**
         * The logits {@code [B, T, V]} of the last forward without targets, a view of this state's array (a
         * forward with targets turns them into probabilities, and its backward into their gradient).
         */
        public INDArray logits() {
            return FastBlock.view(logits, b, t, vocab);
        }

        private void fit(int batch, int time) {
            b = batch;
            t = time;
            n = batch * time;
            if (n <= capacity) {
                return;
            }
            capacity = n;
            x0 = rows(width);
            x = rows(width);
            h = rows(width);
            xhat = rows(width);
            rstd = rows(1);
            logits = rows(vocab);
            rowLoss = rows(1);
            dh = rows(width);
            dx = rows(width);
        }

        private Buf rows(int cols) {
            return Buf.of(Nd4j.create(type, (long) capacity * cols));
        }
    }

    /** A new state for one caller. */
    public State newState() {
        return new State();
    }

    /**
     * Forward of {@code ids [B][T]} to the mean loss against {@code targets [B][T]} (rows whose target is
     * {@code padId} are not counted; padId < 0: every row counts) with label smoothing {@code smoothing}.
     * Keys whose input id is padId are masked. Returns the loss (0 when no target counts).
     */
    public double forward(State s, int[][] ids, int[][] targets, int padId, double smoothing) {
        int batch = ids.length, time = ids[0].length;
        if (time > w.maxLen()) {
            throw new IllegalArgumentException("input has length " + time + " but the model's positions cover "
                    + w.maxLen() + " (maxLen)");
        }
        s.fit(batch, time);
        s.ids = flatten(ids, "input");
        s.targets = targets == null ? null : flatten(targets, "target");
        Blas.singleThreaded();
        // x0 = E[id] * scale + P[t]
        double scale = w.scaleEmbedding() ? Math.sqrt(width) : 1;
        Buf table = Buf.of(w.embedding()), pos = w.positions() == null ? null : Buf.of(w.positions());
        parallel.forRange(s.n, ROW_GRAIN * 8, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int id = s.ids[r], o = r * width;
                for (int j = 0; j < width; j++) {
                    double e = table.get(id * width + j) * scale;
                    s.x0.put(o + j, pos == null ? e : e + pos.get((r % s.t) * width + j));
                }
            }
        });
        AttentionMask<INDArray> mask = causal ? AttentionMask.causalOnly() : AttentionMask.none();
        if (padId >= 0 && Arrays.stream(s.ids).anyMatch(id -> id == padId)) {
            INDArray keep = Nd4j.create(type, s.b, s.t);
            Buf k = Buf.of(keep);
            for (int r = 0; r < s.n; r++) {
                k.put(r, s.ids[r] == padId ? 0 : 1);
            }
            mask = mask.withPadding(keep);
        }
        INDArray x = FastBlock.view(s.x0, s.b, s.t, width);
        for (int i = 0; i < blocks.size(); i++) {
            x = blocks.get(i).forward(s.blockStates.get(i), x, mask).output();
        }
        Buf xs = Buf.of(x);
        Buf head = Buf.of(w.headWeight()), headBias = w.headBias() == null ? null : Buf.of(w.headBias());
        Buf normW = w.normWeight() == null ? null : Buf.of(w.normWeight());
        Buf normB = normW == null ? null : Buf.of(w.normBias());
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> {
            RowMath.copy(xs, r0 * width, s.x, r0 * width, (r1 - r0) * width);
            if (normW != null) { // h = norm(x)
                RowMath.layerNorm(s.x, normW, normB, w.eps(), s.h, s.xhat, s.rstd, r0, r1, width);
            }
            Buf hs = normW != null ? s.h : s.x;
            // logits = h W^T + b
            Blas.gemm(false, true, r1 - r0, vocab, width, 1, hs, (long) r0 * width, width, head, 0, width, 0, s.logits,
                    (long) r0 * vocab, vocab);
            RowMath.addBias(s.logits, headBias, r0, r1, vocab);
            if (s.targets != null) {
                for (int r = r0; r < r1; r++) {
                    s.rowLoss.put(r, rowLoss(s.logits, r, s.targets[r], padId, smoothing));
                }
            }
        });
        s.forwarded = true;
        if (s.targets == null) {
            return Double.NaN;
        }
        int count = 0;
        double sum = 0;
        for (int r = 0; r < s.n; r++) {
            if (s.targets[r] != padId) {
                count++;
                sum += s.rowLoss.get(r);
            }
        }
        s.counted = count;
        return sum / Math.max(1, count);
    }

    /** Row r's loss; the row of logits becomes its softmax p, kept for the backward pass. */
    private double rowLoss(Buf logits, int r, int target, int padId, double smoothing) {
        int o = r * vocab;
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
            max = Math.max(max, logits.get(o + v));
        }
        double sum = 0, meanLogit = 0;
        for (int v = 0; v < vocab; v++) {
            double z = logits.get(o + v);
            meanLogit += z;
            sum += Math.exp(z - max);
        }
        double logSum = max + Math.log(sum);
        meanLogit /= vocab;
        double nll = target == padId ? 0 : logSum - logits.get(o + target); // -log p[target]
        for (int v = 0; v < vocab; v++) {
            logits.put(o + v, Math.exp(logits.get(o + v) - logSum));
        }
        // -mean_v log p[v] = logSum - mean_v z
        return (1 - smoothing) * nll + smoothing * (logSum - meanLogit);
    }

    /**
     * Backward of the last {@link #forward} with targets: every parameter's gradient of the mean loss into
     * {@link State#gradients()} (overwritten, not accumulated).
     */
    public void backward(State s, int padId, double smoothing) {
        if (!s.forwarded || s.targets == null) {
            throw new IllegalStateException("backward needs a forward with targets first");
        }
        Blas.singleThreaded();
        double inv = 1.0 / Math.max(1, s.counted), uniform = smoothing / vocab;
        Buf hs = w.normWeight() != null ? s.h : s.x;
        Buf head = Buf.of(w.headWeight());
        // dlogits = (p - (1 - s) onehot - s / V) / count, zero where the target is padding (in place of p)
        parallel.forRange(s.n, ROW_GRAIN, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * vocab, target = s.targets[r];
                boolean ignored = target == padId;
                for (int v = 0; v < vocab; v++) {
                    double d = s.logits.get(o + v) - uniform - (v == target ? 1 - smoothing : 0);
                    s.logits.put(o + v, ignored ? 0 : d * inv);
                }
            }
            // dh = dlogits W
            Blas.gemm(false, false, r1 - r0, width, vocab, 1, s.logits, (long) r0 * vocab, vocab, head, 0, width, 0,
                    s.dh, (long) r0 * width, width);
            if (w.normWeight() != null) { // dx = norm'(dh)
                RowMath.layerNormBack(s.dh, s.xhat, s.rstd, Buf.of(w.normWeight()), s.dx, null, r0, r1, width);
            }
        });
        int parts = parallel.threads();
        parallel.forRange(parts, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                // dW = dlogits^T h, db = column sums of dlogits (a share of W's rows each)
                int v0 = Parallel.split(vocab, parts, p), v1 = Parallel.split(vocab, parts, p + 1);
                Blas.gemm(true, false, v1 - v0, width, s.n, 1, s.logits, v0, vocab, hs, 0, width, 0, s.dHeadW,
                        (long) v0 * width, width);
                if (s.dHeadB != null) {
                    RowMath.columnSums(s.logits, null, s.dHeadB, s.n, vocab, v0, v1);
                }
                if (s.dNormW != null) {
                    int c0 = Parallel.split(width, parts, p), c1 = Parallel.split(width, parts, p + 1);
                    RowMath.columnSums(s.dh, s.xhat, s.dNormW, s.n, width, c0, c1);
                    RowMath.columnSums(s.dh, null, s.dNormB, s.n, width, c0, c1);
                }
            }
        });
        INDArray dx = FastBlock.view(w.normWeight() != null ? s.dx : s.dh, s.b, s.t, width);
        for (int i = blocks.size() - 1; i >= 0; i--) {
            dx = blocks.get(i).backward(s.blockStates.get(i), dx);
        }
        Buf d0 = Buf.of(dx);
        boolean tied = s.dHeadW == s.dEmbedding;
        double scale = w.scaleEmbedding() ? Math.sqrt(width) : 1;
        // dE[id] += scale dx0[r], dP[t] += dx0[r]: each worker a share of the columns, so no two write one element
        parallel.forRange(parts, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int c0 = Parallel.split(width, parts, p), c1 = Parallel.split(width, parts, p + 1);
                if (!tied) {
                    for (int v = 0; v < vocab; v++) {
                        for (int j = c0; j < c1; j++) {
                            s.dEmbedding.put(v * width + j, 0);
                        }
                    }
                }
                for (int row = 0; s.dPositions != null && row < w.maxLen(); row++) {
                    for (int j = c0; j < c1; j++) {
                        s.dPositions.put(row * width + j, 0);
                    }
                }
                for (int r = 0; r < s.n; r++) {
                    int e = s.ids[r] * width, o = r * width, at = (r % s.t) * width;
                    for (int j = c0; j < c1; j++) {
                        double g = d0.get(o + j);
                        s.dEmbedding.put(e + j, s.dEmbedding.get(e + j) + scale * g);
                        if (s.dPositions != null) {
                            s.dPositions.put(at + j, s.dPositions.get(at + j) + g);
                        }
                    }
                }
            }
        });
    }

    private int[] flatten(int[][] rows, String what) {
        int time = rows[0].length;
        int[] flat = new int[rows.length * time];
        for (int bi = 0; bi < rows.length; bi++) {
            if (rows[bi].length != time) {
                throw new IllegalArgumentException(what + ": every row must have " + time + " ids, row " + bi + " has "
                        + rows[bi].length);
            }
            for (int ti = 0; ti < time; ti++) {
                int id = rows[bi][ti];
                flat[bi * time + ti] = id;
            }
        }
        return flat;
    }

    private static INDArray zerosLike(INDArray a) {
        return a == null ? null : Nd4j.zeros(a.dataType(), a.shape());
    }

    private static Buf buf(INDArray a) {
        return a == null ? null : Buf.of(a);
    }
}
