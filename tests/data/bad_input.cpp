// Broken inputs: every error names the file, the 1-based line and the problem; --skip-bad-rows counts instead.
#include <catch2/catch.hpp>

#include "base/error.h"
#include "tests/test_support.h"
#include "train/data/dataset_builder.h"
#include "train/data/label_file.h"
#include "train/data/load_dataset.h"
#include "train/data/readers/csv.h"
#include "train/data/readers/hedwig_tsv.h"
#include "train/data/readers/imdb.h"
#include "train/data/readers/jsonl.h"
#include "train/data/readers/label_folders.h"
#include "train/data/readers/r8_r52.h"
#include "train/data/readers/reuters_sgml.h"

#include <filesystem>
#include <map>

using namespace docbert;
using Catch::Contains;
using data::Split;

namespace {

using Parser = void (*)(std::string_view, const std::string&, Split, data::DatasetBuilder&);

// Parses `train` as hedwig TSV file "f" plus a two-row test file "g" (two labels), and returns the dataset.
data::Dataset parse_tsv(std::string_view train, const data::ReadOptions& options = {}) {
  data::DatasetBuilder out("t", options, std::nullopt);
  data::parse_hedwig_tsv(train, "f", Split::Train, out);
  data::parse_hedwig_tsv("10\tx\n01\ty\n", "g", Split::Test, out);
  return out.finish();
}

// The document with text `text`, or nullptr.
const data::Document* with_text(const data::Dataset& ds, const std::string& text) {
  for (const auto& d : ds.documents)
    if (d.text == text) return &d;
  return nullptr;
}

// Parses `content` as file "f" and returns the error message ("" when it parsed).
std::string error_of(Parser parse_fn, std::string_view content, const data::ReadOptions& options = {}) {
  data::DatasetBuilder out("t", options, std::nullopt);
  try {
    parse_fn(content, "f", Split::Train, out);
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

}  // namespace

TEST_CASE("hedwig-tsv: each malformed row is an error naming file, line and problem") {
  const auto p = data::parse_hedwig_tsv;
  CHECK(error_of(p, "01\tok\n10 no tab\n") == "f:2: no tab between the label string and the text");
  CHECK(error_of(p, "01\tok\n011\twide\n") == "f:2: label string has 3 characters, expected 2 (one per label)");
  CHECK(error_of(p, "01\tok\n\tx\n") == "f:2: empty label string before the tab");
  CHECK(error_of(p, "01\tok\n0x\ttext\n") == "f:2: label string has 'x' at position 2; only 0 and 1 are allowed");
  CHECK(error_of(p, "01\tok\n10\t \n") ==
        "f:2: empty or whitespace-only text (--allow-empty-text keeps such documents)");
  CHECK(error_of(p, "01\tok\n10\tab\xFF\n") == "f:2: invalid UTF-8 at byte 6 of the line (0xFF)");
  CHECK(error_of(p, "01\tok\n10\t\xC0\xAF overlong\n") == "f:2: invalid UTF-8 at byte 4 of the line (0xC0)");
  data::ReadOptions small;
  small.max_line_bytes = 8;
  CHECK(error_of(p, "01\tok\n10\tlong line\n", small) ==
        "f:2: line of 12 bytes exceeds the maximum of 8 "
        "(--max-line-bytes)");
  CHECK(error_of(p, "") == "");  // an empty file is only an error as an empty split (below)
}

TEST_CASE("hedwig-tsv: CRLF, a missing final newline, labels and problem type") {
  const auto ds = parse_tsv("10\tone\r\n01\ttwo\t\"tab kept\"\r\n11\tthree");
  REQUIRE(ds.count(Split::Train) + ds.count(Split::Dev) == 3);
  CHECK(ds.label_names == std::vector<std::string>{"0", "1"});
  CHECK(ds.problem_type == data::ProblemType::MultiLabel);  // row 3 has two labels
  REQUIRE(with_text(ds, "one"));                            // no '\r'
  CHECK(with_text(ds, "one")->id == "train:1");
  REQUIRE(with_text(ds, "two\t\"tab kept\""));  // no quoting; text runs to the end of the line
  CHECK(with_text(ds, "two\t\"tab kept\"")->labels == std::vector<int32_t>{1});
  REQUIRE(with_text(ds, "three"));  // no final newline
  CHECK(with_text(ds, "three")->labels == std::vector<int32_t>{0, 1});
  CHECK(parse_tsv("10\ta\n01\tb\n").problem_type == data::ProblemType::SingleLabel);
}

TEST_CASE("hedwig-tsv: --skip-bad-rows counts by reason; --skip-first-row drops line 1") {
  data::ReadOptions skip;
  skip.skip_bad_rows = true;
  const auto ds = parse_tsv("01\tok\nno tab\n011\tx\n01\t\n01\t\xFF\n10\tfine\n", skip);
  CHECK(ds.documents.size() == 4);
  CHECK(ds.skipped.total() == 4);
  CHECK(ds.skipped.by_reason.at("missing tab") == 1);
  CHECK(ds.skipped.by_reason.at("bad label string") == 1);
  CHECK(ds.skipped.by_reason.at("empty text") == 1);
  CHECK(ds.skipped.by_reason.at("invalid UTF-8") == 1);
  data::ReadOptions first;
  first.skip_first_row = true;
  const auto dropped = parse_tsv("label\ttext\n01\ta\n10\tb\n", first);
  CHECK(dropped.documents.size() == 3);  // 2 train + 1 test: line 1 of each file dropped
  CHECK(!with_text(dropped, "text"));
}

TEST_CASE("hedwig-tsv: the first well-formed label string fixes the width, not a header or a corrupt line") {
  CHECK(error_of(data::parse_hedwig_tsv, "label\ttext\n01\ta\n") ==
        "f:1: label string has 'l' at position 1; only 0 and 1 are allowed");
  data::ReadOptions skip;
  skip.skip_bad_rows = true;
  const auto ds = parse_tsv("label\ttext\n01\ta\n10\tb\n011\tc\n", skip);
  CHECK(ds.label_names == std::vector<std::string>{"0", "1"});
  CHECK(ds.count(Split::Train) + ds.count(Split::Dev) == 2);
  CHECK(ds.skipped.by_reason.at("bad label string") == 2);  // the header and the 3-wide row
  CHECK(error_of(data::parse_hedwig_tsv, "label\ttext\n01\ta\n011\tc\n", skip) == "");
}

TEST_CASE("hedwig-tsv folder: missing files, empty splits, labels.txt") {
  test::ScratchDir dir;
  const std::string root = dir.path().string();
  dir.write("train.tsv", "10\ta\n01\tb\n10\tc\n");
  REQUIRE_THROWS_WITH(data::read_hedwig_tsv(root, {}), Contains(root + "/test.tsv: hedwig TSV file not found"));
  dir.write("test.tsv", "");
  REQUIRE_THROWS_WITH(data::read_hedwig_tsv(root, {}), Contains("test.tsv: the test split has no documents"));
  dir.write("test.tsv", "01\td\n");
  dir.write("labels.txt", "earn\r\nacq\r\n");
  const auto ds = data::read_hedwig_tsv(root, {});
  CHECK(ds.label_names == std::vector<std::string>{"earn", "acq"});
  CHECK(ds.count(Split::Dev) == 1);  // no dev.tsv: carved, round(0.1 * 3) -> at least 1
  dir.write("labels.txt", "earn\nacq\nearn\n");
  REQUIRE_THROWS_WITH(data::read_hedwig_tsv(root, {}), Contains("labels.txt:3: label name 'earn' appears twice"));
  dir.write("labels.txt", "earn\n\nacq\n");
  REQUIRE_THROWS_WITH(data::read_hedwig_tsv(root, {}), Contains("labels.txt:2: empty label name"));
  REQUIRE_THROWS_WITH(data::read_hedwig_tsv(root + "/nowhere", {}),
                      Contains("nowhere/train.tsv") && Contains("not found"));
}

TEST_CASE("r8, r52, imdb: malformed rows") {
  auto r8 = [](std::string_view content) {
    data::ReadOptions options;
    data::DatasetBuilder out("r8", options, data::ProblemType::SingleLabel);
    out.set_label_names(data::r8_label_names(), "r8");
    try {
      data::parse_r8(content, "r8.txt", Split::Train, out);
    } catch (const Error& e) {
      return e.message();
    }
    return std::string();
  };
  CHECK(r8("2 fine\n8 nine\n") == "r8.txt:2: expected a label digit 0-7 and a space at the start of the line");
  CHECK(r8("2 fine\n2\n") == "r8.txt:2: expected a label digit 0-7 and a space at the start of the line");
  CHECK(error_of(data::parse_r52, "earn\tok\nearn no tab\n") == "f:2: no tab between the label and the text");
  CHECK(error_of(data::parse_imdb, "u\t\tm\t\t10\t\tok\nu\t\tm\t\t7\ttext\n") ==
        "f:2: expected `user\\t\\tmovie\\t\\trating\\t\\ttext`");
  CHECK(error_of(data::parse_imdb, "u\t\tm\t\t11\t\ttext\n") ==
        "f:1: unknown label '11' (not among the 10 label "
        "names)");
}

TEST_CASE("jsonl: malformed rows, unknown labels, duplicate ids") {
  const auto p = data::parse_jsonl;
  CHECK_THAT(error_of(p, "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": }\n"),
             Contains("f:2: invalid JSON: "));
  CHECK(error_of(p, "[1]\n") == "f:1: expected a JSON object");
  CHECK(error_of(p, "{\"label\": \"x\"}\n") == "f:1: \"text\" is missing or not a string");
  CHECK(error_of(p, "{\"text\": \"a\", \"label\": \"x\", \"labels\": [\"x\"]}\n") ==
        "f:1: expected either \"labels\" (an array of strings) or \"label\" (a string), not both");
  CHECK(error_of(p, "{\"text\": \"a\", \"labels\": [1]}\n") ==
        "f:1: expected either \"labels\" (an array of strings) or \"label\" (a string), not both");
  CHECK(error_of(p,
                 "{\"id\": \"d\", \"text\": \"a\", \"label\": \"x\"}\n{\"id\": \"d\", \"text\": \"b\", \"label\": "
                 "\"x\"}\n") == "f:2: document id 'd' is used twice");
  CHECK(error_of(p, "{\"id\": 3, \"text\": \"a\", \"label\": \"x\"}\n") == "f:1: \"id\" is not a string");
  data::ReadOptions named;
  named.label_names = {"x", "y"};
  data::DatasetBuilder out("t", named, std::nullopt);
  out.set_label_names(named.label_names, "options");
  REQUIRE_THROWS_WITH(data::parse_jsonl("{\"text\": \"a\", \"labels\": [\"x\", \"z\"]}", "f", Split::Train, out),
                      Catch::StartsWith("f:1: unknown label 'z' (not among the 2 label names)"));
  data::ReadOptions single;
  single.problem_type = data::ProblemType::SingleLabel;
  CHECK(error_of(p, "{\"text\": \"a\", \"labels\": [\"x\", \"y\"]}\n", single) ==
        "f:1: single-label data needs exactly one label per document, this one has 2");
}

TEST_CASE("jsonl: blank lines are skipped, and line numbers still count them") {
  const auto p = data::parse_jsonl;
  CHECK(error_of(p, "{\"text\": \"a\", \"label\": \"x\"}\n\n  \t\r\n{\"text\": \"b\", \"label\": \"x\"}\n\n") == "");
  CHECK(error_of(p, "\n \n{\"text\": 1, \"label\": \"x\"}\n") == "f:3: \"text\" is missing or not a string");
}

TEST_CASE("collected labels: only the names of accepted documents become classes") {
  data::ReadOptions skip;
  skip.skip_bad_rows = true;
  data::DatasetBuilder out("t", skip, std::nullopt);
  data::parse_jsonl(
      "{\"text\": \" \", \"label\": \"blank\"}\n{\"id\": \"d\", \"text\": \"a\", \"label\": \"x\"}\n"
      "{\"id\": \"d\", \"text\": \"b\", \"label\": \"dup\"}\n{\"text\": \"c\", \"labels\": [\"z\", \"\"]}\n"
      "{\"text\": \"e\", \"label\": \"y\"}\n",
      "f", Split::Train, out);
  data::parse_jsonl("{\"text\": \"t\", \"label\": \"x\"}\n", "g", Split::Test, out);
  const auto ds = out.finish();
  CHECK(ds.label_names == std::vector<std::string>{"x", "y"});  // not blank, dup or z
  CHECK(ds.skipped.by_reason ==
        std::map<std::string, int64_t>{{"empty text", 1}, {"duplicate id", 1}, {"empty label", 1}});
  // An empty name is an "empty label" row whether the vocabulary is collected or fixed, in every format.
  const data::ReadOptions defaults;
  data::DatasetBuilder fixed("t", defaults, std::nullopt);
  fixed.set_label_names({"x"}, "options");
  REQUIRE_THROWS_WITH(data::parse_jsonl("{\"text\": \"a\", \"label\": \"\"}", "f", Split::Train, fixed),
                      Catch::StartsWith("f:1: empty label name"));
  CHECK(error_of(data::parse_r52, "\tno label\n") == "f:1: empty label name");
}

TEST_CASE("jsonl folder: sorted union of names, multi-label, ids") {
  test::ScratchDir dir;
  dir.write("train.jsonl",
            "{\"text\": \"a\", \"labels\": [\"b\", \"a\"]}\n{\"text\": \"b\", \"labels\": []}\n"
            "{\"text\": \"c\", \"label\": \"c\", \"id\": \"own\", \"extra\": 1}\n");
  dir.write("dev.jsonl", "{\"text\": \"d\", \"label\": \"a\"}\n");
  dir.write("test.jsonl", "{\"text\": \"e\", \"label\": \"b\"}");
  const auto ds = data::load_dataset(dir.path().string(), data::Format::Auto, {});
  CHECK(ds.label_names == std::vector<std::string>{"a", "b", "c"});
  CHECK(ds.problem_type == data::ProblemType::MultiLabel);
  REQUIRE(ds.documents.size() == 5);
  CHECK(ds.documents[0].labels == std::vector<int32_t>{0, 1});
  CHECK(ds.documents[1].labels.empty());
  CHECK(ds.documents[2].id == "own");
  CHECK(ds.documents[3].id == "dev:1");
}

TEST_CASE("csv: RFC 4180 quoting, quoted newlines, CRLF and line numbers") {
  test::ScratchDir dir;
  dir.write("train.csv", "id,text,labels\r\n1,\"a, \"\"quoted\"\"\nmulti-line\",x|y\r\n2,plain,y\r\n\r\n3,\"z\",\r\n");
  dir.write("test.csv", "text,labels\nt,x");
  const auto ds = data::load_dataset(dir.path().string(), data::Format::Auto, {});
  CHECK(ds.label_names == std::vector<std::string>{"x", "y"});
  std::map<std::string, const data::Document*> by_id;
  for (const auto& d : ds.documents) by_id[d.id] = &d;
  REQUIRE(by_id.count("1"));
  CHECK(by_id["1"]->text == "a, \"quoted\"\nmulti-line");
  CHECK(by_id["1"]->labels == std::vector<int32_t>{0, 1});
  CHECK(by_id["3"]->labels.empty());
  CHECK(by_id.count("test:2"));

  const auto p = data::parse_csv;
  CHECK(error_of(p, "text,labels\n\"a\nb\",x\nc,\"x\nd,y\n") == "f:4: quoted field never closed (missing '\"')");
  CHECK(error_of(p, "text,labels\n\"a\nb\",x\nc,y,z\n") == "f:4: record has 3 fields, the header has 2");
  CHECK(error_of(p, "text,labels\na\"b,x\n") == "f:2: quote inside an unquoted field (quote the whole field)");
  CHECK(error_of(p, "text,labels\n\"a\"b,x\n") == "f:2: text after the closing quote of a quoted field");
  CHECK(error_of(p, "text,labels\na,x||y\n") == "f:2: empty label name");
  CHECK(error_of(p, "body,labels\na,x\n") == "f:1: header has no 'text' column");
  CHECK(error_of(p, "text,label,labels\na,x,y\n") == "f:1: header needs exactly one of 'labels' and 'label'");
  CHECK(error_of(p, "text,text,label\na,b,x\n") == "f:1: header names column 'text' twice");
  CHECK(error_of(p, "") == "f: empty file (expected a header row)");
  CHECK(error_of(p, "text,label\n\xE2\x82,x\n") == "f:2: invalid UTF-8 at byte 1 of the line (0xE2)");
}

TEST_CASE("csv: a UTF-8 byte order mark is dropped; a final CR ends the last record") {
  const data::ReadOptions defaults;
  data::DatasetBuilder out("t", defaults, std::nullopt);
  data::parse_csv("\xEF\xBB\xBFtext,label\r\ns,a\r\n\"t\",a\r", "f", Split::Train, out);
  data::parse_csv("text,label\nu,a\r", "g", Split::Test, out);
  const auto ds = out.finish();
  CHECK(ds.label_names == std::vector<std::string>{"a"});  // not "a\r"
  CHECK(ds.documents.size() == 3);
  // The mark is only dropped at the start of the file: elsewhere it is text, so a column named that way is unknown.
  CHECK(error_of(data::parse_csv, "id,\xEF\xBB\xBFtext,label\n1,t,a\n") == "f:1: header has no 'text' column");
}

TEST_CASE("folder-per-label: layout errors, hidden files, UTF-8") {
  test::ScratchDir dir;
  const std::string root = dir.path().string();
  dir.write("train/pos/a.txt", "good\n");
  dir.write("train/pos/.hidden", "\xFF");
  dir.write("train/neg/b.txt", "bad\r\n");
  dir.write("train/neg/c.txt", "worse");
  REQUIRE_THROWS_WITH(data::read_label_folders(root, {}), Contains(root + "/test: test folder not found"));
  dir.write("test/pos/d.txt", "fine");
  dir.write("test/empty/.keep", "");
  auto ds = data::load_dataset(root, data::Format::Auto, {});
  CHECK(ds.label_names == std::vector<std::string>{"empty", "neg", "pos"});
  CHECK(ds.problem_type == data::ProblemType::SingleLabel);
  CHECK(ds.documents.size() == 4);
  CHECK(ds.split(Split::Test).front()->id == "test/pos/d.txt");
  dir.write("test/pos/e.txt", "line one\nline \xC3\x28 two\n");
  REQUIRE_THROWS_WITH(data::read_label_folders(root, {}),
                      Contains("e.txt:2: invalid UTF-8 at byte 6 of the line (0xC3)"));
  data::ReadOptions skip;
  skip.skip_bad_rows = true;
  CHECK(data::read_label_folders(root, skip).skipped.by_reason.at("invalid UTF-8") == 1);
  std::filesystem::remove(dir.path() / "test/pos/e.txt");
  dir.write("test/stray.txt", "x");
  REQUIRE_THROWS_WITH(data::read_label_folders(root, {}), Contains("stray.txt: expected a label folder, found a file"));
}

TEST_CASE("folder-per-label: label folder and file names must be UTF-8 (they become label names and ids)") {
  test::ScratchDir dir;
  const std::string root = dir.path().string();
  dir.write("train/pos/a.txt", "good");
  dir.write("train/pos/b.txt", "also good");
  dir.write("test/pos/b.txt", "fine");
  dir.write("train/pos/c\xFF.txt", "named badly");
  REQUIRE_THROWS_WITH(
      data::read_label_folders(root, {}),
      Catch::StartsWith(root + "/train/pos/c\xFF.txt:1: document id is not valid UTF-8 at byte 12 (0xFF)"));
  data::ReadOptions skip;
  skip.skip_bad_rows = true;
  const auto ds = data::read_label_folders(root, skip);
  CHECK(ds.skipped.by_reason.at("invalid UTF-8") == 1);
  CHECK(ds.documents.size() == 3);
  dir.write("test/n\xE9g/d.txt", "latin-1 folder name");
  REQUIRE_THROWS_WITH(data::read_label_folders(root, skip),
                      Catch::StartsWith(root + "/test/n\xE9g: label folder name is not valid UTF-8 at byte 2 (0xE9)"));
}

TEST_CASE("folder-per-label: every label folder is a class, even one whose only document is dropped") {
  test::ScratchDir dir;
  const std::string root = dir.path().string();
  dir.write("train/pos/a.txt", "good");
  dir.write("train/pos/a2.txt", "also good");
  dir.write("train/neg/b.txt", " ");
  dir.write("test/pos/c.txt", "fine");
  data::ReadOptions skip;
  skip.skip_bad_rows = true;
  const auto ds = data::read_label_folders(root, skip);
  CHECK(ds.label_names == std::vector<std::string>{"neg", "pos"});
  CHECK(ds.skipped.by_reason.at("empty text") == 1);
}

TEST_CASE("reuters-sgml: malformed SGML and an unmatched dev row") {
  auto sgml_error = [](std::string_view content) {
    try {
      data::parse_reuters_sgml(content, "r.sgm");
    } catch (const Error& e) {
      return e.message();
    }
    return std::string();
  };
  CHECK(sgml_error("x\n<REUTERS TOPICS=\"YES\" LEWISSPLIT=\"TRAIN\" NEWID=\"1\">\n<TITLE>t") ==
        "r.sgm:2: <REUTERS> without </REUTERS>");
  CHECK(sgml_error("<REUTERS TOPICS=\"YES\" NEWID=\"1\"></REUTERS>") ==
        "r.sgm:1: the <REUTERS> tag has no LEWISSPLIT attribute");
  CHECK(sgml_error("\n\n<REUTERS TOPICS=\"YES\" LEWISSPLIT=\"TRAIN\" NEWID=\"x1\"></REUTERS>") ==
        "r.sgm:3: NEWID \"x1\" is not a number");
  CHECK(sgml_error("<REUTERS TOPICS=YES></REUTERS>") ==
        "r.sgm:1: malformed attribute in the <REUTERS> tag (expected NAME=\"value\")");
  CHECK(sgml_error("<REUTERS TOPICS=\"YES\" LEWISSPLIT=\"TRAIN\" NEWID=\"1\"><BODY>b</REUTERS>") ==
        "r.sgm:1: <BODY> without </BODY>");
  CHECK(sgml_error("no articles") == "r.sgm: no <REUTERS> article");

  const auto articles = data::parse_reuters_sgml(
      "<REUTERS TOPICS=\"YES\" LEWISSPLIT=\"TRAIN\" NEWID=\"1\"><TOPICS><D>b</D><D>a</D></TOPICS>"
      "<TITLE>T  &amp;\n t</TITLE><BODY>x &lt;y&gt; &#3;&#x41;&#30;z</BODY></REUTERS>\n"
      "<REUTERS TOPICS=\"YES\" LEWISSPLIT=\"TRAIN\" NEWID=\"2\"><TOPICS><D>a</D></TOPICS><BODY>\xFC</BODY></REUTERS>\n"
      "<REUTERS TOPICS=\"YES\" LEWISSPLIT=\"TEST\" NEWID=\"3\"><TOPICS><D>a</D></TOPICS><TITLE>q</TITLE></REUTERS>\n",
      "r.sgm");
  REQUIRE(articles.size() == 3);
  CHECK(articles[0].text ==
        "T & t. x <y> \x03"
        "A z");
  CHECK(articles[0].topics == std::vector<std::string>{"b", "a"});
  CHECK(articles[1].text == "\xC3\xBC");
  CHECK(articles[2].text == "q. ");
  const auto ds = data::build_reuters_modapte(articles, "1\t\xC3\xBC\r\n", "dev.tsv", {});
  CHECK(ds.label_names == std::vector<std::string>{"a"});  // b is never in a TEST article
  CHECK(ds.split(Split::Dev).front()->id == "reuters-2");
  CHECK(ds.split(Split::Train).front()->id == "reuters-1");
  REQUIRE_THROWS_WITH(
      data::build_reuters_modapte(articles, "1\tT & t. x\n", "dev.tsv", {}),
      Catch::StartsWith("dev.tsv:1: row matches no ModApte training document generated from the SGML files"));
  REQUIRE_THROWS_WITH(
      data::build_reuters_modapte(articles, "1\t\xC3\xBC\n1\t\xC3\xBC\n", "dev.tsv", {}),
      Catch::StartsWith("dev.tsv:2: row matches no remaining ModApte training document generated from the SGML files"));
}

TEST_CASE("load_dataset: label names are refused by formats that define their own; their file is the provenance") {
  data::ReadOptions named;
  named.label_names = {"a", "b"};
  REQUIRE_THROWS_WITH(
      data::load_dataset(test::shared_data("mini-imdb"), data::Format::Auto, named),
      Catch::StartsWith(test::shared_data("mini-imdb") +
                        ": label names were given (--labels), but the imdb format defines its own; only hedwig-tsv, "
                        "jsonl and csv take them"));
  test::ScratchDir dir;
  dir.write("train.tsv", "10\ta\n01\tb\n10\tc\n");
  dir.write("test.tsv", "01\td\n");
  named.label_names_source = "my-labels.txt";
  CHECK(data::load_dataset(dir.path().string(), data::Format::Auto, named).provenance.at("label_names") ==
        "my-labels.txt");
  named.label_names_source.clear();
  CHECK(data::load_dataset(dir.path().string(), data::Format::Auto, named).provenance.at("label_names") ==
        "given in the options");
}

TEST_CASE("default_dataset_name: the folder a path names, '.' and '..' included") {
  const std::string here = std::filesystem::current_path().filename().string();
  CHECK(data::default_dataset_name(".") == here);
  CHECK(data::default_dataset_name("./") == here);
  CHECK(data::default_dataset_name("sub/..") == here);
  CHECK(data::default_dataset_name("a/b//") == "b");
  CHECK(data::default_dataset_name("/") == "dataset");
  CHECK(data::default_dataset_name("/data/r\xE9uters") == "r\xEF\xBF\xBDuters");  // Latin-1 byte -> U+FFFD
  CHECK(data::default_document_id(Split::Dev, 7) == "dev:7");
}

TEST_CASE("load_dataset: format names and detection errors") {
  CHECK(data::parse_format("hedwig-tsv") == data::Format::HedwigTsv);
  CHECK(std::string(data::format_name(data::Format::ReutersSgml)) == "reuters-sgml");
  REQUIRE_THROWS_WITH(data::parse_format("xml"), Contains("unknown dataset format 'xml'"));
  test::ScratchDir dir;
  REQUIRE_THROWS_WITH(data::detect_format(dir.path().string()), Contains("cannot tell the dataset format"));
  REQUIRE_THROWS_WITH(data::detect_format(dir.write("file", "x")), Contains("file: not a folder"));
}
