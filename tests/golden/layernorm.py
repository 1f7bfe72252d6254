"""Golden values of LayerNorm (engine/ops/layernorm.h layer_norm), PyTorch float64.

Regenerate (from the repository root):  /usr/bin/python3 tests/golden/layernorm.py
Writes tests/golden/fixtures/layernorm.safetensors, read by tests/engine/golden_layernorm.cpp.

Three cases: "small" x (5,33) and "bert" x (2,768) at BERT's eps 1e-12, and "eps" x (4,64) at eps 1e-5 with
rows whose variance is about eps, so a misplaced eps (sqrt(var) + eps, or none) shows. For each: the inputs x,
gamma, beta, the projection weights w (uniform [-1,1]), eps (a scalar), the output
out = F.layer_norm(x, (C,), gamma, beta, eps), and the gradients dx, dgamma, dbeta of sum(w * out) from autograd.
x has a per-row offset and scale so the rows differ in mean and variance; gamma is around 1 as after init.
"""
import os

import torch
import torch.nn.functional as F

from fixture_io import save

def case(prefix, rows, C, gen, eps=1e-12, spread=1.0):
    u = lambda *shape: torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1
    x = spread * u(rows, C) * (1 + torch.arange(rows, dtype=torch.float64)[:, None]) + 3 * u(rows, 1)
    gamma, beta, w = 1 + 0.5 * u(C), u(C), u(rows, C)
    xs, gs, bs = (t.clone().requires_grad_(True) for t in (x, gamma, beta))
    out = F.layer_norm(xs, (C,), gs, bs, eps)
    (w * out).sum().backward()
    return {f"{prefix}.x": x, f"{prefix}.gamma": gamma, f"{prefix}.beta": beta, f"{prefix}.w": w,
            f"{prefix}.out": out.detach(), f"{prefix}.dx": xs.grad, f"{prefix}.dgamma": gs.grad,
            f"{prefix}.dbeta": bs.grad, f"{prefix}.eps": torch.tensor(eps, dtype=torch.float64)}


def main():
    gen = torch.Generator().manual_seed(20190818)
    # spread 3e-3: row variances of about 3e-6 .. 5e-5, the same order as eps = 1e-5.
    out = {**case("small", 5, 33, gen), **case("bert", 2, 768, gen), **case("eps", 4, 64, gen, 1e-5, 3e-3)}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "layernorm.safetensors")
    save(path, out, metadata={"generator": "tests/golden/layernorm.py", "torch": torch.__version__})
    print(f"wrote {path}: {len(out)} tensors")


if __name__ == "__main__":
    main()
