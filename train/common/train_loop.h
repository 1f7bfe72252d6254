// train/common/train_loop.h: the pieces of a classifier's training loop that train_teacher and distill_student
// share: the loss targets of a batch, the trainer state a checkpoint saves, dev selection, the per-epoch curves and
// the metric lines and log records.
#pragma once

#include "engine/tensor.h"
#include "models/problem_type.h"
#include "train/common/run_log.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace docbert::train {

// Dropout draws its Philox counters from here up; initialisers (RngStream{seed, 0}) count up from 0 and never get
// near, so a seed gives independent init and dropout streams.
constexpr uint64_t kDropoutOffset = uint64_t{1} << 40;

// The loss targets of `rows`: class indices (B) i64 for single-label (each document's one label), multi-hot (B, K)
// f32 for multi-label.
//   labels      per document, the model's label ids (sorted)
//   rows        the batch's document indices into `labels`
//   num_labels  K
Tensor label_targets(const std::vector<std::vector<int32_t>>& labels, const std::vector<int64_t>& rows,
                     ProblemType problem, int64_t num_labels);

// 0, 1, ..., n-1: every document of a split as one list of rows.
std::vector<int64_t> all_rows(int64_t n);

// Dev selection: accuracy for single-label, micro-F1 for multi-label, read from a metrics record (to_json of
// train/common/metrics.h), and its display name.
double selection(const nlohmann::json& metrics, ProblemType problem);
const char* selection_name(ProblemType problem);

// What a run holds between steps; all of it goes into trainer_state.json.
struct TrainState {
  int64_t step = 0;   // optimizer steps taken
  int64_t epoch = 0;  // current epoch (0-based)
  int64_t batch = 0;  // next micro-batch of the epoch
  uint64_t rng_offset = kDropoutOffset;
  double window_loss = 0;     // sum of the micro-batch losses of the steps taken since the last train record
  double window_distill = 0;  // of which the distillation term (distill_student; 0 for the teacher)
  int64_t window_batches = 0, window_docs = 0;
  double window_seconds = 0;
  double epoch_loss = 0;  // sum of the micro-batch losses of the steps taken in this epoch
  int64_t epoch_batches = 0;
  double best = -1;  // the best dev score so far; scores are in [0, 1], so any first evaluation improves on it
  int64_t best_epoch = -1, best_step = 0, bad_epochs = 0;
  int64_t skipped_steps = 0;     // steps without an update: a non-finite loss or gradient
  int64_t nonfinite_streak = 0;  // of which the latest in a row (train/common/train_driver.h)
  int64_t last_finite_step = 0;  // the last step that updated the weights (0: none yet) and its mean loss
  double last_finite_loss = 0;
  double train_seconds = 0;
  int64_t log_bytes = 0;
  nlohmann::json history = nlohmann::json::array();  // per evaluated epoch: epoch, train_loss, dev_loss, dev_metric
  bool stopped_early = false;
};
// A field missing from a checkpoint's state (one written before the field existed) takes its default.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainState, step, epoch, batch, rng_offset, window_loss, window_distill,
                                                window_batches, window_docs, window_seconds, epoch_loss, epoch_batches,
                                                best, best_epoch, best_step, bad_epochs, skipped_steps,
                                                nonfinite_streak, last_finite_step, last_finite_loss, train_seconds,
                                                log_bytes, history, stopped_early)

// A checkpoint's state; errors name `path` (its trainer_state.json).
TrainState state_from_json(const nlohmann::json& j, const std::string& path);

// output_dir/curves.svg from TrainState::history: train and dev loss, and the dev selection metric, per epoch.
void write_curves(const std::string& output_dir, const nlohmann::json& history, ProblemType problem);

// "loss L  accuracy A  micro P/R/F1 p/r/f  macro F1 m" of a metrics record with a "loss".
std::string metrics_line(const nlohmann::json& m);

// A metrics.jsonl evaluation record: {"split", "step", "epoch"} followed by the metrics.
nlohmann::json eval_record(const char* split, int64_t step, double epoch, nlohmann::json metrics);

// The "train" record of the steps since the last one ({"split": "train", step, epoch, loss, [distill_loss,] lr,
// grad_norm, skipped_steps, docs_per_s}); starts a new window. loss (and distill_loss) is the mean over the
// micro-batches of the steps taken (null when every step of the window was skipped); skipped_steps counts the run's
// skipped steps so far.
//   epoch_pos     epochs done, fractional
//   lr, grad_norm  of the last step
//   with_distill  adds the mean distillation term (distill_student)
nlohmann::json take_train_record(TrainState& st, double epoch_pos, double lr, double grad_norm, bool with_distill);

// Whether dev metrics `m` beat the best score so far with a finite loss (the caller then saves best/ before
// record_dev_eval): a model whose dev loss is NaN or infinite is never kept, whatever its score.
bool improves(const TrainState& st, const nlohmann::json& m, ProblemType problem);

// The bookkeeping of an epoch-end dev evaluation: its log record, the history entry, the best/patience fields, the
// printed "epoch ... dev ..." line (and a warning when the dev loss is not finite) and curves.svg in out_dir.
void record_dev_eval(TrainState& st, double epoch_pos, const nlohmann::json& m, ProblemType problem, JsonlLog& log,
                     const std::string& out_dir, std::FILE* out);

// After an epoch's evaluation: early stopping (patience > 0 epochs without a better score) and, when the epoch's
// batches are all done, the move to the next epoch. Returns whether training is over (stopped early or
// total_steps reached).
bool close_epoch(TrainState& st, bool epoch_done, int64_t patience, int64_t total_steps, ProblemType problem,
                 std::FILE* out);

// A checkpoint folder's trainer_state.json ({"state": st, "options": rows as {name: value}, and extra's keys}) and
// config.toml (rows, train/common/cli_options.h).
void write_trainer_state(const std::string& dir, const TrainState& st,
                         const std::vector<std::pair<std::string, std::string>>& rows, const nlohmann::json& extra);

// results.json's "device" ("cpu", "cuda") and, on CUDA, "gpu_memory": {"peak_bytes", "current_bytes"} of the caching
// allocator (engine/device.h; null on the CPU).
void add_device_results(nlohmann::json& results, Device device);

// What both trainers' results.json hold: the best model's "dev" and "test" (null without a test split) metrics, the
// run's best_epoch, best_step, steps, epochs_run, stopped_early, skipped_steps, train_seconds, wall_seconds (since
// t_start, steady_seconds()) and the device fields of add_device_results. Each trainer adds its own keys.
nlohmann::json run_results(const TrainState& st, nlohmann::json dev, nlohmann::json test, Device device,
                           double t_start);

// The end of a run: the best model's "dev" and "test" (null without a test split) metrics of `results` as log
// records, results.json in out_dir, and the printed summary.
void report_results(JsonlLog& log, const nlohmann::json& results, const TrainState& st, const std::string& out_dir,
                    std::FILE* out);

}  // namespace docbert::train
