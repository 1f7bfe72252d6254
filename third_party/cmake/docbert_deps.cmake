# How docbert finds its external libraries. All of them come from Debian packages installed by
# scripts/setup.sh; nothing is vendored. third_party/README.md lists package names and licences.
find_package(Eigen3 3.3 REQUIRED NO_MODULE)          # libeigen3-dev
find_package(fmt REQUIRED)                           # libfmt-dev
find_package(nlohmann_json 3.9 REQUIRED)             # nlohmann-json3-dev
find_package(CLI11 REQUIRED)                         # libcli11-dev
find_package(OpenMP REQUIRED COMPONENTS CXX)         # libgomp (gcc)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)         # libutf8proc-dev
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)  # libsentencepiece-dev
if(DOCBERT_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)                    # catch2 (v2, single header)
endif()
if(DOCBERT_BUILD_BENCH)
  find_package(benchmark REQUIRED)                   # libbenchmark-dev
endif()
