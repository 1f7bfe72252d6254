"""PyTorch side of the CPU op benchmark: the same shapes and FLOP formulas as bench/bench_cpu_ops.cpp.

Run with the thread count used for docbert (DOCBERT_THREADS, default 2):
    /usr/bin/python3 bench/torch_cpu_ops.py --json out.json
Needs python3-torch (scripts/setup.sh --with-torch). Attention is written out as BERT's eager attention
(matmul, mask add, softmax, matmul) in float32, which is what HF's BertSelfAttention runs on the CPU; the
LSTM is torch.nn.LSTM (one direction, full lengths).
"""
import argparse
import json
import os
import time

import torch


def timeit(fn, min_time=1.0):
    fn()  # warm-up
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - start
        if el >= min_time and n >= 3:
            return el / n


def bench_linear(M, K, N, bwd):
    x = (torch.rand(M, K) * 2 - 1).requires_grad_(bwd)
    lin = torch.nn.Linear(K, N)
    g = torch.rand(M, N)

    def f():
        if bwd:
            lin(x).backward(g)
        else:
            with torch.no_grad():
                lin(x)
    return f, 2.0 * M * K * N * (3 if bwd else 1)


def bench_attention(B, T, C, NH, bwd):
    HS = C // NH
    qkv = (torch.rand(B, T, 3 * C) * 2 - 1).requires_grad_(bwd)
    mask = torch.zeros(B, 1, 1, T)
    g = torch.rand(B, T, C)

    def attn():
        q, k, v = qkv.split(C, dim=-1)
        q, k, v = (t.view(B, T, NH, HS).transpose(1, 2) for t in (q, k, v))
        p = torch.softmax(q @ k.transpose(-1, -2) / HS ** 0.5 + mask, dim=-1)
        return (p @ v).transpose(1, 2).reshape(B, T, C)

    def f():
        if bwd:
            attn().backward(g)
        else:
            with torch.no_grad():
                attn()
    return f, 4.0 * B * T * T * C * (3 if bwd else 1)


def bench_lstm(B, T, I, H, bwd):
    lstm = torch.nn.LSTM(I, H, batch_first=True)
    x = (torch.rand(B, T, I) * 2 - 1).requires_grad_(bwd)
    g = torch.rand(B, T, H)

    def f():
        if bwd:
            lstm(x)[0].backward(g)
        else:
            with torch.no_grad():
                lstm(x)
    return f, 2.0 * B * T * 4 * H * (I + H) * (3 if bwd else 1)


CASES = ([("BM_linear/M:512/K:768/N:2304", bench_linear, (512, 768, 2304)),
          ("BM_linear/M:512/K:768/N:3072", bench_linear, (512, 768, 3072)),
          ("BM_linear/M:512/K:3072/N:768", bench_linear, (512, 3072, 768)),
          ("BM_attention/B:1/T:512/C:768/NH:12", bench_attention, (1, 512, 768, 12)),
          ("BM_lstm/B:32/T:256/I:300/H:512", bench_lstm, (32, 256, 300, 512))])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--min-time", type=float, default=1.0)
    args = ap.parse_args()
    threads = int(os.environ.get("DOCBERT_THREADS", "2"))
    torch.set_num_threads(threads)
    rows = []
    for name, make, shape in CASES:
        for bwd in (0, 1):
            fn, flops = make(*shape, bool(bwd))
            sec = timeit(fn, args.min_time)
            rows.append({"name": f"{name}/bwd:{bwd}", "ms": sec * 1e3, "gflops": flops / sec / 1e9})
            print(f"{rows[-1]['name']:45s} {rows[-1]['ms']:9.2f} ms {rows[-1]['gflops']:8.1f} GFLOP/s", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "threads": threads, "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
