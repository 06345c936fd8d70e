"""PyTorch side of the benchmark row lm_train_step: one training step of a character-level GPT.

The model is attn4j's ModelConfig.languageModel(66, 128, 4, 512, 4, 64), written here in PyTorch:
vocabulary 66, 4 pre-LN blocks of 4 heads, d=128, ff=512 with exact GELU, context 64, learned
positions, unscaled embeddings, a final LayerNorm and a head tied to the embedding, GPT-2's
initialization (N(0, 0.02) tables); no dropout. A step is what attn4j's Trainer.step does: forward, cross-entropy (pad id 0 ignored; the
batches hold ids 1..65 only), backward, clipping of the global gradient norm to 1.0, AdamW (lr 1e-3,
betas 0.9/0.99, eps 1e-8, weight decay 0.1 on every parameter, as Trainer's ADAMW does). Batches of
B=12 x T=64 are drawn once, before timing, from a fixed random token stream (8 of them, used in turn).

Attention is torch's fused F.scaled_dot_product_attention where the build has it (2.x) and the same
product written out (masked softmax) on 1.13; the BENCH line says which.

Run (Debian's PyTorch 1.13 needs OpenBLAS: reference BLAS is ~10x slower and no fair baseline):

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread OPENBLAS_NUM_THREADS=1 \\
        /usr/bin/python3 bench/torch_lm.py --threads 1
    $TORCH2_PY bench/torch_lm.py --threads 2        # a PyTorch 2.x CPU build in a venv

It prints one line in BlockBenchmark's format (impl is torch for 1.x builds, torch2 for 2.x):
  BENCH impl=torch size=char_gpt threads=... workload=lm_train_step median_ms=... min_ms=... iters=... flops=...
FLOPs count matrix products only: per block 8*BT*C^2 + 4*B*T^2*C + 4*BT*C*F, plus the head 2*BT*C*V,
a training step three times the forward.
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = {
    "char_gpt": dict(vocab=66, batch=12, length=64, d_model=128, heads=4, ff=512, layers=4),
    "lm_tiny": dict(vocab=11, batch=2, length=5, d_model=8, heads=2, ff=16, layers=2),
}
PAD = 0
FUSED = hasattr(F, "scaled_dot_product_attention")


def train_step_flops(s):
    bt, c = s["batch"] * s["length"], s["d_model"]
    block = 8 * bt * c * c + 4 * s["batch"] * s["length"] ** 2 * c + 4 * bt * c * s["ff"]
    return 3 * (s["layers"] * block + 2 * bt * c * s["vocab"])


class CausalSelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        b, t, c = x.shape
        hs = c // self.heads
        q, k, v = (p(x).view(b, t, self.heads, hs).transpose(1, 2) for p in (self.q, self.k, self.v))  # (B, H, T, hs)
        if FUSED:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (B, H, T, T)
            future = torch.ones(t, t, dtype=torch.bool).triu(1)
            y = F.softmax(scores.masked_fill(future, float("-inf")), -1) @ v
        return self.out(y.transpose(1, 2).reshape(b, t, c))  # (B, T, C)


class Block(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = CausalSelfAttention(d, heads)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

    def forward(self, x):
        x = x + self.self_attn(self.norm1(x))
        return x + self.ff(self.norm2(x))


class CharGpt(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.embedding = nn.Embedding(s["vocab"], s["d_model"])
        self.positions = nn.Embedding(s["length"], s["d_model"])
        self.blocks = nn.ModuleList(Block(s["d_model"], s["heads"], s["ff"]) for _ in range(s["layers"]))
        self.norm = nn.LayerNorm(s["d_model"])
        # as attn4j's LanguageModel (GPT-2): small tables, so the tied head starts with small logits
        nn.init.normal_(self.embedding.weight, std=0.02)
        nn.init.normal_(self.positions.weight, std=0.02)

    def forward(self, ids):
        """ids (B, T) -> logits (B, T, V)."""
        x = self.embedding(ids) + self.positions.weight[:ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.norm(x) @ self.embedding.weight.T  # tied head


def batches(s, count, generator):
    """count (input, target) pairs from one random stream of ids 1..V-1; target is input shifted by one."""
    b, t = s["batch"], s["length"]
    stream = torch.randint(1, s["vocab"], (count * b * (t + 1),), generator=generator).view(count, b, t + 1)
    return [(w[:, :-1].contiguous(), w[:, 1:].contiguous()) for w in stream]


def timed(warmup, iters, fn):
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - start) * 1e3)
    return sorted(ms)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--size", default="char_gpt", choices=sorted(SIZES))
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--impl", default="torch" if torch.__version__.startswith("1.") else "torch2",
                   help="the impl= label (default: torch for 1.x builds, torch2 for 2.x)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    s = SIZES[a.size]
    model = CharGpt(s).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
    data = batches(s, 8, torch.Generator().manual_seed(2))
    step_count = [0]
    losses = []

    def step():
        x, y = data[step_count[0] % len(data)]
        step_count[0] += 1
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).view(-1, s["vocab"]), y.view(-1), ignore_index=PAD)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())

    print(f"torch lm harness: torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"attention={'sdpa' if FUSED else 'manual'}, float32, size {a.size} {s}", flush=True)
    ms = timed(a.warmup, a.iters, step)
    print(f"BENCH impl={a.impl} size={a.size} threads={a.threads} workload=lm_train_step "
          f"median_ms={statistics.median(ms):.3f} min_ms={ms[0]:.3f} iters={len(ms)} flops={train_step_flops(s)} "
          f"torch={torch.__version__} attention={'sdpa' if FUSED else 'manual'} "
          f"loss_first={losses[0]:.4f} loss_last={losses[-1]:.4f}", flush=True)


if __name__ == "__main__":
    main()
