#include "train/student/soft_targets.h"

#include "engine/checksum.h"
#include "base/error.h"
#include "models/bert/classifier.h"
#include "tokenizer/wordpiece.h"
#include "train/common/logits_file.h"
#include "train/common/progress.h"
#include "train/teacher/inference.h"
#include "train/teacher/model_dir.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <optional>

namespace docbert::train {

namespace fs = std::filesystem;

namespace {

// The teacher's files whose bytes decide its logits (tokenizer_config.json may be absent).
uint64_t teacher_checksum(const std::string& dir) {
  uint64_t h = kFnv1a64Basis;
  for (const char* name : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"}) {
    const fs::path p = fs::path(dir) / name;
    const bool optional = std::string(name) == "tokenizer_config.json";
    if (optional && !fs::exists(p)) continue;
    DOCBERT_CHECK(fs::is_regular_file(p), "--teacher {}: no {} (a saved teacher folder, train_teacher's best/)", dir,
                  name);
    h = fnv1a64(fmt::format("{}={};", name, checksum_hex(fnv1a64_file(p.string()))), h);
  }
  return h;
}

uint64_t transfer_checksum(const std::vector<std::string>& ids, const std::vector<std::string>& texts) {
  uint64_t h = kFnv1a64Basis;
  for (size_t i = 0; i < ids.size(); ++i) {
    // Lengths first, so no two id/text splits of the same bytes collide.
    h = fnv1a64(fmt::format("{}:{}:", ids[i].size(), texts[i].size()), h);
    h = fnv1a64(ids[i], h);
    h = fnv1a64(texts[i], h);
  }
  return h;
}

uint64_t logits_checksum(const Tensor& logits) {
  return fnv1a64(std::string_view(reinterpret_cast<const char*>(logits.data<float>()),
                                  static_cast<size_t>(logits.numel()) * sizeof(float)));
}

// Columns of `file` in the dataset's label order, checking problem type and labels; errors name `path`.
Tensor select_columns(const LogitsFile& file, const std::vector<std::string>& label_names, ProblemType problem,
                      const std::string& path) {
  DOCBERT_CHECK(file.problem == problem, "{}: the logits are {} but the dataset is {}", path,
                problem_type_name(file.problem), problem_type_name(problem));
  const std::vector<int32_t> cols = map_labels(label_names, file.labels, path);
  const int64_t n = file.logits.shape()[0], k_file = file.logits.shape()[1];
  const auto k = static_cast<int64_t>(cols.size());
  Tensor out = Tensor::zeros({n, k});
  const float* src = file.logits.data<float>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) dst[i * k + j] = src[i * k_file + cols[static_cast<size_t>(j)]];
  return out;
}

// Why a cached file cannot be used, or nullopt when it can.
std::optional<std::string> cache_problem(const LogitsFile& file, const std::map<std::string, std::string>& expected,
                                         const std::vector<std::string>& ids) {
  for (const auto& [key, value] : expected) {
    const auto it = file.metadata.find(key);
    if (it == file.metadata.end()) return fmt::format("no '{}' in its metadata", key);
    if (it->second != value) return fmt::format("its {} is {}, expected {}", key, it->second, value);
  }
  if (file.document_ids != ids) return std::string("its document ids differ from the transfer set's");
  const auto it = file.metadata.find("logits_checksum");
  if (it == file.metadata.end()) return std::string("no logits checksum");
  if (it->second != checksum_hex(logits_checksum(file.logits)))
    return fmt::format("its logits checksum {} does not match the data ({})", it->second,
                       checksum_hex(logits_checksum(file.logits)));
  return std::nullopt;
}

}  // namespace

SoftTargets teacher_soft_targets(const SoftTargetOptions& o, const std::vector<std::string>& ids,
                                 const std::vector<std::string>& texts, const std::vector<std::string>& label_names,
                                 ProblemType problem, std::FILE* out, bool interactive) {
  DOCBERT_CHECK(ids.size() == texts.size(), "teacher_soft_targets: {} ids but {} texts", ids.size(), texts.size());
  const bert::BertConfig config = bert::BertConfig::from_json_file(o.teacher_dir + "/config.json");
  const int64_t max_len =
      o.max_seq_length > 0 ? o.max_seq_length : trained_max_seq_length(o.teacher_dir, config.max_position_embeddings);
  DOCBERT_CHECK(max_len <= config.max_position_embeddings,
                "--teacher-max-seq-length {} exceeds the teacher's max_position_embeddings {}", max_len,
                config.max_position_embeddings);
  const tok::Truncation truncation = tok::parse_truncation(o.truncation);

  const std::map<std::string, std::string> expected = {
      {"teacher_checksum", checksum_hex(teacher_checksum(o.teacher_dir))},
      {"transfer_checksum", checksum_hex(transfer_checksum(ids, texts))},
      {"max_seq_length", std::to_string(max_len)},
      {"truncation", tok::truncation_name(truncation)},
      {"head_pieces", truncation == tok::Truncation::HeadTail ? std::to_string(o.head_pieces) : "-"}};
  uint64_t key = kFnv1a64Basis;
  for (const auto& [k, v] : expected) key = fnv1a64(k + "=" + v + ";", key);

  SoftTargets st;
  st.key = checksum_hex(key);
  std::error_code ec;
  fs::create_directories(o.cache_dir, ec);
  DOCBERT_CHECK(!ec && fs::is_directory(o.cache_dir), "--cache-dir {}: cannot create it{}", o.cache_dir,
                ec ? ": " + ec.message() : "");
  st.path = (fs::path(o.cache_dir) / ("soft-targets-" + st.key + ".safetensors")).string();

  if (fs::exists(st.path)) {
    std::string why;
    try {
      const LogitsFile file = load_logits(st.path);
      const std::optional<std::string> problem_found = cache_problem(file, expected, ids);
      if (!problem_found) {
        st.logits = select_columns(file, label_names, problem, st.path);
        st.from_cache = true;
        fmt::print(out, "soft targets: {} teacher logits from the cache {}\n", ids.size(), st.path);
        return st;
      }
      why = *problem_found;
    } catch (const Error& e) {
      why = e.what();
    }
    fmt::print(out, "soft targets: the cached {} cannot be used ({}); recomputing\n", st.path, why);
  }

  const bert::BertClassifier teacher = bert::BertClassifier::from_pretrained(o.teacher_dir);
  DOCBERT_CHECK(teacher.problem_type() == problem, "--teacher {}: the teacher is {} but the dataset is {}",
                o.teacher_dir, problem_type_name(teacher.problem_type()), problem_type_name(problem));
  (void)map_labels(label_names, teacher.labels(), o.teacher_dir);  // every dataset label known, before the long run
  const tok::WordPiece tokenizer = tok::WordPiece::from_dir(o.teacher_dir);
  const double t0 = steady_seconds();
  const auto docs = encode_texts(tokenizer, texts, static_cast<int>(max_len), truncation,
                                 static_cast<int>(o.head_pieces));
  ProgressBar bar("teacher logits", static_cast<int64_t>(docs.size()), interactive);
  LogitsFile file;
  file.logits = predict_logits(teacher, docs, o.batch_size, [&](int64_t done) { bar.update(done); });
  bar.finish();
  file.document_ids = ids;
  file.labels = teacher.labels();
  file.problem = problem;
  file.metadata = expected;
  file.metadata["teacher"] = fs::absolute(o.teacher_dir).lexically_normal().string();
  file.metadata["logits_checksum"] = checksum_hex(logits_checksum(file.logits));
  save_logits(st.path, file);
  const double seconds = steady_seconds() - t0;
  fmt::print(out, "soft targets: teacher logits of {} documents at {} tokens in {:.1f} s ({:.1f} docs/s), cached in {}\n",
             ids.size(), max_len, seconds, static_cast<double>(ids.size()) / seconds, st.path);
  st.logits = select_columns(file, label_names, problem, st.path);
  return st;
}

Tensor soft_targets_from_file(const std::string& path, const std::vector<std::string>& ids,
                              const std::vector<std::string>& label_names, ProblemType problem) {
  const LogitsFile file = load_logits(path);
  DOCBERT_CHECK(file.document_ids.size() == ids.size(), "{}: {} documents, but the transfer set has {}", path,
                file.document_ids.size(), ids.size());
  std::map<std::string, int64_t> row;
  for (size_t i = 0; i < file.document_ids.size(); ++i) row[file.document_ids[i]] = static_cast<int64_t>(i);
  const Tensor all = select_columns(file, label_names, problem, path);
  const int64_t k = all.shape()[1];
  Tensor out = Tensor::zeros({static_cast<int64_t>(ids.size()), k});
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto it = row.find(ids[i]);
    DOCBERT_CHECK(it != row.end(), "{}: no logits for transfer document '{}'", path, ids[i]);
    std::copy_n(all.data<float>() + it->second * k, k, out.data<float>() + static_cast<int64_t>(i) * k);
  }
  return out;
}

}  // namespace docbert::train
