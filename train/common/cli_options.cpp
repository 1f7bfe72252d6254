#include "train/common/cli_options.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

namespace docbert::train {

void enable_config_file(CLI::App& app) {
  app.option_defaults()->always_capture_default();
  app.set_config("--config", "",
                 "TOML/INI file of these options (name = value); command-line flags override it, "
                 "unknown keys are errors");
  app.allow_config_extras(CLI::config_extras_mode::error);
}

void add_data_options(CLI::App& app, DataOptions& o) {
  const char* data = "Data";
  app.add_option("--data", o.data, "Dataset: a canonical folder (docbert_data convert) or any supported format")
      ->group(data);
  app.add_option("--format", o.format,
                 "auto|canonical|reuters-sgml|hedwig-tsv|r8|r52|imdb|folder|jsonl|csv (auto: guessed from the files)")
      ->group(data);
  app.add_option("--dev-fraction", o.dev_fraction, "Formats without a dev split: the share of train carved as dev")
      ->check(CLI::Range(0.0, 1.0))
      ->group(data);
  app.add_option("--problem-type", o.problem_type,
                 "auto|single|multi: softmax + CE or sigmoid + BCE (auto: the format's own; for hedwig TSV, JSONL and "
                 "CSV single-label exactly when every document has one label)")
      ->check(CLI::IsMember({"auto", "single", "multi"}))
      ->group(data);
  app.add_option("--max-train-docs", o.max_train_docs, "Use only the first N training documents (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->group(data);
  app.add_option("--max-eval-docs", o.max_eval_docs, "Use only the first N dev and N test documents (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->group(data);
}

void add_placement_options(CLI::App& app, RunOptions& o, const std::string& device_help) {
  const char* place = "Placement";
  app.add_option("--device", o.device, device_help)->check(CLI::IsMember({"auto", "cpu", "cuda"}))->group(place);
  app.add_option("--threads", o.threads, "CPU threads (0: all cores); results do not depend on it")
      ->check(CLI::NonNegativeNumber)
      ->group(place);
}

void add_run_options(CLI::App& app, RunOptions& o, const std::string& outputs) {
  const char* run = "Run control and outputs";
  app.add_option("--output-dir", o.output_dir, outputs)->group(run);
  app.add_option("--resume", o.resume,
                 "Continue a run: 'auto' (the latest complete checkpoint in --output-dir) or a checkpoint folder")
      ->group(run);
  app.add_option("--log-every", o.log_every, "Optimizer steps between training log records")
      ->check(CLI::PositiveNumber)
      ->group(run);
  app.add_option("--save-every", o.save_every, "Optimizer steps between checkpoints (0: at the end of each epoch)")
      ->check(CLI::NonNegativeNumber)
      ->group(run);
  app.add_option("--keep-last", o.keep_last, "Checkpoints kept; older ones are deleted")
      ->check(CLI::PositiveNumber)
      ->group(run);
  app.add_flag("--no-progress", o.no_progress, "Plain log lines instead of a progress bar on a terminal")->group(run);
  app.add_flag("--overwrite", o.overwrite, "Start a new run in an --output-dir that holds one (its files are replaced)")
      ->group(run);
  app.add_option("--stop-after-steps", o.stop_after_steps,
                 "Write a checkpoint and exit after this optimizer step, as if interrupted (to test --resume)")
      ->check(CLI::NonNegativeNumber)
      ->group(run);
  app.add_option("--max-nonfinite-steps", o.max_nonfinite_steps,
                 "A step whose loss or gradient is not finite (NaN, inf) is skipped; after this many in a row the run "
                 "stops with an error, keeping the checkpoints written before (0: never stop)")
      ->check(CLI::NonNegativeNumber)
      ->group(run);
}

std::vector<std::pair<std::string, std::string>> option_rows(const CLI::App& app) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const CLI::Option* opt : app.get_options()) {
    const std::string name = opt->get_single_name();
    if (name == "help" || name == "config" || opt->get_lnames().empty()) continue;
    std::string value;
    if (opt->count() == 0) {
      value = opt->get_default_str();
    } else if (opt->get_type_size() == 0) {  // a flag
      value = "true";
    } else {
      value = fmt::format("{}", fmt::join(opt->results(), ","));
    }
    if (opt->get_type_size() == 0 && value.empty()) value = "false";
    rows.emplace_back(name, value);
  }
  return rows;
}

std::string format_table(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [name, value] : rows) width = std::max(width, name.size());
  std::string out;
  for (const auto& [name, value] : rows)
    out += fmt::format("  {:<{}}  {}\n", name, width, value.empty() ? "(none)" : value);
  return out;
}

namespace {

bool is_bare_toml(const std::string& v) {
  if (v == "true" || v == "false") return true;
  if (v.empty()) return false;
  char* end = nullptr;
  std::strtod(v.c_str(), &end);
  return end == v.c_str() + v.size() && v.find_first_of("xXpP") == std::string::npos;
}

}  // namespace

std::string to_toml(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string out;
  for (const auto& [name, value] : rows) {
    if (is_bare_toml(value)) {
      out += fmt::format("{} = {}\n", name, value);
      continue;
    }
    std::string quoted;
    for (char c : value) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    out += fmt::format("{} = \"{}\"\n", name, quoted);
  }
  return out;
}

int parse_command_line(CLI::App& app, int argc, char** argv, const char* program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    fmt::print(stderr, "{}: error: {}{}\nRun with --help for the options.\n", program,
               dynamic_cast<const CLI::ConfigError*>(&e) != nullptr ? "--config: " : "", e.what());
    return 1;
  }
  return -1;
}

}  // namespace docbert::train
