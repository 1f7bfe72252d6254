"""Golden trajectories for engine/optim.h: 10 optimizer steps in float64 on a small tanh regression.

Regenerate (from the repository root; needs Debian's python3-torch and numpy):
    /usr/bin/python3 tests/golden/adamw.py
which writes tests/golden/fixtures/adamw.safetensors. tests/engine/golden_adamw.cpp reads it.

Parameters (BERT-style names, so the no-decay rule is exercised): "dense.weight" (4,3) gets weight decay,
"dense.bias" (3) and "LayerNorm.weight" (3) do not. Loss: mean((tanh(x @ W + b) * g - y)^2) with fixed
x (5,4) and y (5,3). Three variants, each with its own trajectory:
  adamw:    torch.optim.AdamW, bias correction on, weight decay 0.01 (decay group) / 0 (no-decay group)
  bertadam: BertAdam (pytorch-pretrained-bert, DocBERT's April-2019 optimizer) written out in torch ops below:
            no bias correction, update = m / (sqrt(v) + eps) + wd * p, p -= lr * update
  adam:     torch.optim.Adam with L2 weight decay 0.01 on every parameter, eps 1e-8 (the LSTM student's optimizer)
Per variant and step k = 1..10 the fixture stores the gradient fed to step k and the parameters after it, so the
C++ test replays the gradients without recomputing the loss:
  "<variant>.init.<param>", "<variant>.step<k>.grad.<param>", "<variant>.step<k>.param.<param>"
"""
import os

import torch

from fixture_io import save

STEPS = 10
LR, WD, BETAS = 2e-2, 0.01, (0.9, 0.999)
NAMES = ["dense.weight", "dense.bias", "LayerNorm.weight"]
DECAYED = {"dense.weight"}

torch.set_default_dtype(torch.float64)
X = torch.sin(torch.arange(20.0) * 0.7).reshape(5, 4)
Y = torch.cos(torch.arange(15.0) * 0.3).reshape(5, 3)


def initial_params():
    return {
        "dense.weight": 0.5 * torch.sin(torch.arange(12.0) * 1.3 + 0.2).reshape(4, 3),
        "dense.bias": 0.1 * torch.cos(torch.arange(3.0)),
        "LayerNorm.weight": 1.0 + 0.2 * torch.sin(torch.arange(3.0) + 1.0),
    }


def loss_fn(p):
    out = torch.tanh(X @ p["dense.weight"] + p["dense.bias"]) * p["LayerNorm.weight"]
    return ((out - Y) ** 2).mean()


def bert_adam_step(p, state, lr, wd, eps, b1, b2):
    """BertAdam.step without bias correction, schedule or clipping (those live elsewhere in docbert)."""
    with torch.no_grad():
        for name in NAMES:
            t, g = p[name], p[name].grad
            m, v = state[name]
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            update = m / (v.sqrt() + eps)
            if name in DECAYED:
                update += wd * t
            t.add_(-(lr * update))


def run(variant, out):
    p = {k: v.clone().requires_grad_(True) for k, v in initial_params().items()}
    for name in NAMES:
        out[f"{variant}.init.{name}"] = p[name].detach().clone()
    if variant == "adamw":
        opt = torch.optim.AdamW([{"params": [p[n] for n in NAMES if n in DECAYED], "weight_decay": WD},
                                 {"params": [p[n] for n in NAMES if n not in DECAYED], "weight_decay": 0.0}],
                                lr=LR, betas=BETAS, eps=1e-6)
    elif variant == "adam":
        opt = torch.optim.Adam([p[n] for n in NAMES], lr=LR, betas=BETAS, eps=1e-8, weight_decay=WD)
    else:
        state = {n: (torch.zeros_like(p[n]), torch.zeros_like(p[n])) for n in NAMES}
    for k in range(1, STEPS + 1):
        for t in p.values():
            t.grad = None
        loss_fn(p).backward()
        for name in NAMES:
            out[f"{variant}.step{k}.grad.{name}"] = p[name].grad.detach().clone()
        if variant == "bertadam":
            bert_adam_step(p, state, LR, WD, 1e-6, *BETAS)
        else:
            opt.step()
        for name in NAMES:
            out[f"{variant}.step{k}.param.{name}"] = p[name].detach().clone()


def main():
    out = {}
    for variant in ("adamw", "bertadam", "adam"):
        run(variant, out)
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(os.path.join(here, "fixtures"), exist_ok=True)
    save(os.path.join(here, "fixtures", "adamw.safetensors"), out,
         metadata={"torch": torch.__version__, "lr": LR, "weight_decay": WD, "betas": BETAS, "steps": STEPS})


if __name__ == "__main__":
    main()
