// train/student/wordnet_pos.h: a word's part of speech from WordNet's index files, for the transfer set's
// POS-guided word replacement (train/student/augment.h).
//
// Tang et al. (2019) POS-tag the training text with NLTK; docbert has no tagger, so a word gets the part of speech
// under which WordNet lists the most senses (synset_cnt) for its base form, regardless of context ("run" is a verb
// everywhere: 41 verb senses against 16 noun ones). Base forms per POS come from WordNet's morphy as NLTK runs it:
// the word itself, plus its bases in that POS's exception list when it is there (was -> be, children -> child),
// else plus what the detachment rules of WordNet's morph.c give, applied once (NLTK's repeated application is not
// needed for the one-suffix inflections of running text):
//   noun  s->"" ses->s xes->x zes->z ches->ch shes->sh men->man ies->y
//   verb  s->"" ies->y es->e es->"" ed->e ed->"" ing->e ing->""
//   adj   er->"" est->"" er->e est->e
//   adv   none
// Only the four open classes exist in WordNet, so most function words ("the", "of", "and") are unknown. A few
// are listed as homographs of nouns ("a" = ampere, "in" = inch, "us" = United States) and take that POS. Index
// lemmas without a letter ("0", "1000") are skipped, so numbers are unknown too: a number is not a noun to replace
// with "company". Multi-word lemmas ("new_york") are skipped: the student's words never contain '_'.
//
// The files are Debian's wordnet-base (/usr/share/wordnet, WordNet 3.0): index.{noun,verb,adj,adv}, whose lines
// are "lemma pos synset_cnt p_cnt ..." after a license header of lines starting with two spaces, and
// {noun,verb,adj,adv}.exc, whose lines are "inflected base [base...]".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace docbert::train {

// The open word classes of WordNet, in its tie-break order.
enum class Pos : uint8_t { Noun, Verb, Adj, Adv };
inline constexpr int kNumPos = 4;
const char* pos_name(Pos pos);  // "noun", "verb", "adj", "adv"

// Where Debian's wordnet-base installs the database.
inline constexpr const char* kDefaultWordNetDir = "/usr/share/wordnet";

class PosLexicon {
 public:
  // An empty lexicon: every word is unknown (augmentation then only masks).
  PosLexicon() = default;

  // Reads the four index files and the four exception lists of `dir` (about 0.2 s for WordNet 3.0). Throws
  // docbert::Error naming the folder when it is missing, the file when one is missing, and "<file>:<line>: ..." for
  // a malformed line (fewer fields than the format has, a pos field that is not the file's, a synset_cnt that is not
  // a positive integer).
  //   dir: the WordNet dict folder, e.g. kDefaultWordNetDir
  static PosLexicon load(const std::string& dir);

  // The part of speech whose base form of `word` has the most senses (ties: noun, verb, adj, adv), or nullopt when no
  // index knows any base form of it.
  //   word: one lower-case word, as the uncased word tokenizer produces it
  std::optional<Pos> pos_of(std::string_view word) const;

  // The number of single-word lemmas with at least one letter over the four indexes (a lemma in two indexes
  // counts once).
  int64_t num_lemmas() const { return static_cast<int64_t>(senses_.size()); }

 private:
  // The synset_cnt of `lemma` as a `pos`, 0 when that index does not list it.
  int32_t senses(std::string_view lemma, Pos pos) const;

  // lemma -> synset_cnt per POS (0 = not in that index).
  std::unordered_map<std::string, std::array<int32_t, kNumPos>> senses_;
  // Per POS: inflected form -> its base forms.
  std::array<std::unordered_map<std::string, std::vector<std::string>>, kNumPos> exceptions_;
};

}  // namespace docbert::train
