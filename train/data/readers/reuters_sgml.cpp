#include "train/data/readers/reuters_sgml.h"

#include "base/error.h"
#include "tokenizer/utf8.h"
#include "train/data/dataset_builder.h"
#include "train/data/readers/hedwig_tsv.h"
#include "train/data/text_lines.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <filesystem>
#include <optional>
#include <set>
#include <unordered_map>

namespace docbert::data {
namespace {

// Python's str.isspace(), which is what DocBERT's ' '.join(s.split()) collapses.
bool python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Decodes the entity starting at s[i] == '&'; returns its length, or 0 when it is not one we decode (it then
// stays literal, as an HTML parser keeps an unknown entity).
size_t decode_entity(std::string_view s, size_t i, char32_t& cp) {
  static const std::pair<std::string_view, char32_t> kNamed[] = {
      {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}};
  for (const auto& [name, value] : kNamed) {
    if (s.substr(i, name.size()) == name) {
      cp = value;
      return name.size();
    }
  }
  if (s.substr(i, 2) != "&#") return 0;
  size_t j = i + 2;
  const bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
  if (hex) ++j;
  uint64_t value = 0;
  size_t digits = 0;
  for (; j < s.size() && digits < 9; ++j, ++digits) {
    const char c = s[j];
    int d = -1;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (hex && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (hex && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    if (d < 0) break;
    value = value * (hex ? 16 : 10) + static_cast<uint64_t>(d);
  }
  if (digits == 0 || j >= s.size() || s[j] != ';') return 0;
  const bool valid = value <= 0x10FFFF && !(value >= 0xD800 && value <= 0xDFFF);
  cp = valid ? static_cast<char32_t>(value) : tok::kReplacementChar;
  return j + 1 - i;
}

// Latin-1 element content -> decoded, whitespace-collapsed UTF-8.
std::string clean_text(std::string_view latin1) {
  std::string out;
  out.reserve(latin1.size());
  bool pending_space = false;
  for (size_t i = 0; i < latin1.size();) {
    char32_t cp = 0;
    size_t len = latin1[i] == '&' ? decode_entity(latin1, i, cp) : 0;
    if (len == 0) {
      cp = static_cast<unsigned char>(latin1[i]);  // Latin-1: byte = code point
      len = 1;
    }
    i += len;
    if (python_space(cp)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    tok::append_utf8(out, cp);
  }
  return out;
}

// The content of the first <NAME>...</NAME> in `body`, or nullopt when there is none. `where` names the
// article in the message thrown for an unterminated element.
std::optional<std::string_view> element(std::string_view body, std::string_view name, const std::string& where) {
  const std::string open = fmt::format("<{}>", name), close = fmt::format("</{}>", name);
  const size_t a = body.find(open);
  if (a == std::string_view::npos) return std::nullopt;
  const size_t b = body.find(close, a + open.size());
  DOCBERT_CHECK(b != std::string_view::npos, "{}: <{}> without </{}>", where, name, name);
  return body.substr(a + open.size(), b - a - open.size());
}

// NAME="value" pairs of a start tag.
std::unordered_map<std::string, std::string> attributes(std::string_view tag, const std::string& where) {
  std::unordered_map<std::string, std::string> out;
  size_t i = 0;
  while (true) {
    while (i < tag.size() && python_space(static_cast<unsigned char>(tag[i]))) ++i;
    if (i == tag.size()) return out;
    const size_t name_start = i;
    while (i < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[i])) || tag[i] == '-')) ++i;
    const size_t name_end = i;
    DOCBERT_CHECK(name_end > name_start && i + 1 < tag.size() && tag[i] == '=' && tag[i + 1] == '"',
                  "{}: malformed attribute in the <REUTERS> tag (expected NAME=\"value\")", where);
    const size_t value_end = tag.find('"', i + 2);
    DOCBERT_CHECK(value_end != std::string_view::npos, "{}: unterminated attribute value in the <REUTERS> tag", where);
    out[std::string(tag.substr(name_start, name_end - name_start))] = std::string(tag.substr(i + 2, value_end - i - 2));
    i = value_end + 1;
  }
}

ReutersArticle parse_article(std::string_view tag, std::string_view body, const std::string& source, int64_t line) {
  const std::string where = fmt::format("{}:{}", source, line);
  ReutersArticle a;
  auto attrs = attributes(tag, where);
  for (const char* required : {"TOPICS", "LEWISSPLIT", "NEWID"})
    DOCBERT_CHECK(attrs.count(required), "{}: the <REUTERS> tag has no {} attribute", where, required);
  const std::string& newid = attrs["NEWID"];
  DOCBERT_CHECK(!newid.empty() && newid.size() <= 9 && newid.find_first_not_of("0123456789") == std::string::npos,
                "{}: NEWID \"{}\" is not a number", where, newid);
  a.newid = std::stoll(newid);
  a.topics_attr = attrs["TOPICS"];
  a.lewis_split = attrs["LEWISSPLIT"];
  if (auto topics = element(body, "TOPICS", where)) {
    std::string_view rest = *topics;
    while (auto d = element(rest, "D", where)) {
      a.topics.push_back(clean_text(*d));                                                // UTF-8 like every label name
      rest = rest.substr(static_cast<size_t>(d->data() - rest.data()) + d->size() + 4);  // past "</D>"
    }
  }
  const auto title = element(body, "TITLE", where);
  const auto text_body = element(body, "BODY", where);
  if (title) a.text = clean_text(*title) + ". ";
  if (text_body) a.text += clean_text(*text_body);
  a.file = source;
  a.line = line;
  return a;
}

}  // namespace

std::vector<ReutersArticle> parse_reuters_sgml(std::string_view content, const std::string& source) {
  std::vector<ReutersArticle> out;
  size_t pos = 0;
  // Lines are counted incrementally: offsets only grow.
  int64_t line = 1;
  size_t counted = 0;
  auto line_of = [&](size_t offset) {
    line += std::count(content.begin() + static_cast<std::ptrdiff_t>(counted),
                       content.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
    counted = offset;
    return line;
  };
  constexpr std::string_view kOpen = "<REUTERS", kClose = "</REUTERS>";
  while (true) {
    const size_t start = content.find(kOpen, pos);
    if (start == std::string_view::npos) break;
    const int64_t at_line = line_of(start);
    const std::string at = fmt::format("{}:{}", source, at_line);
    const size_t tag_end = content.find('>', start);
    DOCBERT_CHECK(tag_end != std::string_view::npos, "{}: unterminated <REUTERS tag", at);
    const size_t end = content.find(kClose, tag_end);
    DOCBERT_CHECK(end != std::string_view::npos, "{}: <REUTERS> without </REUTERS>", at);
    const std::string_view body = content.substr(tag_end + 1, end - tag_end - 1);
    DOCBERT_CHECK(body.find(kOpen) == std::string_view::npos, "{}: <REUTERS> nested in <REUTERS>", at);
    out.push_back(
        parse_article(content.substr(start + kOpen.size(), tag_end - start - kOpen.size()), body, source, at_line));
    pos = end + kClose.size();
  }
  DOCBERT_CHECK(!out.empty(), "{}: no <REUTERS> article", source);
  return out;
}

Dataset build_reuters_modapte(const std::vector<ReutersArticle>& articles, std::string_view dev_tsv,
                              const std::string& dev_source, const ReadOptions& options) {
  auto modapte = [](const ReutersArticle& a) {
    return a.topics_attr == "YES" && (a.lewis_split == "TRAIN" || a.lewis_split == "TEST");
  };
  std::set<std::string> in_train, in_test;
  for (const auto& a : articles)
    if (modapte(a)) (a.lewis_split == "TRAIN" ? in_train : in_test).insert(a.topics.begin(), a.topics.end());
  std::vector<std::string> names;
  std::set_intersection(in_train.begin(), in_train.end(), in_test.begin(), in_test.end(), std::back_inserter(names));
  DOCBERT_CHECK(!names.empty(), "Reuters: no topic occurs in both TRAIN and TEST articles");

  ReadOptions keep_empty = options;
  keep_empty.allow_empty_text = true;  // DocBERT keeps the UNPROC articles, which have no TITLE and no BODY
  DatasetBuilder out("reuters", keep_empty, ProblemType::MultiLabel);
  out.set_label_names(names, "the ModApte topics");
  std::unordered_map<std::string, int32_t> index;
  for (size_t i = 0; i < names.size(); ++i) index[names[i]] = static_cast<int32_t>(i);

  // Each selected article as (document, where it came from); train ones are also indexed by their TSV row.
  std::vector<std::pair<Document, const ReutersArticle*>> train, test;
  for (const auto& a : articles) {
    if (!modapte(a)) continue;
    Document d;
    for (const auto& t : a.topics)
      if (index.count(t)) d.labels.push_back(index.at(t));
    if (d.labels.empty()) continue;
    std::sort(d.labels.begin(), d.labels.end());
    d.labels.erase(std::unique(d.labels.begin(), d.labels.end()), d.labels.end());
    d.id = fmt::format("reuters-{}", a.newid);
    d.text = a.text;
    d.split = a.lewis_split == "TRAIN" ? Split::Train : Split::Test;
    (d.split == Split::Train ? train : test).emplace_back(std::move(d), &a);
  }
  std::unordered_map<std::string, std::deque<size_t>> by_row;
  for (size_t i = 0; i < train.size(); ++i) by_row[hedwig_tsv_row(train[i].first, out.num_labels())].push_back(i);

  // DocBERT's dev file picks the dev documents; a duplicated row takes the earliest unused copy.
  std::vector<size_t> dev;
  std::vector<bool> is_dev(train.size(), false);
  LineReader lines(dev_tsv);
  std::string_view line;
  while (lines.next(line)) {
    auto it = by_row.find(std::string(line));
    DOCBERT_CHECK(it != by_row.end() && !it->second.empty(),
                  "{}:{}: row matches no{} ModApte training document generated from the SGML files", dev_source,
                  lines.line_number(), it == by_row.end() ? "" : " remaining");
    dev.push_back(it->second.front());
    is_dev[it->second.front()] = true;
    it->second.pop_front();
  }
  DOCBERT_CHECK(!dev.empty(), "{}: no dev rows", dev_source);

  const std::string sgml = "the Reuters SGML files";
  out.begin_split(Split::Train, sgml);
  out.begin_split(Split::Dev, dev_source);
  out.begin_split(Split::Test, sgml);
  for (size_t i = 0; i < train.size(); ++i)
    if (!is_dev[i]) out.add(train[i].first, train[i].second->file, train[i].second->line);
  for (size_t i : dev) {
    Document d = train[i].first;
    d.split = Split::Dev;
    out.add(std::move(d), train[i].second->file, train[i].second->line);
  }
  for (auto& [d, a] : test) out.add(std::move(d), a->file, a->line);
  out.set_provenance("reader", "reuters-sgml");
  out.set_provenance("dev", dev_source);
  return out.finish();
}

Dataset read_reuters_sgml(const std::string& folder, const ReadOptions& options) {
  const std::filesystem::path dir(folder);
  std::vector<ReutersArticle> articles;
  for (int i = 0; i < 22; ++i) {
    const std::string path = (dir / fmt::format("reut2-{:03}.sgm", i)).string();
    auto part = parse_reuters_sgml(read_file(path, "Reuters-21578 SGML file"), path);
    articles.insert(articles.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  const std::string dev_path = options.reuters_dev_tsv.empty()
                                   ? (dir / "docbert-split" / "reuters_validation.tsv").string()
                                   : options.reuters_dev_tsv;
  DOCBERT_CHECK(std::filesystem::exists(dev_path),
                "{}: DocBERT's Reuters dev file (reuters_validation.tsv) not found; it defines the dev split "
                "(give its path with --reuters-dev)",
                dev_path);
  Dataset ds = build_reuters_modapte(articles, read_file(dev_path, "Reuters dev file"), dev_path, options);
  ds.provenance["source"] = folder;
  return ds;
}

}  // namespace docbert::data
