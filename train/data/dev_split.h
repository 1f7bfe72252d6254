// train/data/dev_split.h: the one rule that gives a dev split to sources without one.
#pragma once

#include "train/data/dataset.h"

#include <cstdint>

namespace docbert::data {

// Moves round(fraction * n) of the n training documents (at least 1, at most n - 1) to dev. The chosen ones
// are the first of a docbert::seeded_shuffle(seed, offset 0) of the training positions 0..n-1; both splits
// keep reader order, and dev is placed between train and test. Not stratified: on the small classes of R52 a
// fraction may leave a class without dev documents, as a random split does. Throws if dev is non-empty,
// if n < 2 or if fraction is not in (0, 1).
void carve_dev(Dataset& ds, double fraction, uint64_t seed);

}  // namespace docbert::data
