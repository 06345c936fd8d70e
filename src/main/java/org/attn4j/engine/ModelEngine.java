package org.attn4j.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.CrossEntropyKernel;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.GradientShares;
import org.attn4j.kernels.LinearKernel;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RowMath;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training forward and backward of a whole model on the engine, as llm.c's {@code gpt2_forward} and
 * {@code gpt2_backward}: a decoder-only language model, or an encoder-decoder, every step written out
 * on the model's own parameter arrays.
 *
 * <pre>
 *   memory = encoder stack of the source (encoder-decoder only)     [B S, C]
 *   x0     = drop(E[ids] * scale + P[t])                             [N, C]   (N = B T rows)
 *   x      = block_L(... block_1(x0))                                [N, C]   causal, key padding where ids == pad,
 *                                                                             cross-attention over memory
 *   h      = pre-LN ? norm(x) : x                                    [N, C]
 *   logits = h W^T + b                                               [N, V]   (W = E when tied)
 *   loss   = mean over rows whose target != pad of (1 - s) (-log p[target]) + s mean_v(-log p[v])
 * </pre>
 * The encoder stack is the same: embedding, positions, self-attention blocks (key padding of the
 * source), final norm. Each stack is a {@link StackEngine} (the rows up to the head, forward and backward, and
 * the packing of trailing padding); this class adds the head and the loss, and their backward. Activations and gradients live in a {@link State} the caller owns, so threads
 * training copies of one model's weights, or one trainer and any number of decoders, share nothing.
 * Dropout (the embeddings' and every block's) applies only to a forward given a {@link DropoutSeed}, with
 * that seed's masks: the encoder's blocks are layers 0 .. Le-1, the decoder's Le onwards.
 */
public final class ModelEngine {
    private static final int ROW_GRAIN = StackEngine.ROW_GRAIN;
    private final StackEngine encoder, decoder; // encoder: null for a language model
    private final StackWeights w;
    private final Parallel parallel;
    private final Map<String, org.attn4j.kernels.LoraKernel.Part> adapters; // null: not LoRA
    private final DataType type;
    private final int width, vocab;

    /** A decoder-only model: {@code blocks} are causal self-attention blocks. */
    public ModelEngine(List<BlockEngine> blocks, StackWeights weights, Parallel parallel) {
        this(List.of(), null, blocks, weights, parallel);
    }

    /**
     * An encoder-decoder: the encoder's blocks and weights (embedding, positions, final norm; no head) and
     * the decoder's, whose blocks attend to the encoder's output.
     */
    public ModelEngine(List<BlockEngine> encoderBlocks, StackWeights encoderWeights,
            List<BlockEngine> blocks, StackWeights weights, Parallel parallel) {
        this(encoderBlocks, encoderWeights, blocks, weights, parallel, null);
    }

    /**
     * A decoder-only model for LoRA fine-tuning: {@code blocks} adapted ({@link BlockEngine#adapted}), so the blocks'
     * weights are frozen and their gradients are the adapters'; the embedding, positions, norm and head frozen too.
     */
    public ModelEngine(List<BlockEngine> blocks, StackWeights weights, Parallel parallel,
            Map<String, org.attn4j.kernels.LoraKernel.Part> adapters) {
        this(List.of(), null, blocks, weights, parallel, java.util.Objects.requireNonNull(adapters, "adapters"));
    }

    private ModelEngine(List<BlockEngine> encoderBlocks, StackWeights encoderWeights,
            List<BlockEngine> blocks, StackWeights weights, Parallel parallel,
            Map<String, org.attn4j.kernels.LoraKernel.Part> adapters) {
        this.parallel = parallel;
        this.adapters = adapters;
        this.w = weights;
        this.type = weights.embedding().dataType();
        this.width = (int) weights.embedding().size(1);
        this.vocab = (int) weights.headWeight().size(0);
        boolean frozen = adapters != null;
        this.encoder = encoderWeights == null ? null : new StackEngine(encoderBlocks, encoderWeights, parallel, frozen,
                0, DropoutSeed.SOURCE_EMBEDDING);
        this.decoder = new StackEngine(blocks, weights, parallel, frozen, encoderBlocks.size(), DropoutSeed.EMBEDDING);
    }

    /**
     * Gradients of the last backward, views of a state's arrays.
     *
     * @param embedding  {@code [V, C]} (includes the head's share when tied); null with LoRA, as the four below
     * @param positions  {@code [maxLen, C]}, or null (positions not learned)
     * @param normWeight {@code [C]}, or null (post-LN: no final norm); likewise normBias
     * @param headWeight {@code [V, C]}, or null when tied or for an encoder; likewise headBias
     * @param blocks     per block, by the block's full parameter names
     */
    public record Gradients(INDArray embedding, INDArray positions, INDArray normWeight, INDArray normBias,
            INDArray headWeight, INDArray headBias, List<Map<String, INDArray>> blocks) {
    }

    /** One caller's activations and gradients; reused while the batch shape fits. */
    public final class State implements AutoCloseable {
        private final StackState enc, dec;
        private final Gradients gradients, encoderGradients;
        private final Buf dHeadW, dHeadB;
        private int capacity, counted;
        private Buf logits, rowLoss, dMemory;
        private GradientShares headShares; // the workers' row shares of the head's dW and db, made on first use
        private final BackwardScratch scratch; // every block's backward arrays and shares, and the head's; null: inference
        private int[] targets;
        private boolean forwarded;

        private State(boolean withGradients) {
            scratch = withGradients ? new BackwardScratch(parallel.threads()) : null;
            enc = encoder == null ? null : encoder.newState(scratch);
            dec = decoder.newState(scratch);
            boolean learns = withGradients && adapters == null; // LoRA: the head is frozen
            boolean tied = w.headWeight() == w.embedding();
            INDArray headW = learns && !tied ? StackState.zerosLike(w.headWeight()) : null;
            INDArray headB = learns ? StackState.zerosLike(w.headBias()) : null;
            gradients = gradients(dec, headW, headB);
            encoderGradients = enc == null ? null : gradients(enc, null, null);
            dHeadW = !learns ? null : tied ? dec.dEmbedding : Buf.of(headW);
            dHeadB = StackState.buf(headB);
        }

        private static Gradients gradients(StackState st, INDArray headW, INDArray headB) {
            return st.blockGradients == null ? null : new Gradients(st.embeddingGradient, st.positionsGradient,
                    st.normWeightGradient, st.normBiasGradient, headW, headB, st.blockGradients);
        }

        /** Bytes of this state's arrays by what they hold, as they are now. */
        public StateMemory memory() {
            return StateMemory.count(enc == null ? List.of(dec) : List.of(enc, dec),
                    dHeadW == null || dHeadW == dec.dEmbedding ? null : dHeadW.array, dHeadB == null ? null : dHeadB.array,
                    logits, rowLoss, dMemory, scratch);
        }

        /** Frees this state's arrays now (it must not be used after). */
        @Override
        public void close() {
            if (enc != null) {
                enc.close();
            }
            dec.close();
            for (Buf b : new Buf[] {logits, rowLoss, dMemory}) {
                if (b != null) {
                    b.close();
                }
            }
            if (headShares != null) {
                headShares.close();
            }
            if (scratch != null) {
                scratch.close();
            }
        }

        /**
         * Activation checkpointing (gradient checkpointing) from the next forward on: each block keeps only its input
         * rows {@code [N, C]}, its activations freed once the next block has run; the backward runs each block's
         * forward again from its input (the same dropout masks) just before that block's backward. The gradients are
         * the same bit for bit; the activations held at once are one block's instead of every block's, for one more
         * forward of the blocks. For training states (an inference state keeps nothing for a backward anyway).
         */
        public void checkpointActivations(boolean on) {
            dec.checkpoint = on && gradients != null;
            if (enc != null) {
                enc.checkpoint = dec.checkpoint;
            }
        }

        /**
         * The head's gradients ("weight": the embedding's when tied, "bias" if any) in row shares, made once; a
         * large head's weight by ranges of vocabulary rows instead ({@link GradientShares#OUTPUT_ROWS}: no
         * per-worker copy, GPT-2's would be 154 MB), as the blocks' large weights.
         */
        private GradientShares headShares(LinearKernel head) {
            if (headShares == null) {
                Map<String, INDArray> grads = new java.util.LinkedHashMap<>();
                grads.put("weight", dHeadW.array);
                if (dHeadB != null) {
                    grads.put("bias", dHeadB.array);
                }
                java.util.Set<String> byRows = head.gradientByOutputRows() ? java.util.Set.of("weight")
                        : java.util.Set.of();
                headShares = new GradientShares(grads, scratch.shares(grads, byRows), byRows);
            }
            return headShares;
        }

        /**
         * Every encoder block's self-attention weights {@code [B, H, S, S]} of the last forward (new arrays); of a
         * forward without targets: one with targets packs its rows ({@link #forward}) and computes the weights of
         * the kept positions only, as it does for the two methods below.
         */
        public List<INDArray> encoderSelfWeights() {
            return enc == null ? List.of() : weights(encoder, enc, false);
        }

        /** Every decoder block's self-attention weights {@code [B, H, T, T]} of the last forward (new arrays). */
        public List<INDArray> selfWeights() {
            return weights(decoder, dec, false);
        }

        /** Every decoder block's cross-attention weights {@code [B, H, T, S]} (new arrays; none for a language model). */
        public List<INDArray> crossWeights() {
            return enc == null ? List.of() : weights(decoder, dec, true);
        }

        private List<INDArray> weights(StackEngine stack, StackState st, boolean cross) {
            List<INDArray> all = new ArrayList<>();
            for (int i = 0; i < st.blockStates.size(); i++) {
                BlockEngine block = stack.blocks.get(i);
                BlockState bs = st.blockStates.get(i);
                all.add((cross ? block.crossWeights(bs) : block.selfWeights(bs)).dup('c'));
            }
            return all;
        }

        /** The last backward's gradients of the decoder side (embedding, positions, blocks, norm, head). */
        public Gradients gradients() {
            return gradients;
        }

        /** The last backward's gradients of the encoder side, or null for a language model. */
        public Gradients encoderGradients() {
            return encoderGradients;
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
            return Shapes.view(logits, dec.b, dec.t, vocab);
        }

        private void fit(int n) {
            if (n <= capacity) {
                return;
            }
            capacity = n;
            if (logits != null) {
                logits.close();
                rowLoss.close();
            }
            logits = rows(n, vocab);
            rowLoss = rows(n, 1);
        }
    }

    /** A new state for one caller's training: forward and backward. */
    public State newState() {
        return new State(true);
    }

    /** A new state for inference: forward only (no gradient arrays). */
    public State newInferenceState() {
        return new State(false);
    }

    /**
     * Forward of {@code ids [B][T]} (after {@code source [B][S]} is encoded, for an encoder-decoder; null
     * otherwise) to the mean loss against {@code targets [B][T]}: rows whose target is {@code padId} are
     * not counted ({@code padId < 0}: every row counts), with label smoothing {@code smoothing}. Keys whose id is
     * padId are masked, in the source and the target. Without targets (null) it computes the logits only
     * and returns NaN. Returns the loss (0 when no target counts). With targets and a padding id, each
     * sequence's trailing padding is left out of the rows (see {@code stackForward}): the loss and, after
     * {@link #backward}, the gradients are those of the padded rows, but the state's attention weights are
     * then only those of the kept positions.
     */
    public double forward(State s, int[][] source, int[][] ids, int[][] targets, int padId, double smoothing) {
        return forward(s, source, ids, targets, padId, smoothing, null);
    }

    /**
     * {@link #forward(State, int[][], int[][], int[][], int, double)} while training: the embeddings' and
     * blocks' dropout with the masks of {@code dropout} (null: none, as inference), which the backward pass
     * uses too.
     */
    public double forward(State s, int[][] source, int[][] ids, int[][] targets, int padId, double smoothing,
            DropoutSeed dropout) {
        if ((source == null) != (encoder == null)) {
            throw new IllegalArgumentException(encoder == null ? "a language model takes no source"
                    : "an encoder-decoder needs a source");
        }
        Blas.singleThreaded();
        int[] flatTargets = targets == null ? null : Ids.flatten(targets, "target", ids.length, ids[0].length);
        // With targets, only the loss is read: each sequence's trailing padding runs no products (see pack)
        boolean pack = targets != null && padId >= 0;
        INDArray memory = null;
        if (encoder != null) {
            memory = encoder.forward(s.enc, source, null, padId, pack, null, null, dropout);
        }
        decoder.forward(s.dec, ids, flatTargets, padId, pack, memory, s.enc, dropout);
        StackState d = s.dec;
        s.fit(d.n);
        s.targets = flatTargets == null || d.starts == null ? flatTargets : d.packed(flatTargets);
        Buf hs = d.output();
        LinearKernel head = head();
        parallel.forRange(d.n, ROW_GRAIN, (r0, r1) -> {
            head.forward(hs, s.logits, r0, r1); // logits = h W^T + b
            for (int r = r0; s.targets != null && r < r1; r++) {
                int target = s.targets[r];
                s.rowLoss.put(r, CrossEntropyKernel.forwardRow(s.logits, r * vocab, vocab, target, target == padId,
                        smoothing));
            }
        });
        s.forwarded = true;
        if (s.targets == null) {
            return Double.NaN;
        }
        int count = 0;
        double sum = 0;
        for (int r = 0; r < d.n; r++) {
            if (s.targets[r] != padId) {
                count++;
                sum += s.rowLoss.get(r);
            }
        }
        s.counted = count;
        return sum / Math.max(1, count);
    }

    /**
     * The encoder's output {@code [B, S, C]} for {@code source [B][S]} (inference: no gradients kept), in a
     * new array; an encoder-decoder's first step of decoding.
     */
    public INDArray encode(int[][] source, int padId) {
        if (encoder == null) {
            throw new IllegalArgumentException("a language model has no encoder");
        }
        Blas.singleThreaded();
        StackState st = encoder.newState(null);
        try {
            return encoder.forward(st, source, null, padId, false, null, null, null).dup('c');
        } finally {
            st.close(); // the activations, freed now: left to the garbage collector, each decoding's piled up
        }
    }

    /** The output projection: weight {@code [V, C]} (the embedding when tied) and bias, its gradients "weight", "bias". */
    private LinearKernel head() {
        return new LinearKernel("weight", w.headBias() == null ? null : "bias", Buf.of(w.headWeight()),
                w.headBias() == null ? null : Buf.of(w.headBias()), width, vocab);
    }

    /**
     * Backward of the last {@link #forward} with targets: every parameter's gradient of the mean loss into
     * {@link State#gradients()} and {@link State#encoderGradients()} (overwritten, not accumulated).
     */
    public void backward(State s, int padId, double smoothing) {
        if (!s.forwarded || s.targets == null || s.gradients == null) {
            throw new IllegalStateException("backward needs a training state's forward with targets first");
        }
        Blas.singleThreaded();
        StackState d = s.dec;
        double inv = 1.0 / Math.max(1, s.counted);
        Buf hs = d.output();
        LinearKernel head = head();
        // dlogits = (p - (1 - s) onehot - s / V) / count, zero where the target is padding (in place of p)
        parallel.forRange(d.n, ROW_GRAIN, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int target = s.targets[r];
                CrossEntropyKernel.backwardRow(s.logits, r * vocab, vocab, target, target == padId, smoothing, inv);
            }
            head.backwardInput(s.logits, d.dh, false, r0, r1); // dh = dlogits W
        });
        // dW = dlogits^T h, db = column sums of dlogits (none with LoRA, whose base is frozen), by the workers'
        // shares (GradientShares: a large head's weight by ranges of the vocabulary's rows)
        GradientShares shares = adapters == null ? s.headShares(head) : null;
        parallel.forRange(shares == null ? 0 : shares.parts(), (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                head.backwardWeights(shares, s.logits, hs, d.n, p);
            }
        });
        if (shares != null) {
            shares.reduce(new ArrayList<>(shares.gradients().keySet()), parallel);
        }
        StackState e = s.enc;
        if (e != null) {
            if (s.dMemory == null || s.dMemory.length < e.n * width) {
                if (s.dMemory != null) {
                    s.dMemory.close();
                }
                s.dMemory = rows(e.capacity, width);
            }
            RowMath.fill(s.dMemory, 0, e.n * width, 0);
        }
        decoder.backward(d, s.dMemory, s.dHeadW == d.dEmbedding);
        if (e != null) {
            parallel.forRange(e.n, ROW_GRAIN, (r0, r1) -> RowMath.copy(s.dMemory, r0 * width, e.dh, r0 * width,
                    (r1 - r0) * width));
            encoder.backward(e, null, false);
        }
        s.scratch.endPass();
    }

    private Buf rows(int n, int cols) {
        return Buf.of(Nd4j.create(type, (long) Math.max(1, n) * cols));
    }
}
