"""Reference cases for attn4j's whole encoder-decoder (Seq2SeqParityTest), from PyTorch.

What it checks
--------------
An encoder-decoder whose stacks are PyTorch's own ``nn.TransformerEncoder`` and ``nn.TransformerDecoder``
(batch_first, pre-LN or post-LN, no dropout), with attn4j's embeddings, positions, head and loss
around them, so that the Java side can load the parameters by attn4j name into a
``org.attn4j.model.Seq2SeqTransformer`` and compare logits, loss and the gradient of the loss w.r.t.
every parameter. Not ``nn.Transformer`` itself: it always adds final LayerNorms, which attn4j's post-LN
stacks do not have.

Sizes: B=2, S=6 source tokens, T=5 target tokens, C=8, H=2 (D=4), F=16, source vocabulary 9, target
vocabulary 11 (different, so that a source/target mix-up shows), 2 encoder + 2 decoder layers, maxLen 8
(so the last position rows get a zero gradient). Dimension legend: B batch, S source time, T target
time, C channels, H heads, D head width C/H, F feed-forward width, V target vocabulary.

Semantics (attn4j's Seq2SeqTransformer, TransformerModel, Encoder, Decoder; the Java classes are named)
------------------------------------------------------------------------------------------------
* embeddings (Embedding, TransformerModel.embed): source x = Es[src], target y = E[input], each times
  sqrt(C) when scale_embedding; source_embedding and embedding are separate tables.
* positions (Positions): learned: + source_positions.weight[0:S] and + positions.weight[0:T];
  sinusoidal: + PE with PE(p, 2i) = sin(p / 10000^(2i/C)), PE(p, 2i+1) = cos(same), both stacks.
* encoder (Encoder): TransformerEncoderLayer x N, src_key_padding_mask = (source == pad); pre-LN adds
  the final encoder.norm, post-LN has none.
* decoder (Decoder): TransformerDecoderLayer x N with a causal tgt_mask, tgt_key_padding_mask =
  (input == pad), memory_key_padding_mask = (source == pad); pre-LN adds decoder.norm.
  Every query sees at least one key (the sources never start with pad, the inputs start with BOS),
  so PyTorch's -inf masking and attn4j's (keep - 1) * 1e9 agree.
* head (TransformerModel.project): tied: logits = h E^T (no bias); untied: head.weight [V, C], head.bias.
* loss (Losses.crossEntropy): CrossEntropyLoss(ignore_index=pad_id, label_smoothing=s), the mean
  over non-pad targets; smoothing spreads over all V classes, the pad class included.
Parameter names: PyTorch's state_dict keys as org.attn4j.interop.TorchNames maps them (in_proj_* split
into q, k, v; out_proj -> out; multihead_attn -> cross_attn; linear1/2 -> ff.linear1/2).

Output: ``src/test/resources/seq2seq_parity/NAME_f64.{json,npz}`` and ``NAME_f32.{json,npz}``.
json: source_vocab, target_vocab, d_model, heads, ff_dim, encoder_layers, decoder_layers, activation,
norm_first, positions, max_len, tie_embeddings, scale_embedding, eps, pad_id, label_smoothing, batch,
source_length, length, dtype, description.
npz (plain np.savez, C order, the case's float dtype except ids):
  param/<attn4j name>          every parameter
  in/source                    [B, S] int64 source ids (pad_id where padded)
  in/input, in/target          [B, T] int64 decoder input (BOS first) and target ids
  out/logits                   [B, T, V]
  out/loss                     [1] (not a 0-d entry: ND4J M2.1 cannot read those)
  grad/<attn4j name>           d loss / d parameter
The float32 variant of a case is the float64 problem (same seed, parameters and ids) rounded to
float32 and computed in float32.

Rerun from the repository root with Debian's PyTorch 1.13 (reproducible.py pins BLAS, kernels, threads
and zip timestamps, so reruns are byte-identical; FixtureGeneratorsTest checks it):
    /usr/bin/python3 src/test/python/gen_seq2seq_fixtures.py             # rewrites the committed files
    /usr/bin/python3 src/test/python/gen_seq2seq_fixtures.py --out DIR   # writes them to DIR instead
"""
import reproducible

reproducible.pin_environment()

import dataclasses  # noqa: E402 (the environment must be pinned before torch loads)
import math  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Dict, List  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

reproducible.check_blas()

REPO_ROOT = Path(__file__).resolve().parents[3]
OUT_DIR = Path(reproducible.out_dir(str(REPO_ROOT / "src" / "test" / "resources" / "seq2seq_parity"))).resolve()

B, S, T, C, H, FF, SOURCE_V, V, ENCODER_LAYERS, DECODER_LAYERS, MAX_LEN = 2, 6, 5, 8, 2, 16, 9, 11, 2, 2, 8
BOS = 1


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    seed: int
    description: str
    activation: str = "gelu"       # gelu | relu (what the engine trains)
    norm_first: bool = True
    positions: str = "learned"     # learned | sinusoidal
    tie_embeddings: bool = False
    scale_embedding: bool = True
    eps: float = 1e-5
    pad_id: int = 0
    label_smoothing: float = 0.0
    # Per batch row, how many trailing positions are pad_id: source, decoder input, target.
    source_pads: tuple = (0, 2)
    input_pads: tuple = (0, 2)
    target_pads: tuple = (1, 2)


CASES = [
    Case("pre_gelu_learned_untied", 501,
         "ModelConfig.seq2seq's choices: pre-LN, exact GELU, learned positions, untied head, sqrt(C) embedding "
         "scale; row 1 padded in source, input and target, row 0 only its last target"),
    Case("post_relu_sinusoidal_tied", 502,
         "post-LN (no final norms), ReLU, sinusoidal positions, head tied to the target embedding, eps 1e-6",
         activation="relu", norm_first=False, positions="sinusoidal", tie_embeddings=True, eps=1e-6),
    Case("pre_gelu_sinusoidal_tied_smooth", 503,
         "pre-LN, exact GELU, sinusoidal positions, tied head, label smoothing 0.1, pad id 3 (not 0), "
         "row 0 unpadded, row 1 with 3 source pads",
         positions="sinusoidal", tie_embeddings=True, label_smoothing=0.1, pad_id=3,
         source_pads=(0, 3), input_pads=(0, 1), target_pads=(0, 2)),
    Case("post_gelu_learned_untied_smooth", 504,
         "post-LN, exact GELU, learned positions, untied head, label smoothing 0.1, no embedding scale, pad id 2",
         norm_first=False, scale_embedding=False, label_smoothing=0.1, pad_id=2,
         source_pads=(1, 0), input_pads=(2, 0), target_pads=(3, 1)),
]


# ---------------------------------------------------------------------------
# The model: PyTorch's stacks, attn4j's embeddings, positions, head and loss
# ---------------------------------------------------------------------------

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


class Seq2Seq(nn.Module):
    """named_parameters() are PyTorch's names; attn4j_names() maps them."""

    def __init__(self, case: Case):
        super().__init__()
        self.case = case
        self.source_embedding = nn.Embedding(SOURCE_V, C)
        self.embedding = nn.Embedding(V, C)
        if case.positions == "learned":
            self.source_positions = nn.Embedding(MAX_LEN, C)
            self.positions = nn.Embedding(MAX_LEN, C)
        layer = dict(d_model=C, nhead=H, dim_feedforward=FF, dropout=0.0, activation=case.activation,
                     layer_norm_eps=case.eps, batch_first=True, norm_first=case.norm_first)
        final = (lambda: nn.LayerNorm(C, eps=case.eps)) if case.norm_first else (lambda: None)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer), ENCODER_LAYERS, norm=final(),
                                             enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer), DECODER_LAYERS, norm=final())
        if not case.tie_embeddings:
            self.head = nn.Linear(C, V)

    def embed(self, table: nn.Embedding, positions, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, L) -> (B, L, C)."""
        x = table(ids)
        if self.case.scale_embedding:
            x = x * math.sqrt(C)
        length = ids.shape[1]
        if self.case.positions == "learned":
            x = x + positions.weight[:length]
        else:
            x = x + sinusoidal(MAX_LEN, C)[:length].to(x.dtype)
        return x

    def forward(self, source: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """source (B, S), inputs (B, T) -> logits (B, T, V)."""
        pad = self.case.pad_id
        source_pad = source == pad  # (B, S), True = ignored
        memory = self.encoder(self.embed(self.source_embedding, getattr(self, "source_positions", None), source),
                              src_key_padding_mask=source_pad)  # (B, S, C)
        t = inputs.shape[1]
        future = torch.ones(t, t, dtype=torch.bool).triu(1)  # (T, T), True = query may not see key
        h = self.decoder(self.embed(self.embedding, getattr(self, "positions", None), inputs), memory,
                         tgt_mask=future, tgt_key_padding_mask=inputs == pad,
                         memory_key_padding_mask=source_pad)  # (B, T, C)
        return h @ self.embedding.weight.T if self.case.tie_embeddings else self.head(h)


def attn4j_names(torch_name: str, value: torch.Tensor) -> Dict[str, torch.Tensor]:
    """One PyTorch parameter (or its gradient) under attn4j's names, as org.attn4j.interop.TorchNames maps it."""
    name = torch_name.replace("multihead_attn", "cross_attn").replace(".linear1.", ".ff.linear1.") \
        .replace(".linear2.", ".ff.linear2.").replace(".out_proj.", ".out.")
    if name.endswith("in_proj_weight") or name.endswith("in_proj_bias"):
        base, kind = name.rsplit(".", 1)[0], "weight" if name.endswith("weight") else "bias"
        return {f"{base}.{part}.{kind}": block for part, block in zip("qkv", value.chunk(3, 0))}
    return {name: value}


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
        if ".norm" in name:  # norm1..3 and the final encoder.norm, decoder.norm
            p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn_like(p))
        else:
            p.normal_(0.0, 0.3)


def token_ids(vocab: int, pad_id: int, pads: tuple, length: int, first=None) -> torch.Tensor:
    """Random non-pad ids (B, length), the first column set to `first` if given, then each row's trailing pads."""
    ids = torch.randint(0, vocab - 1, (B, length))
    ids = ids + (ids >= pad_id).long()  # skip pad_id
    if first is not None:
        ids[:, 0] = first
    for b, n in enumerate(pads):
        if n:
            ids[b, length - n:] = pad_id
    return ids


def generate(case: Case, suffix: str):
    dtype = torch.float64 if suffix == "f64" else torch.float32
    torch.manual_seed(case.seed)
    model = Seq2Seq(case).double()
    randomize(model)
    source = token_ids(SOURCE_V, case.pad_id, case.source_pads, S)
    inputs = token_ids(V, case.pad_id, case.input_pads, T, first=BOS)
    targets = token_ids(V, case.pad_id, case.target_pads, T)
    assert case.pad_id != BOS
    model = model.to(dtype).train()  # train(): the stacks' autograd path (dropout is 0), not the fused inference one

    logits = model(source, inputs)
    loss = loss_of(case, logits, targets)
    loss.backward()

    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    arrays = {}
    for name, p in model.named_parameters():
        for mapped, v in attn4j_names(name, p.detach()).items():
            arrays[f"param/{mapped}"] = v
        for mapped, g in attn4j_names(name, p.grad).items():
            arrays[f"grad/{mapped}"] = g
    arrays = {k: np.ascontiguousarray(v.numpy(), dtype=np_dtype) for k, v in arrays.items()}
    arrays["in/source"] = np.ascontiguousarray(source.numpy(), dtype=np.int64)
    arrays["in/input"] = np.ascontiguousarray(inputs.numpy(), dtype=np.int64)
    arrays["in/target"] = np.ascontiguousarray(targets.numpy(), dtype=np.int64)
    arrays["out/logits"] = np.ascontiguousarray(logits.detach().numpy(), dtype=np_dtype)
    arrays["out/loss"] = np.array([loss.item()], dtype=np_dtype)

    meta = {"source_vocab": SOURCE_V, "target_vocab": V, "d_model": C, "heads": H, "ff_dim": FF,
            "encoder_layers": ENCODER_LAYERS, "decoder_layers": DECODER_LAYERS, "activation": case.activation,
            "norm_first": case.norm_first, "positions": case.positions, "max_len": MAX_LEN,
            "tie_embeddings": case.tie_embeddings, "scale_embedding": case.scale_embedding, "eps": case.eps,
            "pad_id": case.pad_id, "label_smoothing": case.label_smoothing, "batch": B, "source_length": S,
            "length": T, "dtype": "float64" if dtype == torch.float64 else "float32",
            "description": f"{case.description} (seed {case.seed}, torch {torch.__version__})"}
    return f"{case.name}_{suffix}", meta, arrays


# ---------------------------------------------------------------------------
# Writing and reading back
# ---------------------------------------------------------------------------

def main() -> None:
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
