#include "models/lstm_reg/embeddings_init.h"

#include "base/error.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <unordered_map>

namespace docbert::lstm_reg {

namespace {

// table (V, E) CPU f32/f64 with V = rows and a pad row inside it (or -1).
void check_table(const char* op, const Tensor& table, int64_t rows, int64_t pad_id) {
  check_float(op, "table", table);
  check_cpu(op, table);
  check_dim(op, "table", table, 2);
  DOCBERT_CHECK(rows < 0 || table.size(0) == rows, "{}: 'table' {} must have one row per vocabulary word ({})", op,
                shape_str(table.shape()), rows);
  DOCBERT_CHECK(pad_id >= -1 && pad_id < table.size(0), "{}: pad_id {} is outside the table's {} rows", op, pad_id,
                table.size(0));
}

// table[row, :] = values[0 .. E), converted to the table's dtype.
void write_row(Tensor& table, int64_t row, const double* values) {
  const int64_t E = table.size(1);
  dispatch_float(table.dtype(), "write_row", [&](auto tag) {
    using T = decltype(tag);
    std::transform(values, values + E, table.data<T>() + row * E, [](double v) { return static_cast<T>(v); });
  });
}

void zero_row(Tensor& table, int64_t row) {
  if (row < 0) return;
  const std::vector<double> zeros(static_cast<size_t>(table.size(1)), 0.0);
  write_row(table, row, zeros.data());
}

std::string ascii_lower(std::string_view s) {
  std::string r(s);
  for (char& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The whitespace-separated fields of a line (spaces and tabs; a trailing \r or blank is no field).
void split_fields(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
}

bool parse_double(std::string_view s, double& v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

bool parse_count(std::string_view s, int64_t& v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && v >= 0;
}

// Which vocabulary rows a file word fills: its exact row, and with the fallback the still-empty rows whose word
// has the same ASCII lower-case form. An exact match overwrites a fallback one, whatever the file order.
class RowMatcher {
 public:
  RowMatcher(const std::vector<std::string>& vocab, const WordVectorsOptions& options)
      : match_(vocab.size(), Match::None), fallback_(options.lowercase_fallback) {
    for (size_t v = 0; v < vocab.size(); ++v) {
      if (static_cast<int64_t>(v) == options.pad_id) continue;
      const auto [it, fresh] = exact_.emplace(vocab[v], static_cast<int64_t>(v));
      DOCBERT_CHECK(fresh, "init_from_word_vectors: the vocabulary has '{}' twice (ids {} and {})", vocab[v],
                    it->second, v);
      if (fallback_) lower_[ascii_lower(vocab[v])].push_back(static_cast<int64_t>(v));
    }
  }

  // The rows `word`'s vector goes to now (marked as filled); empty when it fills none.
  const std::vector<int64_t>& rows_for(std::string_view word) {
    rows_.clear();
    const auto e = exact_.find(word);
    if (e != exact_.end() && match_[e->second] != Match::Exact) {
      match_[e->second] = Match::Exact;
      rows_.push_back(e->second);
    }
    if (fallback_) {
      const auto l = lower_.find(ascii_lower(word));
      if (l != lower_.end())
        for (int64_t v : l->second)
          if (match_[v] == Match::None) {
            match_[v] = Match::Lower;
            rows_.push_back(v);
          }
    }
    return rows_;
  }

  // Fills the counts and the missing rows of the report.
  void report(WordVectorsReport& r, int64_t pad_id) const {
    for (size_t v = 0; v < match_.size(); ++v) {
      if (match_[v] == Match::Exact) ++r.exact;
      if (match_[v] == Match::Lower) ++r.lowercase;
      if (match_[v] == Match::None && static_cast<int64_t>(v) != pad_id)
        r.missing_ids.push_back(static_cast<int64_t>(v));
    }
  }

 private:
  enum class Match : uint8_t { None, Lower, Exact };
  std::unordered_map<std::string_view, int64_t> exact_;  // views into the caller's vocabulary
  std::unordered_map<std::string, std::vector<int64_t>> lower_;
  std::vector<Match> match_;
  std::vector<int64_t> rows_;
  bool fallback_;
};

// A text vector line: "word v1 .. vE" with E numbers.
bool is_text_vector(const std::string& line, int64_t E) {
  std::vector<std::string_view> fields;
  split_fields(line, fields);
  double v;
  return static_cast<int64_t>(fields.size()) == E + 1 &&
         std::all_of(fields.begin() + 1, fields.end(), [&](std::string_view f) { return parse_double(f, v); });
}

std::ifstream open_vectors(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  DOCBERT_CHECK(fs::exists(path, ec), "{}: word-vector file not found", path);
  DOCBERT_CHECK(fs::is_regular_file(path, ec), "{}: the word-vector file is not a regular file", path);
  std::ifstream in(path, std::ios::binary);
  DOCBERT_CHECK(in, "{}: cannot open the word-vector file: {}", path, std::strerror(errno));
  return in;
}

// Reads text-format vector lines from `in` until the end; `line_no` is the number of lines already read.
// `first` is the first vector line when the file has no header (E is then checked against it).
void read_text(std::istream& in, const std::string& path, int64_t line_no, const std::string* first, int64_t E,
               RowMatcher& matcher, Tensor& table, WordVectorsReport& report) {
  std::vector<std::string_view> fields;
  std::vector<double> values(static_cast<size_t>(E));
  const auto handle = [&](const std::string& line) {
    split_fields(line, fields);
    DOCBERT_CHECK(!fields.empty(), "{}:{}: empty line", path, line_no);
    const int64_t n = static_cast<int64_t>(fields.size()) - 1;
    if (report.file_vectors == 0 && first)
      DOCBERT_CHECK(n == E, "{}:{}: the vectors have {} values but the table has embed_dim {}", path, line_no, n, E);
    DOCBERT_CHECK(n == E, "{}:{}: '{}' has {} values, expected {}", path, line_no, fields[0], n, E);
    ++report.file_vectors;
    const std::vector<int64_t>& rows = matcher.rows_for(fields[0]);
    if (rows.empty()) return;
    for (int64_t e = 0; e < E; ++e) {
      const std::string_view f = fields[static_cast<size_t>(e + 1)];
      DOCBERT_CHECK(parse_double(f, values[static_cast<size_t>(e)]), "{}:{}: value {} of '{}' is not a number: '{}'",
                    path, line_no, e + 1, fields[0], f);
      DOCBERT_CHECK(std::isfinite(values[static_cast<size_t>(e)]), "{}:{}: value {} of '{}' is not finite: '{}'", path,
                    line_no, e + 1, fields[0], f);
    }
    for (int64_t v : rows) write_row(table, v, values.data());
  };
  if (first) {
    ++line_no;
    handle(*first);
  }
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    handle(line);
  }
  DOCBERT_CHECK(!in.bad(), "{}: read error in the word-vector file", path);
}

// Reads `count` word2vec binary records from `in`, which is at byte `offset` (just after the header line).
void read_binary(std::istream& in, const std::string& path, uint64_t offset, int64_t count, int64_t E,
                 RowMatcher& matcher, Tensor& table, WordVectorsReport& report) {
  constexpr size_t kMaxWordBytes = 1 << 16;  // far beyond any real word: the file is not what it claims
  std::string word;
  std::vector<char> raw(static_cast<size_t>(4 * E));
  std::vector<double> values(static_cast<size_t>(E));
  int c = 0;
  const auto skip_space = [&] {
    while ((c = in.get()) != EOF && is_space(static_cast<char>(c))) ++offset;
  };
  for (int64_t k = 1; k <= count; ++k) {
    skip_space();
    const uint64_t start = offset;
    word.clear();
    for (; c != EOF && c != ' '; c = in.get()) {
      word.push_back(static_cast<char>(c));
      ++offset;
      DOCBERT_CHECK(word.size() <= kMaxWordBytes,
                    "{}: word2vec binary vector {} (byte {}): no space after {} bytes of word", path, k, start,
                    kMaxWordBytes);
    }
    DOCBERT_CHECK(c == ' ', "{}: word2vec binary vector {} of {} (byte {}): truncated: the file ends {}", path, k,
                  count, start, word.empty() ? "before the word" : "inside the word '" + word + "'");
    ++offset;
    in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
    DOCBERT_CHECK(in.gcount() == static_cast<std::streamsize>(raw.size()),
                  "{}: word2vec binary vector {} of {} ('{}', byte {}): truncated: {} of its {} bytes", path, k, count,
                  word, start, in.gcount(), raw.size());
    offset += raw.size();
    ++report.file_vectors;
    const std::vector<int64_t>& rows = matcher.rows_for(word);
    if (rows.empty()) continue;
    for (int64_t e = 0; e < E; ++e) {
      const auto* b = reinterpret_cast<const unsigned char*>(raw.data() + 4 * e);  // little-endian f32
      const uint32_t bits = static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
                            static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
      float f;
      std::memcpy(&f, &bits, 4);
      DOCBERT_CHECK(std::isfinite(f), "{}: word2vec binary vector {} ('{}', byte {}): value {} is not finite", path, k,
                    word, start, e + 1);
      values[static_cast<size_t>(e)] = f;
    }
    for (int64_t v : rows) write_row(table, v, values.data());
  }
  skip_space();
  DOCBERT_CHECK(c == EOF, "{}: word2vec binary: more data after the {} vectors the header announces (byte {})", path,
                count, offset);
  DOCBERT_CHECK(!in.bad(), "{}: read error in the word-vector file", path);
}

}  // namespace

void init_random_embeddings(Tensor& table, RngStream& rng, int64_t pad_id) {
  check_table("init_random_embeddings", table, -1, pad_id);
  uniform_fill(table, -0.25, 0.25, rng);
  zero_row(table, pad_id);
}

WordVectorsReport init_from_word_vectors(Tensor& table, const std::vector<std::string>& vocab, const std::string& path,
                                         RngStream& rng, const WordVectorsOptions& options) {
  check_table("init_from_word_vectors", table, static_cast<int64_t>(vocab.size()), options.pad_id);
  const int64_t E = table.size(1);
  RowMatcher matcher(vocab, options);
  WordVectorsReport report;
  std::ifstream in = open_vectors(path);
  std::string first;
  DOCBERT_CHECK(std::getline(in, first), "{}: the word-vector file is empty", path);
  std::vector<std::string_view> fields;
  split_fields(first, fields);
  int64_t count = 0, size = 0;
  const bool header = fields.size() == 2 && parse_count(fields[0], count) && parse_count(fields[1], size);
  if (!header) {
    report.format = "text";
    read_text(in, path, 0, &first, E, matcher, table, report);
  } else {
    DOCBERT_CHECK(size == E, "{}:1: the header announces {}-dimensional vectors but the table has embed_dim {}", path,
                  size, E);
    // A text file's second line is a vector line; raw f32 records never split into E numbers. The peek is
    // bounded (64 bytes per number is beyond any float's text) since binary data need not hold a '\n' soon.
    const std::streampos body = in.tellg();
    std::string peek(static_cast<size_t>(64 * E + 4096), '\0');
    in.read(peek.data(), static_cast<std::streamsize>(peek.size()));
    peek.resize(static_cast<size_t>(in.gcount()));
    const size_t eol = std::min(peek.find('\n'), peek.size());
    const bool text = peek.empty() || ((eol < peek.size() || in.eof()) && is_text_vector(peek.substr(0, eol), E));
    in.clear();
    in.seekg(body);
    report.format = text ? "text" : "binary";
    if (text)
      read_text(in, path, 1, nullptr, E, matcher, table, report);
    else
      read_binary(in, path, static_cast<uint64_t>(static_cast<std::streamoff>(body)), count, E, matcher, table, report);
    DOCBERT_CHECK(report.file_vectors == count, "{}: the header announces {} vectors but the file has {}", path, count,
                  report.file_vectors);
  }

  matcher.report(report, options.pad_id);
  const int64_t n_missing = report.missing();
  if (n_missing > 0) {
    const bool shared = options.oov == OovInit::SharedRandom;
    Tensor draws = Tensor::empty({shared ? 1 : n_missing, E}, DType::F64);
    uniform_fill(draws, -0.25, 0.25, rng);
    for (int64_t i = 0; i < n_missing; ++i)
      write_row(table, report.missing_ids[static_cast<size_t>(i)], draws.data<double>() + (shared ? 0 : i * E));
  }
  zero_row(table, options.pad_id);
  return report;
}

void init_from_teacher_rows(Tensor& table, const Tensor& teacher_table, int64_t pad_id) {
  const char* op = "init_from_teacher_rows";
  check_table(op, table, -1, pad_id);
  check_float(op, "teacher_table", teacher_table);
  check_same_shape(op, "table", table, "teacher_table", teacher_table);
  table.copy_from(teacher_table.to(table.dtype()));
  zero_row(table, pad_id);
}

TeacherPiecesReport init_from_teacher_pieces(Tensor& table, const std::vector<std::string>& vocab,
                                             const Tensor& teacher_table, const tok::WordPiece& wordpiece,
                                             int64_t pad_id) {
  const char* op = "init_from_teacher_pieces";
  check_table(op, table, static_cast<int64_t>(vocab.size()), pad_id);
  check_float(op, "teacher_table", teacher_table);
  check_cpu(op, teacher_table);
  check_dim(op, "teacher_table", teacher_table, 2);
  const int64_t E = table.size(1);
  DOCBERT_CHECK(teacher_table.size(0) == wordpiece.vocab_size() && teacher_table.size(1) == E,
                "{}: 'teacher_table' {} must be (teacher vocabulary {}, embed_dim {})", op,
                shape_str(teacher_table.shape()), wordpiece.vocab_size(), E);
  TeacherPiecesReport report;
  std::vector<int32_t> pieces;
  std::vector<double> mean(static_cast<size_t>(E));
  dispatch_float(teacher_table.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* src = teacher_table.data<T>();
    for (size_t v = 0; v < vocab.size(); ++v) {
      wordpiece.tokenize_ids(vocab[v], pieces);
      if (pieces.empty()) pieces.push_back(wordpiece.unk_id());
      if (vocab[v] != wordpiece.options().unk_token &&
          std::find(pieces.begin(), pieces.end(), wordpiece.unk_id()) != pieces.end())
        ++report.unknown;
      std::fill(mean.begin(), mean.end(), 0.0);
      for (int32_t id : pieces)
        for (int64_t e = 0; e < E; ++e) mean[static_cast<size_t>(e)] += static_cast<double>(src[id * E + e]);
      for (double& m : mean) m /= static_cast<double>(pieces.size());
      write_row(table, static_cast<int64_t>(v), mean.data());
    }
  });
  zero_row(table, pad_id);
  return report;
}

}  // namespace docbert::lstm_reg
