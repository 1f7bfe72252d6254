#!/usr/bin/env python3
"""The baseline of bench_bert_step: one BERT fine-tuning step in HF transformers + PyTorch on the same card.

A randomly initialised BertForSequenceClassification (BERT-large by default: 24 layers, hidden 1024, 16 heads, FFN
4096, vocab 30522; no download, so it runs offline), SDPA attention, bf16 autocast around forward and loss (f32 master
weights), fused AdamW, full-length sequences (MSL 512) with random token ids, cross-entropy over 10 classes.
Prints one JSON line per batch size: seq/s (median of the timed steps), step ms, peak GPU memory, and MFU against the
card's dense bf16 peak (--peak-tflops; H100/H200 SXM: 989).

Step FLOPs (counted the way MFU usually is, PaLM appendix B): 6 * N * tokens for the weight matmuls (N = the
encoder's non-embedding parameters) plus 12 * L * T * C * tokens for attention's two T x T matmuls, forward and
backward; embeddings and elementwise work are not counted.

Usage: hf_bert_step.py [--batch-sizes 16,32] [--seq-len 512] [--steps 10] [--warmup 3] [--layers 24] ...
"""
import argparse
import json
import statistics
import time


def step_flops(layers, hidden, ffn, seq, batch):
    per_layer = 4 * hidden * hidden + 2 * hidden * ffn  # QKV + output projection, FFN in and out
    tokens = batch * seq
    return 6 * layers * per_layer * tokens + 12 * layers * seq * hidden * tokens


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch-sizes", default="16,32")
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--ffn", type=int, default=4096)
    ap.add_argument("--num-labels", type=int, default=10)
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak of the card")
    a = ap.parse_args()

    import torch
    import transformers

    torch.manual_seed(0)
    dev = torch.device("cuda")
    cfg = transformers.BertConfig(vocab_size=30522, hidden_size=a.hidden, num_hidden_layers=a.layers,
                                  num_attention_heads=a.heads, intermediate_size=a.ffn,
                                  max_position_embeddings=max(512, a.seq_len), num_labels=a.num_labels)
    model = transformers.BertForSequenceClassification(cfg, attn_implementation="sdpa").to(dev)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01, fused=True)
    for b in (int(x) for x in a.batch_sizes.split(",")):
        ids = torch.randint(0, cfg.vocab_size, (b, a.seq_len), device=dev)
        mask = torch.ones_like(ids)
        labels = torch.randint(0, a.num_labels, (b,), device=dev)
        torch.cuda.reset_peak_memory_stats()
        times = []
        for i in range(a.warmup + a.steps):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            torch.cuda.synchronize()
            if i >= a.warmup:
                times.append(time.perf_counter() - t0)
        step_s = statistics.median(times)
        flops = step_flops(a.layers, a.hidden, a.ffn, a.seq_len, b)
        print(json.dumps({
            "impl": "hf_transformers", "torch": torch.__version__, "transformers": transformers.__version__,
            "card": torch.cuda.get_device_name(), "batch": b, "seq_len": a.seq_len, "layers": a.layers,
            "precision": "bf16 autocast", "step_ms": step_s * 1e3, "seq_per_s": b / step_s,
            "mfu": flops / step_s / (a.peak_tflops * 1e12), "peak_bytes": torch.cuda.max_memory_allocated(),
            "loss": float(loss)}), flush=True)


if __name__ == "__main__":
    main()
