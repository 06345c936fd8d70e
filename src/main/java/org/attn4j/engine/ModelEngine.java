package org.attn4j.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.attn4j.config.AttentionMask;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.CrossEntropyKernel;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.EmbeddingKernel;
import org.attn4j.kernels.GradientShares;
import org.attn4j.kernels.LinearKernel;
import org.attn4j.kernels.NormKernel;
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
 * source), final norm. Activations and gradients live in a {@link State} the caller owns, so threads
 * training copies of one model's weights, or one trainer and any number of decoders, share nothing.
 * Dropout (the embeddings' and every block's) applies only to a forward given a {@link DropoutSeed}, with
 * that seed's masks: the encoder's blocks are layers 0 .. Le-1, the decoder's Le onwards.
 */
public final class ModelEngine {
    private final Stack encoder, decoder; // encoder: null for a language model
    private final StackWeights w;
    private final Parallel parallel;
    private final Map<String, org.attn4j.kernels.LoraKernel.Part> adapters; // null: not LoRA
    private final DataType type;
    private final int width, vocab;
    private static final int ROW_GRAIN = 8;

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
        this.encoder = encoderWeights == null ? null : new Stack(encoderBlocks, encoderWeights);
        this.decoder = new Stack(blocks, weights);
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

    /**
     * Bytes of a training state's arrays by what they hold ({@link State#memory()}; the API's
     * {@code TransformerModel.EngineMemory} says what each holds).
     */
    public record Memory(long gradients, long blockRows, long attention, long hidden, long stackRows, long logits,
            long backwardScratch, long gradientShares) {
    }

    /** Embedding, positions, blocks and final norm: an encoder, or a decoder before its head. */
    private final class Stack {
        final List<BlockEngine> blocks = new ArrayList<>();
        final StackWeights w;
        final boolean causal;

        Stack(List<BlockEngine> blocks, StackWeights w) {
            this.blocks.addAll(blocks);
            this.w = w;
            this.causal = !blocks.isEmpty() && blocks.get(0).config().causal();
        }
    }

    /** One stack's activations and gradients in a state. */
    private final class StackState {
        final Stack stack;
        final List<BlockEngine.State> blockStates = new ArrayList<>();
        final Gradients gradients;
        final Buf dEmbedding, dPositions, dNormW, dNormB;
        int capacity, b, t, n;
        Buf x0, x, h, xhat, rstd, dh, dx;
        DropoutSeed dropout; // the last forward's masks, or null
        int firstLayer, embeddingSite; // the stack's first block's layer number; its embedding's dropout site
        int[] ids; // the rows' ids
        int[] starts, rowPos; // packed rows (null: [B, T]): sequence bi is rows [starts[bi], starts[bi + 1])
        INDArray keep; // [B, T] key padding (1 = real token), or null
        boolean tiedHead;
        // the last forward's block arguments, which a checkpointed backward runs each block's forward with again
        AttentionMask<INDArray> mask, memoryMask;
        INDArray memory;
        BlockEngine.Packing packing;
        boolean checkpoint; // keep each block's input [N, C] only (inputs), not its activations
        Buf[] inputs; // checkpointing: block i's input rows
        Buf carry; // checkpointing: the gradient passed from a block to the one before

        /**
         * A stack's state; {@code scratch} null for inference (no gradient arrays), else the backward scratch its
         * blocks share with the model's other blocks.
         */
        StackState(Stack stack, boolean head, BackwardScratch scratch) {
            this.stack = stack;
            boolean withGradients = scratch != null;
            List<Map<String, INDArray>> blockGrads = new ArrayList<>();
            for (BlockEngine block : stack.blocks) {
                BlockEngine.State s = block.newState();
                blockStates.add(s);
                if (withGradients) {
                    s.share(scratch); // before its gradients, whose shares are the scratch's
                    blockGrads.add(s.gradients());
                }
            }
            StackWeights sw = stack.w;
            tiedHead = head && sw.headWeight() == sw.embedding();
            if (!withGradients) {
                gradients = null;
                dEmbedding = dPositions = dNormW = dNormB = null;
                return;
            }
            if (adapters != null) { // LoRA: the embedding, positions, final norm and head are frozen
                gradients = new Gradients(null, null, null, null, null, null, blockGrads);
                dEmbedding = dPositions = dNormW = dNormB = null;
                return;
            }
            gradients = new Gradients(zerosLike(sw.embedding()), sw.learnedPositions() ? zerosLike(sw.positions()) : null,
                    zerosLike(sw.normWeight()), zerosLike(sw.normBias()), head && !tiedHead ? zerosLike(sw.headWeight())
                            : null, head ? zerosLike(sw.headBias()) : null, blockGrads);
            dEmbedding = Buf.of(gradients.embedding());
            dPositions = buf(gradients.positions());
            dNormW = buf(gradients.normWeight());
            dNormB = buf(gradients.normBias());
        }

        void fit(int batch, int time) {
            b = batch;
            t = time;
            n = batch * time;
            if (n <= capacity) {
                return;
            }
            capacity = n;
            for (Buf old : new Buf[] {x0, x, h, xhat, rstd, dh, dx, carry}) {
                if (old != null) {
                    old.close();
                }
            }
            closeInputs();
            carry = null;
            x0 = rows(capacity, width);
            x = rows(capacity, width);
            h = rows(capacity, width);
            xhat = rows(capacity, width);
            rstd = rows(capacity, 1);
            dh = rows(capacity, width);
            dx = rows(capacity, width);
        }

        /** Block i's input rows, kept by a checkpointed forward (made on first use at this capacity). */
        Buf input(int i) {
            if (inputs == null) {
                inputs = new Buf[blockStates.size()];
            }
            if (inputs[i] == null) {
                inputs[i] = rows(capacity, width);
            }
            return inputs[i];
        }

        /** The gradient rows a checkpointed backward passes on (made on first use at this capacity). */
        Buf carry() {
            if (carry == null) {
                carry = rows(capacity, width);
            }
            return carry;
        }

        private void closeInputs() {
            for (int i = 0; inputs != null && i < inputs.length; i++) {
                if (inputs[i] != null) {
                    inputs[i].close();
                }
            }
            inputs = null;
        }

        /** Frees this stack's activations and gradients now. */
        void close() {
            blockStates.forEach(BlockEngine.State::close);
            closeInputs();
            for (Buf b : new Buf[] {x0, x, h, xhat, rstd, dh, dx, carry}) {
                if (b != null) {
                    b.close();
                }
            }
            if (keep != null && keep.closeable()) {
                keep.close();
            }
        }

        /** The stack's output rows: the final norm's, or the last block's. */
        Buf output() {
            return stack.w.normWeight() != null ? h : x;
        }

        /** Bytes of the blocks' forward arrays of {@code kind}. */
        long blockBytes(Arena.Kind kind) {
            return blockStates.stream().mapToLong(bs -> bs.bytes(kind)).sum();
        }

        /** Bytes of the stack's own gradients (the embedding's, positions', final norm's) and its blocks'. */
        long gradientBytes() {
            long own = gradients == null ? 0 : bytes(gradients.embedding(), gradients.positions(),
                    gradients.normWeight(), gradients.normBias());
            return own + blockStates.stream().mapToLong(BlockEngine.State::gradientBytes).sum();
        }
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
            enc = encoder == null ? null : new StackState(encoder, false, scratch);
            dec = new StackState(decoder, true, scratch);
            gradients = dec.gradients;
            encoderGradients = enc == null ? null : enc.gradients;
            dHeadW = !withGradients || adapters != null ? null : dec.tiedHead ? dec.dEmbedding
                    : Buf.of(gradients.headWeight());
            dHeadB = gradients == null ? null : buf(gradients.headBias());
        }

        /** Bytes of this state's arrays by what they hold, as they are now. */
        public Memory memory() {
            List<StackState> stacks = enc == null ? List.of(dec) : List.of(enc, dec);
            long gradientBytes = bytes(dHeadW == null || dHeadW == dec.dEmbedding ? null : dHeadW.array,
                    dHeadB == null ? null : dHeadB.array);
            long rows = 0, attention = 0, hidden = 0, stackRows = 0, backRows = 0, shares = 0;
            for (StackState st : stacks) {
                gradientBytes += st.gradientBytes();
                rows += st.blockBytes(Arena.Kind.ROWS);
                attention += st.blockBytes(Arena.Kind.SCORES);
                hidden += st.blockBytes(Arena.Kind.HIDDEN);
                stackRows += bytes(st.x0, st.x, st.h, st.xhat, st.rstd) + (st.inputs == null ? 0 : bytes(st.inputs));
                backRows += bytes(st.dh, st.dx, st.carry);
                for (BlockEngine.State bs : st.blockStates) { // none, while they share the model's scratch
                    backRows += bs.ownScratchBytes(false);
                    shares += bs.ownScratchBytes(true);
                }
            }
            return new Memory(gradientBytes, rows, attention, hidden, stackRows, bytes(logits, rowLoss),
                    backRows + bytes(dMemory) + (scratch == null ? 0 : scratch.rowBytes()),
                    shares + (scratch == null ? 0 : scratch.shareBytes()));
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

        /** The head's gradients ("weight": the embedding's when tied, "bias" if any) in row shares, made once. */
        private GradientShares headShares() {
            if (headShares == null) {
                Map<String, INDArray> grads = new java.util.LinkedHashMap<>();
                grads.put("weight", dHeadW.array);
                if (dHeadB != null) {
                    grads.put("bias", dHeadB.array);
                }
                headShares = new GradientShares(grads, scratch.shares(grads));
            }
            return headShares;
        }

        /**
         * Every encoder block's self-attention weights {@code [B, H, S, S]} of the last forward (new arrays); of a
         * forward without targets: one with targets packs its rows ({@link #forward}) and computes the weights of
         * the kept positions only, as it does for the two methods below.
         */
        public List<INDArray> encoderSelfWeights() {
            return enc == null ? List.of() : weights(enc, false);
        }

        /** Every decoder block's self-attention weights {@code [B, H, T, T]} of the last forward (new arrays). */
        public List<INDArray> selfWeights() {
            return weights(dec, false);
        }

        /** Every decoder block's cross-attention weights {@code [B, H, T, S]} (new arrays; none for a language model). */
        public List<INDArray> crossWeights() {
            return enc == null ? List.of() : weights(dec, true);
        }

        private List<INDArray> weights(StackState st, boolean cross) {
            List<INDArray> all = new ArrayList<>();
            for (int i = 0; i < st.blockStates.size(); i++) {
                BlockEngine block = st.stack.blocks.get(i);
                BlockEngine.State bs = st.blockStates.get(i);
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
            return BlockEngine.view(logits, dec.b, dec.t, vocab);
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
        int[] flatTargets = targets == null ? null : flatten(targets, "target", ids.length, ids[0].length);
        // With targets, only the loss is read: each sequence's trailing padding runs no products (see pack)
        boolean pack = targets != null && padId >= 0;
        INDArray memory = null;
        if (encoder != null) {
            memory = stackForward(s.enc, source, null, padId, pack, null, null, dropout, 0, DropoutSeed.SOURCE_EMBEDDING);
        }
        stackForward(s.dec, ids, flatTargets, padId, pack, memory, s.enc, dropout,
                encoder == null ? 0 : encoder.blocks.size(), DropoutSeed.EMBEDDING);
        StackState d = s.dec;
        s.fit(d.n);
        s.targets = flatTargets == null || d.starts == null ? flatTargets : packed(flatTargets, d);
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
        StackState st = new StackState(encoder, false, null);
        try {
            return stackForward(st, source, null, padId, false, null, null, null, 0, DropoutSeed.SOURCE_EMBEDDING)
                    .dup('c');
        } finally {
            st.close(); // the activations, freed now: left to the garbage collector, each decoding's piled up
        }
    }

    /**
     * Embedding, blocks and final norm of one stack, whose blocks are layers {@code firstLayer} on and whose
     * embedding drops at {@code embeddingSite}, over the encoder's output {@code memory} (from state {@code enc})
     * for a decoder; returns its output {@code [B, T, C]} (a view), or with {@code pack} its packed rows
     * {@code [N, C]}: each sequence keeps its positions up to the last whose id or target ({@code targets [B * T]},
     * or null) is not padding, at least one. What is left out is padding as a key (masked) whose output nothing
     * reads, so the products, norms and activations run on real tokens only and every gradient is that of the
     * padded rows (where those positions add exactly zero) up to rounding.
     */
    private INDArray stackForward(StackState st, int[][] ids, int[] targets, int padId, boolean pack, INDArray memory,
            StackState enc, DropoutSeed dropout, int firstLayer, int embeddingSite) {
        INDArray memoryKeep = enc == null ? null : enc.keep;
        StackWeights sw = st.stack.w;
        int batch = ids.length, time = ids[0].length;
        if (time > sw.maxLen()) {
            throw new IllegalArgumentException("a sequence has length " + time + " but the model's positions cover "
                    + sw.maxLen() + " (maxLen)");
        }
        st.fit(batch, time);
        st.ids = flatten(ids, "ids", batch, time);
        st.starts = st.rowPos = null;
        st.dropout = dropout;
        st.firstLayer = firstLayer;
        st.embeddingSite = embeddingSite;
        AttentionMask<INDArray> mask = st.stack.causal ? AttentionMask.causalOnly() : AttentionMask.none();
        if (st.keep != null && st.keep.closeable()) {
            st.keep.close(); // the last call's
        }
        st.keep = null;
        if (padId >= 0 && Arrays.stream(st.ids).anyMatch(id -> id == padId)) {
            st.keep = Nd4j.create(type, st.b, st.t);
            Buf k = Buf.of(st.keep);
            for (int r = 0; r < st.n; r++) {
                k.put(r, st.ids[r] == padId ? 0 : 1);
            }
            mask = mask.withPadding(st.keep);
        }
        if (pack) {
            pack(st, targets, padId);
        }
        boolean drops = embeddingDrops(st);
        // x0 = drop(E[id] * scale + P[t])
        EmbeddingKernel embedding = embedding(sw);
        parallel.forRange(st.n, ROW_GRAIN * 8, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                embedding.forward(st.ids[r], EmbeddingKernel.position(st.rowPos, st.t, 0, r), st.x0, r);
            }
            if (drops) {
                DropoutSeed.apply(embeddingBase(st), sw.dropout(), st.x0, r0 * width, r1 * width);
            }
        });
        AttentionMask<INDArray> memoryMask = memoryKeep == null ? AttentionMask.none() : AttentionMask.ofPadding(memoryKeep);
        INDArray x = stackRows(st, st.x0);
        st.mask = mask;
        st.memory = memory;
        st.memoryMask = memoryMask;
        st.packing = !pack ? null : new BlockEngine.Packing(st.starts, st.rowPos, st.t,
                enc == null ? null : enc.starts, enc == null ? 0 : enc.t);
        int blocks = st.stack.blocks.size();
        for (int i = 0; i < blocks; i++) {
            if (st.checkpoint) { // keep block i's input, then free the block before's activations (x was its output)
                copyRows(st, Buf.of(x), st.input(i));
                x = stackRows(st, st.input(i));
                if (i > 0) {
                    st.blockStates.get(i - 1).releaseActivations();
                }
            }
            x = blockForward(st, i, x);
        }
        copyRows(st, Buf.of(x), st.x);
        if (st.checkpoint && blocks > 0) {
            st.blockStates.get(blocks - 1).releaseActivations();
        }
        NormKernel norm = sw.finalNorm();
        if (norm != null) { // h = norm(x)
            parallel.forRange(st.n, ROW_GRAIN, (r0, r1) -> norm.forward(st.x, st.h, st.xhat, st.rstd, r0, r1, width));
        }
        return stackRows(st, st.output());
    }

    /** Block i's forward on its input rows x, with the stack's last forward's masks, memory, dropout and packing. */
    private INDArray blockForward(StackState st, int i, INDArray x) {
        BlockEngine block = st.stack.blocks.get(i);
        BlockEngine.State bs = st.blockStates.get(i);
        return st.packing != null ? block.forward(bs, x, st.mask, st.memory, st.memoryMask, st.dropout,
                st.firstLayer + i, st.packing) : block.forward(bs, x, st.mask, st.memory, st.memoryMask, st.dropout,
                        st.firstLayer + i, false).output();
    }

    /** The stack's n rows [N, C] of {@code from} into {@code to}. */
    private void copyRows(StackState st, Buf from, Buf to) {
        parallel.forRange(st.n, ROW_GRAIN, (r0, r1) -> RowMath.copy(from, r0 * width, to, r0 * width,
                (r1 - r0) * width));
    }

    /** A stack's rows in {@code buf}: {@code [N, C]} when packed, else {@code [B, T, C]} (a view). */
    private INDArray stackRows(StackState st, Buf buf) {
        return st.starts != null ? BlockEngine.view(buf, st.n, width) : BlockEngine.view(buf, st.b, st.t, width);
    }

    /**
     * Packs a stack's rows (see {@link #stackForward}): sequence bi keeps its first len_bi positions, len_bi the
     * last position whose id ({@code st.ids [B * T]}) or target ({@code targets [B * T]}, or null) is not
     * {@code padId}, plus one (at least 1); its rows become [starts[bi], starts[bi + 1]), {@code st.ids} the kept
     * ids and {@code st.n} their number.
     */
    private static void pack(StackState st, int[] targets, int padId) {
        int batch = st.b;
        int[] starts = new int[batch + 1];
        for (int bi = 0; bi < batch; bi++) {
            int len = 1;
            for (int j = 0, r = bi * st.t; j < st.t; j++, r++) {
                if (st.ids[r] != padId || targets != null && targets[r] != padId) {
                    len = j + 1;
                }
            }
            starts[bi + 1] = starts[bi] + len;
        }
        st.starts = starts;
        st.n = starts[batch];
        st.rowPos = new int[st.n];
        for (int bi = 0; bi < batch; bi++) {
            for (int r = starts[bi]; r < starts[bi + 1]; r++) {
                st.rowPos[r] = r - starts[bi];
            }
        }
        st.ids = packed(st.ids, st);
    }

    /** The packed rows' elements of {@code flat [B * T]} (the stack's {@link #pack}). */
    private static int[] packed(int[] flat, StackState st) {
        int[] kept = new int[st.n];
        for (int bi = 0; bi < st.b; bi++) {
            for (int r = st.starts[bi]; r < st.starts[bi + 1]; r++) {
                kept[r] = flat[bi * st.t + r - st.starts[bi]];
            }
        }
        return kept;
    }

    /** The output projection: weight {@code [V, C]} (the embedding when tied) and bias, its gradients "weight", "bias". */
    private LinearKernel head() {
        return new LinearKernel("weight", w.headBias() == null ? null : "bias", Buf.of(w.headWeight()),
                w.headBias() == null ? null : Buf.of(w.headBias()), width, vocab);
    }

    /** A stack's embedding and positions. */
    private EmbeddingKernel embedding(StackWeights sw) {
        return new EmbeddingKernel(Buf.of(sw.embedding()), sw.positions() == null ? null : Buf.of(sw.positions()),
                sw.scaleEmbedding() ? Math.sqrt(width) : 1, width);
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
        // dW = dlogits^T h, db = column sums of dlogits: each worker sums a share of the rows (GradientShares);
        // none with LoRA, whose base is frozen
        GradientShares shares = adapters == null ? s.headShares() : null;
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
        stackBackward(d, s.dMemory, s.dHeadW == d.dEmbedding);
        if (e != null) {
            parallel.forRange(e.n, ROW_GRAIN, (r0, r1) -> RowMath.copy(s.dMemory, r0 * width, e.dh, r0 * width,
                    (r1 - r0) * width));
            stackBackward(e, null, false);
        }
        s.scratch.endPass();
    }

    /**
     * Backward of one stack from the gradient at its output (in {@code st.dh}): final norm, blocks (adding
     * each block's memory gradient into {@code dMemory}), embedding and positions.
     */
    private void stackBackward(StackState st, Buf dMemory, boolean embeddingHasHeadShare) {
        StackWeights sw = st.stack.w;
        int parts = parallel.threads();
        NormKernel norm = sw.finalNorm();
        if (norm != null) {
            // dx = norm'(dh)
            parallel.forRange(st.n, ROW_GRAIN, (r0, r1) -> norm.backward(st.dh, st.xhat, st.rstd, st.dx, null, r0, r1,
                    width));
            parallel.forRange(adapters == null ? parts : 0, (p0, p1) -> { // LoRA: the norm is frozen
                for (int p = p0; p < p1; p++) {
                    int c0 = Parallel.split(width, parts, p), c1 = Parallel.split(width, parts, p + 1);
                    norm.backwardParams(st.dh, st.xhat, st.dNormW, st.dNormB, st.n, width, c0, c1);
                }
            });
        }
        INDArray dx = stackRows(st, sw.normWeight() != null ? st.dx : st.dh);
        for (int i = st.stack.blocks.size() - 1; i >= 0; i--) {
            BlockEngine.State bs = st.blockStates.get(i);
            if (st.checkpoint) { // the block's activations again, from its kept input
                blockForward(st, i, stackRows(st, st.input(i)));
            }
            dx = st.stack.blocks.get(i).backward(bs, dx, false);
            if (dMemory != null) {
                Buf dm = Buf.of(bs.memoryGradient());
                parallel.forRange(dm.length, ROW_GRAIN * width, (i0, i1) -> RowMath.add(dMemory, dm, dMemory, i0, i1, 1));
            }
            if (st.checkpoint) { // the gradient moves out of the block's arrays, which are freed
                copyRows(st, Buf.of(dx), st.carry());
                dx = stackRows(st, st.carry());
                bs.releaseActivations();
            }
        }
        if (adapters != null) {
            return; // LoRA: the embedding and positions are frozen
        }
        Buf d0 = Buf.of(dx);
        if (embeddingDrops(st)) { // dx0 = drop'(dx0), in the first block's gradient array
            parallel.forRange(st.n, ROW_GRAIN, (r0, r1) -> DropoutSeed.apply(embeddingBase(st), sw.dropout(), d0,
                    r0 * width, r1 * width));
        }
        EmbeddingKernel embedding = embedding(sw);
        // dE[id] += scale dx0[r], dP[t] += dx0[r]: each worker a share of the columns, so no two write one element
        parallel.forRange(parts, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int c0 = Parallel.split(width, parts, p), c1 = Parallel.split(width, parts, p + 1);
                for (int row = 0; !embeddingHasHeadShare && row < sw.embedding().size(0); row++) {
                    RowMath.fill(st.dEmbedding, row * width + c0, row * width + c1, 0);
                }
                for (int row = 0; st.dPositions != null && row < sw.maxLen(); row++) {
                    RowMath.fill(st.dPositions, row * width + c0, row * width + c1, 0);
                }
                embedding.backward(d0, st.ids, st.rowPos, st.t, st.n, st.dEmbedding, st.dPositions, c0, c1);
            }
        });
    }

    private static boolean embeddingDrops(StackState st) {
        return st.dropout != null && st.stack.w.dropout() > 0;
    }

    private static long embeddingBase(StackState st) {
        return st.dropout.base(DropoutSeed.stream(-1, st.embeddingSite));
    }

    private static int[] flatten(int[][] rows, String what, int batch, int time) {
        if (rows.length != batch) {
            throw new IllegalArgumentException(what + ": expected " + batch + " rows, given " + rows.length);
        }
        int[] flat = new int[batch * time];
        for (int bi = 0; bi < batch; bi++) {
            if (rows[bi].length != time) {
                throw new IllegalArgumentException(what + ": every row must have " + time + " ids, row " + bi + " has "
                        + rows[bi].length);
            }
            System.arraycopy(rows[bi], 0, flat, bi * time, time);
        }
        return flat;
    }

    private Buf rows(int n, int cols) {
        return Buf.of(Nd4j.create(type, (long) Math.max(1, n) * cols));
    }

    /** Bytes of the arrays given (null ones count 0). */
    private static long bytes(Buf... bufs) {
        long sum = 0;
        for (Buf b : bufs) {
            sum += b == null ? 0 : (long) b.length * b.array.dataType().width();
        }
        return sum;
    }

    private static long bytes(INDArray... arrays) {
        long sum = 0;
        for (INDArray a : arrays) {
            sum += a == null ? 0 : a.length() * a.dataType().width();
        }
        return sum;
    }

    private static INDArray zerosLike(INDArray a) {
        return a == null ? null : Nd4j.zeros(a.dataType(), a.shape());
    }

    private static Buf buf(INDArray a) {
        return a == null ? null : Buf.of(a);
    }
}
