"""Shows HF loads the tokenizer.json files attn4j writes and encodes every fixture text as attn4j does.

TokenizerSaveTest (and BpeTrainerTest) leave what Tokenizer.savePretrained wrote in target/tokenizer-roundtrip/<kind>/;
this script loads each with HF `tokenizers` and compares encode(text).ids on the fixture texts with the ids recorded
for it in the fixtures (expected.json: HF's own ids for the original file; for "trained", HF's ids for the
vocabulary HF's BpeTrainer learned on the same corpus). It also loads the folder with transformers' AutoTokenizer, which reads tokenizer_config.json too, and compares
with AutoTokenizer on the original folder (transformers' LlamaTokenizerFast rebuilds the pre-tokenizer from its
own settings, so for llama2 AutoTokenizer and the file's own pipeline differ; both sides the same way).

Run from the repository root after the Java tests:
  mvn -o -q test -Dtest='TokenizerSaveTest,BpeTrainerTest'
  python src/test/python/check_saved_tokenizers.py
"""
import json, os, sys

from tokenizers import Tokenizer
import transformers

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
SAVED = os.path.join(ROOT, "target", "tokenizer-roundtrip")
FIXTURES = os.path.join(ROOT, "src", "test", "resources", "tokenizers")


def main():
    with open(os.path.join(FIXTURES, "texts.json"), encoding="utf-8") as f:
        texts = json.load(f)
    failures = 0
    kinds = sorted(os.listdir(SAVED))
    if not kinds:
        sys.exit(f"nothing in {SAVED}: run the Java tests first")
    for kind in kinds:
        folder = os.path.join(SAVED, kind)
        original = os.path.join(FIXTURES, kind)
        with open(os.path.join(original, "expected.json"), encoding="utf-8") as f:
            expected = json.load(f)["ids"]
        tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        auto = transformers.AutoTokenizer.from_pretrained(folder)
        bad = [t for t, ids in zip(texts, expected) if tok.encode(t).ids != ids]
        reference = transformers.AutoTokenizer.from_pretrained(original)
        expected_auto = [reference(t)["input_ids"] for t in texts]
        bad_auto = [t for t, ids in zip(texts, expected_auto) if auto(t)["input_ids"] != ids]
        failures += len(bad) + len(bad_auto)
        print(f"{kind}: {len(texts) - len(bad)}/{len(texts)} texts encode identically with tokenizers, "
              f"{len(texts) - len(bad_auto)}/{len(texts)} with AutoTokenizer"
              + (f"; first difference: {bad[:1] or bad_auto[:1]!r}" if bad or bad_auto else ""))
    print("RESULT saved_tokenizers_ok=" + str(failures == 0).lower())
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
