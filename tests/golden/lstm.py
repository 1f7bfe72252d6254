"""Golden fixture for engine/ops/lstm.h: a bidirectional torch.nn.LSTM over a packed ragged batch, float64.

Regenerate (from the repo root):  /usr/bin/python3 tests/golden/lstm.py
Writes tests/golden/fixtures/lstm.safetensors, read by tests/engine/golden_lstm.cpp.

B=3, T=6, I=5, H=4, lengths [3, 6, 1] (unsorted: enforce_sorted=False, so both sides reorder the batch).
The loss is sum(w * output) + sum(w2 * h_n) + sum(w3 * c_n), with output padded with zeros to T; the fixture
holds the LSTM's parameters (PyTorch names), x, lengths, the three weightings, output, h_n, c_n and the
gradients of the loss with respect to x and every parameter ("grad.<name>").
"""
import os

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from fixture_io import save

B, T, I, H = 3, 6, 5, 4
lengths = torch.tensor([3, 6, 1], dtype=torch.int64)

torch.manual_seed(0)
lstm = torch.nn.LSTM(I, H, bidirectional=True, batch_first=True).double()
x = torch.randn(B, T, I, dtype=torch.float64)
for b in range(B):  # garbage in the padding: it must not leak into any output
    x[b, lengths[b]:] = 1e3
x.requires_grad_(True)

packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
packed_out, (h_n, c_n) = lstm(packed)
output, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=T)  # (B, T, 2H), zeros at padding

w = torch.empty(B, T, 2 * H, dtype=torch.float64).uniform_(-1, 1)
w2 = torch.empty(2, B, H, dtype=torch.float64).uniform_(-1, 1)
w3 = torch.empty(2, B, H, dtype=torch.float64).uniform_(-1, 1)
((w * output).sum() + (w2 * h_n).sum() + (w3 * c_n).sum()).backward()

tensors = {"x": x, "lengths": lengths, "w": w, "w2": w2, "w3": w3, "output": output, "h_n": h_n, "c_n": c_n,
           "grad.x": x.grad}
for name, p in lstm.named_parameters():
    tensors[name] = p
    tensors["grad." + name] = p.grad

here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(here, "fixtures"), exist_ok=True)
save(os.path.join(here, "fixtures", "lstm.safetensors"), tensors)
