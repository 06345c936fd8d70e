"""Checks that exec:java@generate --greedy prints the text transformers' greedy generate makes on the same model
directory and prompt.

Run from the repository root (after mvn -q test-compile):
  python examples/java/org/attn4j/examples/hf/check_generate.py --model DIR --prompt 'text' [--max-new-tokens N]
With --demo DIR it first writes a small random-weight GPT-2 there (weights scaled so that greedy choices are not
near ties) with the real GPT-2 tokenizer of src/test/resources/tokenizers/gpt2, and checks on it.
"""
import argparse, math, os, shutil, subprocess, sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

parser = argparse.ArgumentParser()
parser.add_argument("--model")
parser.add_argument("--demo")
parser.add_argument("--prompt", default="The meaning of life is")
parser.add_argument("--max-new-tokens", type=int, default=24)
args = parser.parse_args()

if args.demo:
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_embd=64, n_head=4, n_layer=2, n_positions=128))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0, 1.5 / math.sqrt(p.shape[1]) if "wte" not in name and "wpe" not in name else 1.0)
    model.save_pretrained(args.demo)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join("src/test/resources/tokenizers/gpt2", f), args.demo)
    args.model = args.demo

tokenizer = AutoTokenizer.from_pretrained(args.model)
model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
ids = tokenizer(args.prompt, return_tensors="pt")["input_ids"]
with torch.no_grad():
    out = model.generate(ids, max_new_tokens=args.max_new_tokens, do_sample=False, num_beams=1)
expected = args.prompt + tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)

run = subprocess.run(["mvn", "-o", "-q", "-B", "exec:java@generate", "-Dexec.args=--model " + args.model
                      + " --greedy --max-new-tokens " + str(args.max_new_tokens) + " --prompt '" + args.prompt + "'"],
                     capture_output=True, text=True)
printed = run.stdout.replace("\x1b[0m", "").split("\nRESULT")[0]  # the text, then one newline before RESULT
print("transformers:", repr(expected))
print("attn4j:      ", repr(printed))
print([line for line in run.stdout.splitlines() if "RESULT" in line][-1].replace("\x1b[0m", ""))
if printed != expected:
    sys.exit("FAIL: the greedy texts differ")
print("PASS: the same greedy text")
