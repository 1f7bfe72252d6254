#include "train/data/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace docbert::data {
namespace {

Summary summarize(std::vector<int64_t> v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const auto n = static_cast<double>(v.size());
  auto rank = [&](double q) {
    const auto k = static_cast<size_t>(std::ceil(q * n));
    return static_cast<double>(v[std::max<size_t>(k, 1) - 1]);
  };
  s.mean = static_cast<double>(std::accumulate(v.begin(), v.end(), int64_t{0})) / n;
  s.median = rank(0.5);
  s.p95 = rank(0.95);
  return s;
}

int64_t count_words(std::string_view text) {
  int64_t n = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || (c >= '\t' && c <= '\r');
    n += !space && !in_word;
    in_word = !space;
  }
  return n;
}

}  // namespace

DatasetStats compute_stats(const Dataset& ds, const PieceCounter& count_pieces) {
  DatasetStats out;
  out.name = ds.name;
  out.problem_type = ds.problem_type;
  out.num_labels = ds.num_labels();
  out.skipped = ds.skipped;
  std::vector<std::array<int64_t, 3>> per_label(ds.label_names.size(), std::array<int64_t, 3>{});
  for (Split s : {Split::Train, Split::Dev, Split::Test}) {
    SplitStats st;
    st.split = s;
    std::vector<int64_t> words, pieces;
    int64_t labels = 0, over = 0;
    for (const Document* d : ds.split(s)) {
      labels += static_cast<int64_t>(d->labels.size());
      for (int32_t l : d->labels) ++per_label[static_cast<size_t>(l)][static_cast<size_t>(s)];
      words.push_back(count_words(d->text));
      if (count_pieces) {
        pieces.push_back(count_pieces(d->text));
        over += pieces.back() > kMaxPieces;
      }
    }
    st.documents = static_cast<int64_t>(words.size());
    const double n = std::max<double>(1.0, static_cast<double>(st.documents));
    st.label_cardinality = static_cast<double>(labels) / n;
    st.words = summarize(std::move(words));
    if (count_pieces) {
      st.pieces = summarize(std::move(pieces));
      st.share_over_max_pieces = static_cast<double>(over) / n;
    }
    out.splits.push_back(st);
  }
  for (size_t i = 0; i < per_label.size(); ++i) out.label_documents.emplace_back(ds.label_names[i], per_label[i]);
  std::stable_sort(out.label_documents.begin(), out.label_documents.end(),
                   [](const auto& a, const auto& b) { return a.second[0] > b.second[0]; });
  return out;
}

std::string format_stats(const DatasetStats& st, int top_labels) {
  std::string out =
      fmt::format("dataset {}: {}, {} labels\n", st.name, problem_type_name(st.problem_type), st.num_labels);
  out += fmt::format("{:<34}{:>10}{:>10}{:>10}\n", "", "train", "dev", "test");
  auto row = [&](const char* what, auto value) {
    out += fmt::format("{:<34}", what);
    for (const auto& s : st.splits) out += fmt::format("{:>10}", value(s));
    out += '\n';
  };
  row("documents", [](const SplitStats& s) { return fmt::format("{}", s.documents); });
  row("labels per document (mean)", [](const SplitStats& s) { return fmt::format("{:.3f}", s.label_cardinality); });
  row("words per document: mean", [](const SplitStats& s) { return fmt::format("{:.1f}", s.words.mean); });
  row("words per document: median", [](const SplitStats& s) { return fmt::format("{:.0f}", s.words.median); });
  row("words per document: p95", [](const SplitStats& s) { return fmt::format("{:.0f}", s.words.p95); });
  if (!st.splits.empty() && st.splits[0].pieces) {
    row("WordPiece pieces per doc: mean", [](const SplitStats& s) { return fmt::format("{:.1f}", s.pieces->mean); });
    row("WordPiece pieces per doc: median",
        [](const SplitStats& s) { return fmt::format("{:.0f}", s.pieces->median); });
    row("WordPiece pieces per doc: p95", [](const SplitStats& s) { return fmt::format("{:.0f}", s.pieces->p95); });
    row("share over 510 pieces (truncated)",
        [](const SplitStats& s) { return fmt::format("{:.1f}%", 100 * s.share_over_max_pieces); });
  } else {
    out += "WordPiece rows omitted (no vocabulary given: --vocab)\n";
  }
  const size_t shown = std::min(st.label_documents.size(), static_cast<size_t>(std::max(top_labels, 0)));
  out += fmt::format("documents per label (top {} of {} by train count):\n", shown, st.label_documents.size());
  for (size_t i = 0; i < shown; ++i) {
    const auto& [name, counts] = st.label_documents[i];
    out += fmt::format("  {:<32}{:>10}{:>10}{:>10}\n", name, counts[0], counts[1], counts[2]);
  }
  if (st.skipped.total() == 0) {
    out += "skipped rows: none\n";
  } else {
    out += fmt::format("skipped rows: {}\n", st.skipped.total());
    for (const auto& [reason, count] : st.skipped.by_reason) out += fmt::format("  {:<32}{:>10}\n", reason, count);
  }
  return out;
}

}  // namespace docbert::data
