package org.attn4j.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.Strided;
import org.attn4j.kernels.CompactMatrix;
import org.attn4j.kernels.CrossEntropyKernel;
import org.attn4j.kernels.EmbeddingKernel;
import org.attn4j.kernels.NormKernel;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RowMath;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Greedy or beam decoding of a decoder-only language model, or of an encoder-decoder's decoder against
 * its encoded source, on the engine, with a key/value cache:
 * token embedding (times sqrt(C) if the model scales it) plus position rows, {@link BlockEngine#step}
 * through each causal block, the final norm and the output projection of the last position, and its
 * log-softmax. Works on the model's own parameter arrays. {@code org.attn4j.model.DecodingSession}
 * uses it where it covers the model.
 */
public final class DecodeEngine {
    private final List<BlockEngine> blocks = new ArrayList<>();
    private final StackWeights w;
    private final DataType type;
    private final int width, vocab;
    private final Parallel parallel;
    private final CompactMatrix compactHead; // the head in bfloat16 or int8 for the step's product, or null
    private final EmbeddingKernel embedding;

    /** A decoder of {@code blocks} (causal self-attention, or attending to a memory) and {@code weights}. */
    public DecodeEngine(List<BlockEngine> blocks, StackWeights weights, Parallel parallel) {
        this(blocks, weights, parallel, null);
    }

    /** As above, the head's product reading {@code compactHead} (the head weight in a compact format), if not null. */
    public DecodeEngine(List<BlockEngine> blocks, StackWeights weights, Parallel parallel, CompactMatrix compactHead) {
        this.compactHead = compactHead;
        this.blocks.addAll(blocks);
        this.w = weights;
        this.type = weights.embedding().dataType();
        this.width = (int) weights.embedding().size(1);
        this.vocab = (int) weights.embedding().size(0);
        this.parallel = parallel;
        this.embedding = new EmbeddingKernel(Buf.of(w.embedding()), w.positions() == null ? null : Buf.of(w.positions()),
                w.scaleEmbedding() ? Math.sqrt(width) : 1, width);
    }

    /** A decoding of {@code batch} sequences, empty (a language model's). */
    public Session start(int batch) {
        return new Session(batch, null, null);
    }

    /**
     * A decoding of the sequences attending to an encoder's {@code memory [B, S, C]} with its key padding
     * {@code memoryKeep [B, S]} (1 = real; null: every position): an encoder-decoder's.
     */
    public Session start(INDArray memory, INDArray memoryKeep) {
        return new Session((int) memory.size(0), memory, memoryKeep);
    }

    /**
     * One batch being decoded: the caches of every block, and the rows a step works in (kept from step to step, so
     * that a step allocates only the log-probabilities it returns).
     */
    public final class Session implements AutoCloseable {
        private final int batch;
        private final List<BlockCache> caches = new ArrayList<>();
        private final Buf last, xhat, rstd; // the last positions' rows [B, C], their norm's xhat [B, C] and rstd [B]
        private final double[] maxSum; // the log-softmax's pieces: max and sum of exps, [B, pieces, 2]
        private Buf embedded; // the new tokens' embedded rows [B, Tnew, C], grown to the longest Tnew

        private Session(int batch, INDArray memory, INDArray memoryKeep) {
            this.batch = batch;
            this.last = Buf.of(Nd4j.create(type, batch, width));
            this.xhat = Buf.of(Nd4j.create(type, batch, width));
            this.rstd = Buf.of(Nd4j.create(type, batch));
            this.maxSum = new double[2 * batch * CrossEntropyKernel.pieces(vocab)];
            for (BlockEngine b : blocks) {
                caches.add(memory == null ? b.newCache(batch, w.maxLen()) : b.newCache(w.maxLen(), memory, memoryKeep));
            }
            for (int i = 1; i < caches.size(); i++) { // the blocks step one after the other: one scores array
                caches.get(i).rows.shareScores(caches.get(0).rows);
            }
        }

        /** Positions fed so far. */
        public int length() {
            return caches.isEmpty() ? 0 : caches.get(0).length();
        }

        /** Elements of every block's key and value cache: what this decoding holds per its sequences. */
        public long cacheElements() {
            return caches.stream().mapToLong(BlockCache::elements).sum();
        }

        /**
         * Feeds {@code ids [B, Tnew]} (the prompt, then one token at a time); returns the log-probabilities
         * {@code [B, V]} of the next token, a new array.
         */
        public INDArray advance(INDArray ids) {
            if (ids.rank() != 2 || ids.size(0) != batch || ids.size(1) < 1) {
                throw new IllegalArgumentException("ids: expected [B=" + batch + ", Tnew >= 1], given "
                        + Arrays.toString(ids.shape()));
            }
            int t = (int) ids.size(1), past = length();
            if (past + t > w.maxLen()) {
                throw new IllegalArgumentException("Decoding past the model's " + w.maxLen() + " positions (maxLen): "
                        + past + " fed, " + t + " more asked");
            }
            if (embedded == null || embedded.length < batch * t * width) {
                if (embedded != null) {
                    embedded.close();
                }
                embedded = Buf.of(Nd4j.create(type, (long) batch * t * width));
            }
            embed(Ids.rows(ids), past, embedded);
            INDArray x = Shapes.view(embedded, batch, t, width); // [B, Tnew, C]
            for (int i = 0; i < blocks.size(); i++) {
                if (i > 0) {
                    caches.get(i).shareActivations(caches.get(i - 1), blocks.get(i).layout());
                }
                x = blocks.get(i).step(x, caches.get(i)); // a view of the cache's activations
            }
            Blas.singleThreaded();
            return logProbsOfLast(x, this);
        }

        /** Frees the caches' and the step's arrays now: the decoding is over. */
        @Override
        public void close() {
            caches.forEach(BlockCache::close);
            for (Buf b : new Buf[] {last, xhat, rstd, embedded}) {
                if (b != null) {
                    b.close();
                }
            }
        }

        /** Keeps batch rows {@code rows} (repeats allowed), in that order: beam search's reordering. */
        public void select(int[] rows) {
            if (rows.length != batch) {
                throw new IllegalArgumentException("select: expected " + batch + " rows, given " + rows.length);
            }
            caches.forEach(c -> c.select(rows));
        }
    }

    /** The rows {@code out [B, Tnew, C]} of tokens {@code ids [B][Tnew]} standing at positions past, past + 1, ... */
    private void embed(int[][] ids, int past, Buf out) {
        int b = ids.length, t = ids[0].length;
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                int id = ids[bi][ti];
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException("ids holds token id " + id + " outside the vocabulary [0, "
                            + vocab + ")");
                }
                embedding.forward(id, past + ti, out, bi * t + ti);
            }
        }
    }

    /**
     * log softmax(norm(x[:, -1]) W^T + b) {@code [B, V]}, a new array, working in the session's rows. The head's
     * product splits its V output rows over the threads.
     */
    private INDArray logProbsOfLast(INDArray x, Session s) {
        int b = (int) x.size(0), t = (int) x.size(1);
        INDArray logits = Nd4j.create(type, b, vocab);
        Buf xs = Buf.of(x), h = s.last, out = Buf.of(logits); // x: BlockEngine.step's c-order output
        for (int bi = 0; bi < b; bi++) {
            RowMath.copy(xs, (bi * t + t - 1) * width, h, bi * width, width);
        }
        NormKernel norm = w.finalNorm();
        if (norm != null) {
            norm.forward(h, h, s.xhat, s.rstd, 0, b, width);
        }
        if (compactHead != null) {
            compactHead.multiply(parallel, h, 0, b, null, out, 0);
        } else {
            Buf head = Buf.of(w.headWeight());
            int grain = Math.max(1, (1 << 17) / (b * width)); // at least ~1e5 multiply-adds per worker
            parallel.forRange(vocab, grain, (v0, v1) -> { // logits[:, v0:v1] = h W[v0:v1]^T
                Blas.gemm(false, true, b, v1 - v0, width, 1, new Strided(h, 0, width),
                        new Strided(head, (long) v0 * width, width), 0, new Strided(out, v0, vocab));
            });
        }
        // log-softmax over V in pieces shared out over the threads: each piece's max and sum of exps, then each
        // piece less its row's log-sum-exp (added up from the pieces in order, the same for any thread count)
        Buf bias = w.headBias() == null ? null : Buf.of(w.headBias());
        int pieces = CrossEntropyKernel.pieces(vocab);
        double[] maxSum = s.maxSum;
        parallel.forRange(b * pieces, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                CrossEntropyKernel.logSoftmaxPiece(out, p / pieces * vocab, vocab, bias, p % pieces, maxSum, 2 * p);
            }
        });
        parallel.forRange(b * pieces, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int bi = p / pieces;
                CrossEntropyKernel.shiftPiece(out, bi * vocab, vocab, p % pieces,
                        CrossEntropyKernel.logSumExp(maxSum, 2 * bi * pieces, pieces));
            }
        });
        return logits;
    }
}
