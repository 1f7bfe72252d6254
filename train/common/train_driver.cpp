#include "train/common/train_driver.h"

#include "base/error.h"
#include "base/file_io.h"
#include "base/json_io.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "train/common/checkpoint.h"
#include "train/common/progress.h"
#include "train/common/run_dir.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace docbert::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::vector<NamedTensor> read_state_file(const std::string& path) {
  SafetensorsFile f = SafetensorsFile::open(path);
  std::vector<NamedTensor> state;
  for (const SafetensorsEntry& e : f.entries()) state.push_back({e.name, f.load(e.name)});
  return state;
}

TrainState resume_training(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& rows,
                           AdamBase& optimizer, std::FILE* out) {
  const std::string state_path = dir + "/trainer_state.json";
  const json saved = parse_json_object(read_file(state_path, "trainer state"), state_path);
  DOCBERT_CHECK(saved.contains("options") && saved["options"].is_object(), "{}: no options", state_path);
  check_resume_options(saved["options"], rows, state_path);
  TrainState st = state_from_json(saved.at("state"), state_path);
  optimizer.load_state(read_state_file(dir + "/optimizer.safetensors"));
  DOCBERT_CHECK(optimizer.step_count() == st.step, "{}: optimizer step {} but trainer step {}", dir,
                optimizer.step_count(), st.step);
  fmt::print(out, "resumed from {}: step {}, epoch {}, batch {}\n", dir, st.step, st.epoch + 1, st.batch);
  return st;
}

namespace {

// The values of one micro-batch, added to the log's sums only once its step is taken.
struct Pending {
  double loss, distill;
};

bool all_finite(const std::vector<Pending>& step) {
  return std::all_of(step.begin(), step.end(),
                     [](const Pending& p) { return std::isfinite(p.loss) && std::isfinite(p.distill); });
}

[[noreturn]] void throw_diverged(const TrainState& st, const RunOptions& run, const TrainLoopConfig& c) {
  const auto checkpoints = list_checkpoints(run.output_dir);
  const std::string last_finite = st.last_finite_step > 0 ? fmt::format("the last finite loss was {:.6g}, at step {}",
                                                                        st.last_finite_loss, st.last_finite_step)
                                                          : std::string("no step of this run had a finite loss");
  DOCBERT_THROW(
      "step {}: the loss or its gradient was not finite for {} steps in a row (--max-nonfinite-steps {}): the run "
      "diverged and stops; {}. The diverged state is not saved: {}. Try {}.",
      st.step, st.nonfinite_streak, run.max_nonfinite_steps, last_finite,
      checkpoints.empty() ? std::string("no checkpoint was written before")
                          : fmt::format("the last checkpoint is {}", checkpoints.back().second),
      c.divergence_hint);
}

}  // namespace

bool run_training(TrainState& st, const RunOptions& run, const TrainLoopConfig& c, const TrainHooks& hooks,
                  ParameterRegistry& params, AdamBase& optimizer, JsonlLog& log, std::FILE* out) {
  const std::string& out_dir = run.output_dir;
  auto save_checkpoint = [&]() {
    st.log_bytes = log.bytes();
    write_checkpoint(out_dir, st.step, [&](const std::string& dir) {
      hooks.save_checkpoint(dir);
      save_safetensors(dir + "/optimizer.safetensors", optimizer.state());
      write_trainer_state(dir, st, c.rows, c.checkpoint_extra);
    });
    prune_checkpoints(out_dir, run.keep_last);
  };
  // Wall time of the micro-batches (and steps) since t0, for docs/s and train_seconds.
  auto add_time = [&st](double t0) {
    const double seconds = steady_seconds() - t0;
    st.window_seconds += seconds;
    st.train_seconds += seconds;
  };

  bool stop = st.stopped_early || st.step >= c.total_steps;
  bool interrupted = false;
  while (!stop && st.epoch < c.epochs) {
    const auto plan = data::plan_epoch(*c.tokens, st.epoch, c.batching);
    const auto n_batches = static_cast<int64_t>(plan.size());
    auto epoch_pos = [&] { return static_cast<double>(st.epoch) + static_cast<double>(st.batch) / n_batches; };
    ProgressBar bar(fmt::format("epoch {}/{}", st.epoch + 1, c.epochs), n_batches, c.interactive);
    std::vector<Pending> step;  // the micro-batches accumulated into the coming optimizer step
    while (st.batch < n_batches) {
      const double t0 = steady_seconds();
      const std::vector<int64_t>& rows = plan[static_cast<size_t>(st.batch)];
      RngStream rng{c.seed, st.rng_offset};
      const BatchLoss b = hooks.batch_loss(rows, rng);
      st.rng_offset = rng.offset;
      const double loss_value = b.loss.item();
      Tensor loss = b.loss;
      if (c.grad_accum_steps > 1) loss = scale(loss, 1.0 / static_cast<double>(c.grad_accum_steps));
      loss.backward();
      ++st.batch;
      step.push_back({loss_value, b.distill});
      st.window_docs += static_cast<int64_t>(rows.size());
      if (static_cast<int64_t>(step.size()) < c.grad_accum_steps && st.batch < n_batches) {
        add_time(t0);
        continue;
      }

      const Tensor norm_t = grad_norm_tensor(params);
      const double norm = norm_t.item();  // the finiteness check and the log need it on the host
      const double lr = c.lr * c.schedule.multiplier(st.step);
      if (std::isfinite(norm) && all_finite(step)) {
        if (hooks.before_step) hooks.before_step(norm_t);
        optimizer.step(lr);
        if (hooks.after_step) hooks.after_step();
        double sum = 0;
        for (const Pending& p : step) {  // one micro-batch at a time: the sums' rounding does not depend on skips
          st.window_loss += p.loss;
          st.window_distill += p.distill;
          st.epoch_loss += p.loss;
          sum += p.loss;
        }
        st.window_batches += static_cast<int64_t>(step.size());
        st.epoch_batches += static_cast<int64_t>(step.size());
        st.nonfinite_streak = 0;
        st.last_finite_step = st.step + 1;
        st.last_finite_loss = sum / static_cast<double>(step.size());
      } else {
        ++st.skipped_steps;
        ++st.nonfinite_streak;
        fmt::print(out, "warning: step {}: non-finite {}, update skipped ({} in a row)\n", st.step + 1,
                   all_finite(step) ? "gradient norm" : "loss", st.nonfinite_streak);
      }
      params.zero_grad();
      ++st.step;
      add_time(t0);
      const bool diverged = run.max_nonfinite_steps > 0 && st.nonfinite_streak >= run.max_nonfinite_steps;
      // The diverged step gets a record too, so the log shows the skipped steps up to the stop.
      if (st.step % run.log_every == 0 || diverged)
        log.write(take_train_record(st, epoch_pos(), lr, norm, c.with_distill));
      if (diverged) throw_diverged(st, run, c);
      bar.update(st.batch, fmt::format("loss {:.4f} lr {:.2e}", step.back().loss, lr));
      step.clear();
      if (st.step >= c.total_steps) break;
      if (run.save_every > 0 && st.step % run.save_every == 0 && st.batch < n_batches) save_checkpoint();
      if (run.stop_after_steps > 0 && st.step == run.stop_after_steps && st.batch < n_batches) {
        if (run.save_every == 0 || st.step % run.save_every != 0) save_checkpoint();
        interrupted = true;
        break;
      }
    }
    bar.finish();
    if (interrupted) break;

    // One dev evaluation at the epoch's end (or where training stops): selection, best/, patience, curves.
    const bool epoch_done = st.batch == n_batches;
    const double pos = epoch_pos();
    const json m =
        hooks.evaluate_dev([&](const json& record) { return improves(st, record, c.problem); }, out_dir + "/best");
    record_dev_eval(st, pos, m, c.problem, log, out_dir, out);
    stop = close_epoch(st, epoch_done, c.patience, c.total_steps, c.problem, out);
    save_checkpoint();
    if (run.stop_after_steps > 0 && st.step >= run.stop_after_steps && !stop) {
      interrupted = true;
      break;
    }
  }
  if (interrupted) {
    fmt::print(out, "stopped after step {} as asked (--stop-after-steps); continue with --resume auto\n", st.step);
    return false;
  }
  DOCBERT_CHECK(st.best_epoch >= 0,
                "no dev evaluation had a finite loss ({} evaluations, {} of {} steps skipped for a non-finite loss or "
                "gradient): no model was kept as best/, so there is nothing to score on test. Try {}.",
                st.history.size(), st.skipped_steps, st.step, c.divergence_hint);
  DOCBERT_CHECK(fs::exists(out_dir + "/best/model.safetensors"), "{}/best: no best model was saved", out_dir);
  return true;
}

}  // namespace docbert::train
