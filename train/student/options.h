// train/student/options.h: every setting of ./distill_student and its command line (CLI11).
//
// Defaults are hedwig's LSTM_reg command for Reuters (embed 300, hidden 512, bidirectional, dropout 0.5,
// embed-droprate 0.2, wdrop 0.1, Adam lr 0.01, 30 epochs, patience 5, EMA 0.99, seed 3435) and DocBERT's
// distillation (a 3x transfer set of masked and POS-swapped copies, lambda 1 multi-label / 4 single-label, batch 128
// multi-label / 64 single-label). Without --teacher (or with --distill-weight 0) it trains the LSTM_reg baseline at
// batch 32. docs/distillation.md gives the recipe and each decision the paper leaves open.
#pragma once

#include "train/common/cli_options.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace docbert::train {

struct StudentOptions : DataOptions, RunOptions {
  StudentOptions() { output_dir = "runs/student"; }
  // student input
  std::string tokenizer = "word";  // word | word-hedwig | wordpiece | sentencepiece
  std::string vocab;               // wordpiece: vocab.txt (default: the teacher's); sentencepiece: the .model file
  int64_t min_freq = 1;            // word kinds: keep words seen this often in the transfer set
  int64_t max_vocab = 0;           // word kinds: at most this many words (0: all)
  int64_t max_tokens = 0;          // tokens per document (0: whole documents, as hedwig)
  // student model (models/lstm_reg/config.h)
  std::string embeddings = "rand";  // rand | word2vec | teacher
  std::string word_vectors;         // word2vec/GloVe file (text or binary) for --embeddings word2vec
  bool freeze_embeddings = false;   // hedwig's static mode
  int64_t embed_dim = 300;
  int64_t hidden = 512;
  bool bidirectional = true;
  double dropout = 0.5;
  double embed_droprate = 0.2;
  double wdrop = 0.1;
  std::string wdrop_directions = "both";  // both | forward (hedwig's quirk)
  double tar = 0;
  double ar = 0;
  // optimisation
  int64_t epochs = 30;
  int64_t batch_size = 0;  // 0: 32 without distillation, else 128 (multi-label) / 64 (single-label)
  double lr = 0.01;
  double weight_decay = 0;
  double beta_ema = 0.99;              // 0: no weight averaging
  bool ema_bias_correction = false;    // hedwig's load_ema_params quirk (divides by 1 - beta^t)
  uint64_t seed = 3435;
  int64_t patience = 5;
  int64_t max_steps = 0;
  int64_t eval_batch_size = 128;
  // distillation
  std::string teacher;                 // a saved teacher folder (train_teacher's best/)
  std::string soft_targets;            // or a logits file over the transfer set (docbert_predict --save-logits)
  double distill_weight = -1;          // lambda; < 0: 1 multi-label, 4 single-label; 0: no distillation
  std::string distill_loss = "kl";     // kl | mse
  std::string distill_reduction = "auto";  // auto | batchmean (sum over classes/labels) | mean (also over them)
  double temperature = 1;
  int64_t teacher_max_seq_length = 0;  // 0: the length the teacher was trained with
  int64_t teacher_batch_size = 64;
  std::string cache_dir;               // soft-target cache ("": $XDG_CACHE_HOME/docbert/soft-targets)
  // transfer set
  int64_t augment_copies = -1;         // < 0: 2 (DocBERT's 3x Reuters set) with a teacher, 0 without
  double mask_prob = 0.1;
  double pos_prob = 0.1;
  double ngram_prob = 0;
  int64_t ngram_max = 5;
  bool replace_function_words = false;  // also swap closed-class words WordNet lists ("in" as a noun: inch)
  uint64_t augment_seed = 3435;        // its own seed, so runs with other --seed share one transfer set and cache
  std::string wordnet;                 // WordNet dict folder ("": the Debian wordnet-base location)
};

// Registers every option of `o` on `app` (with --config FILE: TOML/INI; unknown keys are errors).
void add_student_options(CLI::App& app, StudentOptions& o);

// Checks values CLI11's validators cannot (combinations); throws docbert::Error naming the flag.
void validate(const StudentOptions& o);

// --distill-weight, --batch-size and --augment-copies with their automatic values filled in.
//   multi_label  the dataset's problem type
double resolved_distill_weight(const StudentOptions& o, bool multi_label);
int64_t resolved_batch_size(const StudentOptions& o, bool multi_label);
int64_t resolved_augment_copies(const StudentOptions& o);
// --distill-reduction auto: "batchmean" for single-label (one KL per document, as cross-entropy is one term per
// document), "mean" for multi-label (one KL per label, averaged as BCE averages over labels).
std::string resolved_distill_reduction(const StudentOptions& o, bool multi_label);

}  // namespace docbert::train
