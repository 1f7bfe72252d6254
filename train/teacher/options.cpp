#include "train/teacher/options.h"

#include "engine/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

namespace docbert::train {

void add_teacher_options(CLI::App& app, TeacherOptions& o) {
  app.option_defaults()->always_capture_default();
  app.set_config("--config", "", "TOML/INI file of these options (name = value); command-line flags override it, "
                 "unknown keys are errors");
  app.allow_config_extras(CLI::config_extras_mode::error);

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

  const char* model = "Model";
  app.add_option("--model", o.model,
                 "Pretrained HF BERT folder (config.json, model.safetensors, vocab.txt); a saved teacher with "
                 "--eval-only")
      ->group(model);
  app.add_option("--arch", o.arch, "Random initialisation instead of --model: tiny|mini|small|base|large")
      ->check(CLI::IsMember({"tiny", "mini", "small", "base", "large"}))
      ->group(model);
  app.add_option("--vocab", o.vocab, "vocab.txt for --arch (a --model folder brings its own)")->group(model);
  app.add_option("--head-bias-init", o.head_bias_init,
                 "zero (DocBERT) or prior: start the classifier bias at the training labels' log-odds (multi-label) "
                 "or log-frequencies (single-label), which skips the long first phase where a multi-label model only "
                 "learns that most labels are absent")
      ->check(CLI::IsMember({"zero", "prior"}))
      ->group(model);

  const char* opt = "Optimisation (DocBERT's recipe by default)";
  app.add_option("--epochs", o.epochs, "Epoch budget (the schedule spans all of it even when stopping early)")
      ->check(CLI::PositiveNumber)
      ->group(opt);
  app.add_option("--batch-size", o.batch_size, "Documents per micro-batch")->check(CLI::PositiveNumber)->group(opt);
  app.add_option("--lr", o.lr, "Peak learning rate")->check(CLI::PositiveNumber)->group(opt);
  app.add_option("--max-seq-length,--max-seq-len", o.max_seq_length,
                 "WordPiece tokens per document including [CLS] and [SEP] (<= the model's positions)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20))
      ->group(opt);
  app.add_option("--warmup-proportion", o.warmup_proportion, "Share of the steps with a linear warmup from 0")
      ->check(CLI::Range(0.0, 1.0))
      ->group(opt);
  app.add_option("--weight-decay", o.weight_decay, "Decoupled weight decay (not on biases and LayerNorm)")
      ->check(CLI::NonNegativeNumber)
      ->group(opt);
  app.add_option("--grad-accum-steps", o.grad_accum_steps, "Micro-batches per optimizer step")
      ->check(CLI::PositiveNumber)
      ->group(opt);
  app.add_option("--max-grad-norm", o.max_grad_norm, "Gradient clipping threshold (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->group(opt);
  app.add_option("--clip", o.clip, "per-tensor (BertAdam, DocBERT) or global (torch clip_grad_norm_)")
      ->check(CLI::IsMember({"per-tensor", "global"}))
      ->group(opt);
  app.add_option("--bias-correction", o.bias_correction,
                 "Adam bias correction (false: BertAdam as DocBERT; true: torch.optim.AdamW)")
      ->group(opt);
  app.add_option("--adam-eps", o.adam_eps, "Adam's epsilon (BertAdam: 1e-6; torch's default: 1e-8)")
      ->check(CLI::PositiveNumber)
      ->group(opt);
  app.add_option("--seed", o.seed, "Seed of the head's init, dropout and data order")->group(opt);
  app.add_option("--patience", o.patience, "Stop after this many epochs without a better dev score (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->group(opt);
  app.add_option("--truncation", o.truncation, "Which pieces of a long document to keep: head|tail|head+tail")
      ->check(CLI::IsMember({"head", "tail", "head+tail"}))
      ->group(opt);
  app.add_option("--head-pieces", o.head_pieces, "head+tail: pieces kept from the start")
      ->check(CLI::NonNegativeNumber)
      ->group(opt);
  app.add_option("--max-steps", o.max_steps, "Stop after this many optimizer steps; the schedule's length (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->group(opt);
  app.add_option("--eval-batch-size", o.eval_batch_size, "Documents per evaluation batch")
      ->check(CLI::PositiveNumber)
      ->group(opt);

  const char* place = "Placement";
  app.add_option("--device", o.device, "auto|cpu|cuda (training runs on the CPU for now: cuda is refused until the CUDA training backend lands)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->group(place);
  app.add_option("--precision", o.precision, "fp32|bf16 (bf16: autocast on the GPU; fp32 master weights)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->group(place);
  app.add_option("--threads", o.threads, "CPU threads (0: all cores); results do not depend on it")
      ->check(CLI::NonNegativeNumber)
      ->group(place);

  const char* run = "Run control and outputs";
  app.add_option("--output-dir", o.output_dir,
                 "Where best/, checkpoint-<step>/, metrics.jsonl, results.json, curves.svg and config.toml go")
      ->group(run);
  app.add_flag("--eval-only", o.eval_only, "Evaluate the saved teacher --model on dev and test; no training")
      ->group(run);
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
}

void validate(const TeacherOptions& o) {
  DOCBERT_CHECK(!o.data.empty(), "--data is required (a dataset folder or file)");
  DOCBERT_CHECK(o.model.empty() != o.arch.empty(),
                "give exactly one of --model DIR (pretrained) and --arch NAME (random initialisation)");
  DOCBERT_CHECK(o.arch.empty() || !o.vocab.empty(), "--arch {} needs --vocab FILE (a BERT vocab.txt)", o.arch);
  DOCBERT_CHECK(o.vocab.empty() || !o.arch.empty(), "--vocab applies to --arch only: a --model folder has its own");
  DOCBERT_CHECK(!o.eval_only || !o.model.empty(), "--eval-only needs --model (a saved teacher folder)");
  DOCBERT_CHECK(!o.eval_only || o.resume.empty(), "--eval-only and --resume exclude each other");
  DOCBERT_CHECK(o.truncation != "head+tail" || o.head_pieces <= o.max_seq_length - 2,
                "--head-pieces {} must be at most --max-seq-length - 2 = {} with --truncation head+tail",
                o.head_pieces, o.max_seq_length - 2);
  DOCBERT_CHECK(!o.output_dir.empty(), "--output-dir must not be empty");
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

}  // namespace docbert::train
