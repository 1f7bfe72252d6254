// distill_student: trains DocBERT's LSTM_reg student, distilled from a BERT teacher (--teacher) or on the labels
// alone (the LSTM_reg baseline).
//
//   distill_student --data ../shared/data/reuters21578 --teacher runs/teacher/best --output-dir runs/kd-lstm
//   distill_student --data ../shared/data/reuters21578 --output-dir runs/lstm-reg          (no distillation)
//   distill_student --config configs/reuters-cpu-student.toml --teacher runs/teacher/best
//
// Outputs and the recipe: train/student/trainer.h and docs/distillation.md.
#include "base/error.h"
#include "train/student/options.h"
#include "train/student/trainer.h"

#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  using namespace docbert;
  CLI::App app{
      "distill_student: train DocBERT's LSTM_reg student on a transfer set (the training documents plus masked and "
      "POS-swapped copies), distilled from a BERT teacher's logits (task loss + lambda * KL) or, without "
      "--teacher, on the labels alone (hedwig's LSTM_reg: Adam lr 0.01, batch 32, hidden 512, EMA 0.99, patience 5)",
      "distill_student"};
  train::StudentOptions o;
  train::add_student_options(app, o);
  if (const int code = train::parse_command_line(app, argc, argv, "distill_student"); code >= 0) return code;
  return run_main("distill_student", [&] {
    train::validate(o);
    train::run_student(o, train::option_rows(app), stdout);
    return 0;
  });
}
