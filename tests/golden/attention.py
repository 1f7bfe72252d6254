"""Golden fixture for engine/ops/attention.h: HF BertSelfAttention (eval mode) in PyTorch float64.

Regenerate (from the repo root):  /usr/bin/python3 tests/golden/attention.py
Writes tests/golden/fixtures/attention.safetensors, read by tests/engine/golden_attention.cpp.

The reference follows transformers' BertSelfAttention with separate query/key/value nn.Linear layers; our op
takes their outputs fused into one (B, T, 3C) tensor [Q | K | V], which is what one linear layer with the
three weights stacked row-wise produces (asserted below). B=2, T=7, C=12, NH=3; the second sequence is padded
after 4 tokens with HF's extended mask (1 - attention_mask) * -10000; dropout off.
"""
import math
import os

import torch

from fixture_io import save

B, T, C, NH = 2, 7, 12, 3
HS = C // NH

torch.manual_seed(0)
x = torch.randn(B, T, C, dtype=torch.float64)
query, key, value = (torch.nn.Linear(C, C).double() for _ in range(3))

# The fused projection our model uses: one (3C, C) weight = [W_q; W_k; W_v].
w_qkv = torch.cat([query.weight, key.weight, value.weight], 0)
b_qkv = torch.cat([query.bias, key.bias, value.bias], 0)
qkv = torch.cat([query(x), key(x), value(x)], -1).detach().requires_grad_(True)
assert torch.allclose(qkv, x @ w_qkv.T + b_qkv, rtol=0, atol=1e-12)

attention_mask = torch.ones(B, T, dtype=torch.float64)
attention_mask[1, 4:] = 0
mask_add = (1.0 - attention_mask) * -10000.0  # (B, T), broadcast as (B, 1, 1, T) below


def transpose_for_scores(t):  # (B, T, C) -> (B, NH, T, HS), as in HF
    return t.view(B, T, NH, HS).permute(0, 2, 1, 3)


q, k, v = (transpose_for_scores(t) for t in qkv.split(C, dim=-1))
scores = q @ k.transpose(-1, -2) / math.sqrt(HS) + mask_add[:, None, None, :]
probs = torch.softmax(scores, dim=-1)  # dropout is the identity in eval mode
out = (probs @ v).permute(0, 2, 1, 3).reshape(B, T, C)

w = torch.empty(B, T, C, dtype=torch.float64).uniform_(-1, 1)
(out * w).sum().backward()

here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(here, "fixtures"), exist_ok=True)
save(os.path.join(here, "fixtures", "attention.safetensors"),
     {"qkv": qkv, "mask_add": mask_add, "out": out, "w": w, "grad_qkv": qkv.grad,
      "num_heads": torch.tensor([NH], dtype=torch.int64)})
