// train/common/run_log.h: metrics.jsonl, the machine-readable log of a training run: one JSON object per line
// (per logged training window and per evaluation), flushed as it is written.
//
// A resumed run continues the same file. Records a killed run wrote after its last checkpoint are cut off first
// (the checkpoint stores the file's size), so the file of an interrupted and resumed run equals the file of an
// uninterrupted one.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

namespace docbert::train {

class JsonlLog {
 public:
  // Opens `path` for appending, creating it when missing.
  //   truncate_to  >= 0: first cut the file to this many bytes (the size a checkpoint recorded; larger than the file
  //                is an error: the log does not belong to that checkpoint); < 0: keep it as it is (a fresh run
  //                passes 0 to start empty)
  // Throws docbert::Error naming the file when it cannot be opened or cut.
  JsonlLog(const std::string& path, int64_t truncate_to);
  ~JsonlLog();
  JsonlLog(const JsonlLog&) = delete;
  JsonlLog& operator=(const JsonlLog&) = delete;

  // Appends `record` as one line and flushes it; throws when the write fails (a full disk is not silent).
  void write(const nlohmann::json& record);
  // The file's size in bytes after the last write (what a checkpoint records).
  int64_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  int64_t bytes_ = 0;
};

}  // namespace docbert::train
