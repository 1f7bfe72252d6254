#include "train/common/train_loop.h"

#include "base/error.h"
#include "base/file_io.h"
#include "engine/device.h"
#include "train/common/cli_options.h"
#include "train/common/curves_svg.h"
#include "train/common/progress.h"

#include <fmt/format.h>

#include <cmath>

namespace docbert::train {

using json = nlohmann::json;

Tensor label_targets(const std::vector<std::vector<int32_t>>& labels, const std::vector<int64_t>& rows,
                     ProblemType problem, int64_t num_labels) {
  const auto b = static_cast<int64_t>(rows.size());
  if (problem == ProblemType::SingleLabel) {
    std::vector<int64_t> y;
    for (int64_t r : rows) y.push_back(labels[static_cast<size_t>(r)].at(0));
    return Tensor::from_vector(y, {b});
  }
  Tensor y = Tensor::zeros({b, num_labels});
  float* p = y.data<float>();
  for (int64_t i = 0; i < b; ++i)
    for (int32_t l : labels[static_cast<size_t>(rows[static_cast<size_t>(i)])]) p[i * num_labels + l] = 1;
  return y;
}

std::vector<int64_t> all_rows(int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i;
  return rows;
}

double selection(const json& metrics, ProblemType problem) {
  return problem == ProblemType::SingleLabel ? metrics.at("accuracy").get<double>()
                                             : metrics.at("micro_f1").get<double>();
}

const char* selection_name(ProblemType problem) {
  return problem == ProblemType::SingleLabel ? "accuracy" : "micro-F1";
}

TrainState state_from_json(const json& j, const std::string& path) {
  try {
    return j.get<TrainState>();
  } catch (const json::exception& e) {
    DOCBERT_THROW("{}: bad trainer state: {}", path, e.what());
  }
}

namespace {

// A history value: NaN for null (a NaN or infinite loss is written to JSON as null).
double number_or_nan(const json& v) { return v.is_null() ? std::nan("") : v.get<double>(); }

bool finite_loss(const json& m) {
  const json& loss = m.at("loss");
  return loss.is_number() && std::isfinite(loss.get<double>());
}

}  // namespace

void write_curves(const std::string& output_dir, const json& history, ProblemType problem) {
  CurveSeries train_loss{"train loss", {}, {}}, dev_loss{"dev loss", {}, {}},
      dev_metric{fmt::format("dev {}", selection_name(problem)), {}, {}};
  for (const json& h : history) {
    const double e = h.at("epoch").get<double>();
    train_loss.x.push_back(e);
    train_loss.y.push_back(number_or_nan(h.at("train_loss")));
    dev_loss.x.push_back(e);
    dev_loss.y.push_back(number_or_nan(h.at("dev_loss")));
    dev_metric.x.push_back(e);
    dev_metric.y.push_back(h.at("dev_metric").get<double>());
  }
  write_curves_svg(output_dir + "/curves.svg", {{"loss", "epoch", "mean loss", {train_loss, dev_loss}},
                                                {"dev metric", "epoch", selection_name(problem), {dev_metric}}});
}

std::string metrics_line(const json& m) {
  return fmt::format("loss {:.4f}  accuracy {:.4f}  micro P/R/F1 {:.4f}/{:.4f}/{:.4f}  macro F1 {:.4f}",
                     m.at("loss").get<double>(), m.at("accuracy").get<double>(), m.at("micro_precision").get<double>(),
                     m.at("micro_recall").get<double>(), m.at("micro_f1").get<double>(),
                     m.at("macro_f1").get<double>());
}

json eval_record(const char* split, int64_t step, double epoch, json metrics) {
  json r = {{"split", split}, {"step", step}, {"epoch", epoch}};
  r.update(metrics);
  return r;
}

json take_train_record(TrainState& st, double epoch_pos, double lr, double grad_norm, bool with_distill) {
  const auto nb = static_cast<double>(st.window_batches);
  json r = {{"split", "train"}, {"step", st.step}, {"epoch", epoch_pos}, {"loss", st.window_loss / nb}};
  if (with_distill) r["distill_loss"] = st.window_distill / nb;
  r["lr"] = lr;
  r["grad_norm"] = grad_norm;
  r["skipped_steps"] = st.skipped_steps;
  r["docs_per_s"] = static_cast<double>(st.window_docs) / st.window_seconds;
  st.window_loss = st.window_distill = 0;
  st.window_batches = st.window_docs = 0;
  st.window_seconds = 0;
  return r;
}

bool improves(const TrainState& st, const json& m, ProblemType problem) {
  return finite_loss(m) && selection(m, problem) > st.best;
}

void record_dev_eval(TrainState& st, double epoch_pos, const json& m, ProblemType problem, JsonlLog& log,
                     const std::string& out_dir, std::FILE* out) {
  log.write(eval_record("dev", st.step, epoch_pos, m));
  const double score = selection(m, problem);
  const double train_loss = st.epoch_batches > 0 ? st.epoch_loss / static_cast<double>(st.epoch_batches) : std::nan("");
  st.history.push_back(
      {{"epoch", epoch_pos}, {"train_loss", train_loss}, {"dev_loss", m.at("loss")}, {"dev_metric", score}});
  const bool better = improves(st, m, problem);
  if (better) {
    st.best = score;
    st.best_epoch = st.epoch + 1;
    st.best_step = st.step;
    st.bad_epochs = 0;
  } else {
    ++st.bad_epochs;
  }
  fmt::print(out, "epoch {:>3}  step {:>6}  train loss {:.4f}  dev {}{}\n", st.epoch + 1, st.step, train_loss,
             metrics_line(m), better ? "  *best" : "");
  if (!finite_loss(m))
    fmt::print(out, "warning: epoch {}: the dev loss is not finite: not kept as best/\n", st.epoch + 1);
  std::fflush(out);
  write_curves(out_dir, st.history, problem);
}

bool close_epoch(TrainState& st, bool epoch_done, int64_t patience, int64_t total_steps, ProblemType problem,
                 std::FILE* out) {
  if (patience > 0 && st.bad_epochs >= patience) {
    st.stopped_early = true;
    fmt::print(out, "early stop: no better dev {} for {} epochs\n", selection_name(problem), patience);
  }
  if (epoch_done) {
    ++st.epoch;
    st.batch = 0;
    st.epoch_loss = 0;
    st.epoch_batches = 0;
  }
  return st.stopped_early || st.step >= total_steps;
}

void write_trainer_state(const std::string& dir, const TrainState& st,
                         const std::vector<std::pair<std::string, std::string>>& rows, const json& extra) {
  json options = json::object();
  for (const auto& [k, v] : rows) options[k] = v;
  json state = {{"state", st}, {"options", options}};
  state.update(extra);
  write_file_atomic(dir + "/trainer_state.json", state.dump(2) + "\n", "trainer state");
  write_file_atomic(dir + "/config.toml", to_toml(rows), "resolved config");
}

void add_device_results(json& results, Device device) {
  results["device"] = device_name(device);
  results["gpu_memory"] = nullptr;
  if (device == Device::CUDA) {
    const DeviceMemory m = device_memory();
    results["gpu_memory"] = {{"peak_bytes", m.peak_bytes}, {"current_bytes", m.current_bytes}};
  }
}

json run_results(const TrainState& st, json dev, json test, Device device, double t_start) {
  json r = {{"dev", std::move(dev)},
            {"test", std::move(test)},
            {"best_epoch", st.best_epoch},
            {"best_step", st.best_step},
            {"steps", st.step},
            {"epochs_run", st.history.size()},
            {"stopped_early", st.stopped_early},
            {"skipped_steps", st.skipped_steps},
            {"train_seconds", st.train_seconds},
            {"wall_seconds", steady_seconds() - t_start}};
  add_device_results(r, device);
  return r;
}

void report_results(JsonlLog& log, const json& results, const TrainState& st, const std::string& out_dir,
                    std::FILE* out) {
  const bool has_test = !results.at("test").is_null();
  log.write(eval_record("dev", st.step, static_cast<double>(st.best_epoch), results.at("dev")));
  if (has_test) log.write(eval_record("test", st.step, static_cast<double>(st.best_epoch), results.at("test")));
  write_file_atomic(out_dir + "/results.json", results.dump(2) + "\n", "results");
  fmt::print(out, "best epoch {} (step {})\n", st.best_epoch, st.best_step);
  fmt::print(out, "dev   {}\n", metrics_line(results.at("dev")));
  if (has_test) fmt::print(out, "test  {}\n", metrics_line(results.at("test")));
  fmt::print(out, "dev micro-F1 {:.4f}  test micro-F1 {:.4f}  ({:.0f} s training, outputs in {})\n",
             results.at("dev").at("micro_f1").get<double>(),
             has_test ? results.at("test").at("micro_f1").get<double>() : std::nan(""), st.train_seconds, out_dir);
}

}  // namespace docbert::train
