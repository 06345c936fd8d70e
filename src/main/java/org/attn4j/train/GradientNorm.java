package org.attn4j.train;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The global L2 norm of a step's gradients, the one gradient clipping scales by; each parameter's sum of
 * squares is taken in Java (no ND4J op each) by one of the workers, and the sums are added in parameter order,
 * whatever the number of workers.
 */
final class GradientNorm {
    private GradientNorm() {
    }

    /**
     * sqrt(sum over parameters of |g_p|^2); a NaN or infinite gradient throws {@link TrainingDivergedException}
     * naming the parameter and {@code step}.
     */
    static double of(Map<String, INDArray> gradients, List<String> order, WorkerShares<String> shares, int step) {
        Map<String, Double> squares = new ConcurrentHashMap<>(); // each parameter's, by a worker
        shares.forEach(p -> squares.put(p, sumOfSquares(gradients.get(p))));
        double sum = 0;
        for (String p : order) {
            double n = squares.get(p);
            if (!Double.isFinite(n)) {
                throw new TrainingDivergedException("Training diverged at step " + step + ": the gradient of '" + p
                        + "' is not finite; the weights are those after step " + (step - 1));
            }
            sum += n;
        }
        return Math.sqrt(sum);
    }

    /** The factor that brings {@code norm} down to {@code clipNorm} (0: no clipping), as torch's clip_grad_norm_. */
    static double clipScale(double norm, double clipNorm) {
        return clipNorm > 0 ? Math.min(1, clipNorm / (norm + 1e-6)) : 1;
    }

    /** Sum of the squares of {@code a}'s elements: read directly where it is a plain c-order array. */
    static double sumOfSquares(INDArray a) {
        if (a.ordering() != 'c' || a.elementWiseStride() != 1 || a.isView()
                || (a.dataType() != DataType.FLOAT && a.dataType() != DataType.DOUBLE)) {
            double n = a.norm2Number().doubleValue();
            return n * n;
        }
        int length = Math.toIntExact(a.length()), offset = Math.toIntExact(a.offset());
        double sum = 0;
        if (a.dataType() == DataType.FLOAT) {
            FloatBuffer b = a.data().asNioFloat();
            for (int i = 0; i < length; i++) {
                double v = b.get(offset + i);
                sum += v * v;
            }
        } else {
            DoubleBuffer b = a.data().asNioDouble();
            for (int i = 0; i < length; i++) {
                double v = b.get(offset + i);
                sum += v * v;
            }
        }
        return sum;
    }
}
