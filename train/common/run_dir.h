// train/common/run_dir.h: a run's --output-dir (train_teacher, distill_student): refusing to overwrite another run,
// finding the checkpoint to resume and checking that a resumed run has the settings it was started with.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace docbert::train {

// Creates output_dir when missing. Unless resuming, a folder that already holds a run (results.json, metrics.jsonl,
// best/, checkpoint-<step>/) is an error naming what it found, or with `overwrite` those are deleted first.
void prepare_output_dir(const std::string& output_dir, bool overwrite, bool resuming);

// The checkpoint folder `resume` names: "" for none; "auto" for the newest complete checkpoint of output_dir ("" when
// there is none: a fresh run); otherwise a folder that must hold trainer_state.json.
std::string resolve_resume(const std::string& resume, const std::string& output_dir);

// Throws, listing each difference, when a setting that changes the result differs between `saved` (the checkpoint's
// options as {name: value}) and `rows` (option_rows of this command line). Placement and run-control options
// (--threads, --device, --output-dir, --resume, ...) may differ; values that are equal numbers ("1e-3" and
// "0.001") are the same setting.
//   path  the checkpoint's trainer_state.json, for the message
void check_resume_options(const nlohmann::json& saved, const std::vector<std::pair<std::string, std::string>>& rows,
                          const std::string& path);

}  // namespace docbert::train
