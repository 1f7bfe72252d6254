#include "train/data/dev_split.h"

#include "base/error.h"
#include "engine/random.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

namespace docbert::data {

void carve_dev(Dataset& ds, double fraction, uint64_t seed) {
  DOCBERT_CHECK(fraction > 0.0 && fraction < 1.0, "dev fraction must be in (0, 1), got {}", fraction);
  DOCBERT_CHECK(ds.count(Split::Dev) == 0, "carve_dev: dataset '{}' already has a dev split", ds.name);
  std::vector<size_t> train;
  for (size_t i = 0; i < ds.documents.size(); ++i)
    if (ds.documents[i].split == Split::Train) train.push_back(i);
  const int64_t n = static_cast<int64_t>(train.size());
  DOCBERT_CHECK(n >= 2, "carve_dev: dataset '{}' has {} training documents; a dev split needs at least 2", ds.name, n);
  const int64_t k = std::clamp<int64_t>(std::llround(fraction * static_cast<double>(n)), 1, n - 1);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  // Offset 0 is also where an RngStream starts, so under the same seed (train_teacher's --seed is also the dev seed's default) the first weights
  // read these words too. Harmless: they are used once, before training, and a word's residue mod i (all the
  // shuffle keeps) is nearly independent of the top 24 bits a uniform keeps.
  seeded_shuffle(order, seed, 0);
  for (int64_t j = 0; j < k; ++j)
    ds.documents[train[static_cast<size_t>(order[static_cast<size_t>(j)])]].split = Split::Dev;
  group_by_split(ds.documents);
}

}  // namespace docbert::data
