// train/data/readers/reuters_sgml.h: Reuters-21578 SGML -> DocBERT's ModApte-90 train / dev / test.
//
// Reproduces DocBERT's Reuters files exactly (see docs/datasets.md):
//   - the 22 files reut2-000.sgm .. reut2-021.sgm are read as Latin-1 bytes (one stray 0xFC in reut2-017.sgm
//     becomes U+00FC, stored as UTF-8 like DocBERT's TSV);
//   - an article is kept when TOPICS="YES", LEWISSPLIT is TRAIN or TEST and it carries at least one of the 90
//     topics that occur in both TRAIN and TEST articles (7,770 train, 3,019 test); labels = those topics,
//     label names = the 90 in byte order (acq = 0 .. zinc = 89);
//   - text = TITLE + ". " + BODY, each with entities decoded (&lt; &gt; &amp; &quot; and numeric &#N; / &#xN;
//     as code point N, so &#3; is a literal U+0003) and then whitespace collapsed as Python's str.split()
//     does (which also splits on U+001C-U+001F, U+0085, U+00A0, ...); no ". " without a TITLE, and "TITLE. "
//     when there is no BODY, so articles with <TEXT TYPE="UNPROC"> have an empty text, which DocBERT keeps;
//   - dev = the rows of DocBERT's reuters_validation.tsv, each matched as its exact TSV row (label bits, tab,
//     text) to the first unused ModApte training article with that row, in file order; train = the other
//     training articles (5,827), in SGML order; test in SGML order (3,019), which is reuters_test.tsv's order.
// Ids are "reuters-<NEWID>". Tag names are matched as written in the distribution (upper case).
#pragma once

#include "train/data/dataset.h"
#include "train/data/read_options.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace docbert::data {

struct ReutersArticle {
  int64_t newid = 0;
  std::string topics_attr;          // the TOPICS attribute: "YES", "NO" or "BYPASS"
  std::string lewis_split;          // the LEWISSPLIT attribute: "TRAIN", "TEST" or "NOT-USED"
  std::vector<std::string> topics;  // the <D> entries of <TOPICS>, in file order (UTF-8, as the text)
  std::string text;                 // UTF-8, built as described above
  std::string file;                 // where the <REUTERS> tag is, for messages
  int64_t line = 0;
};

// Parses one SGML file's `content` (any bytes; read as Latin-1). `source` names the file in messages. Throws
// "<source>:<line>: <problem>" on an unterminated tag or element, a malformed attribute or a missing or
// non-numeric NEWID, TOPICS or LEWISSPLIT, and when the file holds no article.
std::vector<ReutersArticle> parse_reuters_sgml(std::string_view content, const std::string& source);

// Selects ModApte-90 from `articles` (all files, in file order) and splits train into DocBERT's train and dev
// with the content of reuters_validation.tsv (`dev_tsv`, named `dev_source` in messages). Throws when a dev
// row matches no remaining training article.
Dataset build_reuters_modapte(const std::vector<ReutersArticle>& articles, std::string_view dev_tsv,
                              const std::string& dev_source, const ReadOptions& options);

// Reads <folder>/reut2-000.sgm .. reut2-021.sgm and the dev file (options.reuters_dev_tsv, default
// <folder>/docbert-split/reuters_validation.tsv).
Dataset read_reuters_sgml(const std::string& folder, const ReadOptions& options);

}  // namespace docbert::data
