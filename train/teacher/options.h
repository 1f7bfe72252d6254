// train/teacher/options.h: every setting of ./train_teacher and its command line (CLI11).
//
// Defaults are DocBERT's recipe (../docs/training.md): BertAdam (no bias correction, eps 1e-6), lr 2e-5, batch 16,
// 512 tokens, 10% linear warmup then linear decay to 0 over the whole epoch budget, weight decay 0.01 except biases
// and LayerNorm, gradient clipping at 1.0 per tensor, dev evaluation every epoch, patience 5, seed 3435.
#pragma once

#include "train/common/cli_options.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace docbert::train {

// DataOptions and RunOptions (train/common/cli_options.h) hold the flags both trainers share.
struct TeacherOptions : DataOptions, RunOptions {
  TeacherOptions() { output_dir = "runs/teacher"; }
  // model
  std::string model;  // pretrained HF folder (encoder or a saved teacher); or
  std::string arch;   // a random-init preset: tiny|mini|small|base|large
  std::string vocab;  // vocab.txt for --arch (a --model folder brings its own)
  std::string head_bias_init = "zero";  // zero (DocBERT, HF) | prior: the training labels' log-odds
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
  std::string precision = "fp32";      // fp32 | bf16
  bool eval_only = false;              // evaluate --model (a saved teacher) on dev and test, no training
};

// Registers every option of `o` on `app` (with --config FILE: TOML/INI; unknown keys are errors).
void add_teacher_options(CLI::App& app, TeacherOptions& o);

// Checks values CLI11's validators cannot (combinations); throws docbert::Error naming the flag.
void validate(const TeacherOptions& o);

}  // namespace docbert::train
