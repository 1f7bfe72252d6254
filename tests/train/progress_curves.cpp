// The progress bar (plain lines and their throttle, in-place redraws, durations, rates and ETAs, on a fake clock) and
// the training-curves SVG (content, escaping, skipped points, well-formedness, the atomic write).
#include <catch2/catch.hpp>

#include "base/error.h"
#include "base/file_io.h"
#include "tests/test_support.h"
#include "train/common/curves_svg.h"
#include "train/common/progress.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

using docbert::train::CurvePanel;
using docbert::train::curves_svg;
using docbert::train::CurveSeries;
using docbert::train::format_duration;
using docbert::train::ProgressBar;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A tmpfile() that the bar writes to; take() returns what was written since the last take().
class Capture {
 public:
  Capture() : file_(std::tmpfile()) { REQUIRE(file_ != nullptr); }
  ~Capture() { std::fclose(file_); }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  std::FILE* file() const { return file_; }
  std::string take() {
    std::fflush(file_);
    const long end = std::ftell(file_);
    std::string out(static_cast<size_t>(end - read_), '\0');
    std::fseek(file_, read_, SEEK_SET);
    const size_t got = std::fread(out.data(), 1, out.size(), file_);
    out.resize(got);
    std::fseek(file_, end, SEEK_SET);
    read_ = end;
    return out;
  }

 private:
  std::FILE* file_;
  long read_ = 0;
};

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

// The `points` attribute of every polyline.
std::vector<std::string> polyline_points(const std::string& svg) {
  std::vector<std::string> out;
  for (size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) {
    const size_t begin = svg.find("points=\"", at) + 8;
    out.push_back(svg.substr(begin, svg.find('"', begin) - begin));
  }
  return out;
}

// A small well-formedness check: tags nest and close, attribute values are quoted, and every '&' starts an entity.
bool well_formed(const std::string& xml) {
  std::vector<std::string> open;
  for (size_t i = 0; i < xml.size(); ++i) {
    if (xml[i] == '&') {
      const size_t semi = xml.find(';', i);
      const std::string entity = semi == std::string::npos ? "" : xml.substr(i, semi - i + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" && entity != "&apos;") {
        return false;
      }
    }
    if (xml[i] == '>') return false;  // a '>' outside a tag would be escaped by curves_svg
    if (xml[i] != '<') continue;
    size_t end = i + 1;
    for (bool quoted = false; end < xml.size() && (quoted || xml[end] != '>'); ++end) {
      if (xml[end] == '"') quoted = !quoted;
      if (!quoted && xml[end] == '<') return false;
    }
    if (end == xml.size()) return false;
    const std::string tag = xml.substr(i + 1, end - i - 1);
    if (tag.front() == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return false;
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
    i = end;
  }
  return open.empty();
}

std::vector<CurvePanel> trainer_panels() {
  return {{"training loss",
           "epoch",
           "loss",
           {{"train loss", {1, 2, 3, 4}, {0.9, 0.5, 0.35, 0.3}}, {"dev loss", {1, 2, 3, 4}, {0.8, 0.55, kNaN, 0.45}}}},
          {"dev metric", "epoch", "micro-F1", {{"dev micro-F1", {1, 2, 3, 4}, {0.61, 0.74, 0.79, 0.8}}}}};
}

}  // namespace

TEST_CASE("progress: format_duration", "[progress]") {
  CHECK(format_duration(0) == "00:00");
  CHECK(format_duration(59.99) == "00:59");
  CHECK(format_duration(62) == "01:02");
  CHECK(format_duration(3599) == "59:59");
  CHECK(format_duration(3600) == "1:00:00");
  CHECK(format_duration(3723.5) == "1:02:03");
  CHECK(format_duration(100 * 3600 + 61) == "100:01:01");
  CHECK(format_duration(kNaN) == "?");
  CHECK(format_duration(std::numeric_limits<double>::infinity()) == "?");
  CHECK(format_duration(-1) == "?");
  CHECK(format_duration(1e300) == "?");
}

TEST_CASE("progress: plain lines, at most one per interval, plus one at finish", "[progress]") {
  Capture cap;
  double now = 100;  // any origin
  ProgressBar bar("epoch 2/4", 5000, false, cap.file(), 30, [&] { return now; });
  now = 110;
  bar.update(100, "loss 0.9");
  now = 129.9;
  bar.update(500, "loss 0.5");
  CHECK(cap.take().empty());  // nothing before the first interval
  now = 160;
  bar.update(1200, "loss 0.31");
  CHECK(cap.take() == "epoch 2/4 1200/5000 (24.0%) elapsed 01:00 eta 03:10 20.0 it/s loss 0.31\n");
  now = 189.9;
  bar.update(1700);
  CHECK(cap.take().empty());  // 29.9 s after the last line
  now = 190;
  bar.update(1800);
  CHECK(cap.take() == "epoch 2/4 1800/5000 (36.0%) elapsed 01:30 eta 02:40 20.0 it/s\n");
  now = 200;
  bar.finish("loss 0.25");  // 3200 left at 18 it/s: 177.8 s
  CHECK(cap.take() == "epoch 2/4 1800/5000 (36.0%) elapsed 01:40 eta 02:57 18.0 it/s loss 0.25\n");
  now = 300;
  bar.update(5000);
  bar.finish();
  CHECK(cap.take().empty());
}

TEST_CASE("progress: plain lines without a total, before any iteration, and slow", "[progress]") {
  Capture cap;
  double now = 0;
  {
    ProgressBar bar("epoch 1", 0, false, cap.file(), 30, [&] { return now; });
    now = 60;
    bar.update(1200);
    CHECK(cap.take() == "epoch 1 1200 elapsed 01:00 20.0 it/s\n");
  }
  CHECK(cap.take().empty());  // a plain bar has no open line to end
  ProgressBar fresh("dev", 10, false, cap.file(), 30, [&] { return now; });
  fresh.finish();
  CHECK(cap.take() == "dev 0/10 (0.0%) elapsed 00:00 eta ? ? it/s\n");
  ProgressBar slow("", 100, false, cap.file(), 30, [&] { return now; });
  now = 120;
  slow.update(1);  // 60 s per iteration, 99 left
  CHECK(cap.take() == "1/100 (1.0%) elapsed 01:00 eta 1:39:00 60.00 s/it\n");
}

TEST_CASE("progress: interactive redraws in place, 100 columns, at most 10 a second", "[progress]") {
  Capture cap;
  double now = 0;
  ProgressBar bar("epoch 2/4", 5000, true, cap.file(), 30, [&] { return now; });
  now = 60;
  bar.update(1200, "loss 0.31");  // the first update draws at once
  const std::string line = cap.take();
  const std::string before = "\repoch 2/4 |", after = "| 1200/5000 [01:00<03:10, 20.0 it/s] loss 0.31";
  REQUIRE(line.size() == 1 + 100);
  CHECK(line.rfind(before, 0) == 0);
  CHECK(line.substr(line.size() - after.size()) == after);
  const size_t bar_width = 100 - (before.size() - 1) - after.size();
  CHECK(count(line, "#") == static_cast<size_t>(0.24 * static_cast<double>(bar_width)));
  CHECK(line.find('\n') == std::string::npos);

  now = 60.05;
  bar.update(1201, "loss 0.31");
  CHECK(cap.take().empty());  // throttled
  now = 60.2;
  bar.update(5000, std::string(200, 'x'));  // a long postfix is cut at 100 columns
  const std::string full = cap.take();
  CHECK(full.size() == 1 + 100);
  CHECK(full.find("|" + std::string(count(full, "#"), '#') + "| 5000/5000 [01:00<00:00, 83.1 it/s] xxx") !=
        std::string::npos);
  bar.finish("done");
  const std::string last = cap.take();
  CHECK(last.front() == '\r');
  CHECK(last.find("5000/5000") != std::string::npos);
  CHECK(last.back() == '\n');
}

TEST_CASE("progress: interactive without a total blanks a longer previous line", "[progress]") {
  Capture cap;
  double now = 0;
  {
    ProgressBar bar("teacher logits", -1, true, cap.file(), 30, [&] { return now; });
    now = 2;
    bar.update(10, "batch of 32 documents");
    CHECK(cap.take() == "\rteacher logits 10it [00:02, 5.0 it/s] batch of 32 documents");
    now = 4;
    bar.update(20);
    CHECK(cap.take() == "\rteacher logits 20it [00:04, 5.0 it/s]" + std::string(22, ' '));
  }
  CHECK(cap.take() == "\n");  // destroyed without finish (an exception): the open line is ended
}

TEST_CASE("curves: the trainer's two panels", "[curves]") {
  const std::string svg = curves_svg(trainer_panels());
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"360\"", 0) == 0);
  CHECK(svg.size() > 7);
  CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
  CHECK(well_formed(svg));
  for (const char* text : {">training loss</text>", ">dev metric</text>", ">train loss</text>", ">dev loss</text>",
                           ">dev micro-F1</text>", ">epoch</text>", ">micro-F1</text>"}) {
    INFO(text);
    CHECK(svg.find(text) != std::string::npos);
  }
  // One polyline per series, the dev loss without its NaN point; markers: one per point plus one per legend entry.
  const std::vector<std::string> points = polyline_points(svg);
  REQUIRE(points.size() == 3);
  CHECK(count(points[0], ",") == 4);
  CHECK(count(points[1], ",") == 3);
  CHECK(count(points[2], ",") == 4);
  CHECK(count(svg, "<circle") == 11 + 3);
  CHECK(svg.find("nan") == std::string::npos);
  // Three distinct colours: tab10's first two in the loss panel, the first again in the metric panel.
  CHECK(count(svg, "stroke=\"#1f77b4\" stroke-width=\"2\" points") == 2);
  CHECK(count(svg, "stroke=\"#ff7f0e\" stroke-width=\"2\" points") == 1);
  // Round ticks inside the data range plus 5%: whole epochs 1 to 4; the losses (0.3 to 0.9) by 0.1; the F1 (0.61 to
  // 0.8) by 0.05 from 0.65.
  for (const char* tick : {">1</text>", ">4</text>", ">0.3</text>", ">0.9</text>", ">0.65</text>", ">0.80</text>"}) {
    INFO(tick);
    CHECK(svg.find(tick) != std::string::npos);
  }
  CHECK(svg.find(">1.5</text>") == std::string::npos);  // no half epochs
  CHECK(svg.find(">0.2</text>") == std::string::npos);
  CHECK(svg.find(">0.60</text>") == std::string::npos);
  // The legend goes where the curves leave room: top right for falling losses, bottom right for a rising F1.
  CHECK(svg.find("<rect x=\"348.0\" y=\"42.0\" width=\"110.0\" height=\"44.0\" fill=\"white\"") != std::string::npos);
  CHECK(svg.find("<rect x=\"334.0\" y=\"276.0\" width=\"124.0\" height=\"26.0\" fill=\"white\"") != std::string::npos);
}

TEST_CASE("curves: escaping, empty panels and series, bad input", "[curves]") {
  const std::vector<CurvePanel> panels = {
      {"a<b & \"c\"", "x>0", "it's", {{"<train> & dev", {1, 2}, {1, 2}}, {"dev", {}, {}}}},
      {"nothing yet", "epoch", "loss", {}},
      {"only NaN", "epoch", "loss", {{"dev loss", {1, 2}, {kNaN, std::numeric_limits<double>::infinity()}}}}};
  const std::string svg = curves_svg(panels);
  CHECK(well_formed(svg));
  CHECK(svg.find(">a&lt;b &amp; &quot;c&quot;</text>") != std::string::npos);
  CHECK(svg.find(">x&gt;0</text>") != std::string::npos);
  CHECK(svg.find(">it&apos;s</text>") != std::string::npos);
  CHECK(svg.find(">&lt;train&gt; &amp; dev</text>") != std::string::npos);
  CHECK(svg.find("<train>") == std::string::npos);
  CHECK(svg.find(">dev (no data)</text>") != std::string::npos);
  CHECK(svg.find(">dev loss (no data)</text>") != std::string::npos);
  CHECK(count(svg, ">no data</text>") == 2);  // the panel without series and the one without finite points
  CHECK(polyline_points(svg).size() == 1);
  CHECK(svg.find("inf") == std::string::npos);

  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(curves_svg({{"loss", "epoch", "loss", {{"dev loss", {1, 2}, {1}}}}}),
                    Contains("panel 'loss', series 'dev loss': 2 x values but 1 y values"));
  CHECK_THROWS_WITH(curves_svg({}), Contains("no panel"));
}

TEST_CASE("curves: one point and flat series get a centred, labelled range", "[curves]") {
  const std::string svg = curves_svg({{"flat", "epoch", "loss", {{"train loss", {1}, {0.5}}}}});
  CHECK(well_formed(svg));
  CHECK(polyline_points(svg) == std::vector<std::string>{"264.0,172.0"});  // the centre of the plot area
  CHECK(svg.find(">0</text>") != std::string::npos);
  CHECK(svg.find(">2</text>") != std::string::npos);
}

// A diverging run's one finite dev loss can be a huge whole number: +-1 around it would round away and ask for
// 1e35 ticks.
TEST_CASE("curves: one huge value gets a range that does not round away", "[curves]") {
  const std::string svg = curves_svg({{"loss", "epoch", "loss", {{"dev loss", {1}, {1.15e35}}}}});
  CHECK(well_formed(svg));
  CHECK(polyline_points(svg) == std::vector<std::string>{"264.0,172.0"});
  CHECK(std::count(svg.begin(), svg.end(), '\n') < 100);
}

TEST_CASE("curves: write_curves_svg writes atomically", "[curves]") {
  const docbert::test::ScratchDir dir;
  const std::string path = dir.file("curves.svg");
  docbert::train::write_curves_svg(path, trainer_panels());
  const std::string content = docbert::read_file(path, "training curves");
  CHECK(content == curves_svg(trainer_panels()));
  CHECK(content.rfind("<svg", 0) == 0);
  CHECK(content.substr(content.size() - 7) == "</svg>\n");
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()) == 1);
  // Overwriting replaces the file whole.
  docbert::train::write_curves_svg(path, {{"empty", "epoch", "loss", {}}});
  CHECK(docbert::read_file(path, "training curves").find(">no data</text>") != std::string::npos);
  CHECK_THROWS_AS(docbert::train::write_curves_svg(dir.file("missing/curves.svg"), trainer_panels()), docbert::Error);
}
