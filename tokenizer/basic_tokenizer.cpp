#include "tokenizer/basic_tokenizer.h"

#include <algorithm>
#include <utility>

#include "base/error.h"
#include "tokenizer/bert_unicode.h"
#include "tokenizer/utf8.h"

namespace docbert::tok {

namespace {

enum class Ascii : uint8_t { kDrop, kSpace, kPunct, kKeep };

// What the cleaner, the case mapping and the pre-tokenizer do to each ASCII byte, taken from the same
// functions the non-ASCII path uses so the two paths cannot disagree.
struct AsciiTable {
  Ascii cls[128];
  char lower[128];
  AsciiTable() {
    for (char32_t c = 0; c < 128; ++c) {
      cls[c] = c == 0 || is_control(c) ? Ascii::kDrop
               : is_whitespace(c)      ? Ascii::kSpace
               : is_punctuation(c)     ? Ascii::kPunct
                                       : Ascii::kKeep;
      char32_t l[2];
      lowercase(c, l);
      lower[c] = static_cast<char>(l[0]);
    }
  }
};
const AsciiTable kAscii;

// Appends characters to the word in progress and closes words into spans.
class WordWriter {
 public:
  explicit WordWriter(Words& words) : w_(words), begin_(static_cast<uint32_t>(words.bytes.size())) {}

  void push_byte(char c) { w_.bytes.push_back(c); }
  void push(char32_t cp) { append_utf8(w_.bytes, cp); }
  void end_word() {
    const auto end = static_cast<uint32_t>(w_.bytes.size());
    if (end > begin_) w_.spans.push_back({begin_, end, false});
    begin_ = end;
  }
  void whole_word(std::string_view token) {
    end_word();
    w_.bytes.append(token);
    const auto end = static_cast<uint32_t>(w_.bytes.size());
    w_.spans.push_back({begin_, end, true});
    begin_ = end;
  }

 private:
  Words& w_;
  uint32_t begin_;
};

// The steps after cleaning and CJK spacing, for one non-ASCII code point at a time: NFD with canonical
// reordering, mark stripping, lower-casing and the pre-tokenizer's whitespace and punctuation splits.
class NonAsciiPath {
 public:
  NonAsciiPath(WordWriter& out, bool lower_case, bool strip_accents)
      : out_(out), lower_(lower_case), strip_(strip_accents) {}

  void add(char32_t cp) {
    if (!strip_) return emit(cp);
    char32_t d[4];
    const int n = decompose(cp, d);
    for (int i = 0; i < n; ++i) {
      if (is_stripped_mark(d[i])) continue;
      if (combining_class(d[i]) != 0) {
        marks_.push_back(d[i]);
        continue;
      }
      flush();
      emit(d[i]);
    }
  }

  // Emits the pending combining marks in canonical order (a stable sort by combining class); called before
  // every starter and at every point where HF's normalised text has a starter (space, ASCII, end of text).
  void flush() {
    if (marks_.empty()) return;
    std::stable_sort(marks_.begin(), marks_.end(),
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    for (char32_t m : marks_) emit(m);
    marks_.clear();
  }

 private:
  void emit(char32_t cp) {
    char32_t l[2] = {cp, 0};
    const int n = lower_ ? lowercase(cp, l) : 1;
    for (int i = 0; i < n; ++i) {
      if (is_whitespace(l[i])) {
        out_.end_word();
      } else if (is_punctuation(l[i])) {
        out_.end_word();
        out_.push(l[i]);
        out_.end_word();
      } else {
        out_.push(l[i]);
      }
    }
  }

  WordWriter& out_;
  bool lower_, strip_;
  std::u32string marks_;  // combining marks (class > 0) waiting for canonical reordering
};

}  // namespace

BasicTokenizer::BasicTokenizer(BasicTokenizerOptions options)
    : options_(std::move(options)), strip_accents_(options_.strip_accents.value_or(options_.lower_case)) {
  for (const auto& t : options_.never_split) DOCBERT_CHECK(!t.empty(), "BasicTokenizer: empty never_split token");
}

std::vector<std::string> BasicTokenizer::tokenize(std::string_view text) const {
  Words words;
  split(text, words);
  std::vector<std::string> out;
  out.reserve(words.size());
  for (size_t i = 0; i < words.size(); ++i) out.emplace_back(words[i]);
  return out;
}

void BasicTokenizer::split(std::string_view text, Words& words) const {
  words.clear();
  const auto& never = options_.never_split;
  size_t pos = 0;
  if (!never.empty()) {
    // Leftmost-longest matching, like HF's added-token splitter. next[k] caches where token k occurs next.
    std::vector<size_t> next(never.size());
    for (size_t k = 0; k < never.size(); ++k) next[k] = text.find(never[k]);
    while (pos < text.size()) {
      size_t best = std::string_view::npos, best_len = 0;
      for (size_t k = 0; k < never.size(); ++k) {
        if (next[k] != std::string_view::npos && next[k] < pos) next[k] = text.find(never[k], pos);
        if (next[k] < best || (next[k] == best && next[k] != std::string_view::npos && never[k].size() > best_len)) {
          best = next[k];
          best_len = never[k].size();
        }
      }
      if (best == std::string_view::npos) break;
      split_plain(text.substr(pos, best - pos), words);
      WordWriter(words).whole_word(text.substr(best, best_len));
      pos = best + best_len;
    }
  }
  if (pos < text.size()) split_plain(text.substr(pos), words);
  // The spans' 32-bit offsets wrapped if the bytes passed 4 GiB; they only grow, so checking the end suffices.
  DOCBERT_CHECK(words.bytes.size() <= Words::kMaxBytes,
                "BasicTokenizer: the words of one text take {} bytes after normalisation; at most {} (4 GiB - 1) are "
                "supported, so split the text",
                words.bytes.size(), Words::kMaxBytes);
}

void BasicTokenizer::split_plain(std::string_view text, Words& words) const {
  WordWriter out(words);
  NonAsciiPath slow(out, options_.lower_case, strip_accents_);
  const bool lower = options_.lower_case;
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      slow.flush();  // an ASCII character is a starter: no mark reorders across it
      switch (kAscii.cls[b]) {
        case Ascii::kKeep:
          out.push_byte(lower ? kAscii.lower[b] : static_cast<char>(b));
          break;
        case Ascii::kSpace:
          out.end_word();
          break;
        case Ascii::kPunct:
          out.end_word();
          out.push_byte(static_cast<char>(b));
          out.end_word();
          break;
        case Ascii::kDrop:
          break;
      }
      ++i;
      continue;
    }
    const char32_t cp = decode_utf8(text, i);
    if (cp == kReplacementChar || is_control(cp)) continue;
    if (is_whitespace(cp)) {
      slow.flush();
      out.end_word();
    } else if (options_.split_cjk && is_cjk(cp)) {
      slow.flush();
      out.end_word();
      slow.add(cp);
      slow.flush();
      out.end_word();
    } else {
      slow.add(cp);
    }
  }
  slow.flush();
  out.end_word();
}

}  // namespace docbert::tok
