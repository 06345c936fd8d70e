package org.attn4j.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
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
 * token embedding (times sqrt(C) if the model scales it) plus position rows, {@link FastBlock#step}
 * through each causal block, the final norm and the output projection of the last position, and its
 * log-softmax. Works on the model's own parameter arrays. {@code org.attn4j.model.DecodingSession}
 * uses it where it covers the model.
 */
public final class FastDecoder {
    /**
     * @param embedding      token table {@code [V, C]}
     * @param scaleEmbedding whether embeddings are multiplied by sqrt(C)
     * @param positions      position table {@code [maxLen, C]} added to the embeddings, or null (none)
     * @param learnedPositions whether that table is a parameter (learned) rather than fixed (sinusoidal)
     * @param normWeight     final LayerNorm scale {@code [C]}, or null (post-LN models have none)
     * @param normBias       its shift {@code [C]}; null with a normWeight: the final norm is an RMSNorm
     * @param eps            its eps
     * @param headWeight     output projection {@code [V, C]} (the embedding table when tied)
     * @param headBias       its bias {@code [V]}, or null
     * @param maxLen         most positions a sequence may reach
     * @param dropout        dropout on the embedded tokens while training ({@link FastTransformer}; 0: none)
     */
    public record Weights(INDArray embedding, boolean scaleEmbedding, INDArray positions, boolean learnedPositions,
            INDArray normWeight,
            INDArray normBias, double eps, INDArray headWeight, INDArray headBias, int maxLen, double dropout) {
    }

    private final List<FastBlock> blocks = new ArrayList<>();
    private final Weights w;
    private final DataType type;
    private final int width, vocab;
    private final Parallel parallel;

    /** A decoder of {@code blocks} (causal self-attention, or attending to a memory) and {@code weights}. */
    public FastDecoder(List<FastBlock> blocks, Weights weights, Parallel parallel) {
        this.blocks.addAll(blocks);
        this.w = weights;
        this.type = weights.embedding().dataType();
        this.width = (int) weights.embedding().size(1);
        this.vocab = (int) weights.embedding().size(0);
        this.parallel = parallel;
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

    /** One batch being decoded: the caches of every block. */
    public final class Session implements AutoCloseable {
        private final int batch;
        private final List<FastBlock.Cache> caches = new ArrayList<>();

        private Session(int batch, INDArray memory, INDArray memoryKeep) {
            this.batch = batch;
            for (FastBlock b : blocks) {
                caches.add(memory == null ? b.newCache(batch, w.maxLen()) : b.newCache(w.maxLen(), memory, memoryKeep));
            }
        }

        /** Positions fed so far. */
        public int length() {
            return caches.isEmpty() ? 0 : caches.get(0).length();
        }

        /** Elements of every block's key and value cache: what this decoding holds per its sequences. */
        public long cacheElements() {
            return caches.stream().mapToLong(FastBlock.Cache::elements).sum();
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
            INDArray embedded = embed(FastTransformer.rows(ids), past); // [B, Tnew, C]
            INDArray x = embedded;
            for (int i = 0; i < blocks.size(); i++) {
                x = blocks.get(i).step(x, caches.get(i)); // a view of the cache's activations
            }
            embedded.close(); // freed now: native memory a step leaves to the garbage collector piles up
            Blas.singleThreaded();
            return logProbsOfLast(x);
        }

        /** Frees the caches' arrays now: the decoding is over. */
        @Override
        public void close() {
            caches.forEach(FastBlock.Cache::close);
        }

        /** Keeps batch rows {@code rows} (repeats allowed), in that order: beam search's reordering. */
        public void select(int[] rows) {
            if (rows.length != batch) {
                throw new IllegalArgumentException("select: expected " + batch + " rows, given " + rows.length);
            }
            caches.forEach(c -> c.select(rows));
        }
    }

    private INDArray embed(int[][] ids, int past) {
        int b = ids.length, t = ids[0].length;
        INDArray x = Nd4j.create(type, b, t, width);
        Buf out = Buf.of(x);
        EmbeddingKernel embedding = new EmbeddingKernel(Buf.of(w.embedding()),
                w.positions() == null ? null : Buf.of(w.positions()), w.scaleEmbedding() ? Math.sqrt(width) : 1, width);
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
        return x;
    }

    /** log softmax(norm(x[:, -1]) W^T + b) {@code [B, V]}. */
    private INDArray logProbsOfLast(INDArray x) {
        int b = (int) x.size(0), t = (int) x.size(1);
        INDArray last = Nd4j.create(type, b, width), logits = Nd4j.create(type, b, vocab);
        Buf xs = Buf.of(x), h = Buf.of(last), out = Buf.of(logits); // x: FastBlock.step's c-order output
        for (int bi = 0; bi < b; bi++) {
            RowMath.copy(xs, (bi * t + t - 1) * width, h, bi * width, width);
        }
        NormKernel norm = FastTransformer.finalNorm(w);
        if (norm != null) {
            Buf xhat = Buf.of(last.ulike()), rstd = Buf.of(Nd4j.create(type, b));
            norm.forward(h, h, xhat, rstd, 0, b, width);
            xhat.close();
            rstd.close();
        }
        Buf head = Buf.of(w.headWeight());
        int grain = Math.max(1, (1 << 17) / (b * width)); // at least ~1e5 multiply-adds per worker
        parallel.forRange(vocab, grain, (v0, v1) -> { // logits[:, v0:v1] = h W[v0:v1]^T
            Blas.gemm(false, true, b, v1 - v0, width, 1, h, 0, width, head, (long) v0 * width, width, 0, out, v0, vocab);
        });
        Buf bias = w.headBias() == null ? null : Buf.of(w.headBias());
        for (int bi = 0; bi < b; bi++) {
            CrossEntropyKernel.logSoftmaxRow(out, bi * vocab, vocab, bias);
        }
        last.close();
        return logits;
    }
}
