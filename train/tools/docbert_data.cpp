// docbert_data: converts a document-classification corpus to the canonical dataset folder and prints its
// statistics.
//
//   docbert_data convert --input ../shared/data/reuters21578 --output data/reuters
//   docbert_data stats --input data/reuters --vocab ../shared/data/vocab/bert-base-uncased/vocab.txt
//   docbert_data vocab --input data/reuters --kind words --output data/reuters/words.txt
//
// Formats, the dev-carving rule, the bad-row policy and the folder layout: docs/datasets.md.
#include "base/error.h"
#include "tokenizer/sentencepiece_model.h"
#include "tokenizer/word_vocab.h"
#include "tokenizer/wordpiece.h"
#include "train/data/canonical.h"
#include "train/data/label_file.h"
#include "train/data/load_dataset.h"
#include "train/data/stats.h"
#include "train/data/text_lines.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using namespace docbert;

namespace {

struct Args {
  std::string input, output, format = "auto", name, vocab, reuters_dev, labels;
  data::ReadOptions read;
  // vocab subcommand
  std::string kind = "words", vocab_from = "train", sp_type = "unigram";
  tok::WordVocabOptions words;
  int sp_vocab_size = 8000;
};

// The one place WordPiece counting plugs in: a piece counter for vocabulary file `vocab` (uncased BERT
// normalisation, tok::WordPieceOptions' defaults), or an empty one, which leaves the WordPiece rows out.
data::PieceCounter piece_counter(const std::string& vocab) {
  if (vocab.empty()) return {};
  struct Counter {
    tok::WordPiece wordpiece;
    std::vector<int32_t> ids;  // reused between documents
  };
  auto counter = std::make_shared<Counter>(Counter{tok::WordPiece::from_vocab(vocab), {}});
  return [counter](std::string_view text) {
    counter->wordpiece.tokenize_ids(text, counter->ids);
    return static_cast<int64_t>(counter->ids.size());
  };
}

// The reading options, shared by every subcommand.
void add_input_options(CLI::App& cmd, Args& a) {
  cmd.add_option("--input", a.input, "Dataset folder (see --format)")->required();
  cmd.add_option("--format", a.format,
                 "auto|canonical|reuters-sgml|hedwig-tsv|r8|r52|imdb|folder|jsonl|csv (auto: guessed from the "
                 "files in --input)")
      ->capture_default_str();
  cmd.add_option("--dev-fraction", a.read.dev_fraction,
                 "Fraction of train carved out as dev when the format has no dev split")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--seed", a.read.dev_seed, "Seed of the dev carving (docbert::seeded_shuffle)")->capture_default_str();
  cmd.add_flag("--skip-bad-rows", a.read.skip_bad_rows,
               "Drop malformed rows and count them (default: the first one is an error naming file and line)");
  cmd.add_option("--max-line-bytes", a.read.max_line_bytes, "Longest accepted line (or CSV record, or folder file)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_flag("--allow-empty-text", a.read.allow_empty_text,
               "Keep documents with empty text (DocBERT's Reuters has some; its reader always keeps them)");
  cmd.add_flag("--skip-first-row", a.read.skip_first_row,
               "hedwig-tsv: drop line 1 of every file, as hedwig's BERT processors do");
  cmd.add_option("--labels", a.labels,
                 "hedwig-tsv, jsonl, csv (refused for other formats): label names, one per line in index order "
                 "(default: labels.txt beside the files, else the format's rule)");
  cmd.add_option("--reuters-dev", a.reuters_dev,
                 "reuters-sgml: DocBERT's dev TSV (default: INPUT/docbert-split/reuters_validation.tsv)");
}

// The options of the statistics printout (convert and stats).
void add_stats_options(CLI::App& cmd, Args& a) {
  cmd.add_option("--vocab", a.vocab, "WordPiece vocab.txt: adds WordPiece rows to the statistics");
}

data::Dataset load(const Args& a) {
  data::ReadOptions read = a.read;
  read.reuters_dev_tsv = a.reuters_dev;
  if (!a.labels.empty()) {
    read.label_names = data::parse_label_names(docbert::read_file(a.labels, "label name file"), a.labels);
    read.label_names_source = a.labels;
  }
  data::Dataset ds = data::load_dataset(a.input, data::parse_format(a.format), read);
  if (!a.name.empty()) ds.name = a.name;
  return ds;
}

// "the training split" or "train + dev + test", for messages.
const char* counted_over(data::VocabSource source) {
  return source == data::VocabSource::Train ? "the training split" : "train + dev + test";
}

// Builds the student vocabulary a.kind over the texts a.vocab_from selects, writes it to a.output and prints its
// size and how it covers each split (out-of-vocabulary words, or pieces per document).
void build_vocab(const Args& a, const data::Dataset& ds) {
  const data::VocabSource source = data::parse_vocab_source(a.vocab_from);
  const std::vector<std::string> texts = data::vocab_texts(ds, source);
  if (a.kind == "sentencepiece") {
    tok::SentencePieceTrainOptions options;
    options.model_type = tok::parse_sentencepiece_type(a.sp_type);
    options.vocab_size = a.sp_vocab_size;
    const tok::SentencePieceModel model = tok::SentencePieceModel::train(texts, options);
    model.save(a.output);
    fmt::print("wrote {}: SentencePiece {} model, {} pieces, trained on {}\n", a.output, a.sp_type, model.vocab_size(),
               counted_over(source));
    for (data::Split split : {data::Split::Train, data::Split::Dev, data::Split::Test}) {
      int64_t pieces = 0, unk = 0;
      const auto docs = ds.split(split);
      for (const data::Document* d : docs)
        for (int32_t id : model.encode(d->text)) ++pieces, unk += id == tok::SentencePieceModel::kUnkId;
      fmt::print("  {:<5} {:>8.1f} pieces per document, {:.3f}% [UNK]\n", data::split_name(split),
                 docs.empty() ? 0.0 : double(pieces) / double(docs.size()), pieces ? 100.0 * unk / pieces : 0.0);
    }
    return;
  }
  const tok::WordTokenizer tokenizer(a.kind == "words" ? tok::WordTokenizerKind::Basic
                                                       : tok::WordTokenizerKind::Hedwig);
  const tok::WordVocab vocab = tok::WordVocab::build(texts, tokenizer, a.words);
  vocab.save(a.output);
  fmt::print("wrote {}: {} words ({} tokenizer, min count {}), counted over {}\n", a.output, vocab.size(),
             tok::word_tokenizer_name(tokenizer.kind()), a.words.min_freq, counted_over(source));
  for (data::Split split : {data::Split::Train, data::Split::Dev, data::Split::Test}) {
    int64_t words = 0, oov = 0;
    for (const data::Document* d : ds.split(split))
      words += static_cast<int64_t>(vocab.encode(d->text, tokenizer, &oov).size());
    fmt::print("  {:<5} {:>9} words, {:.2f}% out of vocabulary\n", data::split_name(split), words,
               words ? 100.0 * double(oov) / double(words) : 0.0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "docbert_data: convert document-classification corpora to docbert's canonical dataset folder "
      "(dataset.json + train/dev/test.jsonl) and print statistics. Formats and rules: docs/datasets.md."};
  app.require_subcommand(1);
  Args a;
  CLI::App* convert = app.add_subcommand("convert", "Read --input and write the canonical folder --output");
  add_input_options(*convert, a);
  add_stats_options(*convert, a);
  convert->add_option("--output", a.output, "Canonical dataset folder to write (new, empty or a dataset folder)")
      ->required();
  convert->add_option("--name", a.name, "Dataset name (default: the reader's, e.g. reuters, r8, the folder name)");
  CLI::App* stats = app.add_subcommand("stats", "Print the statistics of --input");
  add_input_options(*stats, a);
  add_stats_options(*stats, a);
  CLI::App* vocab = app.add_subcommand("vocab", "Build a student vocabulary (words or SentencePiece) from --input");
  add_input_options(*vocab, a);
  vocab->add_option("--output", a.output, "Vocabulary file to write (word list, or SentencePiece .model)")->required();
  vocab
      ->add_option("--kind", a.kind,
                   "words (BERT's basic tokenizer), hedwig-words (hedwig's clean_string) or sentencepiece")
      ->capture_default_str()
      ->check(CLI::IsMember({"words", "hedwig-words", "sentencepiece"}));
  vocab
      ->add_option("--vocab-from", a.vocab_from,
                   "train (default: no dev/test word shapes the model) or all (train + dev + test, as hedwig)")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "all"}));
  const CLI::Option* min_freq =
      vocab->add_option("--min-freq", a.words.min_freq, "words: keep words seen at least this often")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
  const CLI::Option* max_size =
      vocab->add_option("--max-size", a.words.max_size, "words: keep at most this many words (0 = all)")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber);
  const CLI::Option* sp_vocab_size = vocab
                                         ->add_option("--sp-vocab-size", a.sp_vocab_size,
                                                      "sentencepiece: pieces in the model, [PAD] and [UNK] included")
                                         ->capture_default_str()
                                         ->check(CLI::PositiveNumber);
  const CLI::Option* sp_type = vocab->add_option("--sp-type", a.sp_type, "sentencepiece: unigram or bpe")
                                   ->capture_default_str()
                                   ->check(CLI::IsMember({"unigram", "bpe"}));
  // An option of the other vocabulary kind would be silently ignored: a usage error instead.
  vocab->callback([&] {
    const bool sp = a.kind == "sentencepiece";
    for (const CLI::Option* o : sp ? std::vector{min_freq, max_size} : std::vector{sp_vocab_size, sp_type})
      if (o->count() > 0)
        throw CLI::ValidationError(o->get_name(), sp ? "applies to --kind words and hedwig-words, not sentencepiece"
                                                     : "applies to --kind sentencepiece only");
  });
  // Usage errors are CLI11's: it prints the message and exits with its own non-zero code (105 for a bad value, 106
  // for a missing option, ...); errors in the data exit with 1 below (docs/datasets.md).
  CLI11_PARSE(app, argc, argv);
  return run_main("docbert_data", [&] {
    const data::PieceCounter counter = piece_counter(a.vocab);
    const data::Dataset ds = load(a);
    if (vocab->parsed()) {
      build_vocab(a, ds);
      return 0;
    }
    if (convert->parsed()) {
      data::save_canonical(ds, a.output);
      fmt::print("wrote {} ({} train, {} dev, {} test documents)\n", a.output, ds.count(data::Split::Train),
                 ds.count(data::Split::Dev), ds.count(data::Split::Test));
    }
    fmt::print("{}", data::format_stats(data::compute_stats(ds, counter)));
    return 0;
  });
}
