// train/student/augment.h: the distillation transfer set: the training documents plus augmented copies, after
// Tang et al. (2019) as DocBERT uses it (masking and POS-guided replacement; n-gram cropping optional). Design and
// measured rates: docs/transfer-set.md.
//
// Words are BERT's BasicTokenizer words (tok::WordTokenizer, kind Basic: uncased, punctuation split off, "[MASK]"
// kept whole) and an augmented copy is its words joined by single spaces, so the uncased BERT teacher and the word
// student read the same tokens in it (a cased teacher would see lower-cased copies). Per copy and word, with u
// uniform in [0, 1):
//   u < mask_prob                 -> "[MASK]" (BERT's mask token to the teacher; the student's vocabulary is built
//                                    over the transfer set, so it gets a trainable vector of its own)
//   u < mask_prob + pos_prob      -> a word of the same part of speech (PosLexicon), drawn from every occurrence of
//                                    a word of that POS in the training documents (frequency-weighted, may be the
//                                    same word); a word of unknown POS, or a function word, is kept
//   otherwise                     -> kept
// then, with probability ngram_prob, the copy is cropped to a random window of n words, n uniform in
// [1, ngram_max] (at most the document's length). A copy equal to the original words or to an earlier copy, or
// with every word masked or replaced, is drawn again, at most max_redraws times; the last draw is then accepted and
// counted as a duplicate.
//
// Randomness is Philox (kernels/philox.h) keyed by (seed, document index, copy, redraw): the transfer set is a pure
// function of the documents, their order, the options and the lexicon, whatever the thread count.
#pragma once

#include "train/data/dataset.h"
#include "train/student/wordnet_pos.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace docbert::train {

struct AugmentOptions {
  int64_t copies = 2;        // augmented copies per training document (2: DocBERT's 3x Reuters transfer set)
  double mask_prob = 0.1;    // per word, replace by "[MASK]"
  double pos_prob = 0.1;     // per word, replace by a word of the same POS (mask_prob + pos_prob <= 1)
  double ngram_prob = 0;     // per copy, crop to an n-gram (Tang et al.'s code default; DocBERT names no n-grams)
  int64_t ngram_max = 5;     // the n-gram length is uniform in [1, ngram_max]
  uint64_t seed = 3435;      // hedwig's default --seed
  int64_t max_redraws = 10;  // redraws of a rejected copy before it is accepted as a duplicate
  // Off: function words (is_function_word) are never replaced nor drawn, as if their POS were unknown. WordNet lists
  // many of them as homographs of nouns ("in" = inch, "a" = ampere, "it" = information technology), so without a
  // tagger they would fill the noun pool (a quarter of Reuters' known-POS occurrences) and replace content words. On:
  // WordNet's POS alone decides, as for every other word.
  bool replace_function_words = false;
};

// Whether `word` is an English function word or a one-byte word: articles and determiners, pronouns, prepositions,
// conjunctions, auxiliaries and modals, "not", "there", the pieces BasicTokenizer leaves of contractions ("ll",
// "re", "ve"), and any single letter or digit ("s" of "'s", "u" of "u.s.").
//   word: one lower-case word
bool is_function_word(std::string_view word);

// Throws docbert::Error naming the option when a probability is outside [0, 1], mask_prob + pos_prob > 1,
// copies < 0, ngram_max < 1, max_redraws < 0, or copies * (max_redraws + 1) >= 2^24 (the RNG key's room).
void check_augment_options(const AugmentOptions& o);

// The options as a JSON object with the field names above (for provenance; the seed as a number).
nlohmann::json to_json(const AugmentOptions& o);

// Counts over the accepted augmented copies (copy 0, the original, is not counted).
struct AugmentStats {
  int64_t documents = 0;    // source documents
  int64_t copies = 0;       // augmented copies (documents * copies)
  int64_t words = 0;        // words drawn over, before any cropping
  int64_t masked = 0;       // words that became "[MASK]"
  int64_t replaced = 0;     // words replaced by a same-POS word (the draw may give the word itself)
  int64_t unknown_pos = 0;  // words drawn for replacement but kept: POS unknown, or a function word
  int64_t cropped = 0;      // copies cropped to an n-gram
  int64_t redraws = 0;      // rejected draws that were drawn again
  int64_t duplicates = 0;   // copies accepted although rejected (after max_redraws redraws): repeats, all-changed
                            // copies, and every copy of an empty document
};

nlohmann::json to_json(const AugmentStats& s);

struct TransferDoc {
  std::string id;               // the source's id for copy 0, "<source id>#aug<copy>" for augmented copies
  int64_t source = 0;           // index of the source document in build_transfer_set's `train`
  int64_t copy = 0;             // 0 = the original document, 1..copies = augmented
  std::string text;             // copy 0: the source text unchanged; copies: words joined by single spaces
  std::vector<int32_t> labels;  // the source document's labels (indices into the dataset's label_names)
};

struct TransferSet {
  // Per source document in order, copy 0 then copies 1..copies: doc0 copy0, doc0 copy1, ..., doc1 copy0, ...
  std::vector<TransferDoc> docs;
  AugmentStats stats;
};

// Builds the transfer set of `train`, tokenising and augmenting the documents in parallel (engine/parallel.h).
//   train: the training documents, in the order that keys the randomness (their dataset order)
//   o:     checked with check_augment_options
//   lex:   the part-of-speech lexicon; an empty PosLexicon turns replacement into "keep"
TransferSet build_transfer_set(const std::vector<const data::Document*>& train, const AugmentOptions& o,
                               const PosLexicon& lex);

// Writes dir/transfer.jsonl and dir/provenance.json, each atomically (base/file_io.h). transfer.jsonl has one JSON
// object per document, keys in this order:
//   {"id": ..., "source": ..., "copy": ..., "text": ..., "labels": [label names], "check": "<16 hex digits>"}
// where "check" is the FNV-1a 64 (engine/checksum.h) of the same object without "check", compact, so an edited line
// is caught at its line. provenance.json is `provenance` plus "format" ("docbert-transfer-set"), "version" (1),
// "documents", "stats" (to_json(set.stats)) and "transfer_checksum" (FNV-1a 64 of transfer.jsonl, hex). Returns
// that checksum (the key of anything computed from the transfer set, such as the teacher's soft targets). Throws
// docbert::Error when `dir` is not a folder, a label id is outside label_names, a text is not valid UTF-8, or
// `provenance` is not an object or already has one of the keys above.
//   set:         the transfer set
//   provenance:  the caller's description: options (to_json), dataset, WordNet folder, ...
//   label_names: the dataset's label names, index = label id
//   dir:         an existing folder
std::string save_transfer_set(const TransferSet& set, const nlohmann::json& provenance,
                              const std::vector<std::string>& label_names, const std::string& dir);

// Reads what save_transfer_set wrote. Throws docbert::Error "<file>:<line>: ..." for a line that is not a JSON
// object with exactly the six keys and their types, an unknown label name, a "check" that does not match the line's
// content, or an id/source/copy out of sequence; "<file>: ..." for a missing file, a provenance.json without the
// keys above, a document count or transfer_checksum that does not match (lines added, dropped or reordered).
//   dir:         the folder
//   label_names: the dataset's label names (label names in the file become their indices)
//   provenance:  when not null, receives provenance.json
TransferSet load_transfer_set(const std::string& dir, const std::vector<std::string>& label_names,
                              nlohmann::json* provenance = nullptr);

}  // namespace docbert::train
