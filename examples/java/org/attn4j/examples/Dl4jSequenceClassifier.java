package org.attn4j.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.attn4j.config.BlockConfig;
import org.attn4j.dl4j.TransformerBlockLayer;
import org.attn4j.nn.TransformerBlock;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A DL4J sequence classifier with an attn4j transformer block inside, trained by DL4J's own
 * {@code fit}. The block's forward and backward inside {@code fit} are attn4j's engine (see
 * {@link TransformerBlockLayer}); DL4J runs the other layers, the loss and the updater.
 *
 * <p>The task: a sequence of random tokens holds one token A and one token B somewhere; is A before
 * B? The network gets no positions: the dense layer sees one token at a time and the average over
 * time sees a bag of tokens, which is the same for both orders, so without attention it could only
 * guess (50%). The block's causal self-attention is the one place where order exists: at B's step,
 * B can look back and see whether an A came earlier.
 *
 * <p>Encoding: one-hot tokens (vocabulary {@code vocab}) as DL4J recurrent input {@code [N, vocab,
 * length]}. The network is dense (per step: a token embedding) -> causal attn4j block -> average over
 * time -> softmax over {no, yes}.
 *
 * <p>Arguments ({@code key=value}): {@code length=10}, {@code vocab=8}, {@code train=2000},
 * {@code test=500}, {@code epochs=4}, {@code batch=32}, {@code dModel=32}, {@code heads=4},
 * {@code lr=3e-3}, {@code seed=1}. Run: {@code OMP_NUM_THREADS=1 mvn -q test-compile exec:java@dl4j-classifier}
 * (one native thread: at this size more threads are slower).
 * Last line: {@code RESULT task=a_before_b accuracy=... train_seconds=...}.
 */
public final class Dl4jSequenceClassifier {
    private static final int A = 0, B = 1;

    public static void main(String[] args) throws Exception {
        Cli.main("dl4j-classifier", args, Dl4jSequenceClassifier::run);
    }

    static void run(String[] args) {
        Flags o = Flags.parse(args, Map.of("length", "10", "vocab", "8", "train", "2000",
                "test", "500", "epochs", "4", "batch", "32", "dModel", "32", "heads", "4", "lr", "3e-3",
                "seed", "1"));
        // Two positions for A and B; A, B and at least one filler token.
        int length = o.integer("length", 2), vocab = o.integer("vocab", 3);
        int epochs = o.integer("epochs", 1), batch = o.integer("batch", 1);
        int dModel = o.integer("dModel", 1), heads = o.integer("heads", 1);
        Flags.require(dModel % heads == 0, "dModel", "a multiple of --heads " + heads, dModel);
        int trainCount = o.integer("train", 2), testCount = o.integer("test", 1);
        double lr = o.real("lr", 0);
        long seed = o.seed("seed");
        Random random = new Random(seed);
        List<int[]> trainSeqs = sequences(trainCount, length, vocab, random);
        List<int[]> testSeqs = sequences(testCount, length, vocab, random);
        DataSet train = encode(trainSeqs, length, vocab), test = encode(testSeqs, length, vocab);

        Nd4j.getRandom().setSeed(seed);
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(seed).updater(new Adam(lr))
                .list()
                .layer(new DenseLayer.Builder().nOut(dModel).activation(Activation.IDENTITY).build())
                .layer(TransformerBlockLayer.of(BlockConfig.encoder(dModel, heads, 2 * dModel).withCausal(true)))
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(vocab))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        System.out.printf(Locale.ROOT, "a_before_b: length %d, vocabulary %d, %d train / %d held-out sequences; "
                + "%d parameters%n", length, vocab, trainSeqs.size(), testSeqs.size(), net.numParams());

        long start = System.nanoTime();
        for (int epoch = 1; epoch <= epochs; epoch++) {
            train.shuffle(seed + epoch);
            for (DataSet minibatch : train.batchBy(batch)) {
                net.fit(minibatch);
            }
            System.out.printf(Locale.ROOT, "epoch %2d/%d  loss %.4f  held-out accuracy %.3f%n", epoch, epochs,
                    net.score(train), accuracy(net, test));
        }
        double seconds = (System.nanoTime() - start) / 1e9;

        int[] predicted = net.predict(test.getFeatures());
        int shown = 0;
        for (int i = 0; i < testSeqs.size() && shown < 3; i++) {
            int truth = test.getLabels().getInt(i, 1);
            if (predicted[i] != truth) {
                System.out.println("mistake: " + show(testSeqs.get(i)) + " -> said " + (predicted[i] == 1 ? "yes" : "no"));
                shown++;
            }
        }
        System.out.printf(Locale.ROOT, "RESULT task=a_before_b accuracy=%.4f train_seconds=%.1f%n",
                accuracy(net, test), seconds);
    }

    /** Sequences of filler tokens (2..vocab-1) with one A and one B; A comes first in half of them. */
    private static List<int[]> sequences(int n, int length, int vocab, Random random) {
        List<int[]> out = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            int[] seq = new int[length];
            for (int t = 0; t < length; t++) {
                seq[t] = 2 + random.nextInt(vocab - 2);
            }
            int i = random.nextInt(length), j = random.nextInt(length - 1);
            j = j >= i ? j + 1 : j;                         // two distinct positions
            boolean aFirst = s % 2 == 0;
            seq[Math.min(i, j)] = aFirst ? A : B;
            seq[Math.max(i, j)] = aFirst ? B : A;
            out.add(seq);
        }
        return out;
    }

    /** Features [N, vocab, length] (one-hot tokens), labels [N, 2] (one-hot: not A-first, A-first). */
    private static DataSet encode(List<int[]> seqs, int length, int vocab) {
        INDArray x = Nd4j.zeros(DataType.FLOAT, seqs.size(), vocab, length);
        INDArray y = Nd4j.zeros(DataType.FLOAT, seqs.size(), 2);
        for (int n = 0; n < seqs.size(); n++) {
            int[] seq = seqs.get(n);
            int aAt = -1, bAt = -1;
            for (int t = 0; t < length; t++) {
                x.putScalar(new long[] {n, seq[t], t}, 1);
                aAt = seq[t] == A ? t : aAt;
                bAt = seq[t] == B ? t : bAt;
            }
            y.putScalar(n, aAt < bAt ? 1 : 0, 1);
        }
        return new DataSet(x, y);
    }

    private static double accuracy(MultiLayerNetwork net, DataSet data) {
        int[] predicted = net.predict(data.getFeatures());
        int correct = 0;
        for (int i = 0; i < predicted.length; i++) {
            correct += predicted[i] == data.getLabels().getInt(i, 1) ? 1 : 0;
        }
        return correct / (double) predicted.length;
    }

    private static String show(int[] seq) {
        StringBuilder s = new StringBuilder();
        for (int token : seq) {
            s.append(token == A ? "A" : token == B ? "B" : ".");
        }
        return s.toString();
    }
}
