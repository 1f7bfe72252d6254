// train/common/cli_options.h: what train_teacher and distill_student share on their command lines: the data and
// run-control options (the same flags, defaults and help in both tools), --config files, and the resolved settings
// as a printed table, a saved config.toml and the rows a resumed run is checked against.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace docbert::train {

// Which documents a run reads (train/data/load_dataset.h).
struct DataOptions {
  std::string data;                   // dataset folder or file (any format of train/data/load_dataset.h)
  std::string format = "auto";        // data::parse_format names
  double dev_fraction = 0.1;          // formats without a dev split: the carved share of train
  std::string problem_type = "auto";  // auto (the format's own) | single | multi
  int64_t max_train_docs = 0;         // > 0: only the first N training documents (quick runs, tests)
  int64_t max_eval_docs = 0;          // > 0: only the first N dev and test documents
};

// Where a run writes, how it checkpoints and resumes, and where it runs.
struct RunOptions {
  std::string output_dir;  // the caller sets its tool's default before add_run_options
  std::string resume;      // "" (new run), "auto" (latest checkpoint in --output-dir) or a checkpoint dir
  int64_t log_every = 20;  // optimizer steps between train log lines
  int64_t save_every = 0;  // optimizer steps between checkpoints; 0 = at the end of every epoch
  int64_t keep_last = 2;   // checkpoints kept (older ones are deleted after a newer one is complete)
  bool no_progress = false;
  bool overwrite = false;            // allow a new run in an --output-dir that already holds one
  int64_t stop_after_steps = 0;      // > 0: checkpoint and exit after this step, as if killed (resume tests)
  int64_t max_nonfinite_steps = 10;  // stop a diverged run after this many skipped steps in a row (0: never)
  std::string device = "auto";       // auto | cpu | cuda
  int64_t threads = 0;               // 0: all cores
};

// Sets up --config FILE (TOML/INI, command-line flags override it, unknown keys are errors) and makes every option
// registered afterwards print its default in --help. Call first.
void enable_config_file(CLI::App& app);

// Registers --data --format --dev-fraction --problem-type --max-train-docs --max-eval-docs in group "Data".
void add_data_options(CLI::App& app, DataOptions& o);

// Registers --device and --threads in group "Placement".
//   device_help  what --device does in this tool
void add_placement_options(CLI::App& app, RunOptions& o, const std::string& device_help);

// Registers --output-dir --resume --log-every --save-every --keep-last --no-progress --overwrite --stop-after-steps
// --max-nonfinite-steps in group "Run control and outputs".
//   outputs  what the tool writes to --output-dir, for --output-dir's help
void add_run_options(CLI::App& app, RunOptions& o, const std::string& outputs);

// The resolved settings as (flag name without "--", value) rows in --help order, read back from a parsed `app`
// (given values, or the defaults): the start-up table, the saved config and resume's consistency check.
std::vector<std::pair<std::string, std::string>> option_rows(const CLI::App& app);

// The rows as an aligned two-column table ("name  value" lines).
std::string format_table(const std::vector<std::pair<std::string, std::string>>& rows);

// The rows as a TOML file that --config reads back ("name = value"; strings quoted, numbers and booleans bare).
std::string to_toml(const std::vector<std::pair<std::string, std::string>>& rows);

// Parses argv into `app`. Returns -1 when the tool should go on, otherwise the exit code: 0 after --help, 1 after a
// parse error, printed as "<program>: error: ..." (with "--config: " for errors in the config file).
int parse_command_line(CLI::App& app, int argc, char** argv, const char* program);

}  // namespace docbert::train
