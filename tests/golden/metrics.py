"""Golden values of train/common/metrics.h, computed by scikit-learn on the predictions metrics.h describes.

Regenerate (from the repository root, with a Python that has numpy and scikit-learn, e.g.
`python3 -m pip install --user scikit-learn`):  python3 tests/golden/metrics.py
Writes tests/golden/fixtures/metrics.safetensors, read by tests/train/metrics.cpp.

Three multi-label draws (N, K) = (50, 7) and three single-label draws (40, 5). Logits are multiples of 0.5 (noise in
[-2, 2] plus 1.5 towards the gold labels, so that many rows come out right and accuracy is not near 0), so exact zeros
(not predicted in multi-label) and argmax ties (the first index wins) occur often. Multi-label gold sets are random
with some empty rows; in the last multi-label draw label 6 is never gold and never predicted,
and in the last single-label draw class 4 is neither, so macro averages include a zero_division = 0 label.
Stored per draw <kind><i> (kind multi or single):
  .logits    (N, K) f64
  .gold      multi: (N, K) i64 0/1 indicator; single: (N) i64 class ids
  .expected  (7) f64: accuracy, micro P, R, F1, macro P, R, F1 (sklearn, labels = all K, zero_division = 0)
"""
import os

import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from fixture_io import save

DRAWS = 3


def noise(rng, n, k):
    return rng.integers(-4, 5, size=(n, k)).astype(np.float64) / 2


def expected(gold, pred, k):
    """accuracy (subset accuracy for indicator matrices), then micro and macro P, R, F1."""
    out = [accuracy_score(gold, pred)]
    for average in ("micro", "macro"):
        p, r, f, _ = precision_recall_fscore_support(gold, pred, labels=list(range(k)), average=average,
                                                     zero_division=0)
        out += [p, r, f]
    return np.array(out, dtype=np.float64)


def multi_label(rng, last):
    n, k = 50, 7
    gold = (rng.random((n, k)) < 0.3).astype(np.int64)
    gold[rng.random(n) < 0.15] = 0  # documents without any label
    logits = noise(rng, n, k) + 1.5 * (2 * gold - 1)
    if last:
        logits[:, 6] = -np.abs(logits[:, 6])  # label 6: never predicted (logit <= 0) ...
        gold[:, 6] = 0  # ... and never gold
    # hedwig's rule, round(sigmoid(logit)) with round-half-to-even, is logit > 0 on these logits.
    pred = (logits > 0).astype(np.int64)
    assert (np.round(1 / (1 + np.exp(-logits))) == pred).all()
    assert (gold.sum(axis=1) == 0).any() and (pred.sum(axis=1) == 0).any() and (logits == 0).any()
    return logits, gold, expected(gold, pred, k)


def single_label(rng, last):
    n, k = 40, 5
    gold = rng.integers(0, k - 1 if last else k, size=n)
    logits = noise(rng, n, k)
    logits[np.arange(n), gold] += 1.5
    if last:
        logits[:, 4] = -4  # class 4: never the argmax, and never gold
    pred = np.argmax(logits, axis=1)  # the first maximum, as torch.argmax
    ties = (logits == logits.max(axis=1, keepdims=True)).sum(axis=1) > 1
    assert ties.any()
    return logits, gold, expected(gold, pred, k)


def main():
    rng = np.random.default_rng(20240611)
    out = {}
    for i in range(DRAWS):
        out[f"multi{i}.logits"], out[f"multi{i}.gold"], out[f"multi{i}.expected"] = multi_label(rng, i == DRAWS - 1)
        out[f"single{i}.logits"], out[f"single{i}.gold"], out[f"single{i}.expected"] = single_label(rng,
                                                                                                   i == DRAWS - 1)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "metrics.safetensors")
    save(path, out, metadata={"generator": "tests/golden/metrics.py", "sklearn": sklearn.__version__,
                              "numpy": np.__version__})
    print(f"wrote {path}: {len(out)} tensors")
    for i in range(DRAWS):
        print(f"multi{i}", np.round(out[f"multi{i}.expected"], 4), f"single{i}", np.round(out[f"single{i}.expected"], 4))


if __name__ == "__main__":
    main()
