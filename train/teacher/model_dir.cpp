#include "train/teacher/model_dir.h"

#include "base/error.h"
#include "base/file_io.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>

namespace docbert::train {

using json = nlohmann::json;

void save_model_dir(const bert::BertClassifier& model, const tok::WordPiece& tokenizer, const std::string& vocab_text,
                    int64_t max_seq_length, const std::string& dir) {
  model.save_pretrained(dir);
  write_file_atomic(dir + "/vocab.txt", vocab_text, "vocabulary");
  const tok::WordPieceOptions& w = tokenizer.options();
  json tc = {{"tokenizer_class", "BertTokenizer"},
             {"do_lower_case", w.lower_case},
             {"strip_accents", w.strip_accents ? json(*w.strip_accents) : json(nullptr)},
             {"tokenize_chinese_chars", w.split_cjk},
             {"model_max_length", max_seq_length},
             {"unk_token", w.unk_token},
             {"cls_token", w.cls_token},
             {"sep_token", w.sep_token},
             {"pad_token", w.pad_token},
             {"mask_token", w.mask_token}};
  write_file_atomic(dir + "/tokenizer_config.json", tc.dump(2) + "\n", "tokenizer config");
}

std::vector<int32_t> map_labels(const std::vector<std::string>& dataset_labels,
                                const std::vector<std::string>& model_labels, const std::string& model_dir) {
  std::map<std::string, int32_t> id;
  for (size_t i = 0; i < model_labels.size(); ++i) id[model_labels[i]] = static_cast<int32_t>(i);
  std::vector<int32_t> map;
  std::vector<std::string> unknown;
  for (const std::string& name : dataset_labels) {
    const auto it = id.find(name);
    if (it == id.end()) unknown.push_back(name);
    map.push_back(it == id.end() ? -1 : it->second);
  }
  DOCBERT_CHECK(unknown.empty(), "{}: the model does not know {} label(s) of the dataset: {} (it has {} labels: {})",
                model_dir, unknown.size(), fmt::join(unknown, ", "), model_labels.size(),
                fmt::join(model_labels, ", "));
  return map;
}

}  // namespace docbert::train
