// train_teacher: fine-tunes a BERT classifier on a document-classification dataset with DocBERT's recipe.
//
//   train_teacher --data ../shared/data/reuters21578 --model MODEL_DIR --output-dir runs/reuters-minilm
//   train_teacher --config configs/docbert-reuters-bert-base.toml --model DIR --data DIR
//   train_teacher --data DIR --model runs/reuters-minilm/best --eval-only --output-dir runs/eval
//
// Outputs and the recipe: train/teacher/trainer.h and docs/training.md.
#include "base/error.h"
#include "train/teacher/options.h"
#include "train/teacher/trainer.h"

#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  using namespace docbert;
  CLI::App app{
      "train_teacher: fine-tune a BERT teacher for document classification (DocBERT's recipe by default: "
      "BertAdam lr 2e-5, batch 16, 512 tokens, 10% warmup, weight decay 0.01, clipping 1.0, dev selection with "
      "patience 5)",
      "train_teacher"};
  train::TeacherOptions o;
  train::add_teacher_options(app, o);
  if (const int code = train::parse_command_line(app, argc, argv, "train_teacher"); code >= 0) return code;
  return run_main("train_teacher", [&] {
    train::validate(o);
    train::run_teacher(o, train::option_rows(app), stdout);
    return 0;
  });
}
