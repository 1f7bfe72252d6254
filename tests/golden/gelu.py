"""Golden values of both GELUs (engine/ops/elementwise.h gelu, GeluKind::Erf and GeluKind::Tanh), PyTorch float64.

Regenerate (from the repository root):  /usr/bin/python3 tests/golden/gelu.py
Writes tests/golden/fixtures/gelu.safetensors, read by tests/engine/golden_gelu.cpp.

x: 200 points, 196 evenly spaced over [-8, 8] (both tails: erf saturates near |x| = 6) plus 0, +-1e-3 and 1e-8
(where the output is ~x/2 and cancellation would show). Stored: x, F.gelu(x) ("erf"), F.gelu(x, approximate='tanh')
("tanh"), and their derivatives from autograd ("derf", "dtanh").
"""
import os

import torch
import torch.nn.functional as F

from fixture_io import save


def main():
    x = torch.cat([torch.linspace(-8, 8, 196, dtype=torch.float64),
                   torch.tensor([0.0, 1e-3, -1e-3, 1e-8], dtype=torch.float64)]).sort().values
    out = {"x": x}
    for name, approximate in (("erf", "none"), ("tanh", "tanh")):
        xg = x.clone().requires_grad_(True)
        y = F.gelu(xg, approximate=approximate)
        y.backward(torch.ones_like(y))
        out[name] = y.detach()
        out["d" + name] = xg.grad
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "gelu.safetensors")
    save(path, out, metadata={"generator": "tests/golden/gelu.py", "torch": torch.__version__})
    print(f"wrote {path}: {len(out)} tensors")


if __name__ == "__main__":
    main()
