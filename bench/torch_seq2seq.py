"""PyTorch side of the benchmark row seq2seq_train_step: one training step of the sequence example's encoder-decoder.

The model is exec:java@sequence's default (attn4j's Seq2SeqSize.sequence()), written here with PyTorch's
own nn.TransformerEncoder and nn.TransformerDecoder (batch_first, pre-LN, exact GELU, no dropout):
vocabulary 14 (pad 0, BOS 1, EOS 2, unk 3, digits 4..13), d=64, 4 heads, ff=256, 1 encoder + 1 decoder
block with final LayerNorms, learned positions (22 rows) for source and target, embeddings scaled by
sqrt(d), an untied head with bias. A step is what attn4j's Trainer.step does: forward (source key
padding, causal and key padding in the decoder, memory key padding), cross-entropy ignoring pad,
backward, clipping of the global gradient norm to 1.0, Adam (lr 1e-3, betas 0.9/0.98, eps 1e-8).

Batches: 8 copy-task batches of B=128 random digit sequences of lengths 1-12, drawn once before timing
(source = digits, input = BOS + digits, target = digits + EOS, each padded with 0 to its longest), used
in turn. attn4j's batches come from its own seeded generator: same distribution, not the same ids.

Run (Debian's PyTorch 1.13 needs OpenBLAS: reference BLAS is ~10x slower and no fair baseline):

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread OPENBLAS_NUM_THREADS=1 \\
        /usr/bin/python3 bench/torch_seq2seq.py --threads 1
    $TORCH2_PY bench/torch_seq2seq.py --threads 2        # a PyTorch 2.x CPU build in a venv

It prints one line in BlockBenchmark's format (impl is torch for 1.x builds, torch2 for 2.x):
  BENCH impl=torch size=sequence threads=... workload=seq2seq_train_step median_ms=... min_ms=... iters=...
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = {
    "sequence": dict(vocab=14, batch=128, min_length=1, max_length=12, d_model=64, heads=4, ff=256, layers=1,
                     max_len=22),
    "s2s_tiny": dict(vocab=14, batch=2, min_length=1, max_length=4, d_model=8, heads=2, ff=16, layers=1, max_len=6),
}
PAD, BOS, EOS, FIRST_DIGIT = 0, 1, 2, 4


class Seq2Seq(nn.Module):
    def __init__(self, s):
        super().__init__()
        d = s["d_model"]
        self.scale = math.sqrt(d)
        self.source_embedding = nn.Embedding(s["vocab"], d)
        self.source_positions = nn.Embedding(s["max_len"], d)
        self.embedding = nn.Embedding(s["vocab"], d)
        self.positions = nn.Embedding(s["max_len"], d)
        layer = dict(d_model=d, nhead=s["heads"], dim_feedforward=s["ff"], dropout=0.0, activation="gelu",
                     batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer), s["layers"], norm=nn.LayerNorm(d),
                                             enable_nested_tensor=False)  # training: the nested path is off anyway
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer), s["layers"], norm=nn.LayerNorm(d))
        self.head = nn.Linear(d, s["vocab"])
        # attn4j's Embedding starts at N(0, 1/d): with the sqrt(d) scale the inputs have unit variance.
        for e in (self.source_embedding, self.embedding):
            nn.init.normal_(e.weight, std=1 / self.scale)

    def forward(self, source, inputs):
        """source (B, S), inputs (B, T) -> logits (B, T, V)."""
        s, t = source.shape[1], inputs.shape[1]
        source_pad = source == PAD  # (B, S), True = ignored
        memory = self.encoder(self.source_embedding(source) * self.scale + self.source_positions.weight[:s],
                              src_key_padding_mask=source_pad)  # (B, S, C)
        future = torch.ones(t, t, dtype=torch.bool).triu(1)  # (T, T)
        h = self.decoder(self.embedding(inputs) * self.scale + self.positions.weight[:t], memory, tgt_mask=future,
                         tgt_key_padding_mask=inputs == PAD, memory_key_padding_mask=source_pad)  # (B, T, C)
        return self.head(h)


def pad(rows):
    out = torch.full((len(rows), max(len(r) for r in rows)), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, :len(r)] = torch.tensor(r)
    return out


def copy_batch(s, generator):
    """(source, input, target), each padded (B, L); lengths uniform in min..max."""
    digits = []
    for _ in range(s["batch"]):
        n = int(torch.randint(s["min_length"], s["max_length"] + 1, (1,), generator=generator))
        digits.append((torch.randint(0, 10, (n,), generator=generator) + FIRST_DIGIT).tolist())
    return pad(digits), pad([[BOS] + d for d in digits]), pad([d + [EOS] for d in digits])


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
    p.add_argument("--size", default="sequence", choices=sorted(SIZES))
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--impl", default="torch" if torch.__version__.startswith("1.") else "torch2",
                   help="the impl= label (default: torch for 1.x builds, torch2 for 2.x)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    s = SIZES[a.size]
    model = Seq2Seq(s).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-8)
    generator = torch.Generator().manual_seed(2)
    data = [copy_batch(s, generator) for _ in range(8)]
    step_count = [0]
    losses = []

    def step():
        source, inputs, target = data[step_count[0] % len(data)]
        step_count[0] += 1
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(source, inputs).reshape(-1, s["vocab"]), target.reshape(-1), ignore_index=PAD)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())

    print(f"torch seq2seq harness: torch {torch.__version__}, {torch.get_num_threads()} threads, float32, "
          f"size {a.size} {s}", flush=True)
    ms = timed(a.warmup, a.iters, step)
    print(f"BENCH impl={a.impl} size={a.size} threads={a.threads} workload=seq2seq_train_step "
          f"median_ms={statistics.median(ms):.3f} min_ms={ms[0]:.3f} iters={len(ms)} torch={torch.__version__} "
          f"loss_first={losses[0]:.4f} loss_last={losses[-1]:.4f}", flush=True)


if __name__ == "__main__":
    main()
