// train/common/checkpoint.h: the checkpoint-<step>/ folders of a run's output directory.
//
// A checkpoint is filled in "<output>/checkpoint-<step>.tmp/" and renamed to "checkpoint-<step>/" only when
// complete, so a run killed while saving leaves a ".tmp" folder that resume ignores (and the next save removes),
// never a half-written checkpoint. What goes inside is the trainer's business (train/teacher/trainer.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace docbert::train {

// Writes checkpoint `step`: calls fill(folder) on a fresh "<output_dir>/checkpoint-<step>.tmp" and renames it to
// "<output_dir>/checkpoint-<step>" (replacing an older folder of that name). Returns the final path.
//   output_dir  an existing folder
//   fill        writes the checkpoint's files into the folder it is given; an exception leaves no checkpoint
std::string write_checkpoint(const std::string& output_dir, int64_t step,
                             const std::function<void(const std::string& folder)>& fill);

// The complete checkpoints of output_dir as (step, path), ascending by step; ".tmp" folders and other names are
// ignored. An output_dir that does not exist has none.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& output_dir);

// Deletes every complete checkpoint but the newest `keep_last` (>= 1), and leftover ".tmp" folders.
void prune_checkpoints(const std::string& output_dir, int64_t keep_last);

}  // namespace docbert::train
