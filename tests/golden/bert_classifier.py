"""Golden fixtures for the BERT classifier head: two tiny random HF BertForSequenceClassification models (eval mode),
one multi-label and one single-label, saved as HF folders, and their logits and losses on a padded batch.

Regenerate (from the repo root; the venv is the one of docs/pretrained.md, transformers 4.44.2 on Debian's torch):
  PYTHONNOUSERSITE=1 .cache/venv-golden-bert/bin/python tests/golden/bert_classifier.py
(PYTHONNOUSERSITE: a numpy 2 installed with pip --user would shadow the numpy 1 that Debian's torch needs.)
Writes, under tests/golden/fixtures/:
  bert_classifier_multi_hf/, bert_classifier_single_hf/  save_pretrained(safe_serialization=True): config.json and
                                                          model.safetensors ("bert."-prefixed encoder, classifier.*)
  bert_classifier.safetensors                             inputs, labels, logits and losses of both models, and the
                                                          loss's gradients of GRAD_PARAMS ("<variant>_grad.<name>")
The config is tiny (2 layers, hidden 32, 4 heads, FFN 64, vocabulary 100, 64 positions) so the three stay
~200 kB. initializer_range is 0.2 rather than 0.02, and every parameter (biases and LayerNorm weights included)
gets extra noise, so logits are O(1) and a wrongly loaded bias or LayerNorm shows. The models run in float64; the
logits and losses are that run's values, stored as F64 (20 numbers: size is no concern).
"""
import os
import platform
import warnings

warnings.filterwarnings("ignore")
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification  # noqa: E402

from fixture_io import save  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
B, T, VOCAB = 4, 12, 100
LENGTHS = [12, 9, 5, 1]  # real tokens per row; the rest is padding (id 0, mask 0)
VARIANTS = {
    "multi": dict(problem_type="multi_label_classification", labels=["acq", "crude", "earn", "grain", "trade"], seed=1),
    "single": dict(problem_type="single_label_classification", labels=["negative", "neutral", "positive"], seed=2),
}
# Gradients checked against ours: the head, the pooler, an attention projection, a LayerNorm weight and the
# embedding tables (padding and segment rows included).
GRAD_PARAMS = ["classifier.weight", "classifier.bias", "bert.pooler.dense.weight",
               "bert.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.1.output.LayerNorm.weight",
               "bert.embeddings.word_embeddings.weight", "bert.embeddings.token_type_embeddings.weight"]


def build(problem_type, labels, seed):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, initializer_range=0.2,
                        problem_type=problem_type, id2label=dict(enumerate(labels)),
                        label2id={name: i for i, name in enumerate(labels)}, attn_implementation="eager")
    model = BertForSequenceClassification(config).eval()  # eval: no dropout, so the gradients are deterministic
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def main():
    g = torch.Generator().manual_seed(0)
    mask = (torch.arange(T)[None, :] < torch.tensor(LENGTHS)[:, None]).to(torch.int64)  # (B,T)
    ids = torch.randint(1, VOCAB, (B, T), generator=g) * mask
    types = (torch.arange(T)[None, :] >= 4).to(torch.int64) * mask  # a second segment from position 4
    tensors = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    for name, v in VARIANTS.items():
        model = build(**v)
        out = os.path.join(FIXTURES, f"bert_classifier_{name}_hf")
        model.save_pretrained(out, safe_serialization=True)
        K = len(v["labels"])
        if name == "multi":
            labels = (torch.rand(B, K, generator=g) < 0.4).to(torch.float64)  # multi-hot (B,K)
        else:
            labels = torch.randint(0, K, (B,), generator=g)  # class index (B)
        # HF picks BCEWithLogitsLoss / CrossEntropyLoss from config.problem_type.
        o = model.double()(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
        o.loss.backward()
        params = dict(model.named_parameters())
        tensors[f"{name}_labels"] = labels
        tensors[f"{name}_logits"] = o.logits.detach()
        tensors[f"{name}_loss"] = o.loss.detach()
        for p in GRAD_PARAMS:
            tensors[f"{name}_grad.{p}"] = params[p].grad
        print(f"{name}: logits {tuple(o.logits.shape)} max |logit| {o.logits.abs().max().item():.3f} "
              f"loss {o.loss.item():.6f}")
    path = os.path.join(FIXTURES, "bert_classifier.safetensors")
    save(path, tensors, metadata={"transformers": transformers.__version__, "torch": torch.__version__,
                                  "python": platform.python_version(), "attn_implementation": "eager",
                                  "outputs": "float64 run, stored as F64"})
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
