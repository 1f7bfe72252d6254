"""HF's Rust WordPiece tokenizer (PyPI `tokenizers`) on the text bench_tokenizer.cpp reads: the Reuters DocBERT
test + validation documents, bert-base-uncased vocabulary, single thread. Prints (and with --json writes) MB/s
of document bytes per CPU second, median of --repeats runs, for:
- encode: Tokenizer.encode(text, add_special_tokens=False) one document after another;
- encode_batch: Tokenizer.encode_batch(all documents, add_special_tokens=False) with parallelism off;
- encode_batch_fast: Tokenizer.encode_batch_fast (no character offsets), when this version has it.
The tokenizer is BertWordPieceTokenizer (BertNormalizer + BertPreTokenizer + WordPiece), the pipeline of
transformers' BertTokenizer. Usage: python bench/hf_tokenizer.py [--repeats 5] [--json out.json]
"""
import argparse
import json
import os
import statistics
import sys
import time

# Before tokenizers is imported: no Rayon worker threads.
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_RS_NUM_THREADS"] = "1"
os.environ["RAYON_NUM_THREADS"] = "1"
import tokenizers  # noqa: E402
from tokenizers import BertWordPieceTokenizer  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")


def documents():
    docs = []
    for name in ("reuters_test.tsv", "reuters_validation.tsv"):
        with open(os.path.join(DATA, "reuters21578", "docbert-split", name), "rb") as f:
            for line in f.read().split(b"\n"):
                if line:
                    docs.append(line.rstrip(b"\r").split(b"\t", 1)[1].decode("utf-8", "replace"))
    return docs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    docs = documents()
    mb = sum(len(d.encode()) for d in docs) / 1e6
    tok = BertWordPieceTokenizer(os.path.join(DATA, "vocab", "bert-base-uncased", "vocab.txt"), lowercase=True)

    runs = {"encode": lambda: [tok.encode(d, add_special_tokens=False) for d in docs],
            "encode_batch": lambda: tok.encode_batch(docs, add_special_tokens=False)}
    if hasattr(tok._tokenizer, "encode_batch_fast"):
        runs["encode_batch_fast"] = lambda: tok._tokenizer.encode_batch_fast(docs, add_special_tokens=False)
    results = []
    for name, fn in runs.items():
        pieces = sum(len(e.ids) for e in fn())  # warm-up; bench_tokenizer prints the same pieces/doc
        times = []
        for _ in range(args.repeats):
            t0 = time.process_time()
            fn()
            times.append(time.process_time() - t0)
        t = statistics.median(times)
        results.append({"name": name, "seconds": t, "mb_per_s": mb / t})
        print(f"{name:18s} {mb / t:7.2f} MB/s  ({t * 1e3:.0f} ms for {len(docs)} documents, {mb:.2f} MB, "
              f"{pieces / len(docs):.3f} pieces/doc)", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tokenizers": tokenizers.__version__, "documents": len(docs), "mb": mb, "results": results}, f)


if __name__ == "__main__":
    main()
