// Batching: the seeded epoch plan (determinism, epochs, resumption, coverage, bucketing on real R8 lengths) and the
// padded and packed batch tensors (agreement, rounding, dtypes), with the edge cases.
#include <catch2/catch.hpp>

#include "tests/test_support.h"
#include "tokenizer/word_vocab.h"
#include "train/data/batching.h"
#include "train/data/readers/r8_r52.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

using docbert::DType;
using docbert::data::BatchOrder;
using docbert::data::BatchPlanOptions;
using docbert::data::collate_packed;
using docbert::data::collate_padded;
using docbert::data::CollateOptions;
using docbert::data::plan_epoch;
using Docs = std::vector<std::vector<int32_t>>;
using Plan = std::vector<std::vector<int64_t>>;

namespace {

// All R8 documents (train, dev and test) as word ids of a vocabulary built on the training split.
const Docs& r8_docs() {
  static const Docs docs = [] {
    const docbert::data::Dataset ds = docbert::data::read_r8(docbert::test::shared_data("r8-r52"), {});
    std::vector<std::string> train;
    for (const auto* d : ds.split(docbert::data::Split::Train)) train.push_back(d->text);
    const docbert::tok::WordTokenizer tok;
    const auto vocab = docbert::tok::WordVocab::build(train, tok);
    Docs out;
    for (const auto& d : ds.documents) out.push_back(vocab.encode(d.text, tok));
    REQUIRE(out.size() == 5485 + 2189);
    return out;
  }();
  return docs;
}

// Documents of the given lengths, token t of document i being 1000 * i + t + 2 (never [PAD] or [UNK]).
Docs docs_of_lengths(const std::vector<int>& lengths) {
  Docs docs;
  for (size_t i = 0; i < lengths.size(); ++i) {
    auto& d = docs.emplace_back();
    for (int t = 0; t < lengths[i]; ++t) d.push_back(static_cast<int32_t>(1000 * i + t + 2));
  }
  return docs;
}

std::vector<int64_t> flatten(const Plan& plan) {
  std::vector<int64_t> all;
  for (const auto& b : plan) all.insert(all.end(), b.begin(), b.end());
  return all;
}

// Padding tokens over all tokens of the padded batches of `plan`.
double padding_fraction(const Docs& docs, const Plan& plan) {
  int64_t real = 0, total = 0;
  for (const auto& b : plan) {
    size_t longest = 0;
    for (int64_t i : b) {
      real += static_cast<int64_t>(docs[static_cast<size_t>(i)].size());
      longest = std::max(longest, docs[static_cast<size_t>(i)].size());
    }
    total += static_cast<int64_t>(longest * b.size());
  }
  return 1.0 - static_cast<double>(real) / static_cast<double>(total);
}

BatchPlanOptions bucketed(int64_t batch_size, uint64_t seed) {
  BatchPlanOptions o;
  o.batch_size = batch_size;
  o.seed = seed;
  return o;
}

}  // namespace

TEST_CASE("batching: the plan is a pure function of (seed, epoch): repeatable, resumable, new each epoch",
          "[batching]") {
  const Docs& docs = r8_docs();
  const BatchPlanOptions o = bucketed(32, 3435);
  const Plan e3 = plan_epoch(docs, 3, o);
  for (int64_t e = 0; e < 3; ++e) CHECK(plan_epoch(docs, e, o) != e3);
  CHECK(plan_epoch(docs, 3, o) == e3);  // planning other epochs in between changes nothing
  CHECK(plan_epoch(docs, 3, bucketed(32, 3436)) != e3);
  // A run resumed at epoch 3, batch k recomputes the plan and starts at k: it sees exactly the rest of the epoch.
  for (size_t k : {size_t{0}, size_t{1}, size_t{117}, e3.size() - 1}) {
    const Plan resumed = plan_epoch(docs, 3, bucketed(32, 3435));
    CHECK(Plan(resumed.begin() + static_cast<std::ptrdiff_t>(k), resumed.end()) ==
          Plan(e3.begin() + static_cast<std::ptrdiff_t>(k), e3.end()));
  }
}

TEST_CASE("batching: every document once per epoch in every order, drop_last drops n % batch_size", "[batching]") {
  const Docs& docs = r8_docs();
  const int64_t n = static_cast<int64_t>(docs.size());
  for (auto order : {BatchOrder::Bucketed, BatchOrder::Original, BatchOrder::ByLength}) {
    for (bool drop_last : {false, true}) {
      INFO("order " << static_cast<int>(order) << " drop_last " << drop_last);
      BatchPlanOptions o = bucketed(32, 1);
      o.order = order;
      o.drop_last = drop_last;
      const Plan plan = plan_epoch(docs, 0, o);
      std::vector<int64_t> all = flatten(plan);
      CHECK(static_cast<int64_t>(all.size()) == (drop_last ? n - n % 32 : n));
      CHECK(std::set<int64_t>(all.begin(), all.end()).size() == all.size());
      int64_t short_batches = 0;
      for (const auto& b : plan) short_batches += b.size() != 32;
      CHECK(short_batches == (drop_last || n % 32 == 0 ? 0 : 1));
    }
  }
  BatchPlanOptions o = bucketed(32, 1);
  o.order = BatchOrder::Original;
  const Plan original = plan_epoch(docs, 5, o);
  std::vector<int64_t> expected(docs.size());
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(flatten(original) == expected);
  CHECK(plan_epoch(docs, 0, o) == original);
  o.order = BatchOrder::ByLength;
  const std::vector<int64_t> by_length = flatten(plan_epoch(docs, 0, o));
  CHECK(std::is_sorted(by_length.begin(), by_length.end(),
                       [&](int64_t a, int64_t b) { return docs[a].size() > docs[b].size(); }));
}

TEST_CASE("batching: bucketing cuts padding on real R8 lengths, and batches are sorted longest first", "[batching]") {
  const Docs& docs = r8_docs();
  BatchPlanOptions random = bucketed(32, 7);
  random.pool_batches = 1;
  const double bucketed_padding = padding_fraction(docs, plan_epoch(docs, 0, bucketed(32, 7)));
  const double random_padding = padding_fraction(docs, plan_epoch(docs, 0, random));
  INFO("padding: bucketed " << bucketed_padding << ", random " << random_padding);
  CHECK(random_padding > 0.6);  // R8 lengths are skewed: a few long articles set T for many short ones
  CHECK(bucketed_padding < random_padding / 4);
  for (const auto& b : plan_epoch(docs, 1, bucketed(32, 7)))
    REQUIRE(std::is_sorted(b.begin(), b.end(), [&](int64_t x, int64_t y) { return docs[x].size() > docs[y].size(); }));
}

TEST_CASE("batching: padded and packed batches hold the same tokens", "[batching]") {
  const Docs& docs = r8_docs();
  for (DType dtype : {DType::I64, DType::I32}) {
    CollateOptions c;
    c.index_dtype = dtype;
    c.pad_to_multiple = 8;
    for (const auto& batch : plan_epoch(docs, 0, bucketed(16, 2))) {
      const auto padded = collate_padded(docs, batch, c);
      const auto packed = collate_packed(docs, batch, c);
      const int64_t B = static_cast<int64_t>(batch.size()), T = padded.ids.size(1);
      REQUIRE(padded.ids.dtype() == dtype);
      REQUIRE(padded.mask.dtype() == dtype);
      REQUIRE(padded.lengths.dtype() == dtype);
      REQUIRE(packed.tokens.dtype() == dtype);
      REQUIRE(packed.cu_seqlens.dtype() == DType::I32);
      REQUIRE(padded.documents == batch);
      REQUIRE(packed.documents == batch);
      REQUIRE(T % 8 == 0);
      REQUIRE(T - packed.max_seqlen < 8);
      // Re-pad the packed tokens by cu_seqlens: that must give the padded ids, mask and lengths, and every
      // document's own tokens.
      const auto tokens = packed.tokens.to_vector<int64_t>(), cu = packed.cu_seqlens.to_vector<int64_t>();
      REQUIRE(cu.size() == static_cast<size_t>(B + 1));
      REQUIRE(cu.front() == 0);
      REQUIRE(cu.back() == static_cast<int64_t>(tokens.size()));
      std::vector<int64_t> repadded(static_cast<size_t>(B * T), 0), mask(repadded.size(), 0), lengths;
      for (int64_t b = 0; b < B; ++b) {
        std::copy(tokens.begin() + cu[b], tokens.begin() + cu[b + 1], repadded.begin() + b * T);
        std::fill(mask.begin() + b * T, mask.begin() + b * T + (cu[b + 1] - cu[b]), 1);
        lengths.push_back(cu[b + 1] - cu[b]);
        const auto& doc = docs[static_cast<size_t>(batch[b])];
        REQUIRE(std::vector<int64_t>(tokens.begin() + cu[b], tokens.begin() + cu[b + 1]) ==
                std::vector<int64_t>(doc.begin(), doc.end()));
      }
      REQUIRE(padded.ids.to_vector<int64_t>() == repadded);
      REQUIRE(padded.mask.to_vector<int64_t>() == mask);
      REQUIRE(padded.lengths.to_vector<int64_t>() == lengths);
      REQUIRE(packed.max_seqlen == *std::max_element(lengths.begin(), lengths.end()));
    }
  }
}

TEST_CASE("batching: small and broken inputs", "[batching]") {
  const Docs docs = docs_of_lengths({3, 1, 2});
  // A batch larger than the dataset: one short batch, or nothing to train on with drop_last.
  const Plan one = plan_epoch(docs, 0, bucketed(8, 0));
  REQUIRE(one.size() == 1);
  CHECK(one[0] == std::vector<int64_t>{0, 2, 1});  // longest first
  BatchPlanOptions o = bucketed(8, 0);
  o.drop_last = true;
  CHECK_THROWS_WITH(plan_epoch(docs, 0, o), Catch::Contains("drop_last leaves no batch (3 documents, batch_size 8)"));

  const auto padded = collate_padded(docs, {1, 0}, {});
  CHECK(padded.ids.shape() == docbert::Shape{2, 3});
  CHECK(padded.ids.to_vector<int64_t>() == std::vector<int64_t>{1002, 0, 0, 2, 3, 4});
  CollateOptions pad7;
  pad7.pad_id = 7;
  pad7.pad_to_multiple = 4;
  CHECK(collate_padded(docs, {1}, pad7).ids.to_vector<int64_t>() == std::vector<int64_t>{1002, 7, 7, 7});

  CHECK_THROWS_WITH(plan_epoch({}, 0, bucketed(8, 0)), Catch::Contains("no documents"));
  CHECK_THROWS_WITH(plan_epoch(docs_of_lengths({2, 0, 1}), 0, bucketed(8, 0)),
                    Catch::Contains("document 1 has no tokens"));
  CHECK_THROWS_WITH(plan_epoch(docs, -1, bucketed(8, 0)), Catch::Contains("epoch -1"));
  CHECK_THROWS_WITH(plan_epoch(docs, 0, bucketed(0, 0)), Catch::Contains("batch_size 0"));
  CHECK_THROWS_WITH(collate_padded(docs, {}, {}), Catch::Contains("empty batch"));
  CHECK_THROWS_WITH(collate_packed(docs, {0, 3}, {}), Catch::Contains("document index 3 is outside [0, 3)"));
  CHECK_THROWS_WITH(collate_packed(docs_of_lengths({0}), {0}, {}), Catch::Contains("document 0 has no tokens"));
  CollateOptions f32;
  f32.index_dtype = DType::F32;
  CHECK_THROWS_WITH(collate_padded(docs, {0}, f32), Catch::Contains("index_dtype f32"));
}

TEST_CASE("batching: huge batch_size and pool_batches do not overflow the pool size", "[batching]") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const Docs docs = docs_of_lengths({3, 1, 2, 5});
  // batch_size * pool_batches would overflow int64; the pool is all (kept) documents either way.
  for (const auto& [batch_size, pool_batches] :
       std::vector<std::pair<int64_t, int64_t>>{{kMax / 2, 4}, {2, kMax}, {kMax, kMax}, {3, kMax / 2}}) {
    BatchPlanOptions o = bucketed(batch_size, 7);
    o.pool_batches = pool_batches;
    const Plan plan = plan_epoch(docs, 0, o);
    CHECK(flatten(plan).size() == docs.size());
    for (const auto& b : plan) {
      CHECK(std::is_sorted(b.begin(), b.end(), [&](int64_t x, int64_t y) {
        return docs[static_cast<size_t>(x)].size() > docs[static_cast<size_t>(y)].size();
      }));
    }
  }
  BatchPlanOptions o = bucketed(2, 7);
  o.pool_batches = kMax;
  o.drop_last = true;
  CHECK(plan_epoch(docs, 0, o).size() == 2);
}

TEST_CASE("batching: a huge pad_to_multiple is an error, not an overflow", "[batching]") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const Docs docs = docs_of_lengths({3, 1, 2, 5});
  // Rounding 5 up to a multiple of kMax or kMax - 1 would overflow int64; kMax / 2 fits but 2 * T ids do not.
  CollateOptions pad;
  for (const int64_t multiple : {kMax, kMax - 1, kMax / 2}) {
    pad.pad_to_multiple = multiple;
    CHECK_THROWS_WITH(collate_padded(docs, {0, 3}, pad),
                      Catch::Contains("to a multiple of pad_to_multiple " + std::to_string(multiple) + " exceeds"));
  }
  pad.pad_to_multiple = 4;
  CHECK(collate_padded(docs, {0, 3}, pad).ids.shape() == docbert::Shape{2, 8});
}
