// train/common/progress.cpp: see progress.h.
#include "train/common/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

namespace docbert::train {
namespace {

constexpr size_t kColumns = 100;        // the interactive line's width
constexpr size_t kMinBar = 10;          // below this the bar keeps 10 columns and the line's end is cut instead
constexpr double kRedrawSeconds = 0.1;  // at most 10 redraws a second

// Terminal columns of UTF-8 text: its code points (every byte that is not a continuation byte 10xxxxxx).
size_t columns(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// The first `n` code points of `s`, never half a multi-byte character.
std::string cut_to_columns(const std::string& s, size_t n) {
  size_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] & 0xC0) != 0x80 && seen++ == n) return s.substr(0, i);
  }
  return s;
}

// Iterations per second, NaN before the first iteration or without elapsed time.
double rate_of(int64_t done, double elapsed) {
  return done > 0 && elapsed > 0 ? static_cast<double>(done) / elapsed : std::nan("");
}

std::string rate_text(double rate) {
  if (std::isnan(rate)) return "? it/s";
  return rate >= 1 ? fmt::format("{:.1f} it/s", rate) : fmt::format("{:.2f} s/it", 1 / rate);
}

std::string eta_text(int64_t done, int64_t total, double rate) {
  if (done >= total) return format_duration(0);
  return format_duration(static_cast<double>(total - done) / rate);  // NaN rate: "?"
}

std::string with_space(const std::string& s) { return s.empty() ? s : s + " "; }
std::string space_before(const std::string& s) { return s.empty() ? s : " " + s; }

}  // namespace

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds >= 1e15) return "?";
  const auto s = static_cast<int64_t>(seconds);
  if (s < 3600) return fmt::format("{:02d}:{:02d}", s / 60, s % 60);
  return fmt::format("{}:{:02d}:{:02d}", s / 3600, s / 60 % 60, s % 60);
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ProgressBar::ProgressBar(std::string description, int64_t total, bool interactive, std::FILE* out,
                         double plain_interval_seconds, std::function<double()> now_seconds)
    : description_(std::move(description)),
      total_(total),
      interactive_(interactive),
      out_(out),
      plain_interval_(plain_interval_seconds),
      now_(std::move(now_seconds)),
      start_(now_()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (drawn_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

void ProgressBar::update(int64_t done, const std::string& postfix) {
  if (finished_) return;
  done_ = done;
  postfix_ = postfix;
  const double now = now_();
  const bool due = interactive_ ? !drawn_ || now - last_draw_ >= kRedrawSeconds : now - last_draw_ >= plain_interval_;
  if (due) draw(now);
}

void ProgressBar::finish(const std::string& postfix) {
  if (finished_) return;
  if (!postfix.empty()) postfix_ = postfix;
  draw(now_());
  finished_ = true;
  if (drawn_) {
    std::fputc('\n', out_);
    std::fflush(out_);
    drawn_ = false;
  }
}

void ProgressBar::draw(double now) {
  const double elapsed = now - start_;
  last_draw_ = now;
  if (!interactive_) {
    std::fprintf(out_, "%s\n", plain_line(elapsed).c_str());
    std::fflush(out_);
    return;
  }
  const std::string line = interactive_line(elapsed);
  const size_t width = columns(line);
  // A shorter line than the last one would leave the old line's tail on screen.
  std::fprintf(out_, "\r%s%s", line.c_str(), std::string(last_width_ > width ? last_width_ - width : 0, ' ').c_str());
  std::fflush(out_);
  last_width_ = width;
  drawn_ = true;
}

std::string ProgressBar::interactive_line(double elapsed) const {
  const double rate = rate_of(done_, elapsed);
  if (total_ <= 0) {
    return cut_to_columns(fmt::format("{}{}it [{}, {}]{}", with_space(description_), done_, format_duration(elapsed),
                                      rate_text(rate), space_before(postfix_)),
                          kColumns);
  }
  const std::string before = with_space(description_) + "|";
  const std::string after = fmt::format("| {}/{} [{}<{}, {}]{}", done_, total_, format_duration(elapsed),
                                        eta_text(done_, total_, rate), rate_text(rate), space_before(postfix_));
  const size_t text = columns(before) + columns(after);
  const size_t bar = text + kMinBar < kColumns ? kColumns - text : kMinBar;
  const double fraction = std::clamp(static_cast<double>(done_) / static_cast<double>(total_), 0.0, 1.0);
  const auto filled = static_cast<size_t>(fraction * static_cast<double>(bar));
  return cut_to_columns(before + std::string(filled, '#') + std::string(bar - filled, ' ') + after, kColumns);
}

std::string ProgressBar::plain_line(double elapsed) const {
  const double rate = rate_of(done_, elapsed);
  if (total_ <= 0) {
    return fmt::format("{}{} elapsed {} {}{}", with_space(description_), done_, format_duration(elapsed),
                       rate_text(rate), space_before(postfix_));
  }
  return fmt::format("{}{}/{} ({:.1f}%) elapsed {} eta {} {}{}", with_space(description_), done_, total_,
                     100.0 * static_cast<double>(done_) / static_cast<double>(total_), format_duration(elapsed),
                     eta_text(done_, total_, rate), rate_text(rate), space_before(postfix_));
}

}  // namespace docbert::train
