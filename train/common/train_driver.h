// train/common/train_driver.h: the one training loop of train_teacher and distill_student.
//
// The loop owns what both trainers do the same way: the epoch's batch plan, micro-batches and gradient
// accumulation, the optimizer step at the scheduled learning rate, timing and the "train" records of metrics.jsonl,
// checkpoints (every --save-every steps and after each epoch's dev evaluation), the epoch-end evaluation with best/
// and patience, --stop-after-steps, and resuming from a checkpoint. What differs comes in as TrainHooks: the
// micro-batch's loss, gradient clipping, the weight average, how dev is scored and best/ saved, and the model's part
// of a checkpoint.
//
// Divergence. A step whose loss (any of its micro-batches) or gradient norm is not finite is skipped: no optimizer
// update, its losses stay out of the logged means, TrainState::skipped_steps counts it. After --max-nonfinite-steps
// such steps in a row the run stops with an error naming the step, the last finite loss and what to try; the state
// is not checkpointed (the checkpoints written before stay). A dev evaluation whose loss is not finite never becomes
// best/, and a run without any finite evaluation ends in an error instead of scoring a broken model.
#pragma once

#include "engine/optim.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "models/problem_type.h"
#include "train/common/cli_options.h"
#include "train/common/run_log.h"
#include "train/common/train_loop.h"
#include "train/data/batching.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace docbert::train {

// One micro-batch's objective.
struct BatchLoss {
  Tensor loss;         // () what is backpropagated: the task loss (+ lambda x the distillation term)
  double distill = 0;  // the unweighted distillation term, for the log (0 without distillation)
};

// What differs between the trainers. batch_loss, evaluate_dev and save_checkpoint are required.
struct TrainHooks {
  // The objective of one micro-batch in training mode.
  //   rows  the batch's document indices into the training corpus
  //   rng   the dropout stream (the loop saves its offset in the checkpoint)
  std::function<BatchLoss(const std::vector<int64_t>& rows, RngStream& rng)> batch_loss;
  // Before an optimizer step whose gradients are finite: clipping, given the global gradient norm the loop has
  // computed (a () f64 tensor on the gradients' device), so it is not computed again. Optional.
  std::function<void(const Tensor& grad_norm)> before_step;
  // After each optimizer step: the weight average. Optional.
  std::function<void()> after_step;
  // Scores dev with the weights best/ keeps (the student's: the average) and returns the metrics record
  // (train/common/metrics.h's to_json plus "loss"); when keep(record) is true, first writes those weights as a
  // model folder to best_dir.
  std::function<nlohmann::json(const std::function<bool(const nlohmann::json&)>& keep, const std::string& best_dir)>
      evaluate_dev;
  // Writes the model and any state besides the optimizer's (the average) into a checkpoint folder.
  std::function<void(const std::string& dir)> save_checkpoint;
};

// The loop's settings (RunOptions brings the run-control ones: log, save, keep, stop-after, max-nonfinite).
struct TrainLoopConfig {
  const std::vector<std::vector<int32_t>>* tokens = nullptr;  // the training documents (the batch plan)
  data::BatchPlanOptions batching;
  int64_t epochs = 1;
  int64_t total_steps = 0;       // optimizer steps of the whole run
  int64_t grad_accum_steps = 1;  // micro-batches per step (the epoch's last step may take fewer)
  double lr = 0;                 // the base learning rate; step k uses lr x schedule.multiplier(k)
  LrSchedule schedule;
  uint64_t seed = 0;  // of the dropout stream
  int64_t patience = 0;
  ProblemType problem = ProblemType::MultiLabel;
  bool with_distill = false;    // train records carry "distill_loss"
  bool interactive = false;     // the progress bar redraws in place
  std::string divergence_hint;  // the settings to try when the run diverges ("a lower --lr (this run: 1)")
  // Saved as config.toml and in trainer_state.json, which also gets extra's keys.
  std::vector<std::pair<std::string, std::string>> rows;
  nlohmann::json checkpoint_extra = nlohmann::json::object();
};

// A checkpoint's tensors (optimizer.safetensors, ema.safetensors) in file order.
std::vector<NamedTensor> read_state_file(const std::string& path);

// The state of checkpoint folder `dir` to continue from: trainer_state.json (its options checked against rows,
// run_dir.h) and optimizer.safetensors loaded into `optimizer`. Prints "resumed from ...". Throws docbert::Error
// naming the file on a bad or mismatched checkpoint.
TrainState resume_training(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& rows,
                           AdamBase& optimizer, std::FILE* out);

// Trains from `st` (fresh, or from resume_training) until the epoch budget, total_steps or early stopping ends the
// run, or --stop-after-steps interrupts it. Returns true when training is over and output_dir/best holds the best
// model, false when interrupted (the state is checkpointed; a message says how to continue).
//   params     the trained parameters (gradients, their norm)
//   optimizer  stepped here and saved in every checkpoint
//   log        metrics.jsonl, opened at st.log_bytes
// Throws docbert::Error when the run diverges or when no dev evaluation was finite (see the file comment).
bool run_training(TrainState& st, const RunOptions& run, const TrainLoopConfig& c, const TrainHooks& hooks,
                  ParameterRegistry& params, AdamBase& optimizer, JsonlLog& log, std::FILE* out);

}  // namespace docbert::train
