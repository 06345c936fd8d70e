"""Reference cases for attn4j's whole language model (LanguageModelParityTest), from PyTorch.

What it checks
--------------
A GPT-style decoder-only model written here directly in PyTorch, with the semantics and the parameter
names of attn4j's ``org.attn4j.model.LanguageModel``, so that the Java side can load the parameters
by name and compare logits, loss and the gradient of the loss w.r.t. every parameter. It is not
torch.nn.Transformer*: a language model has no such module, and several attn4j choices differ from
PyTorch's (see "Semantics").

Sizes: B=2, T=5, C=8, H=2 (D=4; 4 heads of D=2 for grouped-query), F=16, V=11, 2 layers, maxLen 7
(so the last two position rows get a zero gradient). Dimension legend: B batch, T time, C channels, H heads, D head width C/H, F
feed-forward width, V vocabulary.

Semantics (as attn4j's SameDiff graph computes them; the Java classes are named)
------------------------------------------------------------------------------
* embedding (Embedding, TransformerModel.embed): x = E[ids], times sqrt(C) when scale_embedding.
* positions (Positions): learned: + positions.weight[0:T]; sinusoidal: + PE with
  PE(p, 2i) = sin(p / 10000^(2i/C)), PE(p, 2i+1) = cos(same); rotary, alibi and none add nothing.
* blocks (TransformerBlock without cross-attention, causal self-attention), names decoder.layers.i.*:
  pre-LN:  x = x + attn(norm1(x));  x = x + ff(norm2(x))
  post-LN: x = norm1(x + attn(x));  x = norm2(x + ff(x))
* attention (MultiHeadAttention, ScaledDotProductAttention): q, k, v, out are Linear with bias
  (without, where bias is false), weight [out, in]; k and v have kv_heads heads (kv_heads * D wide), each
  shared by heads / kv_heads query heads (repeat_interleave on [B, KVH, T, D]: grouped-query, multi-query
  at 1); scores = q k^T / sqrt(D), plus -m_h (i - j) for ALiBi (m_h the paper's slopes, get_slopes below
  is the authors' code); keep[b, i, j] = (j <= i) and ids[b, j] != pad_id, and i - j < window if set;
  scores + (keep - 1) * 1e9, softmax over keys, then times keep: a query that may see no key (a
  pad at position 0) gets zero weights and a zero output where PyTorch's masked softmax gives NaN.
* rotary (Rotary): "rotate half" pairing (GPT-NeoX, LLaMA): dimension i turns with i + D/2 by the
  angle p * 10000^(-2i/D), p = 0..T-1, on q and k of every head, after the projections.
* feed-forward (FeedForward): linear2(act(linear1(x))); swiglu: linear2(silu(linear1(x)) * gate(x)).
  gelu is exact (erf), gelu_tanh PyTorch's tanh approximation.
* final norm decoder.norm only for pre-LN (Decoder). LayerNorm: biased variance, eps inside the sqrt.
  RMSNorm (norm "rms"; nn.RMSNorm of PyTorch >= 2.4): x * rsqrt(mean(x^2) + eps) * weight, no bias.
* head (TransformerModel.project): tied: logits = h E^T (no bias); untied: head.weight [V, C], head.bias
  (none where bias is false).
* loss (Losses.crossEntropy): CrossEntropyLoss(ignore_index=pad_id, label_smoothing=s), the mean
  over non-pad targets; smoothing spreads over all V classes, the pad class included.
No dropout anywhere.

Output: ``src/test/resources/lm_parity/NAME_f64.{json,npz}`` and ``NAME_f32.{json,npz}``.
json: vocab, d_model, heads, ff_dim, layers, activation, norm_first, positions, max_len,
tie_embeddings, scale_embedding, eps, pad_id, label_smoothing, norm, kv_heads, bias, window, preset,
batch, length, dtype, description (preset: the ModelConfig factory the case's configuration equals, or "").
npz (plain np.savez, C order, the case's float dtype except ids):
  param/<attn4j name>   every parameter
  in/input, in/target   [B, T] int64 token ids (pad_id where padded)
  out/logits            [B, T, V]
  out/loss              [1] (not a 0-d entry: ND4J M2.1 cannot read those)
  grad/<attn4j name>    d loss / d parameter
The float32 variant of a case is the float64 problem (same seed, parameters and ids) rounded to
float32 and computed in float32.

Rerun from the repository root with Debian's PyTorch 1.13 (reproducible.py pins BLAS, threads, kernels
and zip timestamps, so reruns are byte-identical; FixtureGeneratorsTest checks it):
    /usr/bin/python3 src/test/python/gen_lm_fixtures.py             # rewrites the committed files
    /usr/bin/python3 src/test/python/gen_lm_fixtures.py --out DIR   # writes them to DIR instead
"""
import reproducible

reproducible.pin_environment()

import dataclasses
import math
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[3]
OUT_DIR = Path(reproducible.out_dir(str(REPO_ROOT / "src" / "test" / "resources" / "lm_parity"))).resolve()

B, T, C, H, FF, V, LAYERS, MAX_LEN = 2, 5, 8, 2, 16, 11, 2, 7
EXCLUDED = -1e9  # ScaledDotProductAttention.EXCLUDED
ROTARY_BASE = 10_000.0


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    seed: int
    description: str
    activation: str = "gelu"       # gelu | gelu_tanh | relu | silu | swiglu
    norm_first: bool = True
    positions: str = "learned"     # learned | sinusoidal | rotary | none
    tie_embeddings: bool = True
    scale_embedding: bool = True
    eps: float = 1e-5
    pad_id: int = 0
    label_smoothing: float = 0.0
    # Per batch row, the positions whose input id is pad_id, and those whose target is pad_id.
    input_pads: tuple = ((), (3, 4))
    target_pads: tuple = ((2,), (3, 4))
    norm: str = "layer"            # layer | rms
    heads: int = H
    kv_heads: int = 0              # 0: as many as heads
    bias: bool = True
    window: int = 0                # 0: none
    preset: str = ""

    @property
    def kv(self) -> int:
        return self.kv_heads or self.heads


CASES = [
    Case("pre_gelu_learned_tied", 401,
         "the ModelConfig.languageModel preset: pre-LN, exact GELU, learned positions, tied head, "
         "sqrt(C) embedding scale; row 1 padded at the end, row 0 has one padded target mid-sequence"),
    Case("post_relu_learned_untied", 402,
         "post-LN (no final norm), ReLU, learned positions, untied head with bias, eps 1e-6",
         activation="relu", norm_first=False, tie_embeddings=False, eps=1e-6),
    Case("pre_gelu_rotary_untied_smooth", 403,
         "pre-LN, exact GELU, rotary positions, untied head, label smoothing 0.1",
         positions="rotary", tie_embeddings=False, label_smoothing=0.1),
    Case("pre_swiglu_sinusoidal_pad3", 404,
         "pre-LN, SwiGLU (gate), sinusoidal positions, tied head, no embedding scale, pad id 3 "
         "(not 0): row 0 pads its input at the end, row 1 only its first target",
         activation="swiglu", positions="sinusoidal", scale_embedding=False, pad_id=3,
         input_pads=((4,), ()), target_pads=((3, 4), (0,))),
    Case("post_gelu_tanh_rotary_leftpad", 405,
         "post-LN, tanh-approximated GELU, rotary, tied head; row 1 is left-padded, so its first "
         "query sees no key at all (attn4j: zero weights and output, not NaN)",
         activation="gelu_tanh", norm_first=False, positions="rotary",
         input_pads=((), (0, 1)), target_pads=((4,), (0, 1))),
    Case("pre_silu_nopos", 406,
         "pre-LN, SiLU, no positions, untied head, label smoothing 0.1, no padding at all",
         activation="silu", positions="none", tie_embeddings=False, label_smoothing=0.1,
         input_pads=((), ()), target_pads=((), ())),
    Case("pre_rms_gqa", 407,
         "pre-norm RMSNorm, grouped-query attention (4 query heads of width 2 over 2 key/value heads), exact "
         "GELU, learned positions, tied head",
         norm="rms", heads=4, kv_heads=2),
    Case("pre_alibi_window", 408,
         "pre-LN, ALiBi biases (no position embeddings), sliding window 3 (a query sees itself and the 2 keys "
         "before), untied head; row 1 is left-padded",
         positions="alibi", window=3, tie_embeddings=False, input_pads=((), (0,)), target_pads=((4,), (0,))),
    Case("pre_rms_mqa_rotary", 409,
         "pre-norm RMSNorm, multi-query attention (2 query heads over 1 key/value head), rotary, SiLU, no biases",
         norm="rms", kv_heads=1, positions="rotary", activation="silu", bias=False),
    Case("modern_preset", 410,
         "ModelConfig.modernLanguageModel: pre-norm RMSNorm, SwiGLU, rotary, untied head, no biases, no "
         "embedding scale",
         norm="rms", activation="swiglu", positions="rotary", tie_embeddings=False, bias=False,
         scale_embedding=False, preset="modernLanguageModel"),
]


# ---------------------------------------------------------------------------
# The model, one small class per concept
# ---------------------------------------------------------------------------

def activation(name: str, x: torch.Tensor) -> torch.Tensor:
    if name == "gelu":
        return F.gelu(x)
    if name == "gelu_tanh":
        return F.gelu(x, approximate="tanh")
    if name == "relu":
        return F.relu(x)
    if name in ("silu", "swiglu"):
        return F.silu(x)
    raise ValueError(f"unknown activation {name!r}")


def sinusoidal(max_len: int, width: int) -> torch.Tensor:
    """[max_len, width], as Positions.sinusoidal (float64)."""
    pe = torch.zeros(max_len, width, dtype=torch.float64)
    for p in range(max_len):
        for i in range(0, width, 2):
            angle = p / math.pow(10_000, i / width)
            pe[p, i] = math.sin(angle)
            if i + 1 < width:
                pe[p, i + 1] = math.cos(angle)
    return pe


def get_slopes(n: int) -> List[float]:
    """The ALiBi authors' slopes (github.com/ofirpress/attention_with_linear_biases)."""
    def power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return power_of_2(n)
    closest = 2 ** math.floor(math.log2(n))
    return power_of_2(closest) + get_slopes(2 * closest)[0::2][:n - closest]


def rotate(x: torch.Tensor) -> torch.Tensor:
    """RoPE, rotate-half pairing, on x (B, H, T, D) starting at position 0."""
    d = x.shape[-1]
    half = d // 2
    inverse_frequency = torch.tensor([ROTARY_BASE ** (-2.0 * i / d) for i in range(half)], dtype=torch.float64)
    angles = torch.arange(x.shape[2], dtype=torch.float64)[:, None] * inverse_frequency[None, :]  # (T, D/2)
    full = torch.cat([angles, angles], 1).to(x.dtype)  # (T, D)
    rotated = torch.cat([-x[..., half:], x[..., :half]], -1)  # (B, H, T, D)
    return x * full.cos() + rotated * full.sin()


class SelfAttention(nn.Module):
    def __init__(self, case: Case):
        super().__init__()
        self.case = case
        kv_width = case.kv * (C // case.heads)
        self.q = nn.Linear(C, C, bias=case.bias)
        self.k, self.v = nn.Linear(C, kv_width, bias=case.bias), nn.Linear(C, kv_width, bias=case.bias)
        self.out = nn.Linear(C, C, bias=case.bias)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """x (B, T, C); keep (B, T, T) 1.0 where query i may see key j."""
        case = self.case
        b, t, _ = x.shape
        heads, d = case.heads, C // case.heads
        q = self.q(x).view(b, t, heads, d).transpose(1, 2)  # (B, H, T, D)
        k, v = (p(x).view(b, t, case.kv, d).transpose(1, 2) for p in (self.k, self.v))  # (B, KVH, T, D)
        if case.positions == "rotary":
            q, k = rotate(q), rotate(k)
        k = k.repeat_interleave(heads // case.kv, dim=1)  # (B, H, T, D)
        v = v.repeat_interleave(heads // case.kv, dim=1)
        keep = keep[:, None]  # (B, 1, T, T)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d) + (keep - 1) * -EXCLUDED  # (B, H, T, T)
        if case.positions == "alibi":
            distance = (torch.arange(t)[:, None] - torch.arange(t)[None, :]).abs().to(x.dtype)  # (T, T)
            scores = scores - torch.tensor(get_slopes(heads), dtype=x.dtype)[:, None, None] * distance
        # Times keep: a query with no visible key gets zero weights (attn4j's rule), not a uniform row.
        weights = F.softmax(scores, -1) * keep
        merged = (weights @ v).transpose(1, 2).reshape(b, t, C)  # (B, T, C)
        return self.out(merged)


class FeedForward(nn.Module):
    def __init__(self, act: str, bias: bool):
        super().__init__()
        self.act = act
        self.linear1, self.linear2 = nn.Linear(C, FF, bias=bias), nn.Linear(FF, C, bias=bias)
        if act == "swiglu":
            self.gate = nn.Linear(C, FF, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = activation(self.act, self.linear1(x))  # (B, T, F)
        if self.act == "swiglu":
            hidden = hidden * self.gate(x)
        return self.linear2(hidden)


class RMSNorm(nn.Module):
    def __init__(self, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(C))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def norm(case: Case) -> nn.Module:
    return RMSNorm(case.eps) if case.norm == "rms" else nn.LayerNorm(C, eps=case.eps)


class Block(nn.Module):
    def __init__(self, case: Case):
        super().__init__()
        self.norm_first = case.norm_first
        self.self_attn = SelfAttention(case)
        self.ff = FeedForward(case.activation, case.bias)
        self.norm1, self.norm2 = norm(case), norm(case)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        if self.norm_first:
            x = x + self.self_attn(self.norm1(x), keep)
            return x + self.ff(self.norm2(x))
        x = self.norm1(x + self.self_attn(x, keep))
        return self.norm2(x + self.ff(x))


class Decoder(nn.Module):
    def __init__(self, case: Case):
        super().__init__()
        self.layers = nn.ModuleList(Block(case) for _ in range(LAYERS))
        self.norm = norm(case) if case.norm_first else None

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, keep)
        return x if self.norm is None else self.norm(x)


class LanguageModel(nn.Module):
    """state_dict keys are attn4j's parameter names."""

    def __init__(self, case: Case):
        super().__init__()
        self.case = case
        self.embedding = nn.Embedding(V, C)
        if case.positions == "learned":
            self.positions = nn.Embedding(MAX_LEN, C)
        self.decoder = Decoder(case)
        if not case.tie_embeddings:
            self.head = nn.Linear(C, V, bias=case.bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, V)."""
        case = self.case
        t = ids.shape[1]
        x = self.embedding(ids)  # (B, T, C)
        if case.scale_embedding:
            x = x * math.sqrt(C)
        if case.positions == "learned":
            x = x + self.positions.weight[:t]
        elif case.positions == "sinusoidal":
            x = x + sinusoidal(MAX_LEN, C)[:t].to(x.dtype)
        real = (ids != case.pad_id).to(x.dtype)  # (B, T)
        causal = torch.ones(t, t, dtype=x.dtype).tril()  # (T, T)
        if case.window:
            causal = causal.triu(1 - case.window)  # query i sees keys i - window + 1 .. i
        keep = causal[None] * real[:, None, :]  # (B, T, T): query i, key j
        h = self.decoder(x, keep)
        return h @ self.embedding.weight.T if case.tie_embeddings else self.head(h)


def loss_of(case: Case, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, V), target.reshape(-1), ignore_index=case.pad_id,
                           label_smoothing=case.label_smoothing)


# ---------------------------------------------------------------------------
# One case
# ---------------------------------------------------------------------------

@torch.no_grad()
def randomize(model: nn.Module) -> None:
    """Parameters that exercise every term: LayerNorm off the identity, biases off zero."""
    for name, p in model.named_parameters():
        if ".norm" in name:  # norm1, norm2 and the final decoder.norm
            p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn_like(p))
        else:
            p.normal_(0.0, 0.3)


def token_ids(case: Case, pads: tuple) -> torch.Tensor:
    """Random non-pad ids (B, T), then pad_id at the listed positions of each row."""
    ids = torch.randint(0, V - 1, (B, T))
    ids = ids + (ids >= case.pad_id).long()  # skip pad_id
    for b, positions in enumerate(pads):
        for p in positions:
            ids[b, p] = case.pad_id
    return ids


def generate(case: Case, suffix: str):
    dtype = torch.float64 if suffix == "f64" else torch.float32
    torch.manual_seed(case.seed)
    model = LanguageModel(case).double()
    randomize(model)
    inputs = token_ids(case, case.input_pads)
    targets = token_ids(case, case.target_pads)
    model = model.to(dtype)

    logits = model(inputs)
    loss = loss_of(case, logits, targets)
    loss.backward()

    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    arrays = {}
    for name, p in model.named_parameters():
        arrays[f"param/{name}"] = p.detach()
        arrays[f"grad/{name}"] = p.grad
    arrays = {k: np.ascontiguousarray(v.numpy(), dtype=np_dtype) for k, v in arrays.items()}
    arrays["in/input"] = np.ascontiguousarray(inputs.numpy(), dtype=np.int64)
    arrays["in/target"] = np.ascontiguousarray(targets.numpy(), dtype=np.int64)
    arrays["out/logits"] = np.ascontiguousarray(logits.detach().numpy(), dtype=np_dtype)
    arrays["out/loss"] = np.array([loss.item()], dtype=np_dtype)

    meta = {"vocab": V, "d_model": C, "heads": case.heads, "ff_dim": FF, "layers": LAYERS, "activation": case.activation,
            "norm_first": case.norm_first, "positions": case.positions, "max_len": MAX_LEN,
            "tie_embeddings": case.tie_embeddings, "scale_embedding": case.scale_embedding, "eps": case.eps,
            "pad_id": case.pad_id, "label_smoothing": case.label_smoothing, "norm": case.norm, "kv_heads": case.kv,
            "bias": case.bias, "window": case.window, "preset": case.preset, "batch": B, "length": T,
            "dtype": "float64" if dtype == torch.float64 else "float32",
            "description": f"{case.description} (seed {case.seed}, torch {torch.__version__})"}
    return f"{case.name}_{suffix}", meta, arrays


# ---------------------------------------------------------------------------
# Writing (byte-identical reruns) and reading back
# ---------------------------------------------------------------------------

def main() -> None:
    reproducible.check_blas()
    torch.set_num_threads(1)  # summation order, and so every bit, independent of the machine's cores
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    names: List[str] = []
    for case in CASES:
        for suffix in ("f64", "f32"):
            name, meta, arrays = generate(case, suffix)
            reproducible.write_case(OUT_DIR, name, meta, arrays)
            reproducible.verify_npz(OUT_DIR / f"{name}.npz", arrays)
            names.append(name)
            print(f"{name}: loss {arrays['out/loss'][0]:.6f}, {sum(k.startswith('param/') for k in arrays)} parameters")
    total = sum((OUT_DIR / f"{n}.npz").stat().st_size for n in names)
    print(f"wrote {len(names)} cases to {OUT_DIR} ({total} bytes of npz)")


if __name__ == "__main__":
    main()
