"""Golden values of the losses in engine/ops/loss.h, computed by PyTorch in float64.

Regenerate (from the repository root):  /usr/bin/python3 tests/golden/losses.py
Writes tests/golden/fixtures/losses.safetensors, read by tests/engine/golden_losses.cpp.

One (B,K) = (4,90) batch (90 = the Reuters label count) of student and teacher logits ~ 3 N(0,1), with a few
saturated entries (+-60, +-100) so the stable formulations are checked against PyTorch where naive ones fail.
Stored: the inputs, then per loss its value (shape ()) and the gradient of the value with respect to each
differentiable input (autograd). Names: <loss>.loss, <loss>.d<input>.
"""
import os

import torch
import torch.nn.functional as F

from fixture_io import save

B, K = 4, 90
TEMPERATURES = (1, 2)


def make_inputs():
    g = torch.Generator().manual_seed(20240601)
    student = 3 * torch.randn(B, K, generator=g, dtype=torch.float64)
    teacher = 3 * torch.randn(B, K, generator=g, dtype=torch.float64)
    targets = torch.randint(0, K, (B,), generator=g, dtype=torch.int64)
    hard = (torch.rand(B, K, generator=g, dtype=torch.float64) < 0.3).to(torch.float64)
    soft = torch.rand(B, K, generator=g, dtype=torch.float64)
    # Saturated logits: a confident correct class, a confident wrong one (loss ~ 60), labels at +-100 where the
    # student and the teacher agree and where they disagree completely.
    student[0, 0], targets[0] = 60, 0
    student[1, 5], targets[1] = -60, 5
    teacher[0, 1] = 60
    student[2, 10], teacher[2, 10], hard[2, 10] = 100, -100, 0
    student[3, 3], teacher[3, 3], hard[3, 3] = -100, 100, 1
    student[3, 4], teacher[3, 4], hard[3, 4] = 100, 100, 1
    return student, teacher, targets, hard, soft


def kl_bernoulli(s, t, temperature):
    """(T^2 / B) sum_{b,k} p log(p/q) + (1-p) log((1-p)/(1-q)), p = sigmoid(t/T), q = sigmoid(s/T), written out."""
    a, c = t / temperature, s / temperature
    p, one_minus_p = torch.sigmoid(a), torch.sigmoid(-a)
    kl = p * (F.logsigmoid(a) - F.logsigmoid(c)) + one_minus_p * (F.logsigmoid(-a) - F.logsigmoid(-c))
    return temperature ** 2 * kl.sum() / s.shape[0]


def kl_bernoulli_as_cross_entropy(s, t, temperature):
    """The same KL as cross-entropy minus entropy, through PyTorch's BCE: an independent cross-check."""
    a, c = t / temperature, s / temperature
    p = torch.sigmoid(a)
    h_pq = F.binary_cross_entropy_with_logits(c, p, reduction="sum")
    h_p = F.binary_cross_entropy_with_logits(a, p, reduction="sum")
    return temperature ** 2 * (h_pq - h_p) / s.shape[0]


def kl_softmax(s, t, temperature):
    return F.kl_div(F.log_softmax(s / temperature, dim=1), F.softmax(t / temperature, dim=1),
                    reduction="batchmean") * temperature ** 2


def with_grads(name, fn, inputs, out):
    """out[name.loss] = fn(*inputs values); out[name.d<key>] = its gradient wrt each input."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    loss = fn(**leaves)
    loss.backward()
    out[f"{name}.loss"] = loss.detach()
    for k, v in leaves.items():
        out[f"{name}.d{k}"] = v.grad
    return loss.detach()


def main():
    student, teacher, targets, hard, soft = make_inputs()
    out = {"student": student, "teacher": teacher, "targets": targets, "hard": hard, "soft": soft}

    with_grads("cross_entropy", lambda logits: F.cross_entropy(logits, targets), {"logits": student}, out)
    with_grads("bce_hard", lambda logits: F.binary_cross_entropy_with_logits(logits, hard), {"logits": student}, out)
    with_grads("bce_soft", lambda logits, targets: F.binary_cross_entropy_with_logits(logits, targets),
               {"logits": student, "targets": soft}, out)
    for temperature in TEMPERATURES:
        with_grads(f"kl_softmax_t{temperature}", lambda student, teacher: kl_softmax(student, teacher, temperature),
                   {"student": student, "teacher": teacher}, out)
        value = with_grads(f"kl_bernoulli_t{temperature}",
                           lambda student, teacher: kl_bernoulli(student, teacher, temperature),
                           {"student": student, "teacher": teacher}, out)
        check = kl_bernoulli_as_cross_entropy(student, teacher, temperature)
        assert torch.allclose(value, check, rtol=1e-13, atol=0), (value, check)
    with_grads("mse", lambda a, b: F.mse_loss(a, b), {"a": student, "b": teacher}, out)

    for k, v in out.items():
        assert torch.isfinite(v.to(torch.float64)).all(), k
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "losses.safetensors")
    save(path, out, metadata={"generator": "tests/golden/losses.py", "torch": torch.__version__})
    print(f"wrote {path}: {len(out)} tensors")


if __name__ == "__main__":
    main()
