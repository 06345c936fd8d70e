"""The Shakespeare example's recipe end to end in PyTorch, to time it against `exec:java@shakespeare`.

Same data, model and recipe as org.attn4j.examples.shakespeare.ShakespeareExample's defaults:
- vocabulary: the text's distinct characters in code-point order; the first 90% of characters train, the
  last 10% validate;
- batches: 12 random windows of 64 characters, placed by SplitMix64 of (seed, step, row) exactly as
  CharText.start does, so both sides train on the same batches in the same order and evaluate on the same
  fixed 20 batches per split (seeds 2026 and 2027);
- model: ModelConfig.languageModel(V, 128, 4, 512, 4, 64).withoutPadding(): token and learned position
  embeddings, 4 pre-LN blocks (separate q, k, v, out projections with biases; feed-forward 128-512-128 with
  exact GELU), a final LayerNorm, the head tied to the token embedding, no dropout; initialized as
  LanguageModel is (N(0, 0.02^2), residual projections N(0, (0.02/sqrt(2L))^2), biases 0, norms 1 and 0);
- AdamW (betas 0.9/0.99, eps 1e-8, weight decay 0.1 on parameters of rank >= 2 only), lr 1e-3 after 100
  linear warm-up steps ((s+1)/100 * 1e-3), cosine to 1e-4 at step 2,000 (Schedules.warmupCosine),
  clipping of the global gradient norm at 1.0, 2,000 steps; the mean loss over the fixed batches of both
  splits before the first step and every 250 steps.

Only the weights' random initialization differs (torch's generator, seeded).

Run (the machine is shared: one run at a time, and note the load):
    /work/venv-torch2/bin/python bench/torch_shakespeare.py --threads 2
    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread OPENBLAS_NUM_THREADS=2 \\
        /usr/bin/python3 bench/torch_shakespeare.py --threads 2
The last line is the example's: RESULT val_loss=... train_loss=... steps=... train_seconds=... tokens_per_second=...
(train_seconds: the loop's wall time, evaluation included; tokens_per_second: over the updates alone).
"""
import argparse
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MASK = (1 << 64) - 1
EVAL_SEED = 2026


def window_start(seed, step, row, choices):
    """CharText.start: SplitMix64's finalizer over a mix of (seed, step, row), unsigned modulo choices."""
    z = (seed * 0x9E3779B97F4A7C15 + step * 0xBF58476D1CE4E5B9 + row * 0x94D049BB133111EB) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z = z ^ (z >> 31)
    return z % choices


def windows(ids, seed, step, batch, context):
    starts = [window_start(seed, step, row, len(ids) - context) for row in range(batch)]
    x = torch.stack([ids[s:s + context] for s in starts])  # (B, T)
    y = torch.stack([ids[s + 1:s + 1 + context] for s in starts])
    return x, y


class CausalSelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        b, t, c = x.shape
        hs = c // self.heads
        q, k, v = (p(x).view(b, t, self.heads, hs).transpose(1, 2) for p in (self.q, self.k, self.v))  # (B, H, T, hs)
        if hasattr(F, "scaled_dot_product_attention"):
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
        self.linear1, self.linear2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(self, x):
        x = x + self.self_attn(self.norm1(x))
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))


class CharGpt(nn.Module):
    def __init__(self, vocab, d, heads, ff, layers, context):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d)
        self.positions = nn.Parameter(torch.empty(context, d))
        self.blocks = nn.ModuleList(Block(d, heads, ff) for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        residual = 0.02 / math.sqrt(2 * layers)
        for name, p in self.named_parameters():
            if name.endswith("bias") and "norm" not in name:
                nn.init.zeros_(p)
            elif p.dim() >= 2:
                nn.init.normal_(p, 0, residual if name.endswith(("out.weight", "linear2.weight")) else 0.02)

    def forward(self, x, y):
        t = x.shape[1]
        h = self.embedding(x) + self.positions[:t]  # (B, T, C)
        for block in self.blocks:
            h = block(h)
        logits = self.norm(h) @ self.embedding.weight.t()  # (B, T, V), tied head
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def learning_rate(step, peak, warmup, total, floor):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / (total - warmup))
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", default=os.path.join(os.path.dirname(__file__), "..", "examples", "data",
                                                   "tinyshakespeare.txt"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-batches", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    batch, context, warmup = 12, 64, 100

    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    n = int(len(ids) * 0.9)
    splits = {"train": ids[:n], "val": ids[n:]}
    fixed = {name: [windows(split, EVAL_SEED + k, i, batch, context) for i in range(args.eval_batches)]
             for k, (name, split) in enumerate(splits.items())}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(text):,} characters "
          f"({len(chars)} distinct): {n:,} train, {len(ids) - n:,} validation", flush=True)

    model = CharGpt(len(chars), 128, 4, 512, 4, context)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.99), eps=1e-8)
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters", flush=True)

    @torch.no_grad()
    def evaluate():
        model.eval()
        losses = {name: sum(model(x, y).item() for x, y in batches) / len(batches) for name, batches in fixed.items()}
        model.train()
        return losses

    start = time.perf_counter()
    step_seconds = 0.0
    losses = evaluate()
    print(f"step 0: train loss {losses['train']:.4f}, validation loss {losses['val']:.4f}", flush=True)
    for step in range(args.steps):
        t0 = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, 1e-3, warmup, args.steps, 1e-4)
        x, y = windows(splits["train"], args.seed, step, batch, context)
        loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step_seconds += time.perf_counter() - t0
        done = step + 1
        if done % args.eval_every == 0 or done == args.steps:
            losses = evaluate()
            print(f"step {done}: train loss {losses['train']:.4f}, validation loss {losses['val']:.4f} "
                  f"({time.perf_counter() - start:.1f} s)", flush=True)
    seconds = time.perf_counter() - start
    tokens_per_second = args.steps * batch * context / step_seconds
    print(f"Trained {args.steps} steps in {seconds:.1f} s (updates {step_seconds:.1f} s); load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"RESULT val_loss={losses['val']:.4f} train_loss={losses['train']:.4f} steps={args.steps} "
          f"train_seconds={seconds:.1f} tokens_per_second={tokens_per_second:.0f}")


if __name__ == "__main__":
    main()
