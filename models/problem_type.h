// models/problem_type.h: single- vs multi-label classification, the one spelling shared by datasets, the teacher's
// head and the student. The names are HF config.json's `problem_type` values.
#pragma once

#include "base/error.h"

#include <string>

namespace docbert {

enum class ProblemType {
  SingleLabel,  // "single_label_classification": one class per document, softmax cross-entropy (IMDB, R8)
  MultiLabel,   // "multi_label_classification": any subset of labels, per-label sigmoid BCE (Reuters, AAPD)
};

inline const char* problem_type_name(ProblemType p) {
  return p == ProblemType::SingleLabel ? "single_label_classification" : "multi_label_classification";
}

// The inverse of problem_type_name, also accepting the command-line spellings "single" and "multi". Anything else
// (HF's "regression" included) throws docbert::Error listing the accepted names, prefixed by `source` (the file
// it came from) when given.
inline ProblemType parse_problem_type(const std::string& name, const std::string& source = "") {
  if (name == "single_label_classification" || name == "single") return ProblemType::SingleLabel;
  if (name == "multi_label_classification" || name == "multi") return ProblemType::MultiLabel;
  DOCBERT_THROW(
      "{}unknown problem type '{}' (expected single_label_classification, multi_label_classification, "
      "single or multi)",
      source.empty() ? "" : source + ": ", name);
}

}  // namespace docbert
