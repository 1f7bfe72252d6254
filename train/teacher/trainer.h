// train/teacher/trainer.h: ./train_teacher's run: DocBERT's fine-tuning of a BERT classifier, with evaluation,
// model selection, early stopping, checkpoints and resume.
//
// A run, in --output-dir:
//   config.toml          the resolved options (a --config file that reproduces the run)
//   metrics.jsonl        one record per --log-every optimizer steps ("split": "train": step, epoch, loss, lr,
//                        grad_norm, docs_per_s) and per evaluation ("split": "dev"/"test": loss and the metrics of
//                        train/common/metrics.h)
//   best/                the best model so far by dev micro-F1 (accuracy for single-label): an HF
//                        BertForSequenceClassification folder with vocab.txt and tokenizer_config.json
//   checkpoint-<step>/   model/ (as best/), optimizer.safetensors (Adam moments and step), trainer_state.json
//                        (schedule position, epoch and batch cursor, dropout RNG offset, early-stopping state,
//                        log size), config.toml; written atomically (train/common/checkpoint.h)
//   curves.svg           train and dev loss and the dev metric per epoch
//   results.json         {"dev": {...}, "test": {...}, "best_epoch", "params", "train_seconds", "device",
//                        "gpu_memory", ...} of the best model, reloaded from best/ at the end
// The loop itself is train/common/train_driver.h's, shared with distill_student (including what a diverging run
// does: skipped steps, --max-nonfinite-steps, no NaN model as best/).
// docs/training.md describes the recipe, the step accounting and the resume guarantee (on the CPU a resumed run's
// metrics.jsonl is byte-identical to an uninterrupted run's).
#pragma once

#include "train/teacher/options.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace docbert::train {

// Runs ./train_teacher and returns what it wrote to results.json.
//   o     the options (validate()d)
//   rows  option_rows() of the parsed command line: saved as config.toml and compared on --resume (settings that
//         change the result must match the checkpoint's; placement and run-control ones may differ)
//   out   human-readable output: the option table, load reports, per-epoch dev metrics, the final scores
// Throws docbert::Error on bad input (data, checkpoint, output folder) before anything in --output-dir is
// overwritten, and when the run diverges or no dev evaluation was finite (train/common/train_driver.h).
nlohmann::json run_teacher(const TeacherOptions& o, const std::vector<std::pair<std::string, std::string>>& rows,
                           std::FILE* out);

}  // namespace docbert::train
