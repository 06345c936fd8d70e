"""PyTorch 2.x side of bench/realsize: the same real-size models as attn4j's RealSize, random weights, float32.

--shape gpt2: transformers' GPT2LMHeadModel(GPT2Config()) (V 50,257, C 768, 12 heads, 12 layers, tied head: 124 M
parameters); --shape llama: LlamaForCausalLM with V 32,000, C 768, 12 heads, 4 key/value heads, F 2,048, 12
layers, untied head. Each row is what RealSize measures:

  decode_tps_b<B>      cached greedy decoding of 64 new tokens after a 128-token prompt, new tokens a second (the
                       prompt's forward not counted): HF generate (as (t(64 new) - t(1 new)) / 63 steps) and a
                       plain loop of model(token, past_key_values) calls; in float32, bfloat16 (model.to(bf16)) and
                       int8 (torch.ao.quantization.quantize_dynamic of every nn.Linear, activations float32;
                       GPT-2's Conv1D layers are first rewritten as the nn.Linear they are, so they quantize too)
  prefill_ms           one forward of a 512-token prompt that keeps the last position's logits (logits_to_keep=1)
  train_step_ms        one AdamW step (lr 1e-3, weight decay 0.1, clipping 1.0) on 4 x 256 tokens, median of 3
  *_peak_mb            the process's peak resident memory during each phase (VmHWM, reset before it)

Run: $TORCH2_PY bench/torch_realsize.py --shape gpt2 --threads 2 [--phases decode,prefill,train] [--formats
float32,bfloat16,int8]. Prints "TORCH key=value ..." lines and a last line "RESULT ...".
"""
import argparse
import copy
import os
import statistics
import time

import torch
import torch.nn as nn
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM


def peak_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError as e:
        print(f"peak not reset ({e}): each peak includes the earlier ones")


def build(shape):
    torch.manual_seed(1)
    if shape == "gpt2":
        return GPT2LMHeadModel(GPT2Config())
    return LlamaForCausalLM(LlamaConfig(vocab_size=32000, hidden_size=768, num_attention_heads=12,
                                        num_key_value_heads=4, intermediate_size=2048, num_hidden_layers=12,
                                        max_position_embeddings=1024, tie_word_embeddings=False))


def conv1d_as_linear(model):
    """GPT-2's Conv1D (weight [in, out]) as nn.Linear (weight [out, in]), so that quantize_dynamic sees it."""
    from transformers.pytorch_utils import Conv1D
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, Conv1D):
                linear = nn.Linear(child.weight.shape[0], child.weight.shape[1])
                linear.weight.data = child.weight.data.t().contiguous()
                linear.bias.data = child.bias.data
                setattr(module, child_name, linear)
    return model


def in_format(model, fmt):
    if fmt == "float32":
        return model
    if fmt == "bfloat16":
        return copy.deepcopy(model).to(torch.bfloat16)
    quantized = conv1d_as_linear(copy.deepcopy(model))
    return torch.ao.quantization.quantize_dynamic(quantized, {nn.Linear}, dtype=torch.qint8)


@torch.no_grad()
def loop_tps(model, prompt, steps):
    best = float("inf")
    for _ in range(2):
        out = model(prompt, use_cache=True)
        past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        start = time.perf_counter()
        for _ in range(steps):
            out = model(token, past_key_values=past, use_cache=True)
            past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        best = min(best, time.perf_counter() - start)
    return prompt.shape[0] * steps / best


@torch.no_grad()
def generate_tps(model, prompt, steps):
    def timed(new):
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new, min_new_tokens=new,
                           do_sample=False, pad_token_id=0)
            best = min(best, time.perf_counter() - start)
        return best
    return prompt.shape[0] * (steps - 1) / (timed(steps) - timed(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="gpt2", choices=["gpt2", "llama"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--phases", default="decode,prefill,train")
    parser.add_argument("--formats", default="float32,bfloat16,int8")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--prompt", type=int, default=128)
    parser.add_argument("--new", type=int, default=64)
    parser.add_argument("--prefill", type=int, default=512)
    parser.add_argument("--train-batch", type=int, default=4)
    parser.add_argument("--train-len", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    phases = args.phases.split(",")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, threads {torch.get_num_threads()}")
    reset_peak()
    model = build(args.shape).eval()
    vocab = model.config.vocab_size
    result = [f"shape={args.shape}", f"build_peak_mb={peak_mb():.0f}",
              f"parameters={sum(p.numel() for p in model.parameters())}"]
    g = torch.Generator().manual_seed(2)
    if "decode" in phases:
        for fmt in args.formats.split(","):
            m = in_format(model, fmt)
            for b in [int(x) for x in args.batches.split(",")]:
                prompt = torch.randint(0, vocab, (b, args.prompt), generator=g)
                reset_peak()
                loop = loop_tps(m, prompt, args.new)
                gen = generate_tps(m, prompt, args.new)
                print(f"TORCH decode format={fmt} batch={b} loop_tps={loop:.1f} generate_tps={gen:.1f} "
                      f"peak_mb={peak_mb():.0f}", flush=True)
                result += [f"{fmt}_loop_tps_b{b}={loop:.1f}", f"{fmt}_generate_tps_b{b}={gen:.1f}"]
            if m is not model:
                del m
    if "prefill" in phases:
        reset_peak()
        prompt = torch.randint(0, vocab, (1, args.prefill), generator=g)
        with torch.no_grad():
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                model(prompt, use_cache=True, logits_to_keep=1)
                best = min(best, time.perf_counter() - start)
        print(f"TORCH prefill tokens={args.prefill} ms={best * 1e3:.0f} peak_mb={peak_mb():.0f}", flush=True)
        result += [f"prefill_ms={best * 1e3:.0f}", f"prefill_peak_mb={peak_mb():.0f}"]
    if "train" in phases:
        reset_peak()
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
        window = torch.randint(0, vocab, (2, args.train_batch, args.train_len + 1), generator=g)
        times = []
        for i in range(args.steps + 1):
            x, y = window[i % 2, :, :-1], window[i % 2, :, 1:]
            start = time.perf_counter()
            logits = model(x).logits
            loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            if i > 0:
                times.append(time.perf_counter() - start)
        step = statistics.median(times)
        print(f"TORCH train batch={args.train_batch}x{args.train_len} ms={step * 1e3:.0f} peak_mb={peak_mb():.0f}",
              flush=True)
        result += [f"train_step_ms={step * 1e3:.0f}", f"train_peak_mb={peak_mb():.0f}"]
    print("RESULT " + " ".join(result))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
