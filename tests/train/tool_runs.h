// tests/train/tool_runs.h: what the trainer tests share: a tool's run from its command line, and a run's
// metrics.jsonl as the resume tests compare it.
#pragma once

#include "tests/test_support.h"
#include "train/common/cli_options.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace docbert::test {

// Parses `args` as the command line of a trainer (its options O, add_options and run function, e.g.
// TeacherOptions, add_teacher_options, run_teacher), validates them and runs it, printing to a scratch file (not the
// test's output). Returns what the run returns (results.json's content).
template <class O, class Add, class Run>
nlohmann::json run_tool(std::vector<std::string> args, Add add, Run run) {
  CLI::App app;
  O o;
  add(app, o);
  args.insert(args.begin(), "tool");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  validate(o);  // train::validate, found by argument-dependent lookup
  std::FILE* out = std::tmpfile();
  try {
    nlohmann::json r = run(o, train::option_rows(app), out);
    std::fclose(out);
    return r;
  } catch (...) {
    std::fclose(out);
    throw;
  }
}

// dir/metrics.jsonl's records without the wall-clock field (docs_per_s), which is the only one allowed to differ
// between an interrupted-and-resumed run and an uninterrupted one.
inline std::vector<nlohmann::json> log_records(const std::string& dir) {
  std::vector<nlohmann::json> records;
  for (const std::string& line : file_lines(dir + "/metrics.jsonl")) {
    nlohmann::json j = nlohmann::json::parse(line);
    j.erase("docs_per_s");
    records.push_back(j);
  }
  return records;
}

}  // namespace docbert::test
