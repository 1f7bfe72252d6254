#include "train/common/run_log.h"

#include "base/error.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace docbert::train {

JsonlLog::JsonlLog(const std::string& path, int64_t truncate_to) : path_(path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (truncate_to >= 0 && fs::exists(path, ec)) {
    const auto size = static_cast<int64_t>(fs::file_size(path, ec));
    DOCBERT_CHECK(!ec, "{}: cannot read the log's size: {}", path, ec.message());
    DOCBERT_CHECK(truncate_to <= size,
                  "{}: the log has {} bytes but the checkpoint recorded {}: it belongs to another run", path, size,
                  truncate_to);
    fs::resize_file(path, static_cast<uintmax_t>(truncate_to), ec);
    DOCBERT_CHECK(!ec, "{}: cannot truncate the log: {}", path, ec.message());
  }
  file_ = std::fopen(path.c_str(), "ab");
  DOCBERT_CHECK(file_ != nullptr, "{}: cannot open the log: {}", path, std::strerror(errno));
  bytes_ = static_cast<int64_t>(fs::file_size(path, ec));
}

JsonlLog::~JsonlLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void JsonlLog::write(const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
  DOCBERT_CHECK(ok, "{}: writing the log failed: {}", path_, std::strerror(errno));
  bytes_ += static_cast<int64_t>(line.size());
}

}  // namespace docbert::train
