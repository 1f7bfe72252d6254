// The canonical dataset folder (round trip, refusals) and the statistics.
#include <catch2/catch.hpp>

#include "tests/test_support.h"
#include "train/data/canonical.h"
#include "train/data/load_dataset.h"
#include "train/data/stats.h"
#include "train/data/text_lines.h"

#include <filesystem>

using namespace docbert;
using Catch::Contains;
using data::Split;

namespace {

void require_equal(const data::Dataset& a, const data::Dataset& b) {
  CHECK(a.name == b.name);
  CHECK(a.problem_type == b.problem_type);
  CHECK(a.label_names == b.label_names);
  CHECK(a.skipped.by_reason == b.skipped.by_reason);
  CHECK(a.provenance == b.provenance);
  REQUIRE(a.documents.size() == b.documents.size());
  int64_t differ = 0;
  for (size_t i = 0; i < a.documents.size(); ++i) {
    const auto &x = a.documents[i], &y = b.documents[i];
    differ += x.id != y.id || x.text != y.text || x.labels != y.labels || x.split != y.split;
  }
  CHECK(differ == 0);
}

}  // namespace

TEST_CASE("canonical: R52 and a skipped-row dataset survive save and load unchanged") {
  test::ScratchDir dir;
  const auto r52 = data::load_dataset(test::shared_data("r8-r52"), data::Format::R52, {});
  const std::string out = (dir.path() / "r52").string();
  data::save_canonical(r52, out);
  CHECK(data::detect_format(out) == data::Format::Canonical);
  require_equal(r52, data::load_dataset(out, data::Format::Auto, {}));
  CHECK(!std::filesystem::exists(out + "/train.jsonl.tmp"));
  // Overwriting a dataset folder is fine.
  data::save_canonical(r52, out);

  dir.write("tsv/train.tsv", "01\ta \x03 \"q\"\n10\tb\nbad\n11\t\xC3\xBC\n");
  dir.write("tsv/test.tsv", "01\tc\n");
  data::ReadOptions skip;
  skip.skip_bad_rows = true;
  const auto small = data::load_dataset((dir.path() / "tsv").string(), data::Format::Auto, skip);
  CHECK(small.skipped.total() == 1);
  const std::string out2 = (dir.path() / "small").string();
  data::save_canonical(small, out2);
  require_equal(small, data::load_canonical(out2));
  const std::string json = docbert::read_file(out2 + "/dataset.json", "test");
  CHECK_THAT(json, Contains("\"format\": \"docbert-dataset\"") && Contains("\"missing tab\": 1"));
  const auto train_lines = test::file_lines(out2 + "/train.jsonl");
  CHECK(train_lines.front().rfind("{\"id\":\"train:", 0) == 0);
}

TEST_CASE("canonical: refusals and broken folders") {
  test::ScratchDir dir;
  const auto ds = data::load_dataset(test::shared_data("mini-imdb"), data::Format::Imdb, {});
  const std::string root = dir.path().string();
  dir.write("notes.txt", "mine");
  REQUIRE_THROWS_WITH(data::save_canonical(ds, root),
                      Contains("refusing to write into a non-empty folder that is not a dataset folder"));
  REQUIRE_THROWS_WITH(data::save_canonical(ds, root + "/notes.txt"), Contains("exists and is not a folder"));
  const std::string out = root + "/imdb";
  data::save_canonical(ds, out);
  const std::string meta = docbert::read_file(out + "/dataset.json", "test");
  dir.write("imdb/dataset.json", std::string(meta).replace(meta.find("\"version\": 1"), 12, "\"version\": 7"));
  REQUIRE_THROWS_WITH(data::load_canonical(out), Contains("unsupported version"));
  dir.write("imdb/dataset.json", meta);
  dir.write("imdb/test.jsonl", "{\"id\": \"x\", \"text\": \"t\", \"labels\": [\"11\"]}\n");
  REQUIRE_THROWS_WITH(data::load_canonical(out), Contains("test.jsonl:1: unknown label '11'"));
  dir.write("imdb/test.jsonl", "{\"id\": \"x\", \"text\": \"t\", \"labels\": [\"10\"]}\n");
  REQUIRE_THROWS_WITH(data::load_canonical(out), Contains("dataset.json says 100 test documents, test.jsonl has 1"));
  dir.write("imdb/test.jsonl",
            docbert::read_file((std::filesystem::path(test::shared_data("mini-imdb")) / "test.txt").string(), "x"));
  const std::string single = "\"problem_type\": \"single_label_classification\"";
  dir.write("imdb/dataset.json",
            std::string(meta).replace(meta.find(single), single.size(), "\"problem_type\": \"singel\""));
  REQUIRE_THROWS_WITH(data::load_canonical(out),
                      Catch::StartsWith(out + "/dataset.json: unknown problem type 'singel'"));
}

TEST_CASE("canonical: paths that are not UTF-8 are stored with U+FFFD; an unwritable value writes nothing") {
  test::ScratchDir dir;
  dir.write("r\xE9uters/train.tsv", "10\ta\n01\tb\n10\tc\n");
  dir.write("r\xE9uters/test.tsv", "01\td\n");
  const std::string input = (dir.path() / "r\xE9uters").string();
  const auto ds = data::load_dataset(input, data::Format::Auto, {});
  CHECK(ds.name == "r\xEF\xBF\xBDuters");
  CHECK(ds.provenance.at("source") == (dir.path() / "r\xEF\xBF\xBDuters").string());
  const std::string out = (dir.path() / "out").string();
  data::save_canonical(ds, out);
  require_equal(ds, data::load_canonical(out));

  // Values that only a caller can make invalid: nothing is written, the folder and the field are named.
  data::Dataset bad = ds;
  bad.name = "n\xFF";
  const std::string fresh = (dir.path() / "fresh").string();
  REQUIRE_THROWS_WITH(
      data::save_canonical(bad, fresh),
      Catch::StartsWith(fresh + ": cannot save dataset.json: /name is not valid UTF-8 (nothing was written)"));
  CHECK(!std::filesystem::exists(fresh));
  bad = ds;
  bad.documents.front().id = "i\xFF";
  REQUIRE_THROWS_WITH(
      data::save_canonical(bad, out),
      Catch::StartsWith(out + ": cannot save train.jsonl, line 1: /id is not valid UTF-8 (nothing was written)"));
  require_equal(ds, data::load_canonical(out));  // the earlier save is intact
}

TEST_CASE("stats: counts, cardinality, percentiles, label counts and the optional WordPiece rows") {
  test::ScratchDir dir;
  dir.write("train.jsonl",
            "{\"text\": \"one\", \"labels\": [\"a\"]}\n{\"text\": \"one two\", \"labels\": [\"a\", \"b\"]}\n"
            "{\"text\": \" one\\ttwo  three \", \"labels\": [\"b\"]}\n");
  dir.write("dev.jsonl", "{\"text\": \"x\", \"labels\": [\"b\"]}\n");
  dir.write("test.jsonl", "{\"text\": \"x y\", \"labels\": []}\n");
  const auto ds = data::load_dataset(dir.path().string(), data::Format::Auto, {});
  const auto st = data::compute_stats(ds);
  REQUIRE(st.splits.size() == 3);
  CHECK(st.splits[0].documents == 3);
  CHECK(st.splits[0].label_cardinality == Approx(4.0 / 3));
  CHECK(st.splits[0].words.mean == Approx(2.0));
  CHECK(st.splits[0].words.median == 2);
  CHECK(st.splits[0].words.p95 == 3);
  CHECK(!st.splits[0].pieces);
  CHECK(st.label_documents.front().first == "a");  // tie on train count (2): label order
  CHECK(st.label_documents[1].second == std::array<int64_t, 3>{2, 1, 0});
  const std::string text = data::format_stats(st);
  CHECK_THAT(text, Contains("WordPiece rows omitted") && Contains("skipped rows: none"));

  // A fake counter: 60 pieces per byte, so only the 16-byte text has more than 510.
  const auto with = data::compute_stats(ds, [](std::string_view t) { return static_cast<int64_t>(t.size() * 60); });
  REQUIRE(with.splits[0].pieces);
  CHECK(with.splits[0].share_over_max_pieces == Approx(1.0 / 3));
  CHECK_THAT(data::format_stats(with), Contains("share over 510 pieces"));
}

TEST_CASE("stats: Reuters-sized dataset prints every row") {
  const auto ds = data::load_dataset(test::shared_data("r8-r52"), data::Format::R8, {});
  const std::string text = data::format_stats(data::compute_stats(ds), 3);
  CHECK_THAT(text, Contains("dataset r8: single_label_classification, 8 labels") && Contains("documents") &&
                       Contains("top 3 of 8") && Contains("earn"));
}
