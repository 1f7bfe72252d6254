// Readers on the real corpora in ../shared/data: counts, label counts and a few documents.
#include <catch2/catch.hpp>

#include "tests/test_support.h"
#include "train/data/load_dataset.h"
#include "train/data/readers/hedwig_tsv.h"
#include "train/data/readers/imdb.h"
#include "train/data/readers/r8_r52.h"
#include "train/data/readers/reuters_sgml.h"
#include "train/data/text_lines.h"

#include <algorithm>
#include <map>
#include <set>

using namespace docbert;
using docbert::data::Split;

namespace {

// Parsing the 27 MB of SGML takes a moment: once per test binary.
const data::Dataset& reuters() {
  static const data::Dataset ds = data::read_reuters_sgml(test::shared_data("reuters21578"), {});
  return ds;
}

const data::Document& find_id(const data::Dataset& ds, const std::string& id) {
  const auto it =
      std::find_if(ds.documents.begin(), ds.documents.end(), [&](const data::Document& d) { return d.id == id; });
  if (it == ds.documents.end()) FAIL("no document " << id);
  return *it;
}

// Checks that split `s`, written as hedwig TSV rows each followed by `eol`, is byte for byte the file at `path`,
// and reports the first differing line (printing two 3,000-row files would drown it).
void check_rows_equal_file(const data::Dataset& ds, Split s, const std::string& path, const std::string& eol) {
  const std::string content = docbert::read_file(path, "DocBERT TSV");
  std::string ours;
  for (const auto* d : ds.split(s)) ours += data::hedwig_tsv_row(*d, ds.num_labels()) + eol;
  if (ours == content) return;
  const size_t at = std::mismatch(ours.begin(), ours.end(), content.begin(), content.end()).first - ours.begin();
  const size_t from = at < 40 ? 0 : at - 40;
  FAIL_CHECK(path << " differs at byte " << at << " (line " << std::count(ours.begin(), ours.begin() + at, '\n') + 1
                  << "):\n  file: ..." << content.substr(from, 80) << "\n  ours: ..." << ours.substr(from, 80));
}

int64_t count_label(const data::Dataset& ds, Split s, const std::string& name) {
  const auto index = std::find(ds.label_names.begin(), ds.label_names.end(), name) - ds.label_names.begin();
  int64_t n = 0;
  for (const auto* d : ds.split(s)) n += std::count(d->labels.begin(), d->labels.end(), index);
  return n;
}

}  // namespace

TEST_CASE("reuters: ModApte-90 with DocBERT's split sizes and 90 sorted topics") {
  const auto& ds = reuters();
  CHECK(ds.name == "reuters");
  CHECK(ds.problem_type == data::ProblemType::MultiLabel);
  CHECK(ds.count(Split::Train) == 5827);
  CHECK(ds.count(Split::Dev) == 1943);
  CHECK(ds.count(Split::Test) == 3019);
  REQUIRE(ds.num_labels() == 90);
  CHECK(ds.label_names.front() == "acq");
  CHECK(ds.label_names[21] == "earn");
  CHECK(ds.label_names.back() == "zinc");
  CHECK(std::is_sorted(ds.label_names.begin(), ds.label_names.end()));
  CHECK(ds.skipped.total() == 0);
  // Train + dev are the 7,770 ModApte training articles; the split is by article, never a shared id.
  std::set<std::string> ids;
  for (const auto& d : ds.documents) ids.insert(d.id);
  CHECK(ids.size() == ds.documents.size());
  CHECK(count_label(ds, Split::Test, "earn") == 1087);  // the well-known ModApte test count
  CHECK(count_label(ds, Split::Test, "acq") == 719);
}

// The two files differ in line endings: reuters_validation.tsv ends lines in LF, reuters_test.tsv in CRLF.
TEST_CASE("reuters: dev and test rows equal DocBERT's TSVs byte for byte, in file order") {
  const auto& ds = reuters();
  const std::string split_dir = test::shared_data("reuters21578/docbert-split");
  check_rows_equal_file(ds, Split::Dev, split_dir + "/reuters_validation.tsv", "\n");
  check_rows_equal_file(ds, Split::Test, split_dir + "/reuters_test.tsv", "\r\n");
}

TEST_CASE("reuters: text is TITLE. BODY with entities decoded, Latin-1 as UTF-8") {
  const auto& ds = reuters();
  const auto& first = find_id(ds, "reuters-14826");  // the first test article
  CHECK(first.split == Split::Test);
  CHECK(first.text.rfind("ASIAN EXPORTERS FEAR DAMAGE FROM U.S.-JAPAN RIFT. Mounting trade friction between the U.S. "
                         "And Japan",
                         0) == 0);
  CHECK(first.text.size() > 6);
  CHECK(first.text.substr(first.text.size() - 8) == "REUTER \x03");  // &#3; ends the body
  // The stray 0xFC of reut2-017.sgm is U+00FC; &#5; stays U+0005 and &#30; (U+001E) is collapsed as space.
  const auto& fc = find_id(ds, "reuters-17980");
  CHECK(fc.text.find("world economic growth.\xC3\xBC\x05 side measures") != std::string::npos);
  // <TEXT TYPE="UNPROC"> has neither TITLE nor BODY: an empty text, kept as DocBERT keeps it.
  CHECK(find_id(ds, "reuters-15046").text.empty());
}

TEST_CASE("reuters: a missing dev file is a clear error") {
  data::ReadOptions options;
  options.reuters_dev_tsv = test::shared_data("reuters21578") + "/docbert-split/no-such.tsv";
  REQUIRE_THROWS_WITH(
      data::read_reuters_sgml(test::shared_data("reuters21578"), options),
      Catch::Contains("no-such.tsv") && Catch::Contains("dev file") && Catch::Contains("--reuters-dev"));
}

TEST_CASE("r8: 5,485 train + 2,189 test, dev carved from train") {
  const auto ds = data::load_dataset(test::shared_data("r8-r52"), data::Format::R8, {});
  CHECK(ds.problem_type == data::ProblemType::SingleLabel);
  CHECK(ds.label_names == data::r8_label_names());
  CHECK(ds.count(Split::Train) + ds.count(Split::Dev) == 5485);
  CHECK(ds.count(Split::Dev) == 549);  // round(0.1 * 5485)
  CHECK(ds.count(Split::Test) == 2189);
  CHECK(count_label(ds, Split::Train, "earn") + count_label(ds, Split::Dev, "earn") == 2840);
  CHECK(count_label(ds, Split::Train, "acq") + count_label(ds, Split::Dev, "acq") == 1596);
  const auto& first = find_id(ds, "train:1");
  CHECK(first.labels == std::vector<int32_t>{2});
  CHECK(first.text.rfind("champion products approves stock split", 0) == 0);
  CHECK(ds.provenance.at("dev").find("seed 3435") != std::string::npos);
  // The carving is a pure function of the seed.
  data::ReadOptions other;
  other.dev_seed = 1;
  const auto ds2 = data::read_r8(test::shared_data("r8-r52"), other);
  CHECK(ds2.count(Split::Dev) == 549);
  CHECK(ds2.split(Split::Dev).front()->id != ds.split(Split::Dev).front()->id);
  const auto ds3 = data::read_r8(test::shared_data("r8-r52"), {});
  CHECK(ds3.split(Split::Dev).front()->id == ds.split(Split::Dev).front()->id);
}

TEST_CASE("r52: 6,532 train + 2,568 test, 52 sorted label names") {
  const auto ds = data::load_dataset(test::shared_data("r8-r52"), data::Format::R52, {});
  CHECK(ds.count(Split::Train) + ds.count(Split::Dev) == 6532);
  CHECK(ds.count(Split::Test) == 2568);
  REQUIRE(ds.num_labels() == 52);
  CHECK(std::is_sorted(ds.label_names.begin(), ds.label_names.end()));
  CHECK(ds.label_names.front() == "acq");
  CHECK(count_label(ds, Split::Train, "earn") + count_label(ds, Split::Dev, "earn") == 2840);
  const auto& first = find_id(ds, "train:1");
  CHECK(ds.label_names[first.labels.at(0)] == "cocoa");
  CHECK(first.text.rfind("bahia cocoa review", 0) == 0);
}

TEST_CASE("r8/r52 folder: auto-detection refuses to guess") {
  REQUIRE_THROWS_WITH(data::load_dataset(test::shared_data("r8-r52"), data::Format::Auto, {}),
                      Catch::Contains("both R8 and R52") && Catch::Contains("--format r8"));
}

TEST_CASE("imdb: 100/100/100 reviews, ratings 1-10") {
  const auto ds = data::load_dataset(test::shared_data("mini-imdb"), data::Format::Auto, {});
  CHECK(ds.problem_type == data::ProblemType::SingleLabel);
  CHECK(ds.count(Split::Train) == 100);
  CHECK(ds.count(Split::Dev) == 100);
  CHECK(ds.count(Split::Test) == 100);
  REQUIRE(ds.num_labels() == 10);
  CHECK(ds.label_names.front() == "1");
  CHECK(ds.label_names.back() == "10");
  CHECK(count_label(ds, Split::Train, "10") == 22);
  CHECK(count_label(ds, Split::Train, "1") == 0);
  const auto& first = find_id(ds, "train:1");
  CHECK(ds.label_names[first.labels.at(0)] == "10");
  CHECK(first.text.rfind("this short film was included several years ago", 0) == 0);
}

TEST_CASE("hedwig-tsv: DocBERT's own Reuters test file reads back as the SGML reader's test split") {
  test::ScratchDir dir;
  const std::string split_dir = test::shared_data("reuters21578/docbert-split");
  const std::string test_tsv = docbert::read_file(split_dir + "/reuters_test.tsv", "test");
  dir.write("train.tsv", docbert::read_file(split_dir + "/reuters_validation.tsv", "test"));
  dir.write("test.tsv", test_tsv);
  data::ReadOptions options;
  options.allow_empty_text = true;  // DocBERT keeps the UNPROC articles
  options.label_names = reuters().label_names;
  const auto ds = data::load_dataset(dir.path().string(), data::Format::Auto, options);
  CHECK(ds.problem_type == data::ProblemType::MultiLabel);
  CHECK(ds.count(Split::Test) == 3019);
  CHECK(ds.count(Split::Train) + ds.count(Split::Dev) == 1943);
  const auto ours = reuters().split(Split::Test), theirs = ds.split(Split::Test);
  REQUIRE(ours.size() == theirs.size());
  int64_t differ = 0;
  for (size_t i = 0; i < ours.size(); ++i)
    differ += ours[i]->labels != theirs[i]->labels || ours[i]->text != theirs[i]->text;
  CHECK(differ == 0);
}
