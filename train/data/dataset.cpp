#include "train/data/dataset.h"

#include "base/error.h"

#include <algorithm>

namespace docbert::data {

const char* split_name(Split s) {
  switch (s) {
    case Split::Train:
      return "train";
    case Split::Dev:
      return "dev";
    case Split::Test:
      return "test";
  }
  return "?";
}

Split parse_split(const std::string& name) {
  if (name == "train") return Split::Train;
  if (name == "dev") return Split::Dev;
  if (name == "test") return Split::Test;
  DOCBERT_THROW("unknown split '{}' (expected train, dev or test)", name);
}

int64_t SkipCounts::total() const {
  int64_t n = 0;
  for (const auto& [reason, count] : by_reason) n += count;
  return n;
}

std::vector<const Document*> Dataset::split(Split s) const {
  std::vector<const Document*> out;
  for (const auto& d : documents)
    if (d.split == s) out.push_back(&d);
  return out;
}

int64_t Dataset::count(Split s) const {
  int64_t n = 0;
  for (const auto& d : documents) n += d.split == s;
  return n;
}

void group_by_split(std::vector<Document>& documents) {
  std::stable_sort(documents.begin(), documents.end(),
                   [](const Document& a, const Document& b) { return a.split < b.split; });
}

VocabSource parse_vocab_source(const std::string& name) {
  if (name == "train") return VocabSource::Train;
  if (name == "all") return VocabSource::AllSplits;
  DOCBERT_THROW("unknown vocabulary source '{}' (expected train or all)", name);
}

const char* vocab_source_name(VocabSource source) { return source == VocabSource::Train ? "train" : "all"; }

std::vector<std::string> vocab_texts(const Dataset& ds, VocabSource source) {
  std::vector<std::string> texts;
  for (const Document& d : ds.documents)
    if (source == VocabSource::AllSplits || d.split == Split::Train) texts.push_back(d.text);
  return texts;
}

}  // namespace docbert::data
