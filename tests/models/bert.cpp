// BERT encoder: config.json parsing and its errors, random init, forward invariants (shapes, padding, dropout
// determinism), gradients (every parameter reached; a finite-difference spot check in f64) and HF checkpoint
// loading/saving (prefixes, aliases, conversions, and the errors for missing or mis-shaped tensors).
#include "models/bert/bert.h"

#include "engine/autograd.h"
#include "engine/ops.h"
#include "tests/op_table.h"
#include "tests/test_support.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>

using namespace docbert;
using namespace docbert::bert;
using namespace docbert::test;
using Catch::Matchers::Contains;

namespace {

// The keys of all-MiniLM-L6-v2's config.json (plus keys the encoder ignores).
const char* kMiniLmConfig = R"({
  "_name_or_path": "nreimers/MiniLM-L6-H384-uncased", "architectures": ["BertModel"],
  "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": false, "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1, "hidden_size": 384, "initializer_range": 0.02, "intermediate_size": 1536,
  "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": 12,
  "num_hidden_layers": 6, "pad_token_id": 0, "position_embedding_type": "absolute",
  "transformers_version": "4.8.2", "type_vocab_size": 2, "use_cache": true, "vocab_size": 30522})";

BertConfig tiny_config() {
  BertConfig c = BertConfig::preset("tiny", 50);
  c.max_position_embeddings = 16;
  return c;
}

// The registry's tensors under checkpoint names: `prefix` + name.
std::vector<NamedTensor> hf_tensors(const BertModel& m, const std::string& prefix) {
  std::vector<NamedTensor> out;
  for (const NamedTensor& p : m.params().all()) out.push_back({prefix + p.name, p.tensor});
  return out;
}

void require_same_params(const BertModel& a, const BertModel& b) {
  REQUIRE(a.params().size() == b.params().size());
  for (size_t i = 0; i < a.params().size(); ++i) {
    INFO(a.params().all()[i].name);
    REQUIRE(a.params().all()[i].name == b.params().all()[i].name);
    REQUIRE(bit_equal(a.params().all()[i].tensor, b.params().all()[i].tensor));
  }
}

// out = concat of both outputs flattened: (B*T*C + B*C)
Tensor flat_outputs(const BertOutput& o) {
  return concat({o.last_hidden_state.reshape({-1}), o.pooled.reshape({-1})}, 0);
}

}  // namespace

TEST_CASE("BertConfig reads an HF config.json", "[bert]") {
  ScratchDir dir;
  const BertConfig c = BertConfig::from_json_file(dir.write("config.json", kMiniLmConfig));
  CHECK(c.vocab_size == 30522);
  CHECK(c.hidden_size == 384);
  CHECK(c.num_hidden_layers == 6);
  CHECK(c.num_attention_heads == 12);
  CHECK(c.head_size() == 32);
  CHECK(c.intermediate_size == 1536);
  CHECK(c.hidden_act == GeluKind::Erf);
  CHECK(c.layer_norm_eps == 1e-12);

  // Absent optional keys take HF's defaults; the tanh GELUs map to GeluKind::Tanh.
  const BertConfig d = BertConfig::from_json(
      R"({"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
          "intermediate_size": 16, "hidden_act": "gelu_pytorch_tanh", "pad_token_id": null})",
      "<test>");
  CHECK(d.hidden_act == GeluKind::Tanh);
  CHECK(d.max_position_embeddings == 512);
  CHECK(d.type_vocab_size == 2);
  CHECK(d.hidden_dropout_prob == 0.1);
  CHECK(d.pad_token_id == -1);

  // to_json reads back to the same config.
  const BertConfig e = BertConfig::from_json(d.to_json(), "<to_json>");
  CHECK(e.to_json() == d.to_json());
  CHECK(e.hidden_act == GeluKind::Tanh);
  CHECK(e.pad_token_id == -1);
}

TEST_CASE("BertConfig errors name the file and the key", "[bert]") {
  ScratchDir dir;
  const std::string base = R"("vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "intermediate_size": 16)";
  const auto parse = [&](const std::string& text) {
    return BertConfig::from_json_file(dir.write("config.json", text));
  };
  const std::string path = dir.file("config.json");
  CHECK_THROWS_WITH(parse("{\"vocab_size\": 10,"), Contains(path) && Contains("malformed JSON"));
  CHECK_THROWS_WITH(parse("[1]"), Contains(path) && Contains("expected a JSON object"));
  CHECK_THROWS_WITH(parse("{" + base + "}"), Contains(path + ": missing required key 'num_attention_heads'"));
  CHECK_THROWS_WITH(parse("{" + base + R"(, "num_attention_heads": 3})"),
                    Contains(path + ": 'hidden_size' (8) must be a multiple of 'num_attention_heads' (3)"));
  CHECK_THROWS_WITH(parse("{" + base + R"(, "num_attention_heads": 2, "hidden_act": "relu"})"),
                    Contains(path + ": 'hidden_act' is 'relu'"));
  CHECK_THROWS_WITH(parse("{" + base + R"(, "num_attention_heads": 2, "position_embedding_type": "relative_key"})"),
                    Contains(path + ": 'position_embedding_type' is 'relative_key'"));
  CHECK_THROWS_WITH(parse("{" + base + R"(, "num_attention_heads": "2"})"),
                    Contains(path + ": 'num_attention_heads' must be an integer"));
  CHECK_THROWS_WITH(parse("{" + base + R"(, "num_attention_heads": 2, "hidden_dropout_prob": 1.5})"),
                    Contains(path + ": 'hidden_dropout_prob' must be in [0, 1)"));
  CHECK_THROWS_WITH(parse("{" + base + R"(, "num_attention_heads": 2, "type_vocab_size": 0})"),
                    Contains(path + ": 'type_vocab_size' must be positive"));
  CHECK_THROWS_WITH(parse("{" + base + R"(, "num_attention_heads": 2, "model_type": "roberta"})"),
                    Contains(path + ": 'model_type' is 'roberta'"));
  CHECK_THROWS_WITH(BertConfig::from_json_file(dir.file("absent.json")),
                    Contains(dir.file("absent.json") + ": BERT config not found"));
  CHECK_THROWS_WITH(BertConfig::preset("huge"), Contains("unknown BERT preset 'huge'"));
}

TEST_CASE("BertConfig presets", "[bert]") {
  const BertConfig base = BertConfig::preset("base");
  CHECK(base.vocab_size == 30522);
  CHECK(base.num_hidden_layers == 12);
  CHECK(base.hidden_size == 768);
  CHECK(base.intermediate_size == 3072);
  const BertConfig large = BertConfig::preset("large", 1000);
  CHECK(large.vocab_size == 1000);
  CHECK(large.num_attention_heads == 16);
  CHECK(large.hidden_size == 1024);
  const BertConfig mini = BertConfig::preset("mini");
  CHECK(mini.num_hidden_layers == 4);
  CHECK(mini.hidden_size == 256);
  const BertConfig small = BertConfig::preset("small");
  CHECK(small.hidden_size == 512);
  CHECK(small.num_attention_heads == 8);
}

TEST_CASE("BertModel registers HF's names and initialises like HF", "[bert]") {
  const BertConfig c = tiny_config();
  const BertModel m(c, 42);
  const ParameterRegistry& p = m.params();
  CHECK(p.size() == 5 + 16 * 2 + 2);
  CHECK(p.all().front().name == "embeddings.word_embeddings.weight");
  CHECK(p.all().back().name == "pooler.dense.bias");
  CHECK(p.get("encoder.layer.1.attention.self.value.weight").shape() == Shape({128, 128}));
  CHECK(p.get("encoder.layer.0.intermediate.dense.weight").shape() == Shape({512, 128}));
  CHECK(p.get("encoder.layer.0.output.dense.weight").shape() == Shape({128, 512}));
  CHECK(p.get("embeddings.position_embeddings.weight").shape() == Shape({16, 128}));
  CHECK(p.get("embeddings.token_type_embeddings.weight").shape() == Shape({2, 128}));

  CHECK(max_abs(p.get("encoder.layer.0.output.dense.bias")) == 0);
  CHECK(max_abs(p.get("embeddings.LayerNorm.bias")) == 0);
  const std::vector<float> ln = p.get("encoder.layer.1.output.LayerNorm.weight").to_vector<float>();
  CHECK(std::all_of(ln.begin(), ln.end(), [](float v) { return v == 1; }));
  const std::vector<float> word = p.get("embeddings.word_embeddings.weight").to_vector<float>();
  CHECK(std::all_of(word.begin(), word.begin() + 128, [](float v) { return v == 0; }));  // pad row 0
  double sum2 = 0;
  for (size_t i = 128; i < word.size(); ++i) sum2 += double(word[i]) * word[i];
  CHECK(std::sqrt(sum2 / double(word.size() - 128)) == Approx(0.02).epsilon(0.05));

  require_same_params(m, BertModel(c, 42));
  CHECK_FALSE(bit_equal(p.get("pooler.dense.weight"), BertModel(c, 43).params().get("pooler.dense.weight")));
}

TEST_CASE("BertModel forward shapes and argument errors", "[bert]") {
  const BertModel m(tiny_config(), 1);
  const Tensor ids = ids_tensor({2, 5, 7, 9, 3, 2, 11, 12, 3, 0}, {2, 5});
  const Tensor types = ids_tensor({0, 0, 0, 1, 1, 0, 0, 0, 1, 1}, {2, 5});
  const Tensor mask = ids_tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, {2, 5});
  const BertOutput o = m.forward(ids, types, mask);
  CHECK(o.last_hidden_state.shape() == Shape({2, 5, 128}));
  CHECK(o.pooled.shape() == Shape({2, 128}));
  CHECK(max_abs(o.pooled) < 1);
  CHECK(std::isfinite(max_abs(o.last_hidden_state)));

  // No token types and no mask mean all zeros and all ones.
  const Tensor zeros = ids_tensor(std::vector<int64_t>(10, 0), {2, 5});
  const Tensor ones = ids_tensor(std::vector<int64_t>(10, 1), {2, 5});
  CHECK(max_abs_diff(m.forward(ids).last_hidden_state, m.forward(ids, zeros, ones).last_hidden_state) == 0);

  CHECK_THROWS_WITH(m.forward(ids_tensor(std::vector<int64_t>(17, 1), {1, 17})),
                    Contains("sequence length 17") && Contains("max_position_embeddings = 16"));
  CHECK_THROWS_WITH(m.forward(ids, types, ids_tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 2}, {2, 5})),
                    Contains("attention_mask[1,4] = 2"));
  CHECK_THROWS_WITH(m.forward(ids, ids_tensor({0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, {2, 5})), Contains("2"));
  CHECK_THROWS_WITH(m.forward(ids, types.reshape({5, 2})), Contains("'token_type_ids' is (5,2) but 'ids' is (2,5)"));
  CHECK_THROWS_WITH(m.forward(ids, types, mask, true), Contains("training needs a dropout RngStream"));
}

TEST_CASE("BertModel padding does not change the real tokens' outputs", "[bert]") {
  for (DType dtype : {DType::F64, DType::F32}) {
    const double tol = dtype == DType::F64 ? 1e-10 : 1e-5;
    const BertModel m(tiny_config(), 7, dtype);
    // Row 1 is [2, 8, 9] padded with pad id 0 to the batch's length 6.
    const BertOutput padded = m.forward(ids_tensor({2, 5, 6, 7, 9, 3, 2, 8, 9, 0, 0, 0}, {2, 6}),
                                        ids_tensor({0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0}, {2, 6}),
                                        ids_tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, {2, 6}));
    const BertOutput alone = m.forward(ids_tensor({2, 8, 9}, {1, 3}), ids_tensor({0, 0, 1}, {1, 3}));
    const Tensor real = slice(padded.last_hidden_state.slice_rows(1, 2), 1, 0, 3);  // (1,3,C)
    check_close(real, alone.last_hidden_state, tol, Tol::Absolute, "padded row's real tokens");
    check_close(padded.pooled.slice_rows(1, 2), alone.pooled, tol, Tol::Absolute, "padded row's pooled output");
  }
}

TEST_CASE("BertModel dropout: off in eval, seeded in training", "[bert]") {
  BertConfig c = tiny_config();
  c.hidden_dropout_prob = 0.2;
  c.attention_probs_dropout_prob = 0.3;
  const BertModel m(c, 3);
  const Tensor ids = ids_tensor({2, 5, 7, 9, 3, 2, 11, 12, 3, 0}, {2, 5});
  const Tensor mask = ids_tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, {2, 5});
  RngStream unused{99, 5};
  const Tensor eval1 = flat_outputs(m.forward(ids, Tensor(), mask, false, &unused));
  CHECK(unused.offset == 5);  // eval draws nothing
  CHECK(bit_equal(eval1, flat_outputs(m.forward(ids, Tensor(), mask))));

  RngStream a{11, 0}, b{11, 0}, other{12, 0};
  const Tensor train1 = flat_outputs(m.forward(ids, Tensor(), mask, true, &a));
  const Tensor train2 = flat_outputs(m.forward(ids, Tensor(), mask, true, &b));
  CHECK(bit_equal(train1, train2));
  CHECK(a.offset == b.offset);
  CHECK(a.offset > 0);
  CHECK_FALSE(bit_equal(train1, eval1));
  CHECK_FALSE(bit_equal(train1, flat_outputs(m.forward(ids, Tensor(), mask, true, &other))));
  CHECK_FALSE(bit_equal(train1, flat_outputs(m.forward(ids, Tensor(), mask, true, &a))));  // the next step's masks
}

TEST_CASE("BertModel backward reaches every parameter", "[bert]") {
  BertModel m(tiny_config(), 5);
  const Tensor out = flat_outputs(m.forward(ids_tensor({2, 5, 7, 9, 3, 2, 11, 12, 3, 0}, {2, 5}),
                                            ids_tensor({0, 0, 1, 1, 1, 0, 0, 0, 1, 0}, {2, 5}),
                                            ids_tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, {2, 5})));
  Tensor seed = Tensor::empty(out.shape());
  RngStream rng{17};
  normal_fill(seed, 0, 1, rng);
  out.backward(seed);
  for (const NamedTensor& p : m.params().all()) {
    INFO(p.name);
    REQUIRE(p.tensor.grad().defined());
    CHECK(max_abs(p.tensor.grad()) > 0);
    CHECK(std::isfinite(max_abs(p.tensor.grad())));
  }
  m.params().zero_grad();
}

TEST_CASE("BertModel f64 gradient matches finite differences", "[bert]") {
  BertModel m(tiny_config(), 8, DType::F64);
  const Tensor ids = ids_tensor({2, 5, 7, 3, 2, 11, 3, 0}, {2, 4});
  const Tensor types = ids_tensor({0, 0, 1, 1, 0, 0, 1, 0}, {2, 4});
  const Tensor mask = ids_tensor({1, 1, 1, 1, 1, 1, 1, 0}, {2, 4});
  Tensor w = Tensor::empty({2 * 4 * 128 + 2 * 128}, DType::F64);
  RngStream rng{23};
  normal_fill(w, 0, 1, rng);
  const std::vector<double> wv = w.to_vector<double>();
  const auto loss = [&] {  // sum(outputs * w)
    NoGradGuard no_grad;
    const std::vector<double> o = flat_outputs(m.forward(ids, types, mask)).to_vector<double>();
    double s = 0;
    for (size_t i = 0; i < o.size(); ++i) s += o[i] * wv[i];
    return s;
  };
  flat_outputs(m.forward(ids, types, mask)).backward(w);
  const std::pair<const char*, int64_t> probes[] = {{"encoder.layer.0.attention.self.query.weight", 300},
                                                    {"embeddings.word_embeddings.weight", 5 * 128 + 17}};
  for (const auto& [name, index] : probes) {
    INFO(name);
    Tensor p = m.params().get(name);
    double* x = p.data<double>() + index;
    // eps 1e-4 balances truncation (the embedding probe's curvature) against round-off (the query probe's
    // gradient is 1e-5 of the loss): both then agree with the analytic value to ~3e-6 relative.
    const double x0 = *x, eps = 1e-4;
    *x = x0 + eps;
    const double up = loss();
    *x = x0 - eps;
    const double down = loss();
    *x = x0;
    const double numeric = (up - down) / (2 * eps);
    const double analytic = p.grad().data<double>()[index];
    CHECK(analytic != 0);
    CHECK(analytic == Approx(numeric).epsilon(1e-5));
  }
  m.params().zero_grad();
}

TEST_CASE("BertModel save_pretrained / from_pretrained round trip", "[bert]") {
  ScratchDir dir;
  BertConfig c = tiny_config();
  c.hidden_act = GeluKind::Tanh;
  const BertModel m(c, 9);
  m.save_pretrained(dir.file("model"));
  LoadReport report;
  const BertModel back = BertModel::from_pretrained(dir.file("model"), &report);
  CHECK(report.loaded == static_cast<int64_t>(m.params().size()));
  CHECK(report.unused.empty());
  CHECK(back.config().to_json() == c.to_json());
  require_same_params(m, back);
  const Tensor ids = ids_tensor({2, 5, 7, 9}, {1, 4});
  CHECK(bit_equal(flat_outputs(m.forward(ids)), flat_outputs(back.forward(ids))));
  CHECK(SafetensorsFile::open(dir.file("model/model.safetensors")).metadata().at("format") == "pt");

  CHECK_THROWS_WITH(BertModel::from_pretrained(dir.file("nothing")), Contains("safetensors checkpoints only"));
}

TEST_CASE("load_hf_weights: task-model prefix, extra tensors, HF buffers", "[bert]") {
  ScratchDir dir;
  const BertModel saved(tiny_config(), 10);
  std::vector<NamedTensor> file = hf_tensors(saved, "bert.");
  file.push_back({"bert.embeddings.position_ids", ids_tensor({0, 1, 2, 3}, {1, 4})});
  file.push_back({"cls.predictions.bias", Tensor::zeros({50})});
  file.push_back({"cls.seq_relationship.weight", Tensor::zeros({2, 128})});
  save_safetensors(dir.file("model.safetensors"), file);

  BertModel m(tiny_config(), 11);
  const LoadReport report = load_hf_weights(m, dir.file("model.safetensors"));
  require_same_params(saved, m);
  CHECK(report.loaded == static_cast<int64_t>(m.params().size()));
  std::vector<std::string> unused = report.unused;
  std::sort(unused.begin(), unused.end());
  CHECK(unused == std::vector<std::string>{"bert.embeddings.position_ids", "cls.predictions.bias",
                                           "cls.seq_relationship.weight"});
}

TEST_CASE("load_hf_weights: gamma/beta aliases and half-precision files", "[bert]") {
  ScratchDir dir;
  const BertModel saved(tiny_config(), 12);
  std::vector<NamedTensor> file = hf_tensors(saved, "");
  std::map<std::string, std::string> file_name;  // parameter -> its tensor in the file
  for (NamedTensor& t : file) {
    const std::string param = t.name;
    const size_t ln = t.name.rfind("LayerNorm.");
    if (ln != std::string::npos) t.name.replace(ln + 10, std::string::npos, t.name.back() == 't' ? "gamma" : "beta");
    file_name[param] = t.name;
  }
  CHECK(file_name.at("embeddings.LayerNorm.weight") == "embeddings.LayerNorm.gamma");
  CHECK(file_name.at("encoder.layer.1.output.LayerNorm.bias") == "encoder.layer.1.output.LayerNorm.beta");
  for (SafetensorsFloat store : {SafetensorsFloat::BF16, SafetensorsFloat::F16}) {
    save_safetensors(dir.file("model.safetensors"), file, {}, store);
    BertModel m(tiny_config(), 13);
    CHECK(load_hf_weights(m, dir.file("model.safetensors")).unused.empty());
    // Each parameter is the stored half-precision value, exactly widened to f32.
    const SafetensorsFile f = SafetensorsFile::open(dir.file("model.safetensors"));
    for (const NamedTensor& p : m.params().all()) {
      INFO(p.name);
      CHECK(bit_equal(p.tensor, f.load(file_name.at(p.name), DType::F32)));
      CHECK(max_abs_diff(p.tensor, saved.params().get(p.name)) <= 0.01 * max_abs(saved.params().get(p.name)));
    }
  }
}

TEST_CASE("load_hf_weights: errors list every missing tensor and name mismatched shapes", "[bert]") {
  ScratchDir dir;
  const BertModel saved(tiny_config(), 14);
  BertModel m(tiny_config(), 15);
  const BertModel untouched(tiny_config(), 15);

  std::vector<NamedTensor> file;
  for (const NamedTensor& t : hf_tensors(saved, "bert."))
    if (t.name != "bert.pooler.dense.bias" && t.name != "bert.encoder.layer.1.attention.self.key.weight" &&
        t.name != "bert.embeddings.LayerNorm.weight")
      file.push_back(t);
  save_safetensors(dir.file("missing.safetensors"), file);
  CHECK_THROWS_WITH(load_hf_weights(m, dir.file("missing.safetensors")),
                    Contains(dir.file("missing.safetensors") + ": 3 of the model's 39 parameters are missing") &&
                        Contains("embeddings.LayerNorm.weight, encoder.layer.1.attention.self.key.weight, "
                                 "pooler.dense.bias"));
  require_same_params(m, untouched);  // nothing written on failure

  BertConfig bigger = tiny_config();
  bigger.vocab_size = 60;
  save_safetensors(dir.file("shape.safetensors"), hf_tensors(BertModel(bigger, 16), ""));
  CHECK_THROWS_WITH(load_hf_weights(m, dir.file("shape.safetensors")),
                    Contains("tensor 'embeddings.word_embeddings.weight' has shape (60,128) but parameter "
                             "'embeddings.word_embeddings.weight' is (50,128) in this config"));

  file = hf_tensors(saved, "bert.");
  file.push_back({"pooler.dense.bias", saved.params().get("pooler.dense.bias")});
  save_safetensors(dir.file("twice.safetensors"), file);
  CHECK_THROWS_WITH(load_hf_weights(m, dir.file("twice.safetensors")),
                    Contains("both hold parameter 'pooler.dense.bias'"));

  file = hf_tensors(saved, "");
  file[3].tensor = Tensor::zeros({128}, DType::I64);  // embeddings.LayerNorm.weight
  save_safetensors(dir.file("int.safetensors"), file);
  CHECK_THROWS_WITH(load_hf_weights(m, dir.file("int.safetensors")),
                    Contains("tensor 'embeddings.LayerNorm.weight' has dtype I64"));
  require_same_params(m, untouched);
}
