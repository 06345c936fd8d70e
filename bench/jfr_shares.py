#!/usr/bin/env python3
"""Where a step's time goes, from a JFR recording of bench/realsize: every execution and native-method sample of
attn4j's threads inside the phase's window (from the first to the last sample under the phase's entry method),
sorted into operations by the frames of its stack, as shares of all those samples (thread time: with two threads
busy, the share of the step's time).

    MAVEN_OPTS="-XX:StartFlightRecording=filename=train.jfr,settings=profile ..." mvn exec:java@realsize ...
    python3 bench/jfr_shares.py train.jfr train      # or: decode (runs `jfr print`)

JFR's profile settings sample the threads running Java every 10 ms and those in native code (OpenBLAS's GEMM)
every 20 ms, so a native sample counts twice. Sampling shares hold up under load better than times do: other
processes slow every operation alike.
"""
import collections
import re
import subprocess
import sys

ENTRY = {"train": "org.attn4j.train.Trainer.step", "decode": "org.attn4j.model.DecodingSession.advance"}


FRAME = re.compile(r"^\s+([\w.$<>]+)\(")


def events(path):
    """(kind, time, thread, frames top first) of every sample in the recording."""
    out = subprocess.run(["jfr", "print", "--stack-depth", "64", "--events",
                          "jdk.ExecutionSample,jdk.NativeMethodSample", path],
                         check=True, capture_output=True, text=True).stdout
    kind, time, names = None, None, []
    for line in out.splitlines():
        if line.startswith("jdk."):
            kind, time, names = line.split()[0], None, []
        elif line.strip().startswith("startTime ="):
            time = line.split("=", 1)[1].strip()
        elif line.startswith("}"):
            yield kind, time, names
        else:
            m = FRAME.match(line)
            if m and "=" not in line:
                names.append(m.group(1))


def sublayer(s):
    if "AttentionSublayer" in s or "AttentionEngine" in s:
        return "attention q/k/v/out"
    if "FeedForwardSublayer" in s or "FeedForwardEngine" in s:
        return "feed-forward W1/W2"
    return "head [V, C]"


def classify(names):
    s = " ".join(names)
    attn4j = [n for n in names if n.startswith("org.attn4j.")]
    first = attn4j[0] if attn4j else ""
    if not attn4j:
        return "outside attn4j (JVM, ND4J setup)"
    if "Nd4j.create" in s or "Nd4j.zeros" in s or "BackwardScratch" in s:
        return "allocations (the first step's)"
    if "ParameterUpdater" in s or "GradientNorm" in s or "GradientAccumulator" in s:
        return "optimizer: AdamW update and gradient norm"
    if "CrossEntropyKernel" in s or "logSoftmax" in s or "LogSoftmax" in s:
        return "softmax and cross-entropy over V"
    if "sgemm" in s or "Blas.gemm" in s or "CompactMatrix" in s or "CompactLanes" in s or "LinearKernel" in s:
        if ".pairs" in s or "AttentionKernel" in s or "AttentionLanes" in s:
            return "attention pairs (Q K^T, softmax, P V)"
        kind = ("dW (weight gradients)" if "GradientShares" in s or "backwardWeights" in s
                else "dX (input gradients)" if "backwardInput" in s else "forward")
        return "products, %s: %s" % (sublayer(s), kind)
    if ".pairs" in s or "AttentionKernel" in s or "AttentionLanes" in s:
        return "attention pairs (Q K^T, softmax, P V)"
    if "NormKernel" in s or "Norm" in first:
        return "norms (LayerNorm)"
    if "gelu" in s.lower() or "RowMath.activation" in s:
        return "GELU"
    if first.startswith("org.attn4j.kernels.Parallel"):
        return "waits at the split loops' joins (spinning)"
    if "EmbeddingKernel" in s:
        return "embedding"
    return "other: " + first.rsplit(".", 2)[-2] + "." + first.rsplit(".", 1)[-1]


def main(path, phase):
    samples = list(events(path))
    entry = ENTRY[phase]
    marked = [t for _, t, names in samples if entry in names]
    if not marked:
        sys.exit("no sample under " + entry)
    start, end = min(marked), max(marked)
    counts = collections.Counter()
    for kind, t, names in samples:
        if start <= t <= end and any(n.startswith("org.attn4j.") for n in names):
            counts[classify(names)] += 2 if kind == "jdk.NativeMethodSample" else 1
    first = counts.pop("allocations (the first step's)", 0)
    total = sum(counts.values())
    print("%s: %d sample weights of attn4j's threads from %s to %s, %d more in the first call's allocations "
          "(left out of the shares)" % (phase, total, start, end, first))
    for what, n in counts.most_common():
        print("%5.1f%%  %s" % (100.0 * n / total, what))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "train")
