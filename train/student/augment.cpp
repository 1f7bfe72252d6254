#include "train/student/augment.h"

#include "engine/checksum.h"
#include "base/error.h"
#include "base/file_io.h"
#include "base/json_io.h"
#include "engine/parallel.h"
#include "kernels/philox.h"
#include "tokenizer/word_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace docbert::train {

namespace {

constexpr const char* kMask = "[MASK]";
constexpr const char* kFormat = "docbert-transfer-set";
constexpr int kVersion = 1;
constexpr int8_t kUnknown = -1;
// The attempt number (copy, redraw) sits above 40 bits of per-attempt counter in Philox's low counter word.
constexpr int kAttemptShift = 40;
constexpr int64_t kMaxAttempts = int64_t{1} << 24;

// The words of one POS with their cumulative occurrence counts: drawing r uniform in [0, total) and taking the first
// word whose cumulative count exceeds r samples an occurrence uniformly, as Tang et al.'s list of all occurrences.
// Closed-class English words (see is_function_word): lower-case, as BasicTokenizer leaves them.
const std::unordered_set<std::string_view> kFunctionWords = {
    // articles, determiners, quantifiers
    "an", "the", "this", "that", "these", "those", "each", "every", "either", "neither", "some", "any", "no", "all",
    "both", "another", "such", "what", "which", "whose", "whatever", "whichever",
    // pronouns
    "me", "my", "mine", "we", "us", "our", "ours", "you", "your", "yours", "he", "him", "his", "she", "her", "hers",
    "it", "its", "they", "them", "their", "theirs", "myself", "yourself", "himself", "herself", "itself", "ourselves",
    "yourselves", "themselves", "who", "whom", "whoever", "one", "ones",
    // prepositions
    "about", "above", "across", "after", "against", "along", "amid", "among", "around", "as", "at", "before", "behind",
    "below", "beneath", "beside", "besides", "between", "beyond", "by", "despite", "down", "during", "except", "for",
    "from", "in", "inside", "into", "like", "near", "of", "off", "on", "onto", "out", "outside", "over", "past", "per",
    "since", "than", "through", "throughout", "till", "to", "toward", "towards", "under", "underneath", "until", "unto",
    "up", "upon", "via", "with", "within", "without",
    // conjunctions
    "and", "or", "nor", "but", "so", "yet", "if", "whether", "because", "although", "though", "while", "whereas",
    "unless", "whenever", "wherever",
    // auxiliaries and modals
    "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do", "does", "did",
    "doing", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "ought",
    // negation, existential there, contraction pieces ("we'll" -> we ' ll)
    "not", "there", "ll", "re", "ve"};

struct PosPool {
  std::vector<std::string> words;  // distinct, sorted
  std::vector<int64_t> cumulative;
  int64_t total() const { return cumulative.empty() ? 0 : cumulative.back(); }
  const std::string& sample(uint64_t r) const {
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(),
                                     static_cast<int64_t>(r % static_cast<uint64_t>(total())));
    return words[static_cast<size_t>(it - cumulative.begin())];
  }
};

// The random words of one attempt (document, copy, redraw): word k is lane k % 4 of Philox at counter
// (attempt << 40 | k / 4, document), so no two attempts share a counter.
struct AttemptRng {
  uint64_t seed, attempt, doc;
  uint32_t word(uint64_t k) const { return philox4x32(seed, (attempt << kAttemptShift) + k / 4, doc).v[k % 4]; }
  double uniform(uint64_t k) const { return philox_to_uniform(word(k)); }
  uint64_t word64(uint64_t k) const { return (static_cast<uint64_t>(word(k)) << 32) | word(k + 1); }
};

struct Candidate {
  std::vector<std::string> words;
  AugmentStats stats;        // words, masked, replaced, unknown_pos, cropped of this draw
  bool all_changed = false;  // every word left after cropping was masked or replaced
};

// One draw of an augmented copy. Random words per position j: 3j (the action), 3j+1 and 3j+2 (the pool draw);
// then 3n (crop or not), 3n+1 (n-gram length), 3n+2 (window start).
Candidate draw_copy(const std::vector<std::string>& words, const std::vector<int8_t>& pos,
                    const std::vector<PosPool>& pools, const AugmentOptions& o, const AttemptRng& rng) {
  Candidate c;
  const size_t n = words.size();
  c.words.reserve(n);
  std::vector<bool> changed(n, false);
  for (size_t j = 0; j < n; ++j) {
    const double u = rng.uniform(3 * j);
    if (u < o.mask_prob) {
      c.words.emplace_back(kMask);
      changed[j] = true;
      ++c.stats.masked;
    } else if (u < o.mask_prob + o.pos_prob && pos[j] != kUnknown) {
      c.words.push_back(pools[static_cast<size_t>(pos[j])].sample(rng.word64(3 * j + 1)));
      changed[j] = true;
      ++c.stats.replaced;
    } else {
      if (u < o.mask_prob + o.pos_prob) ++c.stats.unknown_pos;
      c.words.push_back(words[j]);
    }
  }
  c.stats.words = static_cast<int64_t>(n);
  size_t begin = 0, end = n;
  if (n > 0 && rng.uniform(3 * n) < o.ngram_prob) {
    const size_t len = std::min(n, static_cast<size_t>(rng.word(3 * n + 1) % static_cast<uint64_t>(o.ngram_max)) + 1);
    begin = rng.word(3 * n + 2) % (n - len + 1);
    end = begin + len;
    c.words.erase(c.words.begin() + static_cast<std::ptrdiff_t>(end), c.words.end());
    c.words.erase(c.words.begin(), c.words.begin() + static_cast<std::ptrdiff_t>(begin));
    c.stats.cropped = 1;
  }
  c.all_changed = std::all_of(changed.begin() + static_cast<std::ptrdiff_t>(begin),
                              changed.begin() + static_cast<std::ptrdiff_t>(end), [](bool b) { return b; });
  return c;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

void add(AugmentStats& total, const AugmentStats& s) {
  total.documents += s.documents;
  total.copies += s.copies;
  total.words += s.words;
  total.masked += s.masked;
  total.replaced += s.replaced;
  total.unknown_pos += s.unknown_pos;
  total.cropped += s.cropped;
  total.redraws += s.redraws;
  total.duplicates += s.duplicates;
}

// The JSON line of one document without "check"; labels as names.
nlohmann::ordered_json record(const TransferDoc& d, const std::vector<std::string>& label_names) {
  std::vector<std::string> names;
  names.reserve(d.labels.size());
  for (const int32_t l : d.labels) {
    DOCBERT_CHECK(l >= 0 && static_cast<size_t>(l) < label_names.size(),
                  "save_transfer_set: document '{}' has label id {}, but there are {} label names", d.id, l,
                  label_names.size());
    names.push_back(label_names[static_cast<size_t>(l)]);
  }
  return nlohmann::ordered_json{
      {"id", d.id}, {"source", d.source}, {"copy", d.copy}, {"text", d.text}, {"labels", names}};
}

std::string dump(const nlohmann::ordered_json& j, const std::string& what) {
  try {
    return j.dump();
  } catch (const nlohmann::json::exception& e) {
    DOCBERT_THROW("save_transfer_set: {} is not valid UTF-8 ({})", what, e.what());
  }
}

// A non-negative integer field of provenance.json's "stats".
int64_t stat(const nlohmann::json& stats, const char* key, const std::string& path) {
  const auto it = stats.find(key);
  DOCBERT_CHECK(it != stats.end() && it->is_number_integer() && it->get<int64_t>() >= 0,
                "{}: \"stats\".\"{}\" must be a non-negative integer", path, key);
  return it->get<int64_t>();
}

}  // namespace

bool is_function_word(std::string_view word) { return word.size() == 1 || kFunctionWords.count(word) > 0; }

void check_augment_options(const AugmentOptions& o) {
  const auto check_prob = [](double p, const char* name) {
    DOCBERT_CHECK(p >= 0 && p <= 1, "augment: {} must be in [0, 1], got {}", name, p);
  };
  check_prob(o.mask_prob, "mask_prob");
  check_prob(o.pos_prob, "pos_prob");
  check_prob(o.ngram_prob, "ngram_prob");
  DOCBERT_CHECK(o.mask_prob + o.pos_prob <= 1, "augment: mask_prob + pos_prob must be at most 1, got {} + {}",
                o.mask_prob, o.pos_prob);
  DOCBERT_CHECK(o.copies >= 0, "augment: copies must be >= 0, got {}", o.copies);
  DOCBERT_CHECK(o.ngram_max >= 1, "augment: ngram_max must be >= 1, got {}", o.ngram_max);
  DOCBERT_CHECK(o.max_redraws >= 0, "augment: max_redraws must be >= 0, got {}", o.max_redraws);
  DOCBERT_CHECK(o.copies * (o.max_redraws + 1) < kMaxAttempts,
                "augment: copies * (max_redraws + 1) must be below 2^24, got {} * {}", o.copies, o.max_redraws + 1);
}

nlohmann::json to_json(const AugmentOptions& o) {
  return {{"copies", o.copies},           {"mask_prob", o.mask_prob},
          {"pos_prob", o.pos_prob},       {"ngram_prob", o.ngram_prob},
          {"ngram_max", o.ngram_max},     {"seed", o.seed},
          {"max_redraws", o.max_redraws}, {"replace_function_words", o.replace_function_words}};
}

nlohmann::json to_json(const AugmentStats& s) {
  return {{"documents", s.documents}, {"copies", s.copies},     {"words", s.words},
          {"masked", s.masked},       {"replaced", s.replaced}, {"unknown_pos", s.unknown_pos},
          {"cropped", s.cropped},     {"redraws", s.redraws},   {"duplicates", s.duplicates}};
}

TransferSet build_transfer_set(const std::vector<const data::Document*>& train, const AugmentOptions& o,
                               const PosLexicon& lex) {
  check_augment_options(o);
  const int64_t n = static_cast<int64_t>(train.size());
  const tok::WordTokenizer tokenizer(tok::WordTokenizerKind::Basic);
  std::vector<std::vector<std::string>> words(static_cast<size_t>(n));
  parallel_for(
      n, [&](int64_t i) { words[static_cast<size_t>(i)] = tokenizer.tokenize(train[static_cast<size_t>(i)]->text); },
      1);

  // The POS of every distinct word (looked up once), each word's POS per position, and the pools' counts, in
  // document order so that the pools do not depend on threads.
  std::unordered_map<std::string, int8_t> pos_cache;
  std::vector<std::map<std::string, int64_t>> counts(kNumPos);
  std::vector<std::vector<int8_t>> pos(static_cast<size_t>(n));
  for (size_t i = 0; i < words.size(); ++i) {
    pos[i].reserve(words[i].size());
    for (const std::string& w : words[i]) {
      auto [it, inserted] = pos_cache.try_emplace(w, kUnknown);
      if (inserted) {
        const bool skip = w == kMask || (!o.replace_function_words && is_function_word(w));
        const std::optional<Pos> p = skip ? std::nullopt : lex.pos_of(w);
        if (p) it->second = static_cast<int8_t>(*p);
      }
      pos[i].push_back(it->second);
      if (it->second != kUnknown) ++counts[static_cast<size_t>(it->second)][w];
    }
  }
  std::vector<PosPool> pools(kNumPos);
  for (int p = 0; p < kNumPos; ++p) {
    int64_t total = 0;
    for (const auto& [w, count] : counts[static_cast<size_t>(p)]) {
      pools[static_cast<size_t>(p)].words.push_back(w);
      pools[static_cast<size_t>(p)].cumulative.push_back(total += count);
    }
  }

  const size_t per_doc = static_cast<size_t>(o.copies) + 1;
  TransferSet set;
  set.docs.resize(static_cast<size_t>(n) * per_doc);
  std::vector<AugmentStats> doc_stats(static_cast<size_t>(n));
  parallel_for(
      n,
      [&](int64_t i) {
        const size_t d = static_cast<size_t>(i);
        const data::Document& src = *train[d];
        TransferDoc* out = &set.docs[d * per_doc];
        out[0] = TransferDoc{src.id, i, 0, src.text, src.labels};
        AugmentStats& s = doc_stats[d];
        s.documents = 1;
        std::vector<std::vector<std::string>> accepted;  // earlier copies of this document
        for (int64_t copy = 1; copy <= o.copies; ++copy) {
          for (int64_t redraw = 0;; ++redraw) {
            const uint64_t attempt = static_cast<uint64_t>((copy - 1) * (o.max_redraws + 1) + redraw);
            Candidate c = draw_copy(words[d], pos[d], pools, o, AttemptRng{o.seed, attempt, static_cast<uint64_t>(i)});
            const bool rejected = c.all_changed || c.words == words[d] ||
                                  std::find(accepted.begin(), accepted.end(), c.words) != accepted.end();
            if (rejected && redraw < o.max_redraws) continue;
            add(s, c.stats);
            s.copies += 1;
            s.redraws += redraw;
            s.duplicates += rejected ? 1 : 0;
            out[copy] = TransferDoc{src.id + "#aug" + std::to_string(copy), i, copy, join(c.words), src.labels};
            accepted.push_back(std::move(c.words));
            break;
          }
        }
      },
      1);
  for (const AugmentStats& s : doc_stats) add(set.stats, s);
  return set;
}

std::string save_transfer_set(const TransferSet& set, const nlohmann::json& provenance,
                              const std::vector<std::string>& label_names, const std::string& dir) {
  DOCBERT_CHECK(std::filesystem::is_directory(dir), "save_transfer_set: {}: not a folder", dir);
  DOCBERT_CHECK(provenance.is_object(), "save_transfer_set: the provenance must be a JSON object, got {}",
                provenance.type_name());
  for (const char* key : {"format", "version", "documents", "stats", "transfer_checksum"})
    DOCBERT_CHECK(!provenance.contains(key), "save_transfer_set: provenance key \"{}\" is reserved", key);
  std::string jsonl;
  for (const TransferDoc& d : set.docs) {
    nlohmann::ordered_json j = record(d, label_names);
    j["check"] = checksum_hex(fnv1a64(dump(j, "the text of '" + d.id + "'")));
    jsonl += j.dump();
    jsonl += '\n';
  }
  const std::string checksum = checksum_hex(fnv1a64(jsonl));
  nlohmann::json prov = provenance;
  prov["format"] = kFormat;
  prov["version"] = kVersion;
  prov["documents"] = set.docs.size();
  prov["stats"] = to_json(set.stats);
  prov["transfer_checksum"] = checksum;
  const std::filesystem::path folder(dir);
  write_file_atomic((folder / "transfer.jsonl").string(), jsonl, "transfer set");
  write_file_atomic((folder / "provenance.json").string(), prov.dump(2) + "\n", "transfer-set provenance");
  return checksum;
}

TransferSet load_transfer_set(const std::string& dir, const std::vector<std::string>& label_names,
                              nlohmann::json* provenance) {
  const std::filesystem::path folder(dir);
  const std::string prov_path = (folder / "provenance.json").string();
  const std::string path = (folder / "transfer.jsonl").string();
  const nlohmann::json prov = parse_json_object(read_file(prov_path, "transfer-set provenance"), prov_path);
  // Compared as JSON values: a field of the wrong type is a mismatch, not a type_error from nlohmann.
  DOCBERT_CHECK(prov.contains("format") && prov.at("format") == kFormat,
                "{}: \"format\" must be \"{}\" (not a docbert transfer set?)", prov_path, kFormat);
  DOCBERT_CHECK(prov.contains("version") && prov.at("version") == kVersion, "{}: \"version\" must be {}", prov_path,
                kVersion);
  const auto documents = prov.find("documents");
  DOCBERT_CHECK(documents != prov.end() && documents->is_number_unsigned(),
                "{}: \"documents\" must be a non-negative integer", prov_path);
  const auto checksum = prov.find("transfer_checksum");
  DOCBERT_CHECK(checksum != prov.end() && checksum->is_string(), "{}: \"transfer_checksum\" must be a string",
                prov_path);
  const auto stats = prov.find("stats");
  DOCBERT_CHECK(stats != prov.end() && stats->is_object(), "{}: \"stats\" must be an object", prov_path);

  TransferSet set;
  set.stats = AugmentStats{
      stat(*stats, "documents", prov_path), stat(*stats, "copies", prov_path),   stat(*stats, "words", prov_path),
      stat(*stats, "masked", prov_path),    stat(*stats, "replaced", prov_path), stat(*stats, "unknown_pos", prov_path),
      stat(*stats, "cropped", prov_path),   stat(*stats, "redraws", prov_path),  stat(*stats, "duplicates", prov_path)};
  std::unordered_map<std::string, int32_t> label_ids;
  for (size_t i = 0; i < label_names.size(); ++i) label_ids.emplace(label_names[i], static_cast<int32_t>(i));

  const std::string text = read_file(path, "transfer set");
  size_t pos = 0;
  int64_t number = 0;
  std::string source_id;  // the id of the current source document (its copy 0)
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    DOCBERT_CHECK(end != std::string::npos, "{}:{}: the last line has no newline (truncated file?)", path, number + 1);
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++number;
    nlohmann::ordered_json j;
    try {
      j = nlohmann::ordered_json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      DOCBERT_THROW("{}:{}: malformed JSON: {}", path, number, e.what());
    }
    DOCBERT_CHECK(j.is_object() && j.size() == 6,
                  "{}:{}: expected an object with the keys id, source, copy, text, "
                  "labels and check",
                  path, number);
    TransferDoc d;
    const auto get = [&](const char* key) -> const nlohmann::ordered_json& {
      const auto it = j.find(key);
      DOCBERT_CHECK(it != j.end(), "{}:{}: \"{}\" is missing", path, number, key);
      return *it;
    };
    const nlohmann::ordered_json& id = get("id");
    const nlohmann::ordered_json& source = get("source");
    const nlohmann::ordered_json& copy = get("copy");
    const nlohmann::ordered_json& doc_text = get("text");
    const nlohmann::ordered_json& labels = get("labels");
    const nlohmann::ordered_json& check = get("check");
    DOCBERT_CHECK(id.is_string() && doc_text.is_string() && check.is_string(),
                  "{}:{}: \"id\", \"text\" and \"check\" must be strings", path, number);
    DOCBERT_CHECK(source.is_number_unsigned() && copy.is_number_unsigned(),
                  "{}:{}: \"source\" and \"copy\" must be non-negative integers", path, number);
    DOCBERT_CHECK(labels.is_array(), "{}:{}: \"labels\" must be an array of label names", path, number);
    d.id = id.get<std::string>();
    d.source = source.get<int64_t>();
    d.copy = copy.get<int64_t>();
    d.text = doc_text.get<std::string>();
    for (const auto& l : labels) {
      DOCBERT_CHECK(l.is_string(), "{}:{}: \"labels\" must hold strings, got a {}", path, number, l.type_name());
      const auto it = label_ids.find(l.get<std::string>());
      DOCBERT_CHECK(it != label_ids.end(), "{}:{}: unknown label '{}' (not among the dataset's {} labels)", path,
                    number, l.get<std::string>(), label_names.size());
      d.labels.push_back(it->second);
    }
    const std::string want = checksum_hex(fnv1a64(record(d, label_names).dump()));
    DOCBERT_CHECK(check.get<std::string>() == want,
                  "{}:{}: \"check\" is {} but the line's content hashes to {} (the line was edited)", path, number,
                  check.get<std::string>(), want);
    // Sequence: copy 0 opens the next source; copies follow it in order with ids derived from its id.
    const TransferDoc* prev = set.docs.empty() ? nullptr : &set.docs.back();
    if (d.copy == 0) {
      DOCBERT_CHECK(d.source == (prev ? prev->source + 1 : 0), "{}:{}: copy 0 of source {} out of sequence", path,
                    number, d.source);
      source_id = d.id;
    } else {
      DOCBERT_CHECK(prev && d.source == prev->source && d.copy == prev->copy + 1 &&
                        d.id == source_id + "#aug" + std::to_string(d.copy),
                    "{}:{}: copy {} of source {} ('{}') out of sequence", path, number, d.copy, d.source, d.id);
    }
    set.docs.push_back(std::move(d));
  }
  DOCBERT_CHECK(set.docs.size() == documents->get<size_t>(), "{}: {} documents, but {} says {}", path, set.docs.size(),
                prov_path, documents->get<size_t>());
  const std::string got = checksum_hex(fnv1a64(text));
  DOCBERT_CHECK(got == checksum->get<std::string>(),
                "{}: content checksum {} does not match {}'s transfer_checksum {} (reformatted or edited?)", path, got,
                prov_path, checksum->get<std::string>());
  if (provenance) *provenance = prov;
  return set;
}

}  // namespace docbert::train
