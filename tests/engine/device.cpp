// --device resolution and the dispatch point's errors, on any machine (with or without a GPU).
#include <catch2/catch.hpp>

#include "engine/device.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/elementwise.h"

#include <string>

using namespace docbert;

TEST_CASE("device: --device auto, cpu and cuda resolve and say why", "[device]") {
  std::string why, note;
  const bool gpu = cuda_available(&why);
  CHECK(resolve_device("cpu", &note) == Device::CPU);
  CHECK(note == "device: cpu (--device cpu)");
  if (gpu) {
    CHECK(resolve_device("auto", &note) == Device::CUDA);
    CHECK(note.rfind("device: cuda (", 0) == 0);
    CHECK(resolve_device("cuda", &note) == Device::CUDA);
  } else {
    REQUIRE(!why.empty());
    CHECK(resolve_device("auto", &note) == Device::CPU);
    CHECK(note == "device: cpu (--device auto: no usable CUDA device: " + why + ")");
    CHECK_THROWS_WITH(resolve_device("cuda", &note), Catch::StartsWith("--device cuda: no usable CUDA device: " + why));
  }
  CHECK_THROWS_WITH(resolve_device("gpu", &note), Catch::Contains("--device must be auto, cpu or cuda, got 'gpu'"));
}

TEST_CASE("dispatch: an op without a cuda implementation names itself, the observer sees every dispatch", "[device]") {
  struct P {
    int* hits;
  };
  constexpr OpImpl<P> cpu_only{[](const P& p) { ++*p.hits; }, DOCBERT_NO_CUDA};
  int hits = 0;
  cpu_only("my_op", Device::CPU, P{&hits});
  CHECK(hits == 1);
  CHECK_THROWS_WITH(cpu_only("my_op", Device::CUDA, P{&hits}), Catch::Contains("my_op: no cuda implementation"));
  CHECK(hits == 1);

  std::vector<std::string> seen;
  set_dispatch_observer([&](const char* op, Device, bool) { seen.push_back(op); });
  Tensor x = Tensor::full({3}, 0.5);
  gelu(add(x, x));
  set_dispatch_observer(nullptr);
  CHECK(seen == std::vector<std::string>{"add", "gelu"});
}

TEST_CASE("dispatch: operands on different devices or of different dtypes are refused by name", "[device]") {
  Tensor a = Tensor::full({2, 3}, 1.0), b64 = Tensor::full({3}, 1.0, DType::F64);
  CHECK_THROWS_WITH(add(a, b64), Catch::Contains("add: dtype mismatch"));
  CHECK_THROWS_WITH(gelu(Tensor::full({2}, 1.0, DType::I64)), Catch::Contains("gelu: 'x' must be a float tensor"));
  CHECK_THROWS_WITH(gelu(Tensor::full({2}, 1.0, DType::BF16)), Catch::Contains("not supported"));
}
