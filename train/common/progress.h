// train/common/progress.h: the trainers' progress bar, in the manner of tqdm.
//
// On a terminal the bar redraws one line in place ('\r'), at most 10 times a second and at most 100 columns wide:
//   epoch 2/4 |#####     | 1234/5000 [01:02<03:10, 19.8 it/s] loss 0.31
// Anywhere else (a log file, a pipe, --no-progress) '\r' redraws would pile up, so it prints a full line instead,
// at most once per interval and once more at finish:
//   epoch 2/4 1234/5000 (24.7%) elapsed 01:02 eta 03:10 19.8 it/s loss 0.31
// Rate and ETA are the average since construction (done / elapsed): batches of a bucketed epoch vary in length, so
// an average over the whole epoch is steadier than tqdm's smoothed recent rate. A rate below 1 it/s is shown as
// seconds per iteration ("4.52 s/it"), more readable for slow CPU training.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace docbert::train {

// Whether stderr is a terminal (isatty): the trainers' default for ProgressBar's `interactive`.
bool stderr_is_terminal();

// "mm:ss" under an hour ("01:02"), "h:mm:ss" from an hour on ("1:02:03"), seconds rounded down; "?" for a NaN,
// infinite, negative or absurd (>= 1e15 s) duration, such as the ETA before the first iteration.
std::string format_duration(double seconds);

// Seconds of std::chrono::steady_clock: ProgressBar's default clock.
double steady_seconds();

class ProgressBar {
 public:
  // Starts the clock; prints nothing yet.
  //   description             the line's prefix ("epoch 2/4")
  //   total                   the iteration count; <= 0 when unknown (no bar, percentage or ETA)
  //   interactive             redraw in place (a terminal) or print plain lines (see the file comment)
  //   out                     where to write (stderr); must outlive the bar
  //   plain_interval_seconds  non-interactive only: the least time between two plain lines, and before the first
  //   now_seconds             the clock, any origin (tests inject a fake one)
  ProgressBar(std::string description, int64_t total, bool interactive, std::FILE* out = stderr,
              double plain_interval_seconds = 30, std::function<double()> now_seconds = steady_seconds);
  // Ends an interactive line left open (an exception unwinding through the loop), so what follows starts afresh.
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Records progress and draws when the throttle allows; ignored after finish.
  //   done     iterations completed so far (>= 0; may exceed total)
  //   postfix  text after the statistics ("loss 0.31"); kept for finish
  void update(int64_t done, const std::string& postfix = "");
  // Draws the final state unconditionally (interactive: then ends the line); later calls do nothing.
  //   postfix  replaces the last update's postfix when not empty
  void finish(const std::string& postfix = "");

 private:
  std::string interactive_line(double elapsed) const;
  std::string plain_line(double elapsed) const;
  void draw(double now);

  std::string description_;
  int64_t total_;
  bool interactive_;
  std::FILE* out_;
  double plain_interval_;
  std::function<double()> now_;
  double start_;
  double last_draw_;    // clock time of the last line or redraw
  bool drawn_ = false;  // interactive: a line is open on the terminal
  bool finished_ = false;
  size_t last_width_ = 0;  // interactive: columns of the last redraw, to blank leftovers of a longer line
  int64_t done_ = 0;
  std::string postfix_;
};

}  // namespace docbert::train
