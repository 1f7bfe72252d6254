// train/student/model_dir.h: a student's model folder, what distill_student writes and docbert_predict serves:
// config.json + model.safetensors (lstm_reg::LstmReg) beside the encoder's files (train/student/encoder.h:
// student_tokenizer.json and vocab.txt or spiece.model).
#pragma once

#include "models/lstm_reg/lstm_reg.h"
#include "train/student/encoder.h"

#include <string>

namespace docbert::train {

// A loaded student: the model and the encoder whose ids index its embedding table.
struct StudentModel {
  lstm_reg::LstmReg model;
  StudentEncoder encoder;
};

// Writes the encoder's files, then the model's (LstmReg::save_pretrained, config.json last), so a fresh folder that
// has config.json is complete. Each file is replaced atomically; other files in `dir` are kept.
//   model    its config's vocab_size must equal encoder.vocab_size() (else an error naming `dir`)
//   encoder  the ids the model was trained on
//   dir      created when missing
void save_student_dir(const lstm_reg::LstmReg& model, const StudentEncoder& encoder, const std::string& dir);

// Reads a folder save_student_dir wrote. Errors are the model's and the encoder's (each naming its file), and a
// vocabulary whose size differs from config.json's vocab_size (naming the folder and both sizes).
//   dtype  of the model's parameters (LstmReg::from_pretrained)
StudentModel load_student_dir(const std::string& dir, DType dtype = DType::F32);

// Whether dir/config.json is an LSTM_reg config ("model_type": "lstm_reg"). False for a missing or unreadable
// config.json and for any other model (a BERT teacher's config says "bert"): the caller's loader reports those.
bool is_student_dir(const std::string& dir);

}  // namespace docbert::train
