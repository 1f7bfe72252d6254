// train/data/readers/imdb.h: the IMDB / Yelp review format of DocBERT's data (Tang et al. 2015).
//
// A folder with train.txt, test.txt and, optionally, dev.txt (else dev is carved from train). One review per
// line: `user\t\tmovie\t\trating\t\ttext`, the text already tokenised and lower-cased with sentences joined
// by " <sssss> ". The rating 1-10 is the label; names "1".."10" (index = rating - 1), single-label. Ids are
// "<split>:<line>"; user and movie are not kept.
#pragma once

#include "train/data/dataset_builder.h"

#include <string>
#include <string_view>

namespace docbert::data {

// Appends one file's `content` as split `split` to `out` (`source` names it in messages). Fixes `out`'s label
// names to "1".."10" if it has none.
void parse_imdb(std::string_view content, const std::string& source, Split split, DatasetBuilder& out);

// Reads `folder` as described above.
Dataset read_imdb(const std::string& folder, const ReadOptions& options);

}  // namespace docbert::data
