// train/student/trainer.h: ./distill_student's run: DocBERT's distillation of a BERT teacher into LSTM_reg, or
// LSTM_reg trained on the labels alone (no teacher, or --distill-weight 0).
//
// The steps:
//   1. the transfer set: the training documents plus --augment-copies masked / POS-swapped copies of each
//      (train/student/augment.h), saved with its provenance in --output-dir/transfer/;
//   2. the student's vocabulary, counted over the transfer set (word tokenizers), or the teacher's WordPiece one;
//   3. the teacher's logits over the transfer set (train/student/soft_targets.h: computed once, cached and keyed);
//   4. training: Adam at a constant lr on task loss + lambda * distillation loss over the transfer set, the weights'
//      moving average (EMA) after every step, dev evaluation with the averaged weights every epoch, best/ on the best
//      dev micro-F1 (accuracy for single-label), patience.
// A run, in --output-dir (the same layout as train_teacher's, train/teacher/trainer.h):
//   config.toml, metrics.jsonl ("train" records add "distill_loss", the unweighted distillation term), curves.svg,
//   results.json, transfer/ (transfer.jsonl + provenance.json),
//   best/                the averaged weights of the best epoch: config.json + model.safetensors (LSTM_reg) + the
//                        student's vocabulary and student_tokenizer.json (train/student/model_dir.h)
//   checkpoint-<step>/   model/ (the training weights, as best/), optimizer.safetensors, ema.safetensors,
//                        trainer_state.json, config.toml
// The loop is train/common/train_driver.h's, shared with train_teacher. docs/distillation.md gives the recipe and its
// decisions.
#pragma once

#include "train/student/options.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace docbert::train {

// Runs ./distill_student and returns what it wrote to results.json (or {"interrupted_at_step": N} after
// --stop-after-steps).
//   o     the options (validate()d)
//   rows  option_rows() of the parsed command line: saved as config.toml and compared on --resume
//   out   human-readable output: the option table, the transfer set, soft targets, per-epoch dev metrics, the scores
// Throws docbert::Error on bad input (data, teacher, word vectors, checkpoint, output folder) before anything in
// --output-dir is overwritten, and when the run diverges or no dev evaluation was finite
// (train/common/train_driver.h).
nlohmann::json run_student(const StudentOptions& o, const std::vector<std::pair<std::string, std::string>>& rows,
                           std::FILE* out);

}  // namespace docbert::train
