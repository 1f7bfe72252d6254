#include "train/data/readers/imdb.h"

#include "train/data/text_lines.h"

namespace docbert::data {

void parse_imdb(std::string_view content, const std::string& source, Split split, DatasetBuilder& out) {
  if (!out.labels_fixed()) {
    std::vector<std::string> names;
    for (int r = 1; r <= 10; ++r) names.push_back(std::to_string(r));
    out.set_label_names(std::move(names), "the IMDB ratings 1-10");
  }
  RowReader rows(content, source, split, out);
  std::string_view line;
  int64_t n = 0;
  while (rows.next(line, n)) {
    // Three "\t\t" separators; the text is the rest.
    std::string_view field[3];
    std::string_view rest = line;
    bool ok = true;
    for (auto& f : field) {
      const size_t sep = rest.find("\t\t");
      if (sep == std::string_view::npos) {
        ok = false;
        break;
      }
      f = rest.substr(0, sep);
      rest = rest.substr(sep + 2);
    }
    if (!ok) {
      out.bad_row(source, n, "missing field", "expected `user\\t\\tmovie\\t\\trating\\t\\ttext`");
      continue;
    }
    const int32_t label = out.label_index(field[2], source, n);
    if (label < 0) continue;
    Document doc;
    doc.id = default_document_id(split, n);
    doc.text = std::string(rest);
    doc.labels = {label};
    doc.split = split;
    out.add(std::move(doc), source, n);
  }
}

Dataset read_imdb(const std::string& folder, const ReadOptions& options) {
  DatasetBuilder out(default_dataset_name(folder), options, ProblemType::SingleLabel);
  read_split_files(folder, ".txt", "IMDB file", [&](std::string_view content, const std::string& path, Split s) {
    parse_imdb(content, path, s, out);
  });
  out.set_provenance("reader", "imdb");
  out.set_provenance("source", folder);
  return out.finish();
}

}  // namespace docbert::data
