"""Golden fixture for models/lstm_reg: hedwig's reg_lstm forward in PyTorch, float64, regularisers off (eval).

Regenerate (from the repo root):  PYTHONNOUSERSITE=1 /usr/bin/python3 tests/golden/lstm_reg.py
Writes tests/golden/fixtures/lstm_reg.safetensors, read by tests/models/lstm_reg.cpp.

The module has hedwig's attributes (embed, lstm, fc1), so its state dict names are docbert's parameter names, and
its forward is hedwig's RegLSTM.forward without the dropouts: nn.Embedding, a bidirectional nn.LSTM over
pack_padded_sequence with ragged, unsorted lengths, pad_packed_sequence (which pads to the longest document, here
6 of T = 7 columns), ReLU, max over time, Linear. V=50, E=8, H=6, B=4, T=7, K=5.

Three losses, each with the gradients of every parameter ("<loss>.grad.<name>"):
  ce   F.cross_entropy(logits, labels)                             (single-label)
  bce  F.binary_cross_entropy_with_logits(logits, multi_hot)       (multi-label)
  reg  ce + TAR * mean((r[t+1] - r[t])^2) + AR * mean(r^2), r the padded BiLSTM outputs as hedwig's trainer
       (rnn_outs permuted to (T, B, 2H), padded zeros included)
"""
import os

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from fixture_io import save

V, E, H, B, T, K = 50, 8, 6, 4, 7, 5
TAR, AR = 0.7, 0.3
lengths = torch.tensor([6, 3, 5, 1], dtype=torch.int64)


class RegLSTM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(V, E)
        self.lstm = torch.nn.LSTM(E, H, bidirectional=True, batch_first=True)
        self.fc1 = torch.nn.Linear(2 * H, K)

    def forward(self, ids, lengths):
        x = self.embed(ids)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        rnn_outs, _ = self.lstm(packed)
        rnn_outs, _ = pad_packed_sequence(rnn_outs, batch_first=True)  # (B, max(lengths), 2H)
        x = F.relu(torch.transpose(rnn_outs, 1, 2))
        x = F.max_pool1d(x, x.size(2)).squeeze(2)
        return self.fc1(x), rnn_outs


torch.manual_seed(0)
model = RegLSTM().double()
ids = torch.randint(2, V, (B, T), dtype=torch.int64)
ids[0, 1] = ids[2, 3] = ids[1, 0]  # a word used three times: its embedding gradient sums the occurrences
for b in range(B):
    ids[b, lengths[b]:] = 0  # [PAD]
labels = torch.tensor([3, 0, 4, 1], dtype=torch.int64)
multi_hot = (torch.rand(B, K) < 0.4).double()

logits, rnn_outs = model(ids, lengths)
tensors = {"ids": ids, "lengths": lengths, "labels": labels, "multi_hot": multi_hot, "logits": logits,
           "rnn_out": rnn_outs}
for name, p in model.named_parameters():
    tensors[name] = p

r = rnn_outs.permute(1, 0, 2)
losses = {
    "ce": lambda: F.cross_entropy(logits, labels),
    "bce": lambda: F.binary_cross_entropy_with_logits(logits, multi_hot),
    "reg": lambda: F.cross_entropy(logits, labels) + TAR * (r[1:] - r[:-1]).pow(2).mean() + AR * r.pow(2).mean(),
}
for key, fn in losses.items():
    model.zero_grad()
    loss = fn()
    loss.backward(retain_graph=True)
    tensors[key] = loss
    for name, p in model.named_parameters():
        tensors[f"{key}.grad.{name}"] = p.grad.clone()

here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(here, "fixtures"), exist_ok=True)
save(os.path.join(here, "fixtures", "lstm_reg.safetensors"), tensors, {"tar": TAR, "ar": AR})
