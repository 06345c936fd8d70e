"""PyTorch side of attn4j's block benchmark: the workloads of BlockBenchmark.java, in float32.

Run with Debian's python3-torch 1.13 and OpenBLAS (reference BLAS is ~10x slower and no fair baseline):

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread OPENBLAS_NUM_THREADS=1 \
        /usr/bin/python3 bench/torch_block.py --threads 1

Workloads per size (toy: B=32 T=32 d=64 heads=4 ff=256; standard: B=8 T=128 d=256 heads=8 ff=1024):
  forward           nn.TransformerEncoderLayer(norm_first=True, activation='gelu', batch_first=True,
                    dropout=0) in eval mode under inference_mode (PyTorch's own inference path)
  train_step        the same layer: loss mean((layer(x) - y)^2), zero_grad, backward, Adam(lr=1e-3) step
  mha_forward       nn.MultiheadAttention(batch_first=True), returning per-head weights as attn4j does
  decode_cached     greedy decoding of --tokens tokens by an untrained 2-layer pre-LN GELU decoder-only
  decode_recompute  model (vocabulary 64, learned positions, tied embeddings, as attn4j's LanguageModel)
                    with a per-layer key/value cache (written here: PyTorch 1.13 has none) or
                    recomputing the whole prefix every step
and once: gemm, torch.mm of two 1024 x 1024 floats.

Every measurement prints one line in BlockBenchmark's format:
  BENCH impl=torch size=... threads=... workload=... median_ms=... min_ms=... iters=... [flops=...] ...
FLOPs count matrix products only (2*M*N*K): attention 8*BT*C^2 + 4*B*T^2*C, block that plus 4*BT*C*F,
training step 3x the block's forward.
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = {
    "toy": dict(batch=32, length=32, d_model=64, heads=4, ff=256),
    "standard": dict(batch=8, length=128, d_model=256, heads=8, ff=1024),
    "tiny": dict(batch=2, length=4, d_model=8, heads=2, ff=16),
}
VOCAB = 64


def attention_flops(s):
    bt, c = s["batch"] * s["length"], s["d_model"]
    return 8 * bt * c * c + 4 * s["batch"] * s["length"] ** 2 * c


def block_forward_flops(s):
    return attention_flops(s) + 4 * s["batch"] * s["length"] * s["d_model"] * s["ff"]


def timed(warmup, iters, fn):
    """Runs warmup untimed calls, then iters timed ones; the sorted times in ms."""
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - start) * 1e3)
    return sorted(ms)


class Harness:
    def __init__(self, threads):
        self.threads = threads
        self.lines = 0

    def report(self, size, workload, ms, extra=""):
        print(f"BENCH impl=torch size={size} threads={self.threads} workload={workload} "
              f"median_ms={statistics.median(ms):.3f} min_ms={ms[0]:.3f} iters={len(ms)}{extra}", flush=True)
        self.lines += 1


def encoder_layer(s):
    return nn.TransformerEncoderLayer(s["d_model"], s["heads"], s["ff"], dropout=0.0, activation="gelu",
                                      batch_first=True, norm_first=True)


def bench_forward(h, name, s, warmup, iters):
    layer = encoder_layer(s).eval()
    x = torch.randn(s["batch"], s["length"], s["d_model"])
    with torch.inference_mode():
        ms = timed(warmup, iters, lambda: layer(x))
    h.report(name, "forward", ms, f" flops={block_forward_flops(s)}")


def bench_train_step(h, name, s, warmup, iters):
    layer = encoder_layer(s).train()
    opt = torch.optim.Adam(layer.parameters(), lr=1e-3)
    x = torch.randn(s["batch"], s["length"], s["d_model"])
    y = torch.randn(s["batch"], s["length"], s["d_model"])

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((layer(x) - y) ** 2).mean()
        loss.backward()
        opt.step()

    ms = timed(warmup, iters, step)
    h.report(name, "train_step", ms, f" flops={3 * block_forward_flops(s)}")


def bench_mha(h, name, s, warmup, iters):
    mha = nn.MultiheadAttention(s["d_model"], s["heads"], batch_first=True).eval()
    x = torch.randn(s["batch"], s["length"], s["d_model"])
    with torch.inference_mode():
        ms = timed(warmup, iters, lambda: mha(x, x, x, need_weights=True, average_attn_weights=False))
    h.report(name, "mha_forward", ms, f" flops={attention_flops(s)}")


class DecoderBlock(nn.Module):
    """Pre-LN causal block, x = x + attn(ln1(x)); x = x + ff(ln2(x)), with an optional key/value cache."""

    def __init__(self, d, heads, ff):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

    def forward(self, x, cache):
        b, t, c = x.shape
        hs = c // self.heads
        n = self.ln1(x)
        q, k, v = (p(n).view(b, t, self.heads, hs).transpose(1, 2) for p in (self.q, self.k, self.v))  # (B, H, T, hs)
        if cache is not None:
            k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)  # (B, H, Tpast + T, hs)
        past = k.shape[2] - t
        scores = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (B, H, T, Tpast + T)
        if t > 1:  # query i sees keys up to past + i
            allowed = torch.ones(t, past + t, dtype=torch.bool).tril(past)
            scores = scores.masked_fill(~allowed, float("-inf"))
        a = (F.softmax(scores, -1) @ v).transpose(1, 2).reshape(b, t, c)  # (B, T, C)
        x = x + self.out(a)
        return x + self.ff(self.ln2(x)), (k, v)


class LanguageModel(nn.Module):
    def __init__(self, d, heads, ff, layers, max_len):
        super().__init__()
        self.d = d
        self.embedding = nn.Embedding(VOCAB, d)
        self.positions = nn.Embedding(max_len, d)
        self.blocks = nn.ModuleList(DecoderBlock(d, heads, ff) for _ in range(layers))
        self.norm = nn.LayerNorm(d)

    def forward(self, ids, caches):
        """ids (B, T) after the cached positions; log-probabilities of the last position and the new caches."""
        past = 0 if caches is None else caches[0][0].shape[2]
        pos = torch.arange(past, past + ids.shape[1])
        x = self.embedding(ids) * math.sqrt(self.d) + self.positions(pos)
        new = []
        for i, block in enumerate(self.blocks):
            x, c = block(x, None if caches is None else caches[i])
            new.append(c)
        logits = self.norm(x[:, -1]) @ self.embedding.weight.T  # (B, V), tied embeddings
        return F.log_softmax(logits, -1), new


def greedy(model, prompt, tokens, cached):
    """As attn4j's Greedy.decode without an end token: one call on the prompt, then tokens - 1 steps."""
    seq, caches = prompt, None
    logp, caches = model(prompt, None)
    for _ in range(tokens - 1):
        nxt = logp.argmax(-1, keepdim=True)  # (B, 1)
        seq = torch.cat([seq, nxt], 1)
        logp, caches = model(nxt, caches) if cached else model(seq, None)
    return seq


def check_cache(model, batch, length):
    """The hand-written cache must give what recomputation gives: feed random ids one at a time and compare."""
    ids = torch.randint(0, VOCAB, (batch, length))
    caches = None
    for t in range(length):
        cached, caches = model(ids[:, t:t + 1], caches)
        full, _ = model(ids[:, :t + 1], None)
        if not torch.allclose(cached, full, atol=1e-4):
            raise AssertionError(f"cached decoding differs from recomputation at position {t}: "
                                 f"{(cached - full).abs().max().item()}")


def bench_decode(h, name, s, layers, tokens, batch, repeats):
    model = LanguageModel(s["d_model"], s["heads"], s["ff"], layers, tokens + 1).eval()
    prompt = torch.ones(batch, 1, dtype=torch.long)
    with torch.inference_mode():
        check_cache(model, batch, tokens)
        for cached in (True, False):
            ms = timed(0, repeats, lambda: greedy(model, prompt, tokens, cached))
            h.report(name, "decode_cached" if cached else "decode_recompute", ms,
                     f" tokens={tokens} batch={batch} layers={layers} "
                     f"tok_per_s={tokens * batch / (statistics.median(ms) / 1e3):.2f}")


def bench_gemm(h, n, warmup, iters):
    a, b, c = torch.rand(n, n), torch.rand(n, n), torch.empty(n, n)
    ms = timed(warmup, iters, lambda: torch.mm(a, b, out=c))
    flops = 2 * n ** 3
    h.report(f"gemm{n}", "gemm", ms, f" flops={flops} gflops={flops / ms[0] / 1e6:.2f}")


def blas_library():
    """The BLAS library actually mapped into this process (Debian's torch links whatever libblas.so.3 is)."""
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line}
    return ",".join(sorted(libs)) or "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--sizes", default="toy,standard")
    p.add_argument("--workloads", default="forward,train_step,mha_forward,decode,gemm")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--decode-batch", type=int, default=1)
    p.add_argument("--decode-repeats", type=int, default=3)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--gemm-size", type=int, default=1024)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    workloads = a.workloads.split(",")
    print(f"torch harness: torch {torch.__version__}, {torch.get_num_threads()} threads, blas={blas_library()}, "
          "float32", flush=True)
    h = Harness(a.threads)
    for name in a.sizes.split(","):
        s = SIZES[name]
        if "forward" in workloads:
            bench_forward(h, name, s, a.warmup, a.iters)
        if "train_step" in workloads:
            bench_train_step(h, name, s, a.warmup, a.iters)
        if "mha_forward" in workloads:
            bench_mha(h, name, s, a.warmup, a.iters)
        if "decode" in workloads:
            bench_decode(h, name, s, a.layers, a.tokens, a.decode_batch, a.decode_repeats)
    if "gemm" in workloads:
        bench_gemm(h, a.gemm_size, a.warmup, a.iters)
    print(f"RESULT impl=torch threads={a.threads} benches={h.lines}")


if __name__ == "__main__":
    main()
