#include "train/teacher/options.h"

#include "base/error.h"

#include <fmt/format.h>


namespace docbert::train {

void add_teacher_options(CLI::App& app, TeacherOptions& o) {
  enable_config_file(app);
  add_data_options(app, o);

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

  add_placement_options(app, o,
                        "auto|cpu|cuda (training runs on the CPU for now: cuda is refused until the CUDA training "
                        "backend lands)");
  app.add_option("--precision", o.precision, "fp32|bf16 (bf16: autocast on the GPU; fp32 master weights)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->group("Placement");
  add_run_options(app, o, "Where best/, checkpoint-<step>/, metrics.jsonl, results.json, curves.svg and config.toml go");
  app.add_flag("--eval-only", o.eval_only, "Evaluate the saved teacher --model on dev and test; no training")
      ->group("Run control and outputs");
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

}  // namespace docbert::train
