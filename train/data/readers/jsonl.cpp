#include "train/data/readers/jsonl.h"

#include "train/data/label_file.h"
#include "train/data/text_lines.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace docbert::data {

void parse_jsonl(std::string_view content, const std::string& source, Split split, DatasetBuilder& out) {
  RowReader rows(content, source, split, out);
  std::string_view line;
  int64_t n = 0;
  while (rows.next(line, n)) {
    if (line.find_first_not_of(" \t\r\v\f") == std::string_view::npos) continue;  // blank lines are no rows
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      out.bad_row(source, n, "invalid JSON", fmt::format("invalid JSON: {}", e.what()));
      continue;
    }
    if (!row.is_object()) {
      out.bad_row(source, n, "invalid JSON", "expected a JSON object");
      continue;
    }
    const auto text = row.find("text");
    if (text == row.end() || !text->is_string()) {
      out.bad_row(source, n, "bad field", "\"text\" is missing or not a string");
      continue;
    }
    const auto labels = row.find("labels"), label = row.find("label");
    std::vector<std::string> names;
    if (labels != row.end() && label == row.end() && labels->is_array() &&
        std::all_of(labels->begin(), labels->end(), [](const nlohmann::json& l) { return l.is_string(); })) {
      for (const auto& l : *labels) names.push_back(l.get<std::string>());
    } else if (label != row.end() && labels == row.end() && label->is_string()) {
      names.push_back(label->get<std::string>());
    } else {
      out.bad_row(source, n, "bad field",
                  "expected either \"labels\" (an array of strings) or \"label\" (a string), not both");
      continue;
    }
    Document doc;
    const auto id = row.find("id");
    if (id != row.end() && !id->is_string()) {
      out.bad_row(source, n, "bad field", "\"id\" is not a string");
      continue;
    }
    doc.id = id != row.end() ? id->get<std::string>() : default_document_id(split, n);
    doc.text = text->get<std::string>();
    doc.split = split;
    bool ok = true;
    for (const auto& name : names) {
      const int32_t index = out.label_index(name, source, n);
      if (index < 0) {
        ok = false;
        break;
      }
      doc.labels.push_back(index);
    }
    if (ok) out.add(std::move(doc), source, n);
  }
}

Dataset read_jsonl(const std::string& folder, const ReadOptions& options) {
  DatasetBuilder out(default_dataset_name(folder), options, std::nullopt);
  use_label_names(out, folder);
  read_split_files(folder, ".jsonl", "JSONL file", [&](std::string_view content, const std::string& path, Split s) {
    parse_jsonl(content, path, s, out);
  });
  out.set_provenance("reader", "jsonl");
  out.set_provenance("source", folder);
  return out.finish();
}

}  // namespace docbert::data
