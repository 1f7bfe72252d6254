#include "train/student/model_dir.h"

#include "base/error.h"
#include "base/file_io.h"
#include "base/json_io.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace docbert::train {

namespace {

// The one check both directions make: the encoder's ids must be exactly the model's embedding rows.
void check_vocab_sizes(const lstm_reg::LstmReg& model, const StudentEncoder& encoder, const std::string& dir) {
  DOCBERT_CHECK(model.config().vocab_size == encoder.vocab_size(),
                "{}: the {} vocabulary has {} entries but config.json's vocab_size is {}", dir, encoder.kind_name(),
                encoder.vocab_size(), model.config().vocab_size);
}

}  // namespace

void save_student_dir(const lstm_reg::LstmReg& model, const StudentEncoder& encoder, const std::string& dir) {
  check_vocab_sizes(model, encoder, dir);
  encoder.save(dir);
  model.save_pretrained(dir);
}

StudentModel load_student_dir(const std::string& dir, DType dtype) {
  StudentModel s{lstm_reg::LstmReg::from_pretrained(dir, dtype), StudentEncoder::load(dir)};
  check_vocab_sizes(s.model, s.encoder, dir);
  return s;
}

bool is_student_dir(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  try {
    const nlohmann::json j = parse_json_object(read_file(path, "model config"), path);
    const auto type = j.find("model_type");
    return type != j.end() && type->is_string() && type->get<std::string>() == "lstm_reg";
  } catch (const Error&) {
    return false;  // missing, unreadable or not JSON: the caller's loader says which
  }
}

}  // namespace docbert::train
