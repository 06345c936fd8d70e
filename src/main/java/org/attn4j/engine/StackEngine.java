package org.attn4j.engine;

import java.util.Arrays;
import java.util.List;
import org.attn4j.config.AttentionMask;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.EmbeddingKernel;
import org.attn4j.kernels.NormKernel;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RowMath;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One stack of a {@link ModelEngine}, an encoder or a decoder before its head: embedding, positions, blocks and
 * final norm, forward and backward on a {@link StackState}.
 * <pre>
 *   x0 = drop(E[ids] * scale + P[t])        [N, C]   (N = B T rows, or the packed rows)
 *   x  = block_L(... block_1(x0))           [N, C]
 *   h  = norm(x)                            [N, C]   (pre-LN; post-LN models have no final norm)
 * </pre>
 * Its blocks are the model's layers {@code firstLayer} on and its embedding drops at {@code embeddingSite}
 * ({@link DropoutSeed}'s masks), so no two stacks share masks.
 */
final class StackEngine {
    /** Least rows per worker of a row loop. */
    static final int ROW_GRAIN = 8;
    final List<BlockEngine> blocks;
    final StackWeights w;
    private final Parallel parallel;
    private final boolean causal, frozen; // frozen: LoRA, no gradients outside the blocks
    private final int width, firstLayer, embeddingSite;

    StackEngine(List<BlockEngine> blocks, StackWeights w, Parallel parallel, boolean frozen, int firstLayer,
            int embeddingSite) {
        this.blocks = List.copyOf(blocks);
        this.w = w;
        this.parallel = parallel;
        this.causal = !blocks.isEmpty() && blocks.get(0).config().causal();
        this.frozen = frozen;
        this.width = (int) w.embedding().size(1);
        this.firstLayer = firstLayer;
        this.embeddingSite = embeddingSite;
    }

    /** A state for this stack; {@code scratch} the model's backward scratch, null for inference. */
    StackState newState(BackwardScratch scratch) {
        return new StackState(blocks, w, frozen, scratch);
    }

    /**
     * Embedding, blocks and final norm over the encoder's output {@code memory} (from state {@code enc}) for a
     * decoder; returns the output {@code [B, T, C]} (a view), or with {@code pack} its packed rows
     * {@code [N, C]}: each sequence keeps its positions up to the last whose id or target ({@code targets [B * T]},
     * or null) is not padding, at least one. What is left out is padding as a key (masked) whose output nothing
     * reads, so the products, norms and activations run on real tokens only and every gradient is that of the
     * padded rows (where those positions add exactly zero) up to rounding.
     */
    INDArray forward(StackState st, int[][] ids, int[] targets, int padId, boolean pack, INDArray memory,
            StackState enc, DropoutSeed dropout) {
        INDArray memoryKeep = enc == null ? null : enc.keep;
        int batch = ids.length, time = ids[0].length;
        if (time > w.maxLen()) {
            throw new IllegalArgumentException("a sequence has length " + time + " but the model's positions cover "
                    + w.maxLen() + " (maxLen)");
        }
        st.fit(batch, time);
        st.ids = Ids.flatten(ids, "ids", batch, time);
        st.starts = st.rowPos = null;
        st.dropout = dropout;
        AttentionMask<INDArray> mask = keyPadding(st, padId);
        if (pack) {
            st.pack(targets, padId);
        }
        embed(st);
        AttentionMask<INDArray> memoryMask = memoryKeep == null ? AttentionMask.none()
                : AttentionMask.ofPadding(memoryKeep);
        INDArray x = rows(st, st.x0);
        st.mask = mask;
        st.memory = memory;
        st.memoryMask = memoryMask;
        st.packing = !pack ? null : new Packing(st.starts, st.rowPos, st.t,
                enc == null ? null : enc.starts, enc == null ? 0 : enc.t);
        blocksForward(st, x);
        NormKernel norm = w.finalNorm();
        if (norm != null) { // h = norm(x)
            parallel.forRange(st.n, ROW_GRAIN, (r0, r1) -> norm.forward(st.x, st.h, st.xhat, st.rstd, r0, r1, width));
        }
        return rows(st, st.output());
    }

    /** The stack's self-attention mask: causal or none, with the key padding where an id is {@code padId}. */
    private AttentionMask<INDArray> keyPadding(StackState st, int padId) {
        AttentionMask<INDArray> mask = causal ? AttentionMask.causalOnly() : AttentionMask.none();
        if (st.keep != null && st.keep.closeable()) {
            st.keep.close(); // the last call's
        }
        st.keep = null;
        if (padId >= 0 && Arrays.stream(st.ids).anyMatch(id -> id == padId)) {
            st.keep = Nd4j.create(w.embedding().dataType(), st.b, st.t);
            Buf k = Buf.of(st.keep);
            for (int r = 0; r < st.n; r++) {
                k.put(r, st.ids[r] == padId ? 0 : 1);
            }
            mask = mask.withPadding(st.keep);
        }
        return mask;
    }

    /** x0 = drop(E[id] * scale + P[t]) */
    private void embed(StackState st) {
        boolean drops = embeddingDrops(st);
        EmbeddingKernel embedding = embedding();
        parallel.forRange(st.n, ROW_GRAIN * 8, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                embedding.forward(st.ids[r], EmbeddingKernel.position(st.rowPos, st.t, 0, r), st.x0, r);
            }
            if (drops) {
                DropoutSeed.apply(embeddingBase(st), w.dropout(), st.x0, r0 * width, r1 * width);
            }
        });
    }

    /** The blocks in order from the rows x ({@code st.x0}) into {@code st.x}; checkpointing keeps only inputs. */
    private void blocksForward(StackState st, INDArray x) {
        int count = blocks.size();
        for (int i = 0; i < count; i++) {
            if (st.checkpoint) { // keep block i's input, then free the block before's activations (x was its output)
                copyRows(st, Buf.of(x), st.input(i));
                x = rows(st, st.input(i));
                if (i > 0) {
                    st.blockStates.get(i - 1).releaseActivations();
                }
            }
            x = blockForward(st, i, x);
        }
        copyRows(st, Buf.of(x), st.x);
        if (st.checkpoint && count > 0) {
            st.blockStates.get(count - 1).releaseActivations();
        }
    }

    /** Block i's forward on its input rows x, with the stack's last forward's masks, memory, dropout and packing. */
    private INDArray blockForward(StackState st, int i, INDArray x) {
        BlockEngine block = blocks.get(i);
        BlockState bs = st.blockStates.get(i);
        return st.packing != null ? block.forward(bs, x, st.mask, st.memory, st.memoryMask, st.dropout,
                firstLayer + i, st.packing) : block.forward(bs, x, st.mask, st.memory, st.memoryMask, st.dropout,
                        firstLayer + i, false).output();
    }

    /**
     * Backward from the gradient at the stack's output (in {@code st.dh}): final norm, blocks (adding each block's
     * memory gradient into {@code dMemory}), embedding and positions ({@code embeddingHasHeadShare}: the tied
     * head's gradient is already in the embedding's, so it is added to, not overwritten).
     */
    void backward(StackState st, Buf dMemory, boolean embeddingHasHeadShare) {
        int parts = parallel.threads();
        NormKernel norm = w.finalNorm();
        if (norm != null) {
            // dx = norm'(dh)
            parallel.forRange(st.n, ROW_GRAIN, (r0, r1) -> norm.backward(st.dh, st.xhat, st.rstd, st.dx, null, r0, r1,
                    width));
            parallel.forRange(frozen ? 0 : parts, (p0, p1) -> { // LoRA: the norm is frozen
                for (int p = p0; p < p1; p++) {
                    int c0 = Parallel.split(width, parts, p), c1 = Parallel.split(width, parts, p + 1);
                    norm.backwardParams(st.dh, st.xhat, st.dNormW, st.dNormB, st.n, width, c0, c1);
                }
            });
        }
        INDArray dx = blocksBackward(st, rows(st, w.normWeight() != null ? st.dx : st.dh), dMemory);
        if (frozen) {
            return; // LoRA: the embedding and positions are frozen
        }
        Buf d0 = Buf.of(dx);
        if (embeddingDrops(st)) { // dx0 = drop'(dx0), in the first block's gradient array
            parallel.forRange(st.n, ROW_GRAIN, (r0, r1) -> DropoutSeed.apply(embeddingBase(st), w.dropout(), d0,
                    r0 * width, r1 * width));
        }
        EmbeddingKernel embedding = embedding();
        // dE[id] += scale dx0[r], dP[t] += dx0[r]: each worker a share of the columns, so no two write one element
        parallel.forRange(parts, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int c0 = Parallel.split(width, parts, p), c1 = Parallel.split(width, parts, p + 1);
                for (int row = 0; !embeddingHasHeadShare && row < w.embedding().size(0); row++) {
                    RowMath.fill(st.dEmbedding, row * width + c0, row * width + c1, 0);
                }
                for (int row = 0; st.dPositions != null && row < w.maxLen(); row++) {
                    RowMath.fill(st.dPositions, row * width + c0, row * width + c1, 0);
                }
                embedding.backward(d0, st.ids, st.rowPos, st.t, st.n, st.dEmbedding, st.dPositions, c0, c1);
            }
        });
    }

    /** The blocks' backward in reverse from the gradient dx at the last block's output; returns dx0. */
    private INDArray blocksBackward(StackState st, INDArray dx, Buf dMemory) {
        for (int i = blocks.size() - 1; i >= 0; i--) {
            BlockState bs = st.blockStates.get(i);
            if (st.checkpoint) { // the block's activations again, from its kept input
                blockForward(st, i, rows(st, st.input(i)));
            }
            dx = blocks.get(i).backward(bs, dx, false);
            if (dMemory != null) {
                Buf dm = Buf.of(bs.memoryGradient());
                parallel.forRange(dm.length, ROW_GRAIN * width, (i0, i1) -> RowMath.add(dMemory, dm, dMemory, i0, i1, 1));
            }
            if (st.checkpoint) { // the gradient moves out of the block's arrays, which are freed
                copyRows(st, Buf.of(dx), st.carry());
                dx = rows(st, st.carry());
                bs.releaseActivations();
            }
        }
        return dx;
    }

    /** The stack's n rows [N, C] of {@code from} into {@code to}. */
    private void copyRows(StackState st, Buf from, Buf to) {
        parallel.forRange(st.n, ROW_GRAIN, (r0, r1) -> RowMath.copy(from, r0 * width, to, r0 * width,
                (r1 - r0) * width));
    }

    /** A stack's rows in {@code buf}: {@code [N, C]} when packed, else {@code [B, T, C]} (a view). */
    INDArray rows(StackState st, Buf buf) {
        return st.starts != null ? Shapes.view(buf, st.n, width) : Shapes.view(buf, st.b, st.t, width);
    }

    /** The embedding and positions. */
    private EmbeddingKernel embedding() {
        return new EmbeddingKernel(Buf.of(w.embedding()), w.positions() == null ? null : Buf.of(w.positions()),
                w.scaleEmbedding() ? Math.sqrt(width) : 1, width);
    }

    private boolean embeddingDrops(StackState st) {
        return st.dropout != null && w.dropout() > 0;
    }

    private long embeddingBase(StackState st) {
        return st.dropout.base(DropoutSeed.stream(-1, embeddingSite));
    }
}
