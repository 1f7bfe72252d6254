#include "engine/autocast.h"

#include "base/error.h"

namespace docbert {

namespace {
thread_local DType g_autocast = DType::F32;
}

DType autocast_dtype() { return g_autocast; }

AutocastGuard::AutocastGuard(DType dtype) : previous_(g_autocast) {
  DOCBERT_CHECK(dtype == DType::F32 || dtype == DType::BF16, "autocast: dtype must be f32 (off) or bf16, got {}",
                dtype_name(dtype));
  g_autocast = dtype;
}

AutocastGuard::~AutocastGuard() { g_autocast = previous_; }

}  // namespace docbert
