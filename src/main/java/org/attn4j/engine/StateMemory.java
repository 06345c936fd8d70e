package org.attn4j.engine;

import java.util.List;
import org.attn4j.kernels.Buf;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Bytes of a training state's arrays by what they hold ({@link ModelEngine.State#memory()}; the API's
 * {@code TransformerModel.EngineMemory} says what each holds).
 */
public record StateMemory(long gradients, long blockRows, long attention, long hidden, long stackRows, long logits,
        long backwardScratch, long gradientShares) {

    /**
     * The count of a state: its stacks, the head's own gradients ({@code headWeight} null when tied to the
     * embedding's), the loss rows, the memory's gradient rows and the blocks' shared scratch (null: none).
     */
    static StateMemory count(List<StackState> stacks, INDArray headWeight, INDArray headBias, Buf logits, Buf rowLoss,
            Buf dMemory, BackwardScratch scratch) {
        long gradientBytes = bytes(headWeight, headBias);
        long rows = 0, attention = 0, hidden = 0, stackRows = 0, backRows = 0, shares = 0;
        for (StackState st : stacks) {
            gradientBytes += st.gradientBytes();
            rows += st.blockBytes(Arena.Kind.ROWS);
            attention += st.blockBytes(Arena.Kind.SCORES);
            hidden += st.blockBytes(Arena.Kind.HIDDEN);
            stackRows += bytes(st.x0, st.x, st.h, st.xhat, st.rstd) + (st.inputs == null ? 0 : bytes(st.inputs));
            backRows += bytes(st.dh, st.dx, st.carry);
            for (BlockState bs : st.blockStates) { // none, while they share the model's scratch
                backRows += bs.ownScratchBytes(false);
                shares += bs.ownScratchBytes(true);
            }
        }
        return new StateMemory(gradientBytes, rows, attention, hidden, stackRows, bytes(logits, rowLoss),
                backRows + bytes(dMemory) + (scratch == null ? 0 : scratch.rowBytes()),
                shares + (scratch == null ? 0 : scratch.shareBytes()));
    }

    /** Bytes of the arrays given (null ones count 0). */
    static long bytes(Buf... bufs) {
        long sum = 0;
        for (Buf b : bufs) {
            sum += b == null ? 0 : (long) b.length * b.array.dataType().width();
        }
        return sum;
    }

    static long bytes(INDArray... arrays) {
        long sum = 0;
        for (INDArray a : arrays) {
            sum += a == null ? 0 : a.length() * a.dataType().width();
        }
        return sum;
    }
}
