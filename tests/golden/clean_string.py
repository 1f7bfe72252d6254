"""Golden words of hedwig's clean_string (tokenizer/word_tokenizer.h hedwig_clean_string) on real Reuters texts.

Regenerate (from the repository root; any python3, standard library only):  python3 tests/golden/clean_string.py
Writes tests/golden/fixtures/clean_string.json, read by tests/tokenizer/word_vocab.cpp.

clean_string below is hedwig's (castorini/hedwig datasets/reuters.py), written out from its three documented steps.
Input: ../shared/data/reuters21578/docbert-split/reuters_test.tsv (beside the checkout), read as bytes and decoded as
strict UTF-8 (the file is valid UTF-8), split on "\\n" only, so each text keeps its "\\r" line end exactly as the C++
test reads it; the text is everything after the first tab. Lines: every 10th (1, 11, 21, ...) plus every line with a
byte outside printable ASCII other than tab, CR, LF and the \\x03 that ends most articles (the "ü" of "Zürich", a
DEL, a \\x05). Plus hand-written strings for the cases the corpus lacks (non-ASCII letters and spaces, CJK, emoji,
fullwidth letters, brackets such as [MASK], quotes, every kept symbol). Words are stored joined by single spaces
(no word contains one) to keep the fixture small.
"""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
TSV = os.path.join(HERE, "..", "..", "..", "shared", "data", "reuters21578", "docbert-split", "reuters_test.tsv")
OUT = os.path.join(HERE, "fixtures", "clean_string.json")

HARD = [
    "",
    "   \t\r\n ",
    "-- ... ;;; ***",
    "Champion Products Inc said its board approved a two-for-one stock split.",
    "U.S. shares, (in mln dlrs) rose 3.5 pct! Why? Isn't it `great'?",
    "[MASK] the [MASK], [UNK] [PAD] [CLS] x[MASK]y",
    "Z\u00fcrich caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c9COLE",
    "non\u00a0breaking\u2002en-space\u2028line\u3000ideographic",
    "\u5317\u4eac\u5e02 Tokyo\u6771\u4eac 123",
    "emoji \U0001F600 inside\U0001F4B0word",
    "\uff21\uff22\uff23 fullwidth \uff11\uff12\uff13",
    "\u0130stanbul \u0131s K\u00d6LN \u00df STRASSE \u212a",
    "tab\tsep\x0bvt\x0cff\x1cfs\x1dgs\x1ers\x1fus\x85nel",
    "control\x03end\x7fdel\x05enq",
    "keep(),!?'`and drop\"#$%&*+-./:;<=>@[\\]^_{|}~all",
    "MiXeD CaSe WoRdS 1987 4TH Q1",
]


def clean_string(string):
    string = re.sub(r"[^A-Za-z0-9(),!?\'`]", " ", string)
    string = re.sub(r"\s{2,}", " ", string)
    return string.lower().strip().split()


def unusual(text):
    return any((ord(c) < 32 and c not in "\t\r\n\x03") or ord(c) >= 127 for c in text)


def main():
    with open(TSV, "rb") as f:
        lines = f.read().decode("utf-8").split("\n")
    if lines[-1] == "":
        lines.pop()
    rows = []
    for i, line in enumerate(lines):
        text = line.split("\t", 1)[1]
        if i % 10 == 0 or unusual(text):
            rows.append({"line": i + 1, "words": " ".join(clean_string(text))})
    hard = [{"text": t, "words": " ".join(clean_string(t))} for t in HARD]
    fixture = {"generator": "tests/golden/clean_string.py", "source": "reuters21578/docbert-split/reuters_test.tsv",
               "lines": rows, "hard": hard}
    with open(OUT, "w", encoding="ascii") as f:
        json.dump(fixture, f, ensure_ascii=True, indent=0)
        f.write("\n")
    print(f"wrote {OUT}: {len(rows)} corpus lines, {len(hard)} hard strings, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
