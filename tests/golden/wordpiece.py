"""Golden fixture for tokenizer/wordpiece.h: WordPiece ids from HF transformers' BertTokenizer.

transformers 5 made BertTokenizer the fast tokenizer (the `tokenizers` Rust crate; BertTokenizerFast is the same
class) and kept the old Python one as BertTokenizerLegacy. The fixture holds the fast tokenizer's ids, which
docbert matches exactly; the slow tokenizer runs on the same inputs and every input where it disagrees is
recorded in the metadata ("slow_fast"), see docs/tokenizer.md.

Inputs, each tokenized with the bert-base-uncased vocabulary as uncased (do_lower_case=True) and as "cased"
(do_lower_case=False with the same vocabulary: no cased vocabulary is available offline):
- real documents read from ../shared/data at test time: all Reuters DocBERT test and validation texts, the first
  1,000 R8 training texts and the 300 mini-IMDB reviews. The fixture stores each document's file, line and a
  64-bit FNV-1a hash of the raw line (drift is reported as such), a digest of the ids of every document, and
  the ids themselves for the first documents of each file (FULL, CASED_FULL below), so a failure can show a
  token-level diff. Uncased documents are also encoded with special tokens and truncation=True,
  max_length=512, once with truncation_side="right" (head) and once "left" (tail);
- HARD: hand-made strings, stored as bytes (hex) in the metadata; bytes that are not UTF-8 are given to HF as
  bytes.decode("utf-8", "replace"), which is docbert's rule too;
- every code point except surrogates, as the text "a{c}b {c}" (which shows whether c is dropped, whitespace,
  punctuation, and how it is normalised), stored run-length encoded: runs of code points with equal ids.

Regenerate (from the repo root; scripts/bench-tokenizer.sh creates the same venv):
  python3 -m venv .cache/venv-hf && .cache/venv-hf/bin/pip install transformers==5.24.0 tokenizers==0.23.3 numpy
  .cache/venv-hf/bin/python tests/golden/wordpiece.py
Writes tests/golden/fixtures/wordpiece.safetensors, read by tests/tokenizer/wordpiece_golden.cpp. The committed
fixture was made with transformers 5.24.0, tokenizers 0.23.3, Python 3.11.2 (unicodedata 14.0.0).
"""
import json
import os
import platform
import shutil
import sys
import tempfile
import unicodedata
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import BertTokenizer  # noqa: E402
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy  # noqa: E402

from fixture_io import save  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "shared", "data")
VOCAB = "vocab/bert-base-uncased/vocab.txt"

# (path under shared/data, format); the formats are read the same way by the C++ test.
SOURCES = [("reuters21578/docbert-split/reuters_test.tsv", "reuters"),
           ("reuters21578/docbert-split/reuters_validation.tsv", "reuters"),
           ("r8-r52/r8-train.txt", "r8"),
           ("mini-imdb/train.txt", "imdb"), ("mini-imdb/dev.txt", "imdb"), ("mini-imdb/test.txt", "imdb")]
MAX_LINES = {"r8-r52/r8-train.txt": 1000}
FULL = {"reuters21578/docbert-split/reuters_test.tsv": 600, "reuters21578/docbert-split/reuters_validation.tsv": 300,
        "r8-r52/r8-train.txt": 100, "mini-imdb/train.txt": 20, "mini-imdb/dev.txt": 20, "mini-imdb/test.txt": 20}
CASED_FULL = {k: max(1, v // 6) for k, v in FULL.items()}

HARD = [
    b"", b"   \t\n  \r\n ", "Héllo wörld, naïve café résumé".encode(),
    "e\u0301 a\u0308\u0304 \u1e69 s\u0323\u0307 q\u0307\u0323 \u1e0b\u0323 \u00e9\u0327".encode(),  # NFD + reordering
    "中文字符和日本語のテキスト、カタカナ".encode(), "안녕하세요 세계 한국어".encode(), "ภาษาไทยไม่มีช่องว่าง".encode(),
    "مرحبا بالعالم، كيف حالك؟".encode(), "I ❤️ 🍕 and 👍🏽! 🥰🫠".encode(), "👨‍👩‍👧‍👦 family 🏳️‍🌈 flag".encode(),
    b"a\x01b\x02c\x03 REUTER \x03", b"nul\x00byte\x00 end", "repl\ufffdacement \ufffd".encode(),
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom\u2060wj".encode(),
    "non\u00a0breaking\u202fnarrow\u3000ideographic\u2009thin".encode(),
    "Москва and Αθήνα and ירושלים and दिल्ली".encode(), b"a" * 101, b"b" * 100,
    b"supercalifragilisticexpialidocious" * 3 + b"abcdefghi", "é".encode() * 101, "é".encode() * 60,
    b"[MASK] in [CLS] text [SEP]", b"foo[MASK]bar[SEP]baz", b"[mask] [Mask] [MASK", b"[UNK][PAD]", b"[[MASK]]",
    b"[CLS][SEP][MASK]", b"[MA\x03SK] [MAS K]",
    b"abc\xff\xfedef", b"trunc \xe2\x82", b"\xed\xa0\x80 surrogate", b"overlong \xc0\xaf \xe0\x80\xaf",
    b"\xf4\x90\x80\x80 above", b"\xe2\x82\xe2\x82\xac euro after truncated", b"mid\x80dle", b"tail \xf0\x9f\x98",
    b"\xf0\x9f\x98\x80\xf0\x9f\x98 two", b"\xc3\x28 \xa0\xa1 \xe1\x80\x41",
    "İstanbul IŞIK ılık i\u0307 I\u0307".encode(), "Straße STRASSE ẞ".encode(), "ﬁnance ﬂow ﬀ ﬃ".encode(),
    "ＡＢＣ１２３！？ｆｕｌｌ".encode(), b"3.14 1,000,000 $5.00 10% 2026-11-26 v1.2.3 +1 (555) 010-9999",
    "ΟΔΟΣ ΟΔΥΣΣΕΥΣ σοφός".encode(), "\u0378x \ue000private \U000F0000pua".encode(),
    "line\u2028sep\u2029para".encode(), b"v\x0btab\x0cff\xc2\x85nel",
    "\U0002B820\U0002B8FF \U0002B920 \u4e00 \u3400 \U00020000".encode(), "\uf900\uf901 \U0002F800".encode(),
    "Tiếng Việt có dấu".encode(), "हिन्दी भाषा".encode(), "«quoted» „low“ — dash – en ‘single’ … ¿qué? ¡sí!".encode(),
    "x² + y² = z²; ∑∫√∞ ≠ ≤ ½".encode(), "€100 £50 ¥1000 ₹20 ¢".encode(), b"The quick brown fox. " * 150,
    b"unaffable tokenization hyperparameterization", "a\u180eb co\u00adoperate".encode(),
    b"don't it's rock'n'roll", b"## #hashtag ##ing #", b"line1\nline2\r\nline3\ttab",
    "\u212a \u2126 \u01c5 \u01c8 ᏣᎳᎩ ΆΈΉ ά".encode(), "a\u0898b \u1734 a\u2e43b a\u166db".encode(),
    "REUTERS\x03 U.S. Treasury's 7-1/4 pct notes".encode(), "\u0890x\u08e2y \U00011938".encode(),
]

FNV_OFFSET, FNV_PRIME, MASK64 = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1


def fnv1a64(values):
    """FNV-1a over bytes (a bytes object) or 32-bit words (a list of ids); the C++ test computes the same."""
    h = FNV_OFFSET
    for v in values:
        h = ((h ^ (v & 0xFFFFFFFF)) * FNV_PRIME) & MASK64
    return h


def as_i64(u):
    return u - (1 << 64) if u >= 1 << 63 else u


def doc_text(fmt, line):
    if fmt == "reuters":  # <90 label bits>\t<text>, CRLF in reuters_test.tsv
        return line.rstrip(b"\r").split(b"\t", 1)[1]
    if fmt == "r8":  # <digit> <text>
        return line.split(b" ", 1)[1]
    return line.split(b"\t\t", 3)[3]  # imdb: user\t\tmovie\t\trating\t\ttext


def tokenizer_dir(tmp, lower):
    d = os.path.join(tmp, "uncased" if lower else "cased")
    os.makedirs(d)
    shutil.copy(os.path.join(DATA, VOCAB), d)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": lower, "strip_accents": None, "tokenize_chinese_chars": True}, f)
    return d


def ragged(seqs):
    offsets = np.zeros(len(seqs) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(s) for s in seqs])
    ids = np.array([i for s in seqs for i in s], dtype=np.int32)
    return offsets, ids


def main():
    docs = []  # (source index, 1-based line, raw line, text)
    for si, (path, fmt) in enumerate(SOURCES):
        with open(os.path.join(DATA, path), "rb") as f:
            lines = f.read().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for ln, raw in enumerate(lines[:MAX_LINES.get(path, len(lines))], start=1):
            docs.append((si, ln, raw, doc_text(fmt, raw).decode("utf-8", "replace")))
    texts = [d[3] for d in docs]
    hard = [h.decode("utf-8", "replace") for h in HARD]
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    cp_texts = [f"a{chr(c)}b {chr(c)}" for c in cps]

    tensors = {"doc.source": np.array([d[0] for d in docs], dtype=np.int32),
               "doc.line": np.array([d[1] for d in docs], dtype=np.int32),
               "doc.hash": np.array([as_i64(fnv1a64(d[2])) for d in docs], dtype=np.int64)}
    slow_fast = {}
    with tempfile.TemporaryDirectory() as tmp:
        for cfg, lower, full in (("uncased", True, FULL), ("cased", False, CASED_FULL)):
            fast = BertTokenizer.from_pretrained(tokenizer_dir(tmp, lower))
            slow = BertTokenizerLegacy(os.path.join(DATA, VOCAB), do_lower_case=lower)
            assert fast.do_lower_case == lower

            def ids_of(tok, strings):
                return tok(strings, add_special_tokens=False)["input_ids"]

            doc_ids = ids_of(fast, texts)
            tensors[f"{cfg}.doc.digest"] = np.array([as_i64(fnv1a64(s)) for s in doc_ids], dtype=np.int64)
            keep = [i for i, d in enumerate(docs) if d[1] <= full[SOURCES[d[0]][0]]]
            tensors[f"{cfg}.doc.full"] = np.array(keep, dtype=np.int32)
            tensors[f"{cfg}.doc.offsets"], tensors[f"{cfg}.doc.ids"] = ragged([doc_ids[i] for i in keep])
            hard_ids = ids_of(fast, hard)
            tensors[f"{cfg}.hard.offsets"], tensors[f"{cfg}.hard.ids"] = ragged(hard_ids)

            cp_ids = [e.ids for e in fast._tokenizer.encode_batch(cp_texts, add_special_tokens=False)]
            starts, runs = [], []
            for c, ids in zip(cps, cp_ids):
                if not runs or ids != runs[-1]:
                    starts.append(c)
                    runs.append(ids)
            tensors[f"{cfg}.cp.first"] = np.array(starts, dtype=np.int32)
            tensors[f"{cfg}.cp.offsets"], tensors[f"{cfg}.cp.ids"] = ragged(runs)

            if lower:
                for side, name in (("right", "head512"), ("left", "tail512")):
                    fast.truncation_side = side
                    enc = fast(texts, truncation=True, max_length=512)["input_ids"]
                    tensors[f"uncased.{name}.digest"] = np.array([as_i64(fnv1a64(s)) for s in enc], dtype=np.int64)
                fast.truncation_side = "right"

            # The slow tokenizer on the same inputs: where does it disagree with the fast one?
            slow_docs = [i for i, s in enumerate(ids_of(slow, texts)) if s != doc_ids[i]]
            slow_hard = [i for i, s in enumerate(ids_of(slow, hard)) if s != hard_ids[i]]
            slow_cps = [c for c, t, f in zip(cps, cp_texts, cp_ids) if slow.encode(t, add_special_tokens=False) != f]
            slow_fast[cfg] = {"documents": [f"{SOURCES[docs[i][0]][0]}:{docs[i][1]}" for i in slow_docs],
                              "hard": slow_hard, "code_points": len(slow_cps),
                              "code_point_examples": [f"U+{c:04X}" for c in slow_cps[:40]]}
            print(f"{cfg}: {len(doc_ids)} documents ({len(keep)} with full ids), {len(hard)} hard strings, "
                  f"{len(starts)} code-point runs; slow differs on {len(slow_docs)} documents, "
                  f"hard strings {slow_hard}, {len(slow_cps)} code points", file=sys.stderr)

    with open(os.path.join(DATA, VOCAB), "rb") as f:
        vocab_hash = fnv1a64(f.read())
    metadata = {
        "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
        "python": platform.python_version(), "unicodedata": unicodedata.unidata_version,
        "vocab": VOCAB, "vocab_fnv1a64": f"{vocab_hash:016x}",
        "sources": json.dumps([{"file": p, "format": f} for p, f in SOURCES]),
        "hard": json.dumps([h.hex() for h in HARD]),
        "slow_fast": json.dumps(slow_fast),
    }
    out = os.path.join(HERE, "fixtures", "wordpiece.safetensors")
    save(out, tensors, metadata)
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.2f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
