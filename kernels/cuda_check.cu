// The out-of-line halves of kernels/cuda_check.h's macros.
#include "kernels/cuda_check.h"

#include <cstdlib>
#include <cstring>

namespace docbert {

void cuda_fail(const char* what, const char* stmt, const char* file, int line) {
  throw Error(fmt::format("CUDA error '{}' in {}", what, stmt), file, line);
}

void cublas_fail(cublasStatus_t status, const char* stmt, const char* file, int line) {
  throw Error(
      fmt::format("cuBLAS error {} ({}) in {}", cublasGetStatusName(status), cublasGetStatusString(status), stmt), file,
      line);
}

bool cuda_sync_check_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("DOCBERT_SYNC_CHECK");
    return v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

}  // namespace docbert
