#include "train/common/run_dir.h"

#include "base/error.h"
#include "train/common/checkpoint.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

namespace docbert::train {

namespace fs = std::filesystem;

namespace {

// Settings that may differ between a run and its resumption: they change where and how fast, not what (a run
// --max-nonfinite-steps would stop gives no result at all).
const std::set<std::string> kResumeMayChange = {
    "resume",    "threads", "no-progress", "stop-after-steps", "overwrite",
    "keep-last", "device",  "output-dir",  "eval-batch-size",  "max-nonfinite-steps"};

// Whether two option values are the same setting: equal text, or equal numbers ("1e-3" and "0.001").
bool same_setting(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char *end_a = nullptr, *end_b = nullptr;
  const double x = std::strtod(a.c_str(), &end_a), y = std::strtod(b.c_str(), &end_b);
  return !a.empty() && !b.empty() && *end_a == '\0' && *end_b == '\0' && x == y;
}

}  // namespace

void prepare_output_dir(const std::string& output_dir, bool overwrite, bool resuming) {
  std::error_code ec;
  fs::create_directories(output_dir, ec);
  DOCBERT_CHECK(!ec, "--output-dir {}: cannot create it: {}", output_dir, ec.message());
  DOCBERT_CHECK(fs::is_directory(output_dir), "--output-dir {}: not a folder", output_dir);
  if (resuming) return;
  std::vector<std::string> found;
  for (const char* name : {"results.json", "metrics.jsonl", "best"})
    if (fs::exists(fs::path(output_dir) / name)) found.push_back(name);
  for (const auto& [step, path] : list_checkpoints(output_dir)) found.push_back(fs::path(path).filename().string());
  if (found.empty()) return;
  DOCBERT_CHECK(overwrite,
                "--output-dir {} already holds a run ({}): pass --resume auto to continue it, --overwrite to replace "
                "it, or choose another folder",
                output_dir, fmt::join(found, ", "));
  for (const auto& [step, path] : list_checkpoints(output_dir)) fs::remove_all(path);
  fs::remove_all(fs::path(output_dir) / "best");
  fs::remove(fs::path(output_dir) / "results.json");
}

std::string resolve_resume(const std::string& resume, const std::string& output_dir) {
  if (resume.empty()) return "";
  if (resume == "auto") {
    const auto all = list_checkpoints(output_dir);
    return all.empty() ? "" : all.back().second;
  }
  DOCBERT_CHECK(fs::is_regular_file(fs::path(resume) / "trainer_state.json"),
                "--resume {}: not a checkpoint folder (no trainer_state.json)", resume);
  return resume;
}

void check_resume_options(const nlohmann::json& saved, const std::vector<std::pair<std::string, std::string>>& rows,
                          const std::string& path) {
  const std::map<std::string, std::string> now(rows.begin(), rows.end());
  std::string diffs;
  for (const auto& [key, value] : saved.items()) {
    if (kResumeMayChange.count(key) != 0) continue;
    const auto it = now.find(key);
    const std::string current = it == now.end() ? "(unknown option)" : it->second;
    if (!same_setting(current, value.get<std::string>()))
      diffs += fmt::format("\n  --{}: checkpoint '{}', now '{}'", key, value.get<std::string>(), current);
  }
  DOCBERT_CHECK(diffs.empty(), "{}: cannot resume with different settings (give the original ones):{}", path, diffs);
}

}  // namespace docbert::train
