// docbert_predict: a saved teacher's or student's predictions for documents, one JSON line per document, and the
// metrics when the input has gold labels.
//
//   docbert_predict --model runs/teacher/best --input docs.txt            # one document per line
//   docbert_predict --model runs/teacher/best --input data/reuters --split test --save-logits reuters-test.logits
//   docbert_predict --model runs/student/best --input data/reuters --split test
//
// Models: a BERT teacher folder (train/teacher/model_dir.h: WordPiece ids with [CLS] ... [SEP], --max-seq-length,
// --truncation, --head-pieces) or an LSTM_reg student folder (train/student/model_dir.h, recognised by config.json's
// "model_type": "lstm_reg": its own tokenizer, --max-tokens). An option of the other kind of model is an error, not
// ignored. Everything after the logits (output, metrics, --save-logits) is the same for both.
//
// Inputs (--format):
//   text       one document per line, ids "line-<n>" (1-based); --input - reads the standard input. An empty or
//              whitespace-only line is an error naming file:line: it is far more often a broken file than a document,
//              and skipping it would shift the output against the input lines. (An empty document can be given in
//              JSONL as "text": "".)
//   jsonl      a file of objects with "text", optional "id" (default "line-<n>") and optional gold "labels" (array of
//              names) or "label" (one name), on every row or on none; blank lines are skipped. (The dataset
//              reader's JSONL needs labels on every row and a train/test folder, hence this reader of single files.)
//              A folder with --format jsonl is the JSONL dataset format.
//   any dataset format of docbert_data (canonical, reuters-sgml, r8, ...): the folder is read by data::load_dataset
//              (empty texts kept, as DocBERT evaluates them) and --split picks the documents (default test).
//   auto       a folder: its dataset format (data::detect_format); a *.jsonl file: jsonl; any other file: text.
//
// Output: in input order, {"id": ..., "labels": [predicted names], "probs": {name: p, ...}} and "gold": [names] when
// the input has gold labels (names always in the model's label order). Predictions follow hedwig
// (train/common/metrics.h): the argmax for single-label models, every label with logit > 0 for multi-label ones; probs
// are the softmax, resp. the per-label sigmoid, of the logits. Gold labels are matched to the model's id2label by name;
// a name the model lacks is an error.
//
// Errors (options, model, input, writing) print "docbert_predict: error: <message>" on stderr and exit with 1.
#include "base/error.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/softmax.h"
#include "engine/parallel.h"
#include "models/bert/classifier.h"
#include "tokenizer/wordpiece.h"
#include "train/common/logits_file.h"
#include "train/common/metrics.h"
#include "train/common/progress.h"
#include "train/data/load_dataset.h"
#include "train/data/text_lines.h"
#include "train/data/utf8_check.h"
#include "train/student/inference.h"
#include "train/student/model_dir.h"
#include "train/teacher/inference.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace docbert;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Args {
  std::string model, input, format = "auto", split = "test", output = "-", save_logits, truncation = "head";
  int64_t batch_size = 32, max_seq_length = 0, head_pieces = 128, max_tokens = 0;
  int threads = 0;
  bool no_progress = false;
};

// A loaded model, teacher or student, as the rest of this tool sees it.
struct Model {
  std::vector<std::string> labels;  // id2label
  ProblemType problem = ProblemType::SingleLabel;
  // The (N, K) f32 logits of `texts`: encoding, then batched inference; on_batch gets the documents done so far.
  std::function<Tensor(const std::vector<std::string>& texts, const std::function<void(int64_t)>& on_batch)> predict;
  std::map<std::string, std::string> encoding;  // how texts became ids, for the logits file's metadata
};

// How the input is read: one of the two file formats of this tool, or a dataset folder.
enum class InputKind { Text, Jsonl, Dataset };

struct Input {
  std::vector<std::string> ids, texts;
  std::vector<std::vector<std::string>> gold;  // gold label names per document; empty when the input has none
  std::vector<std::string> label_names;        // dataset formats: all the dataset's names, used in the split or not
};

// --format resolved against the input path (see the top of this file).
InputKind input_kind(const std::string& format, const std::string& path, data::Format& dataset_format) {
  const bool folder = fs::is_directory(path);
  if (format == "text") return InputKind::Text;
  try {
    dataset_format = data::parse_format(format);
  } catch (const Error& e) {
    DOCBERT_THROW("--format: {}, or text", e.message());
  }
  if (dataset_format == data::Format::Auto) {
    if (folder) return InputKind::Dataset;
    return fs::path(path).extension() == ".jsonl" ? InputKind::Jsonl : InputKind::Text;
  }
  if (dataset_format == data::Format::Jsonl && !folder) return InputKind::Jsonl;
  return InputKind::Dataset;
}

// The whole input: stdin for "-", else the file.
std::string read_input(const std::string& path) {
  if (path != "-") return read_file(path, "input file");
  std::string content((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  DOCBERT_CHECK(!std::cin.bad(), "reading the standard input failed");
  return content;
}

Input read_text(const std::string& path) {
  const std::string content = read_input(path);
  Input in;
  data::LineReader lines(content);
  std::string_view line;
  while (lines.next(line)) {
    DOCBERT_CHECK(line.find_first_not_of(" \t\r\v\f") != std::string_view::npos,
                  "{}:{}: empty line (text input is one document per line, an empty document needs JSONL)", path,
                  lines.line_number());
    in.ids.push_back(fmt::format("line-{}", lines.line_number()));
    in.texts.emplace_back(line);
  }
  return in;
}

// The gold label names of one JSONL row ("labels" or "label"), or false when it has neither.
bool jsonl_gold(const json& row, const std::string& where, std::vector<std::string>& names) {
  const auto labels = row.find("labels"), label = row.find("label");
  if (labels == row.end() && label == row.end()) return false;
  DOCBERT_CHECK(labels == row.end() || label == row.end(), "{}: give \"labels\" or \"label\", not both", where);
  if (label != row.end()) {
    DOCBERT_CHECK(label->is_string(), "{}: \"label\" must be a string", where);
    names.push_back(label->get<std::string>());
    return true;
  }
  DOCBERT_CHECK(labels->is_array(), "{}: \"labels\" must be an array of strings", where);
  for (const json& l : *labels) {
    DOCBERT_CHECK(l.is_string(), "{}: \"labels\" must be an array of strings", where);
    names.push_back(l.get<std::string>());
  }
  return true;
}

Input read_jsonl_file(const std::string& path) {
  const std::string content = read_input(path);
  Input in;
  std::set<std::string> seen;
  data::LineReader lines(content);
  std::string_view line;
  while (lines.next(line)) {
    if (line.find_first_not_of(" \t\r\v\f") == std::string_view::npos) continue;
    const std::string where = fmt::format("{}:{}", path, lines.line_number());
    json row;
    try {
      row = json::parse(line);
    } catch (const json::exception& e) {
      DOCBERT_THROW("{}: invalid JSON: {}", where, e.what());
    }
    DOCBERT_CHECK(row.is_object(), "{}: expected a JSON object", where);
    const auto text = row.find("text"), id = row.find("id");
    DOCBERT_CHECK(text != row.end() && text->is_string(), "{}: \"text\" is missing or not a string", where);
    DOCBERT_CHECK(id == row.end() || id->is_string(), "{}: \"id\" is not a string", where);
    std::vector<std::string> names;
    const bool has_gold = jsonl_gold(row, where, names);
    DOCBERT_CHECK(in.ids.empty() || has_gold == !in.gold.empty(),
                  "{}: this row {} gold labels but the rows before {} (give \"labels\" or \"label\" on every row "
                  "or on none)",
                  where, has_gold ? "has" : "has no", has_gold ? "do not" : "do");
    const std::string doc_id = id != row.end() ? id->get<std::string>() : fmt::format("line-{}", lines.line_number());
    DOCBERT_CHECK(seen.insert(doc_id).second, "{}: document id '{}' is used twice", where, doc_id);
    in.ids.push_back(doc_id);
    in.texts.push_back(text->get<std::string>());
    if (has_gold) in.gold.push_back(std::move(names));
  }
  return in;
}

Input read_dataset(const std::string& path, data::Format format, const std::string& split) {
  data::ReadOptions options;
  options.allow_empty_text = true;
  const data::Dataset ds = data::load_dataset(path, format, options);
  Input in;
  const auto add = [&](const data::Document& d) {
    in.ids.push_back(d.id);
    in.texts.push_back(d.text);
    std::vector<std::string>& names = in.gold.emplace_back();
    for (int32_t l : d.labels) names.push_back(ds.label_names[static_cast<size_t>(l)]);
  };
  if (split == "all") {
    for (const data::Document& d : ds.documents) add(d);
  } else {
    for (const data::Document* d : ds.split(data::parse_split(split))) add(*d);
  }
  in.label_names = ds.label_names;
  return in;
}

// The gold names as the model's label ids (sorted, as metrics.h wants). Names the model lacks (in the gold labels or
// among a dataset's names) are one error listing them all; a single-label model needs exactly one gold label per
// document.
std::vector<std::vector<int32_t>> gold_ids(const Input& in, const Model& model, const std::string& source) {
  std::map<std::string, int32_t> index;
  for (size_t j = 0; j < model.labels.size(); ++j) index[model.labels[j]] = static_cast<int32_t>(j);
  std::set<std::string> unknown;
  for (const std::string& name : in.label_names)
    if (!index.count(name)) unknown.insert(name);
  std::vector<std::vector<int32_t>> out(in.gold.size());
  for (size_t i = 0; i < in.gold.size(); ++i) {
    for (const std::string& name : in.gold[i]) {
      const auto it = index.find(name);
      if (it == index.end()) {
        unknown.insert(name);
      } else {
        out[i].push_back(it->second);
      }
    }
    std::sort(out[i].begin(), out[i].end());
    out[i].erase(std::unique(out[i].begin(), out[i].end()), out[i].end());
  }
  DOCBERT_CHECK(unknown.empty(), "{}: gold label{} {} not among the model's {} labels ({})", source,
                unknown.size() > 1 ? "s" : "", json(unknown).dump(), model.labels.size(), json(model.labels).dump());
  if (model.problem == ProblemType::SingleLabel) {
    for (size_t i = 0; i < out.size(); ++i)
      DOCBERT_CHECK(out[i].size() == 1,
                    "{}: document '{}' has {} gold labels; the single-label model needs exactly one", source, in.ids[i],
                    out[i].size());
  }
  return out;
}

// Writes `text` to `path` ("-": stdout); a short write or a failed flush/close (a full disk) is an error.
void write_output(const std::string& path, const std::string& text) {
  const bool to_stdout = path == "-";
  std::FILE* f = to_stdout ? stdout : std::fopen(path.c_str(), "wb");
  DOCBERT_CHECK(f != nullptr, "{}: cannot open the output file: {}", path, std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool flushed = to_stdout ? std::fflush(f) == 0 : std::fclose(f) == 0;
  DOCBERT_CHECK(written && flushed, "writing the output {} failed: {}", to_stdout ? "(stdout)" : path,
                std::strerror(errno));
}

// One JSON output line per document: names as JSON strings in the model's label order, probabilities as the
// shortest text that reads back as the same f32.
//   gold  the gold label ids per document (gold_ids), or empty
std::string format_predictions(const Input& in, const Model& model, const Tensor& logits,
                               const std::vector<std::vector<int32_t>>& gold) {
  const Tensor probs = model.problem == ProblemType::SingleLabel ? softmax(logits) : sigmoid(logits);
  const std::vector<std::vector<int32_t>> predicted = train::predict_labels(logits, model.problem);
  std::vector<std::string> names;  // label names as JSON strings
  for (const std::string& l : model.labels) names.push_back(json(l).dump());
  const auto name_list = [&](const std::vector<int32_t>& ids) {
    std::vector<std::string> out;
    for (int32_t j : ids) out.push_back(names[static_cast<size_t>(j)]);
    return fmt::format("[{}]", fmt::join(out, ", "));
  };
  const auto k = static_cast<int64_t>(model.labels.size());
  const float* p = probs.data<float>();
  std::string out;
  for (size_t i = 0; i < in.ids.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "{{\"id\": {}, \"labels\": {}, \"probs\": {{", json(in.ids[i]).dump(),
                   name_list(predicted[i]));
    for (int64_t j = 0; j < k; ++j)
      fmt::format_to(std::back_inserter(out), "{}{}: {}", j ? ", " : "", names[static_cast<size_t>(j)],
                     p[static_cast<int64_t>(i) * k + j]);
    out += '}';
    if (!gold.empty()) out += fmt::format(", \"gold\": {}", name_list(gold[i]));
    out += "}\n";
  }
  return out;
}

// A BERT teacher folder with its WordPiece tokenizer; the length options checked against the model.
//   max_seq_length_given  whether --max-seq-length was on the command line (else the folder's default)
Model load_teacher(const Args& a, bool max_seq_length_given, tok::Truncation truncation) {
  auto model = std::make_shared<const bert::BertClassifier>(bert::BertClassifier::from_pretrained(a.model));
  auto tokenizer = std::make_shared<const tok::WordPiece>(tok::WordPiece::from_dir(a.model));
  const int64_t max_positions = model->config().max_position_embeddings;
  const int64_t max_len =
      max_seq_length_given ? a.max_seq_length : train::trained_max_seq_length(a.model, max_positions);
  DOCBERT_CHECK(max_len >= 2 && max_len <= max_positions,
                "--max-seq-length {} must be between 2 ([CLS] and [SEP]) and the model's max_position_embeddings {}",
                max_len, max_positions);
  DOCBERT_CHECK(truncation != tok::Truncation::HeadTail || a.head_pieces <= max_len - 2,
                "--head-pieces {} must be at most --max-seq-length - 2 = {} with --truncation head+tail", a.head_pieces,
                max_len - 2);
  Model m;
  m.labels = model->labels();
  m.problem = model->problem_type();
  m.predict = [model, tokenizer, max_len, truncation, head = a.head_pieces, batch = a.batch_size](
                  const std::vector<std::string>& texts, const std::function<void(int64_t)>& on_batch) {
    const auto docs =
        train::encode_texts(*tokenizer, texts, static_cast<int>(max_len), truncation, static_cast<int>(head));
    return train::predict_logits(*model, docs, batch, on_batch);
  };
  m.encoding["max_seq_length"] = std::to_string(max_len);
  m.encoding["truncation"] = tok::truncation_name(truncation);
  if (truncation == tok::Truncation::HeadTail) m.encoding["head_pieces"] = std::to_string(a.head_pieces);
  return m;
}

// An LSTM_reg student folder with its own encoder.
//   max_tokens_given  whether --max-tokens was on the command line (else student_tokenizer.json's max_tokens)
Model load_student(const Args& a, bool max_tokens_given) {
  auto student = std::make_shared<train::StudentModel>(train::load_student_dir(a.model));
  if (max_tokens_given) student->encoder.set_max_tokens(a.max_tokens);
  Model m;
  m.labels = student->model.labels();
  m.problem = student->model.config().problem_type;
  m.predict = [student, batch = a.batch_size](const std::vector<std::string>& texts,
                                              const std::function<void(int64_t)>& on_batch) {
    return train::predict_student_logits(student->model, student->encoder.encode_all(texts), batch, on_batch);
  };
  m.encoding["student_tokenizer"] = student->encoder.kind_name();
  m.encoding["max_tokens"] = std::to_string(student->encoder.max_tokens());
  return m;
}

int run(int argc, char** argv) {
  CLI::App app{
      "docbert_predict: predictions of a saved BERT teacher or LSTM_reg student for documents (one JSON line each, in "
      "input order), with accuracy and micro/macro P/R/F1 on stderr when the input has gold labels"};
  Args a;
  app.add_option("--model", a.model,
                 "Saved model folder: a teacher (config.json, model.safetensors, vocab.txt) or a student "
                 "(config.json with model_type lstm_reg, model.safetensors, student_tokenizer.json, vocab.txt or "
                 "spiece.model)")
      ->required();
  app.add_option("--input", a.input,
                 "Text file (a document per line; '-': standard input), JSONL file, or dataset folder")
      ->required();
  app.add_option("--format", a.format,
                 "auto|text|jsonl|canonical|reuters-sgml|hedwig-tsv|r8|r52|imdb|folder|csv (auto: a folder's dataset "
                 "format, *.jsonl as jsonl, other files as text)")
      ->capture_default_str();
  const CLI::Option* split = app.add_option("--split", a.split, "Dataset formats: train|dev|test|all")
                                 ->capture_default_str()
                                 ->check(CLI::IsMember({"train", "dev", "test", "all"}));
  app.add_option("--output", a.output, "Predictions file (JSON lines); - is stdout")->capture_default_str();
  app.add_option("--save-logits", a.save_logits, "Also write the logits file the distillation reads (safetensors)");
  app.add_option("--batch-size", a.batch_size, "Documents per forward pass (batched longest first)")
      ->capture_default_str();
  const CLI::Option* max_seq_length = app.add_option(
      "--max-seq-length", a.max_seq_length,
      "Teachers: ids per document with [CLS] and [SEP] (default: tokenizer_config.json's model_max_length, else the "
      "model's max_position_embeddings)");
  const CLI::Option* truncation_option =
      app.add_option("--truncation", a.truncation,
                     "Teachers: pieces kept from a longer document: head, tail or head+tail")
          ->capture_default_str()
          ->check(CLI::IsMember({"head", "tail", "head+tail"}));
  const CLI::Option* head_pieces =
      app.add_option("--head-pieces", a.head_pieces, "Teachers, with --truncation head+tail: pieces from the start")
          ->capture_default_str();
  const CLI::Option* max_tokens = app.add_option(
      "--max-tokens", a.max_tokens,
      "Students: ids kept per document, the first ones (default: student_tokenizer.json's max_tokens; 0 = whole "
      "documents)");
  app.add_option("--threads", a.threads, "CPU threads (0: all cores)")->capture_default_str();
  app.add_flag("--no-progress", a.no_progress, "No progress line on stderr (shown only when stderr is a terminal)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    DOCBERT_THROW("{} (see --help)", e.what());
  }

  // Options first, so that a bad one fails before the model or the input is read. (Checked here rather than by
  // CLI11's range validators, whose messages print the type's whole range.)
  DOCBERT_CHECK(a.batch_size >= 1, "--batch-size must be at least 1, got {}", a.batch_size);
  DOCBERT_CHECK(a.head_pieces >= 0, "--head-pieces must not be negative, got {}", a.head_pieces);
  DOCBERT_CHECK(a.max_tokens >= 0, "--max-tokens must not be negative (0: whole documents), got {}", a.max_tokens);
  DOCBERT_CHECK(a.threads >= 0, "--threads must not be negative (0: all cores), got {}", a.threads);
  data::Format dataset_format = data::Format::Auto;
  const InputKind kind = input_kind(a.format, a.input, dataset_format);
  DOCBERT_CHECK(kind == InputKind::Dataset || split->count() == 0,
                "--split applies to dataset folders, not to a {} file", kind == InputKind::Text ? "text" : "JSONL");
  const tok::Truncation truncation = tok::parse_truncation(a.truncation);
  // Which kind of model (config.json's model_type) decides which length options apply.
  const bool student = train::is_student_dir(a.model);
  if (student) {
    for (const CLI::Option* o : {max_seq_length, truncation_option, head_pieces})
      DOCBERT_CHECK(o->count() == 0, "{} applies to BERT teachers; {} is an LSTM_reg student (see --max-tokens)",
                    o->get_name(), a.model);
  } else {
    DOCBERT_CHECK(max_tokens->count() == 0,
                  "--max-tokens applies to LSTM_reg students; {} is not one (a teacher takes --max-seq-length)",
                  a.model);
  }
  set_num_threads(a.threads);

  const Model model =
      student ? load_student(a, max_tokens->count() > 0) : load_teacher(a, max_seq_length->count() > 0, truncation);
  const Input in = kind == InputKind::Text    ? read_text(a.input)
                   : kind == InputKind::Jsonl ? read_jsonl_file(a.input)
                                              : read_dataset(a.input, dataset_format, a.split);
  DOCBERT_CHECK(!in.ids.empty(), "{}: no documents to predict", a.input);
  const std::vector<std::vector<int32_t>> gold = gold_ids(in, model, a.input);

  const auto n = static_cast<int64_t>(in.texts.size());
  std::optional<train::ProgressBar> bar;  // a terminal only: the output may well be a pipe into a file
  if (!a.no_progress && train::stderr_is_terminal()) bar.emplace("predicting", n, /*interactive=*/true);
  const Tensor logits = model.predict(in.texts, [&](int64_t done) {
    if (bar) bar->update(done);
  });
  if (bar) bar->finish();

  write_output(a.output, format_predictions(in, model, logits, gold));
  if (!a.save_logits.empty()) {
    train::LogitsFile file{logits, in.ids, model.labels, model.problem, model.encoding};
    file.metadata["model"] = data::to_valid_utf8(fs::absolute(a.model).lexically_normal().string());
    file.metadata["data"] = data::to_valid_utf8(fs::absolute(a.input).lexically_normal().string());
    if (kind == InputKind::Dataset) file.metadata["split"] = a.split;
    train::save_logits(a.save_logits, file);
  }
  if (!gold.empty()) {
    const train::ClassificationMetrics m = train::classification_metrics(logits, gold, model.problem);
    fmt::print(stderr,
               "{} documents with gold labels: accuracy {:.4f}\n"
               "  micro  precision {:.4f}  recall {:.4f}  F1 {:.4f}\n"
               "  macro  precision {:.4f}  recall {:.4f}  F1 {:.4f}\n",
               m.documents, m.accuracy, m.micro_precision, m.micro_recall, m.micro_f1, m.macro_precision,
               m.macro_recall, m.macro_f1);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("docbert_predict", [&] { return run(argc, argv); });
}
