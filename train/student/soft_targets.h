// train/student/soft_targets.h: the teacher's logits over the transfer set, the distillation targets, computed once
// and cached on disk.
//
// The teacher is frozen and the transfer set is fixed, so its logits are computed once (eval mode, no dropout) and
// kept as a logits file (train/common/logits_file.h) in a cache folder, named by a key over everything the logits
// depend on:
//   - the teacher: a checksum of the bytes of its config.json, model.safetensors, vocab.txt and
//     tokenizer_config.json (a retrained or edited teacher in the same folder gets a new key);
//   - the transfer set: a checksum of its document ids and texts (the data, the augmentation settings and seed);
//   - the teacher's input: max_seq_length and truncation.
// The file's metadata repeats those parts and a checksum of the logits' bytes. A cached file is used only when all of
// them, its document ids and its labels match; anything else (a stale key, a truncated or edited file, a file from
// another transfer set) is reported with the reason and recomputed, never used.
#pragma once

#include "engine/tensor.h"
#include "models/problem_type.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace docbert::train {

struct SoftTargetOptions {
  std::string teacher_dir;     // a saved teacher (train_teacher's best/: HF BertForSequenceClassification + vocab)
  std::string cache_dir;       // where the logits files live (created when missing)
  int64_t max_seq_length = 0;  // the teacher's input length; 0: the length it was trained with
  std::string truncation = "head";  // head | tail | head+tail
  int64_t head_pieces = 128;        // head+tail only
  int64_t batch_size = 64;          // teacher inference batch
};

// What the student trains against.
struct SoftTargets {
  Tensor logits;            // (N, K) f32, row i for the i-th transfer document, columns in the dataset's label order
  std::string path;         // the logits file read or written
  bool from_cache = false;  // read from an existing file (false: computed now)
  std::string key;          // the cache key (16 hex digits)
};

// The teacher's logits over the transfer documents, from the cache when a valid file exists, else computed and
// written there (atomically). Progress and the cache decision go to `out`.
//   o            teacher, cache folder, input length
//   ids, texts   the transfer set's document ids (distinct) and texts, row order
//   label_names  the dataset's labels: the teacher must know each (it may know more; its other columns are dropped)
//   problem      the dataset's problem type; the teacher's must be the same
//   interactive  a progress bar on stderr while the teacher runs
// Throws docbert::Error naming the folder or file: an unreadable teacher, other labels or problem type, an unwritable
// cache folder.
SoftTargets teacher_soft_targets(const SoftTargetOptions& o, const std::vector<std::string>& ids,
                                 const std::vector<std::string>& texts, const std::vector<std::string>& label_names,
                                 ProblemType problem, std::FILE* out, bool interactive);

// Logits a user computed elsewhere (docbert_predict --save-logits over the transfer set's transfer.jsonl): its
// document ids must be the transfer set's, in any order, and its labels must cover label_names; the problem types
// must agree. Returns (N, K) f32 in the transfer set's row order and the dataset's label order. Errors name `path`.
Tensor soft_targets_from_file(const std::string& path, const std::vector<std::string>& ids,
                              const std::vector<std::string>& label_names, ProblemType problem);

}  // namespace docbert::train
