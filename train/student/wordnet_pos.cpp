#include "train/student/wordnet_pos.h"

#include "base/error.h"
#include "base/file_io.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <utility>

namespace docbert::train {

namespace {

constexpr std::array<const char*, kNumPos> kFileNames = {"noun", "verb", "adj", "adv"};
// The pos field of each index file ('s', adjective satellites, appears only in the data files).
constexpr std::array<char, kNumPos> kPosChars = {'n', 'v', 'a', 'r'};

struct Rule {
  std::string_view suffix, replacement;
};
// WordNet's morph.c detachment rules, in its order.
const std::array<std::vector<Rule>, kNumPos> kRules = {{
    {{"s", ""}, {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"}},
    {{"s", ""}, {"ies", "y"}, {"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""}},
    {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}},
    {},
}};

bool has_letter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// Calls f(line, line_number) for every line of `text` that is neither blank nor license header (two leading spaces).
template <class F>
void for_each_entry(std::string_view text, F&& f) {
  int64_t number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(' ') == std::string_view::npos || line.rfind("  ", 0) == 0) continue;
    f(line, number);
  }
}

// The space-separated fields of `line`.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    const size_t start = line.find_first_not_of(' ', i);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(line.find(' ', start), line.size());
    out.push_back(line.substr(start, end - start));
    i = end;
  }
  return out;
}

}  // namespace

const char* pos_name(Pos pos) {
  switch (pos) {
    case Pos::Noun:
      return "noun";
    case Pos::Verb:
      return "verb";
    case Pos::Adj:
      return "adj";
    case Pos::Adv:
      return "adv";
  }
  DOCBERT_THROW("pos_name: unknown part of speech {}", static_cast<int>(pos));
}

PosLexicon PosLexicon::load(const std::string& dir) {
  DOCBERT_CHECK(std::filesystem::is_directory(dir),
                "{}: WordNet folder not found (install Debian's wordnet-base, or pass the folder holding index.noun)",
                dir);
  PosLexicon lex;
  lex.senses_.reserve(160000);
  for (int p = 0; p < kNumPos; ++p) {
    const std::string path = (std::filesystem::path(dir) / (std::string("index.") + kFileNames[p])).string();
    const std::string text = read_file(path, "WordNet index");
    for_each_entry(text, [&](std::string_view line, int64_t number) {
      const std::vector<std::string_view> f = fields(line);
      DOCBERT_CHECK(f.size() >= 4, "{}:{}: expected 'lemma pos synset_cnt p_cnt ...', got '{}'", path, number, line);
      DOCBERT_CHECK(f[1].size() == 1 && f[1][0] == kPosChars[p], "{}:{}: pos field is '{}', expected '{}'", path,
                    number, f[1], kPosChars[p]);
      int32_t count = 0;
      const auto [end, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), count);
      DOCBERT_CHECK(ec == std::errc() && end == f[2].data() + f[2].size() && count > 0,
                    "{}:{}: synset_cnt '{}' is not a positive integer", path, number, f[2]);
      if (f[0].find('_') != std::string_view::npos || !has_letter(f[0])) return;
      lex.senses_[std::string(f[0])][p] = count;  // value-initialised to zeros when new
    });
    const std::string exc_path = (std::filesystem::path(dir) / (std::string(kFileNames[p]) + ".exc")).string();
    const std::string exc = read_file(exc_path, "WordNet exception list");
    for_each_entry(exc, [&](std::string_view line, int64_t number) {
      const std::vector<std::string_view> f = fields(line);
      DOCBERT_CHECK(f.size() >= 2, "{}:{}: expected 'inflected base ...', got '{}'", exc_path, number, line);
      if (f[0].find('_') != std::string_view::npos) return;
      std::vector<std::string>& bases = lex.exceptions_[p][std::string(f[0])];
      for (size_t i = 1; i < f.size(); ++i) bases.emplace_back(f[i]);
    });
  }
  return lex;
}

int32_t PosLexicon::senses(std::string_view lemma, Pos pos) const {
  const auto it = senses_.find(std::string(lemma));
  return it == senses_.end() ? 0 : it->second[static_cast<int>(pos)];
}

std::optional<Pos> PosLexicon::pos_of(std::string_view word) const {
  std::optional<Pos> best;
  int32_t best_count = 0;
  for (int p = 0; p < kNumPos; ++p) {
    const Pos pos = static_cast<Pos>(p);
    // morphy (as NLTK's): the word itself plus its exception-list bases, or plus the detachment rules' bases when
    // the exception list does not have it.
    int32_t count = senses(word, pos);
    const auto exc = exceptions_[p].find(std::string(word));
    if (exc != exceptions_[p].end()) {
      for (const std::string& base : exc->second) count = std::max(count, senses(base, pos));
    } else {
      for (const Rule& r : kRules[p]) {
        if (word.size() <= r.suffix.size() || word.substr(word.size() - r.suffix.size()) != r.suffix) continue;
        std::string base(word.substr(0, word.size() - r.suffix.size()));
        base += r.replacement;
        count = std::max(count, senses(base, pos));
      }
    }
    // Strictly greater: ties keep the earlier POS (noun, verb, adj, adv).
    if (count > best_count) {
      best_count = count;
      best = pos;
    }
  }
  return best;
}

}  // namespace docbert::train
