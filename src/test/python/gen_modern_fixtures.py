"""Reference cases for the 2026 block options of attn4j's TransformerBlock (ModernBlockParityTest), from PyTorch.

What it checks
--------------
A self-attention block written here directly in PyTorch 1.13, with attn4j's semantics and parameter names
(``org.attn4j.nn.TransformerBlock`` without cross-attention, and its engine ``org.attn4j.engine.BlockEngine``), for the
options PyTorch 1.13's TransformerEncoderLayer lacks:

* RMSNorm (nn.RMSNorm of PyTorch >= 2.4): y = x * rsqrt(mean(x^2) + eps) * weight, no bias;
* grouped-query and multi-query attention: k and v have kv_heads heads (kv_heads * D wide), each shared by
  heads / kv_heads query heads: ``repeat_interleave(heads // kv_heads, dim=1)`` on [B, KVH, T, D], as
  scaled_dot_product_attention(..., enable_gqa=True) of PyTorch >= 2.5;
* ALiBi (Press et al. 2022): head h adds -m_h |i - j| to its scores, m_h the paper's slopes (get_slopes below
  is the authors' code); query row i stands at position i, key j at j;
* a sliding window W: query i sees only keys with |i - j| < W (with causality: the last W positions);
* the current-style combination: pre-norm RMSNorm, SwiGLU, rotary, grouped-query, no biases.

Block (pre-norm): x = x + out(attn(norm1(x)));  x = x + ff(norm2(x)).  Post-norm: x = norm1(x + attn(x)); ...
attn: q, k, v Linear (weight [out, in], optional bias); rotary ("rotate half", angle p * 10000^(-2i/D)) on q
and k after the projections; scores = q k^T / sqrt(D) + alibi; keep = causal & key padding & window;
weights = softmax(scores + (keep - 1) * 1e9) * keep (a query that may see no key gets zeros, as attn4j);
ff: linear2(gelu(linear1(x))) (exact erf gelu) or linear2(silu(linear1(x)) * gate(x)). No dropout.

Loss: sum(output * grad_output); the gradients of every parameter and of x are stored.

Cross-check against PyTorch 2.x's built-ins
--------------------------------------------
``/work/venv-torch2/bin/python src/test/python/gen_modern_fixtures.py --cross-check`` (torch 2.x, not pinned,
writes nothing) compares the hand-written RMSNorm with ``nn.RMSNorm`` and the hand-written grouped-query
attention (with causal and window masks and ALiBi biases as a float mask) with
``F.scaled_dot_product_attention(..., enable_gqa=True)`` in float64. Run 2026-11-30 with torch 2.13 CPU:
"torch 2.13.0+cpu: rms_norm max |diff| 0.0e+00; sdpa gqa max |diff| 2.2e-16".

Output: ``src/test/resources/modern_parity/NAME_f64.{json,npz}`` and ``NAME_f32.{json,npz}``.
json: d_model, heads, kv_heads, ff_dim, activation, norm, norm_first, causal, bias, rotary, alibi, window,
eps, dtype, description. npz: in/x [B, T, C], in/keep [B, T] (1 = real key; only where padded),
in/grad_output, out/output, param/NAME and grad/NAME (attn4j names), grad/x.
"""

import sys

if __name__ == "__main__" and sys.argv[1:] != ["--cross-check"]:
    import reproducible
    reproducible.pin_environment()

import dataclasses
import math
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

B, T = 2, 6


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    d_model: int = 16
    heads: int = 4
    kv_heads: int = 4
    ff_dim: int = 24
    activation: str = "gelu"
    norm: str = "rms"
    norm_first: bool = True
    causal: bool = True
    bias: bool = True
    rotary: bool = False
    alibi: bool = False
    window: int = 0
    padded: bool = False
    seed: int = 1900
    description: str = ""


CASES: List[Case] = [
    Case("rms_pre", description="RMSNorm pre-norm block, GELU, biases, causal"),
    Case("rms_post", norm_first=False, causal=False, padded=True, seed=1901,
         description="RMSNorm post-norm block, not causal, key padding"),
    Case("gqa", norm="layer", kv_heads=2, padded=True, seed=1902,
         description="grouped-query attention, 4 query heads over 2 key/value heads, LayerNorm, causal, padding"),
    Case("mqa_rotary", norm="layer", kv_heads=1, causal=False, rotary=True, seed=1903,
         description="multi-query attention (1 key/value head), rotary, not causal"),
    Case("alibi", norm="layer", alibi=True, seed=1904, description="ALiBi biases, 4 heads, causal"),
    Case("alibi6", d_model=12, heads=6, kv_heads=3, alibi=True, causal=False, padded=True, seed=1905,
         description="ALiBi with 6 heads (slopes of 4 and every other of 8), grouped-query 6/3, not causal, padding"),
    Case("window", norm="layer", window=3, rotary=True, seed=1906,
         description="sliding window 3, causal, rotary"),
    Case("window_bidir", norm="layer", window=2, causal=False, padded=True, seed=1907,
         description="sliding window 2 both ways (|i - j| < 2), not causal, padding (a query sees no key)"),
    Case("modern", activation="swiglu", kv_heads=2, bias=False, rotary=True, seed=1908,
         description="current-style block: RMSNorm, SwiGLU, rotary, grouped-query 4/2, no biases, causal"),
    Case("modern_alibi_window", activation="swiglu", kv_heads=2, bias=False, alibi=True, window=4, seed=1909,
         description="RMSNorm, SwiGLU, grouped-query 4/2, ALiBi, window 4, no biases, causal"),
]


def get_slopes(n: int) -> List[float]:
    """The ALiBi authors' slopes (github.com/ofirpress/attention_with_linear_biases)."""
    def power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return power_of_2(n)
    closest = 2 ** math.floor(math.log2(n))
    return power_of_2(closest) + get_slopes(2 * closest)[0::2][:n - closest]


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def layer_norm(x, weight, bias, eps):
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)


def rotate(x):  # [B, H, T, D]: "rotate half" by p * 10000^(-2i/D)
    d = x.shape[-1]
    half = d // 2
    inv = torch.tensor([10000.0 ** (-2.0 * i / d) for i in range(half)], dtype=torch.float64)
    angles = torch.arange(x.shape[2], dtype=torch.float64)[:, None] * inv[None, :]
    cos = torch.cat([angles.cos(), angles.cos()], -1).to(x.dtype)
    sin = torch.cat([angles.sin(), angles.sin()], -1).to(x.dtype)
    rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
    return x * cos + rotated * sin


def position_terms(case: Case, t: int, dtype):
    """ALiBi's bias [H, T, T] (or None) and the keep mask [T, T] of causality and the window."""
    i = torch.arange(t)[:, None]
    j = torch.arange(t)[None, :]
    distance = (i - j).abs()
    keep = torch.ones(t, t, dtype=torch.bool)
    if case.causal:
        keep &= j <= i
    if case.window:
        keep &= distance < case.window
    bias = None
    if case.alibi:
        slopes = torch.tensor(get_slopes(case.heads), dtype=dtype)
        bias = -slopes[:, None, None] * distance.to(dtype)[None]
    return bias, keep


def attention(case: Case, p: Dict[str, torch.Tensor], h: torch.Tensor, key_keep: Optional[torch.Tensor]):
    c, heads, kv = case.d_model, case.heads, case.kv_heads
    d = c // heads
    lin = lambda name, x: F.linear(x, p[name + ".weight"], p.get(name + ".bias"))
    q = lin("self_attn.q", h).view(B, T, heads, d).transpose(1, 2)  # [B, H, T, D]
    k = lin("self_attn.k", h).view(B, T, kv, d).transpose(1, 2)  # [B, KVH, T, D]
    v = lin("self_attn.v", h).view(B, T, kv, d).transpose(1, 2)
    if case.rotary:
        q, k = rotate(q), rotate(k)
    k = k.repeat_interleave(heads // kv, dim=1)  # [B, H, T, D]
    v = v.repeat_interleave(heads // kv, dim=1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)  # [B, H, T, T]
    bias, keep = position_terms(case, T, h.dtype)
    if bias is not None:
        scores = scores + bias
    keep = keep[None, None].expand(B, heads, T, T)
    if key_keep is not None:
        keep = keep & key_keep.bool()[:, None, None, :]
    keep = keep.to(h.dtype)
    weights = torch.softmax(scores + (keep - 1) * 1e9, -1) * keep
    o = (weights @ v).transpose(1, 2).reshape(B, T, c)
    return lin("self_attn.out", o)


def feed_forward(case: Case, p, h):
    lin = lambda name, x: F.linear(x, p[name + ".weight"], p.get(name + ".bias"))
    if case.activation == "swiglu":
        g = F.silu(lin("ff.linear1", h)) * lin("ff.gate", h)
    else:
        g = F.gelu(lin("ff.linear1", h))
    return lin("ff.linear2", g)


def block(case: Case, p, x, key_keep):
    def norm(name, y):
        if case.norm == "rms":
            return rms_norm(y, p[name + ".weight"], 1e-5)
        return layer_norm(y, p[name + ".weight"], p[name + ".bias"], 1e-5)
    if case.norm_first:
        x = x + attention(case, p, norm("norm1", x), key_keep)
        return x + feed_forward(case, p, norm("norm2", x))
    x = norm("norm1", x + attention(case, p, x, key_keep))
    return norm("norm2", x + feed_forward(case, p, x))


def parameters(case: Case, dtype, gen: torch.Generator) -> Dict[str, torch.Tensor]:
    c, f = case.d_model, case.ff_dim
    kv = case.kv_heads * (c // case.heads)
    shapes = {"self_attn.q": (c, c), "self_attn.k": (kv, c), "self_attn.v": (kv, c), "self_attn.out": (c, c),
              "ff.linear1": (f, c), "ff.linear2": (c, f)}
    if case.activation == "swiglu":
        shapes["ff.gate"] = (f, c)
    p = {}
    for name, shape in shapes.items():
        p[name + ".weight"] = torch.randn(shape, generator=gen, dtype=torch.float64) / math.sqrt(shape[1])
        if case.bias:
            p[name + ".bias"] = 0.1 * torch.randn(shape[0], generator=gen, dtype=torch.float64)
    for name in ("norm1", "norm2"):
        p[name + ".weight"] = 1 + 0.2 * torch.randn(c, generator=gen, dtype=torch.float64)
        if case.norm == "layer":
            p[name + ".bias"] = 0.1 * torch.randn(c, generator=gen, dtype=torch.float64)
    return {k: v.to(dtype).requires_grad_() for k, v in p.items()}


def generate(case: Case, suffix: str):
    dtype = torch.float64 if suffix == "f64" else torch.float32
    gen = torch.Generator().manual_seed(case.seed)
    p = parameters(case, dtype, gen)
    x = torch.randn(B, T, case.d_model, generator=gen, dtype=torch.float64).to(dtype).requires_grad_()
    grad_output = torch.randn(B, T, case.d_model, generator=gen, dtype=torch.float64).to(dtype)
    key_keep = None
    if case.padded:
        key_keep = torch.ones(B, T, dtype=dtype)
        key_keep[1, T - 2:] = 0
    y = block(case, p, x, key_keep)
    (y * grad_output).sum().backward()
    arrays = {"in/x": x.detach(), "in/grad_output": grad_output, "out/output": y.detach(), "grad/x": x.grad}
    if key_keep is not None:
        arrays["in/keep"] = key_keep
    for name, t in p.items():
        arrays["param/" + name] = t.detach()
        arrays["grad/" + name] = t.grad
    arrays = {k: np.ascontiguousarray(v.numpy()) for k, v in arrays.items()}
    meta = {"d_model": case.d_model, "heads": case.heads, "kv_heads": case.kv_heads, "ff_dim": case.ff_dim,
            "activation": case.activation, "norm": case.norm, "norm_first": case.norm_first, "causal": case.causal,
            "bias": case.bias, "rotary": case.rotary, "alibi": case.alibi, "window": case.window, "eps": 1e-5,
            "dtype": "float64" if suffix == "f64" else "float32",
            "description": f"{case.description}; B={B}, T={T} (seed {case.seed}, torch {torch.__version__})"}
    return f"{case.name}_{suffix}", meta, arrays


def cross_check() -> None:
    """Hand-written RMSNorm and grouped-query attention against PyTorch 2.x's built-ins, float64."""
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(B, T, 16, generator=gen, dtype=torch.float64)
    w = torch.randn(16, generator=gen, dtype=torch.float64)
    norm = torch.nn.RMSNorm(16, eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        norm.weight.copy_(w)
    rms = (rms_norm(x, w, 1e-5) - norm(x)).abs().max().item()
    case = Case("check", kv_heads=2, alibi=True, window=3)
    q = torch.randn(B, 4, T, 4, generator=gen, dtype=torch.float64)
    k = torch.randn(B, 2, T, 4, generator=gen, dtype=torch.float64)
    v = torch.randn(B, 2, T, 4, generator=gen, dtype=torch.float64)
    bias, keep = position_terms(case, T, torch.float64)
    mine = torch.softmax(q @ k.repeat_interleave(2, 1).transpose(-1, -2) / 2 + bias + (keep.double() - 1) * 1e9,
                         -1) @ v.repeat_interleave(2, 1)
    mask = bias.masked_fill(~keep, float("-inf"))[None]
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    print(f"torch {torch.__version__}: rms_norm max |diff| {rms:.1e}; sdpa gqa max |diff| "
          f"{(mine - theirs).abs().max().item():.1e}")


def main() -> None:
    reproducible.check_blas()
    torch.set_num_threads(1)
    out = Path(reproducible.out_dir(str(Path(__file__).resolve().parents[1] / "resources" / "modern_parity")))
    out.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        for suffix in ("f64", "f32"):
            name, meta, arrays = generate(case, suffix)
            reproducible.write_case(out, name, meta, arrays)
            reproducible.verify_npz(out / f"{name}.npz", arrays)
            print(f"{name}: {sum(k.startswith('param/') for k in arrays)} parameters, "
                  f"output max {np.abs(arrays['out/output']).max():.3f}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--cross-check"]:
        cross_check()
    else:
        main()
