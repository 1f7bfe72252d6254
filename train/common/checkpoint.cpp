#include "train/common/checkpoint.h"

#include "base/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace docbert::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "checkpoint-";

// The step of a folder named "checkpoint-<digits>" (with `suffix` after the digits), or -1.
int64_t step_of(const std::string& name, const std::string& suffix) {
  const std::string prefix = kPrefix;
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stoll(digits);
}

}  // namespace

std::string write_checkpoint(const std::string& output_dir, int64_t step,
                             const std::function<void(const std::string& folder)>& fill) {
  const fs::path final_path = fs::path(output_dir) / fmt::format("{}{}", kPrefix, step);
  const fs::path tmp = final_path.string() + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  DOCBERT_CHECK(!ec, "{}: cannot remove a leftover checkpoint: {}", tmp.string(), ec.message());
  fs::create_directories(tmp, ec);
  DOCBERT_CHECK(!ec, "{}: cannot create the checkpoint folder: {}", tmp.string(), ec.message());
  try {
    fill(tmp.string());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs::remove_all(final_path, ec);
  DOCBERT_CHECK(!ec, "{}: cannot replace the old checkpoint: {}", final_path.string(), ec.message());
  fs::rename(tmp, final_path, ec);
  DOCBERT_CHECK(!ec, "{}: cannot rename the checkpoint into place: {}", tmp.string(), ec.message());
  return final_path.string();
}

std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& output_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(output_dir, ec)) return out;
  for (const fs::directory_entry& e : fs::directory_iterator(output_dir, ec)) {
    const int64_t step = step_of(e.path().filename().string(), "");
    if (step >= 0 && e.is_directory(ec)) out.emplace_back(step, e.path().string());
  }
  DOCBERT_CHECK(!ec, "{}: cannot list the checkpoints: {}", output_dir, ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

void prune_checkpoints(const std::string& output_dir, int64_t keep_last) {
  DOCBERT_CHECK(keep_last >= 1, "prune_checkpoints: keep_last must be >= 1, got {}", keep_last);
  const auto all = list_checkpoints(output_dir);
  std::error_code ec;
  for (size_t i = 0; i + static_cast<size_t>(keep_last) < all.size(); ++i) {
    fs::remove_all(all[i].second, ec);
    DOCBERT_CHECK(!ec, "{}: cannot delete an old checkpoint: {}", all[i].second, ec.message());
  }
  for (const fs::directory_entry& e : fs::directory_iterator(output_dir, ec))
    if (step_of(e.path().filename().string(), ".tmp") >= 0) fs::remove_all(e.path(), ec);
}

}  // namespace docbert::train
