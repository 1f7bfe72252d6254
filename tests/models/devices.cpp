// The models on a device and their one task loss (models/task_loss.h).
// - CPU: task_loss is what BertClassifier::loss and LstmReg::task_loss return; to(Device::CPU) is a no-op (the same
//   storage, the gradients kept) and device() says cpu; an f64 model refuses CUDA before touching a device.
// - [cuda], only in the GPU CTest entry (tests/CMakeLists.txt), which sets DOCBERT_TEST_GPU=1: a tiny BERT
//   classifier and an LSTM_reg built on the CPU and moved to CUDA give the CPU's logits, loss and every parameter
//   gradient in f32 for a training step with the same inputs and dropout seeds, bit for bit the same whether the
//   inputs are host or device tensors; a model saved from CUDA loads on the CPU with the same bits.
#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/bert/classifier.h"
#include "models/lstm_reg/lstm_reg.h"
#include "models/task_loss.h"
#include "tests/op_table.h"
#include "tests/test_support.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace docbert;
using namespace docbert::test;
using bert::BertClassifier;
using bert::BertConfig;
using Catch::Matchers::Contains;
using lstm_reg::LstmReg;
using lstm_reg::LstmRegConfig;
using lstm_reg::LstmRegOutput;

namespace {

constexpr int64_t kLabels = 3;

BertConfig tiny_bert() {
  BertConfig c = BertConfig::preset("tiny", 40);  // 2 layers, C 128, 2 heads, I 512
  c.max_position_embeddings = 16;
  return c;
}

// Every regulariser on (word-type dropout, DropConnect in both directions, classifier dropout, TAR and AR).
LstmRegConfig small_lstm(ProblemType problem) {
  LstmRegConfig c;
  c.vocab_size = 30;
  c.embed_dim = 6;
  c.hidden = 5;
  c.num_labels = kLabels;
  c.problem_type = problem;
  c.embed_droprate = 0.2;
  c.wdrop = 0.3;
  c.dropout = 0.4;
  c.tar = 0.5;
  c.ar = 0.25;
  return c;
}

// One batch for either model: (B, T) = (3, 8) ids with padding, its 1/0 mask and lengths (max 7 < T, so LSTM_reg
// also drops a padding column), segment ids, and labels for both problem types.
struct Batch {
  Tensor ids, types, mask, lengths, classes, multi_hot;

  Batch() {
    ids = ids_tensor({2, 5, 7, 9, 11, 0, 0, 0, 3, 4, 6, 8, 10, 12, 13, 0, 14, 15, 0, 0, 0, 0, 0, 0}, {3, 8});
    mask = ids_tensor({1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0}, {3, 8});
    types = ids_tensor({0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}, {3, 8});
    lengths = ids_tensor({5, 7, 2}, {3});
    classes = ids_tensor({2, 0, 1}, {3});
    multi_hot = Tensor::from_vector<float>({1, 0, 1, 0, 0, 1, 1, 1, 0}, {3, kLabels});
  }
  const Tensor& labels(ProblemType p) const { return p == ProblemType::SingleLabel ? classes : multi_hot; }
  // The same batch as device tensors.
  Batch to(Device d) const {
    Batch b = *this;
    for (Tensor* t : {&b.ids, &b.types, &b.mask, &b.lengths, &b.classes, &b.multi_hot}) *t = t->to(d);
    return b;
  }
};

// What a training step leaves, copied to the host: logits, loss and each parameter's gradient in registry order.
struct Step {
  Tensor logits, loss;
  std::vector<Tensor> grads;
};

// Runs loss.backward() and collects the step; every gradient must exist and lie on the parameters' device.
Step finish_step(ParameterRegistry& params, const Tensor& logits, const Tensor& loss) {
  loss.backward();
  Step s{logits.to(Device::CPU), loss.to(Device::CPU), {}};
  for (const NamedTensor& p : params.all()) {
    INFO(p.name);
    REQUIRE(p.tensor.grad().defined());
    CHECK(p.tensor.grad().device() == p.tensor.device());
    s.grads.push_back(p.tensor.grad().to(Device::CPU));
  }
  params.zero_grad();
  return s;
}

Step bert_step(BertClassifier& m, const Batch& b) {
  RngStream rng{77, 0};
  const Tensor logits = m.forward(b.ids, b.types, b.mask, true, &rng);
  CHECK(logits.device() == m.device());
  return finish_step(m.params(), logits, m.loss(logits, b.labels(m.problem_type())));
}

Step lstm_step(LstmReg& m, const Batch& b) {
  RngStream rng{78, 0};
  const LstmRegOutput out = m.forward(b.ids, b.lengths, true, &rng);
  CHECK(out.logits.device() == m.device());
  return finish_step(m.params(), out.logits, m.loss(out, b.labels(m.config().problem_type)));
}

// Both devices compute in f32 but sum in other orders (cuBLAS tiles, tree reductions), so they differ by rounding.
// The logits, the loss and each gradient tensor are held to 1e-4 of their own largest magnitude: this very step in
// f32 on the CPU is within 1e-6 of f64 everywhere (measured for both models and problem types), so two f32 runs
// stay well inside, while a real error (a wrong mask, index or sign) moves values by their own size. A gradient
// tensor's scale is floored at 1e-3 of the model's largest gradient: the attention key biases' gradients are
// rounding noise (~1e-21 in f64: softmax ignores a per-row shift), so their own maximum is no scale at all.
constexpr double kTol = 1e-4, kGradFloor = 1e-3;

void check_step_close(const ParameterRegistry& params, const Step& got, const Step& want) {
  check_close(got.logits, want.logits, kTol, Tol::Relative, "logits");
  check_close(got.loss, want.loss, kTol, Tol::Relative, "loss");
  double largest = 0;
  for (const Tensor& g : want.grads) largest = std::max(largest, max_abs(g));
  REQUIRE(largest > 0);
  for (size_t i = 0; i < want.grads.size(); ++i)
    check_close(got.grads[i], want.grads[i], kTol, Tol::Relative, params.all()[i].name, kGradFloor * largest);
}

void check_step_equal(const ParameterRegistry& params, const Step& got, const Step& want) {
  CHECK(bit_equal(got.logits, want.logits));
  CHECK(bit_equal(got.loss, want.loss));
  for (size_t i = 0; i < want.grads.size(); ++i) {
    INFO(params.all()[i].name);
    CHECK(bit_equal(got.grads[i], want.grads[i]));
  }
}

// Same names and bits; `got` may be on any device.
void check_same_params(const ParameterRegistry& got, const ParameterRegistry& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO(want.all()[i].name);
    CHECK(got.all()[i].name == want.all()[i].name);
    CHECK(bit_equal(got.all()[i].tensor.to(Device::CPU), want.all()[i].tensor));
  }
}

// The storage of every parameter and of its gradient.
std::vector<const void*> addresses(const ParameterRegistry& params) {
  std::vector<const void*> a;
  for (const NamedTensor& p : params.all()) {
    a.push_back(p.tensor.raw_data());
    a.push_back(p.tensor.grad().defined() ? p.tensor.grad().raw_data() : nullptr);
  }
  return a;
}

const ProblemType kProblems[] = {ProblemType::SingleLabel, ProblemType::MultiLabel};

}  // namespace

TEST_CASE("task_loss: cross-entropy for single-label, BCE for multi-label, the models' losses", "[models][loss]") {
  const Batch b;
  const BertClassifier single(tiny_bert(), kLabels, ProblemType::SingleLabel, {}, 3);
  const BertClassifier multi(tiny_bert(), kLabels, ProblemType::MultiLabel, {}, 3);
  const Tensor logits = single.forward(b.ids, b.types, b.mask);
  CHECK(bit_equal(task_loss(ProblemType::SingleLabel, logits, b.classes), cross_entropy(logits, b.classes)));
  CHECK(bit_equal(task_loss(ProblemType::MultiLabel, logits, b.multi_hot), bce_with_logits(logits, b.multi_hot)));
  CHECK(bit_equal(single.loss(logits, b.classes), cross_entropy(logits, b.classes)));
  CHECK(bit_equal(multi.loss(logits, b.multi_hot), bce_with_logits(logits, b.multi_hot)));
  for (ProblemType p : kProblems) {
    INFO(problem_type_name(p));
    const LstmReg m(small_lstm(p), 4);
    const LstmRegOutput out = m.forward(b.ids, b.lengths);
    CHECK(bit_equal(m.task_loss(out.logits, b.labels(p)), task_loss(p, out.logits, b.labels(p))));
    CHECK(bit_equal(m.loss(out, b.labels(p)), add(task_loss(p, out.logits, b.labels(p)), m.regularization(out))));
  }
  CHECK_THROWS_WITH(task_loss(ProblemType::SingleLabel, logits, b.multi_hot),
                    Contains("task_loss: single_label_classification takes (B) integer class indices, got f32 (3,3)"));
  CHECK_THROWS_WITH(task_loss(ProblemType::MultiLabel, logits, b.classes),
                    Contains("task_loss: multi_label_classification takes (B, K) float multi-hot labels, got i64"));
  CHECK_THROWS_WITH(task_loss(ProblemType::MultiLabel, logits, Tensor()), Contains("labels, got undefined"));
}

TEST_CASE("BertClassifier and LstmReg: to(Device::CPU) is a no-op and device() reports cpu", "[models][device]") {
  const Batch b;
  BertClassifier bert(tiny_bert(), kLabels, ProblemType::SingleLabel, {}, 5);
  LstmReg lstm(small_lstm(ProblemType::SingleLabel), 6);
  CHECK(bert.device() == Device::CPU);
  CHECK(bert.encoder().device() == Device::CPU);
  CHECK(lstm.device() == Device::CPU);
  bert.loss(bert.forward(b.ids, b.types, b.mask), b.classes).backward();
  lstm.loss(lstm.forward(b.ids, b.lengths), b.classes).backward();
  const std::vector<const void*> bert_at = addresses(bert.params()), lstm_at = addresses(lstm.params());
  const Tensor bert_logits = bert.forward(b.ids, b.types, b.mask), lstm_logits = lstm.forward(b.ids, b.lengths).logits;
  bert.to(Device::CPU);
  lstm.to(Device::CPU);
  // The same storage and the same gradients: nothing was copied or dropped.
  CHECK(addresses(bert.params()) == bert_at);
  CHECK(addresses(lstm.params()) == lstm_at);
  CHECK(bert.params().get("classifier.weight").grad().defined());
  CHECK(bert.device() == Device::CPU);
  CHECK(lstm.device() == Device::CPU);
  CHECK(bit_equal(bert.forward(b.ids, b.types, b.mask), bert_logits));
  CHECK(bit_equal(lstm.forward(b.ids, b.lengths).logits, lstm_logits));

  // CUDA computes in f32: an f64 model says so before any device call (so this runs without a device too).
  BertClassifier bert64(tiny_bert(), kLabels, ProblemType::SingleLabel, {}, 5, DType::F64);
  LstmReg lstm64(small_lstm(ProblemType::SingleLabel), 6, DType::F64);
  CHECK_THROWS_WITH(bert64.to(Device::CUDA), Contains("BertModel::to: f64 models stay on the cpu"));
  CHECK_THROWS_WITH(lstm64.to(Device::CUDA), Contains("LstmReg::to: f64 models stay on the cpu"));
  CHECK(bert64.device() == Device::CPU);
  CHECK(lstm64.device() == Device::CPU);
}

TEST_CASE("models on cuda: BertClassifier's step matches the cpu, saved from cuda it loads on the cpu",
          "[models][cuda][bert]") {
  const Batch host;
  const Batch dev = host.to(Device::CUDA);
  for (ProblemType p : kProblems) {
    INFO(problem_type_name(p));
    BertClassifier cpu(tiny_bert(), kLabels, p, {}, 9);
    BertClassifier gpu(tiny_bert(), kLabels, p, {}, 9);
    gpu.to(Device::CUDA);
    CHECK(gpu.device() == Device::CUDA);
    CHECK(gpu.encoder().device() == Device::CUDA);
    check_same_params(gpu.params(), cpu.params());

    const Step want = bert_step(cpu, host);
    const Step got = bert_step(gpu, host);
    check_step_close(gpu.params(), got, want);
    check_step_equal(gpu.params(), bert_step(gpu, dev), got);

    ScratchDir dir;
    gpu.save_pretrained(dir.file("bert"));
    CHECK(gpu.device() == Device::CUDA);
    const BertClassifier back = BertClassifier::from_pretrained(dir.file("bert"));
    CHECK(back.device() == Device::CPU);
    CHECK(back.problem_type() == p);
    check_same_params(back.params(), cpu.params());
  }
}

TEST_CASE("models on cuda: LstmReg's step matches the cpu, saved from cuda it loads on the cpu",
          "[models][cuda][lstm_reg]") {
  const Batch host;
  const Batch dev = host.to(Device::CUDA);
  for (ProblemType p : kProblems) {
    INFO(problem_type_name(p));
    LstmReg cpu(small_lstm(p), 10);
    LstmReg gpu(small_lstm(p), 10);
    gpu.to(Device::CUDA);
    CHECK(gpu.device() == Device::CUDA);
    CHECK(gpu.embeddings().device() == Device::CUDA);
    check_same_params(gpu.params(), cpu.params());

    const Step want = lstm_step(cpu, host);
    const Step got = lstm_step(gpu, host);
    check_step_close(gpu.params(), got, want);
    check_step_equal(gpu.params(), lstm_step(gpu, dev), got);

    ScratchDir dir;
    gpu.save_pretrained(dir.file("lstm"));
    CHECK(gpu.device() == Device::CUDA);
    const LstmReg back = LstmReg::from_pretrained(dir.file("lstm"));
    CHECK(back.device() == Device::CPU);
    check_same_params(back.params(), cpu.params());
  }
}
