// train/teacher/options.h: every setting of ./train_teacher, its command line (CLI11) and its printed/saved form.
//
// Defaults are DocBERT's recipe (../docs/training.md): BertAdam (no bias correction, eps 1e-6), lr 2e-5, batch 16,
// 512 tokens, 10% linear warmup then linear decay to 0 over the whole epoch budget, weight decay 0.01 except biases
// and LayerNorm, gradient clipping at 1.0 per tensor, dev evaluation every epoch, patience 5, seed 3435.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace docbert::train {

struct TeacherOptions {
  // data
  std::string data;             // dataset folder or file (any format of train/data/load_dataset.h)
  std::string format = "auto";  // data::parse_format names
  double dev_fraction = 0.1;    // formats without a dev split: the carved share of train
  std::string problem_type = "auto";  // auto (the format's own) | single | multi
  int64_t max_train_docs = 0;   // > 0: only the first N training documents (quick runs, tests)
  int64_t max_eval_docs = 0;    // > 0: only the first N dev and test documents
  // model
  std::string model;  // pretrained HF folder (encoder or a saved teacher); or
  std::string arch;   // a random-init preset: tiny|mini|small|base|large
  std::string vocab;  // vocab.txt for --arch (a --model folder brings its own)
  std::string head_bias_init = "zero";  // zero (DocBERT, HF) | prior: the training labels' log-odds
  // output
  std::string output_dir = "runs/teacher";
  // optimisation (DocBERT)
  int64_t epochs = 30;
  int64_t batch_size = 16;
  double lr = 2e-5;
  int64_t max_seq_length = 512;
  double warmup_proportion = 0.1;
  double weight_decay = 0.01;
  int64_t grad_accum_steps = 1;
  double max_grad_norm = 1.0;          // <= 0: no clipping
  std::string clip = "per-tensor";     // per-tensor (BertAdam) | global (torch clip_grad_norm_)
  bool bias_correction = false;        // BertAdam has none; true gives torch.optim.AdamW
  double adam_eps = 1e-6;              // BertAdam's epsilon
  uint64_t seed = 3435;                // hedwig's default: init, dropout and data order
  int64_t patience = 5;
  std::string truncation = "head";     // head | tail | head+tail
  int64_t head_pieces = 128;           // head+tail only
  int64_t max_steps = 0;               // > 0: stop after this many optimizer steps (also the schedule's length)
  int64_t eval_batch_size = 64;
  // placement
  std::string device = "auto";         // auto | cpu | cuda
  std::string precision = "fp32";      // fp32 | bf16
  int64_t threads = 0;                 // 0: all cores
  // run control
  bool eval_only = false;              // evaluate --model (a saved teacher) on dev and test, no training
  std::string resume;                  // "" (new run), "auto" (latest checkpoint in --output-dir) or a checkpoint dir
  int64_t log_every = 20;              // optimizer steps between train log lines
  int64_t save_every = 0;              // optimizer steps between checkpoints; 0 = at the end of every epoch
  int64_t keep_last = 2;               // checkpoints kept (older ones are deleted after a newer one is complete)
  bool no_progress = false;
  bool overwrite = false;              // allow a new run in an --output-dir that already holds one
  int64_t stop_after_steps = 0;        // > 0: checkpoint and exit after this step, as if killed (resume tests)
};

// Registers every option of `o` on `app` (with --config FILE: TOML/INI; unknown keys are errors).
void add_teacher_options(CLI::App& app, TeacherOptions& o);

// Checks values CLI11's validators cannot (combinations); throws docbert::Error naming the flag.
void validate(const TeacherOptions& o);

// The resolved settings as (flag name without "--", value) rows in --help order, read back from a parsed `app`
// (given values, or the defaults): the start-up table, the saved config and resume's consistency check.
std::vector<std::pair<std::string, std::string>> option_rows(const CLI::App& app);

// The rows as an aligned two-column table ("name  value" lines).
std::string format_table(const std::vector<std::pair<std::string, std::string>>& rows);

// The rows as a TOML file that --config reads back ("name = value"; strings quoted, numbers and booleans bare).
std::string to_toml(const std::vector<std::pair<std::string, std::string>>& rows);

}  // namespace docbert::train
