// train/common/curves_svg.cpp: see curves_svg.h.
#include "train/common/curves_svg.h"

#include "base/error.h"
#include "base/file_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <utility>

namespace docbert::train {
namespace {

// Panel geometry in px; the plot area is the panel less the margins (title above, tick labels and axis labels
// below and to the left).
constexpr double kWidth = 480, kHeight = 360;
constexpr double kLeft = 64, kRight = 16, kTop = 36, kBottom = 52;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;
constexpr int kTicks = 5;
constexpr double kCharWidth = 7;  // a 12px sans-serif character, on average, for sizing the legend box

// matplotlib's tab10: distinct, and readable for the common colour-vision deficiencies.
constexpr const char* kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

size_t columns(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// Heckbert's "nice numbers" (Graphics Gems, 1990): 1, 2 or 5 times a power of ten near x; rounded to the nearest
// when `round`, else the smallest not below x.
double nice_number(double x, bool round) {
  const double power = std::pow(10.0, std::floor(std::log10(x)));
  const double f = x / power;
  if (round) return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

// The visible range [lo, hi] (the data plus a 5% margin, so no marker sits on the frame) and the ticks: the multiples
// of `step` inside it.
struct Axis {
  double lo = 0, hi = 1, step = 0.2;
  int decimals = 1;  // of the tick labels; -1: general format (very large or very small numbers)

  double fraction(double v) const { return (v - lo) / (hi - lo); }
  std::vector<double> ticks() const {
    std::vector<double> out;
    // i * step, not a running sum: no accumulated roundoff.
    for (auto i = static_cast<int64_t>(std::ceil(lo / step - 1e-9)); i <= std::floor(hi / step + 1e-9); ++i) {
      out.push_back(static_cast<double>(i) * step);
    }
    return out;
  }
  std::string label(double v) const {
    if (std::abs(v) < step * 1e-9) v = 0;  // no "-0.0" from roundoff around zero
    return decimals < 0 ? fmt::format("{:.4g}", v) : fmt::format("{:.{}f}", v, decimals);
  }
};

// `whole`: every value is a whole number (epochs), so ticks step by at least 1.
Axis make_axis(double min, double max, bool whole) {
  if (min == max) {  // one value: centre it
    // Whole numbers get at least +-1, but never less than 10% of the value: +-1 around a huge loss (a diverging
    // run's 1e35) would round away and leave a range of zero width.
    const double relative = min == 0 ? 0.5 : std::abs(min) * 0.1;
    const double pad = whole ? std::max(1.0, relative) : relative;
    min -= pad;
    max += pad;
  }
  Axis a;
  const double margin = 0.05 * (max - min);
  a.lo = min - margin;
  a.hi = max + margin;
  a.step = nice_number((a.hi - a.lo) / kTicks, true);  // 3 to 8 ticks
  if (whole) a.step = std::max(a.step, 1.0);
  const int digits = static_cast<int>(-std::floor(std::log10(a.step) + 1e-9));
  a.decimals = digits > 6 || std::max(std::abs(a.lo), std::abs(a.hi)) >= 1e6 ? -1 : std::max(digits, 0);
  return a;
}

// Appends formatted text to `out`.
template <class... A>
void emit(std::string& out, fmt::format_string<A...> format, A&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<A>(args)...);
}

bool finite_point(const CurveSeries& s, size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]); }

bool all_whole(const std::vector<double>& values) {
  return std::all_of(values.begin(), values.end(), [](double v) { return v == std::floor(v); });
}

// Where the legend box (w x h) covers the fewest of `occupied` (screen points on the curves): top right, bottom right,
// top left or bottom left, the first of the best. Loss curves fall and metric curves rise, so one of the right-hand
// corners is usually free.
std::pair<double, double> legend_corner(double w, double h, const std::vector<std::pair<double, double>>& occupied) {
  constexpr double kGap = 6;
  const double right = kLeft + kPlotW - w - kGap, left = kLeft + kGap;
  const double top = kTop + kGap, bottom = kTop + kPlotH - h - kGap;
  const std::pair<double, double> corners[] = {{right, top}, {right, bottom}, {left, top}, {left, bottom}};
  std::pair<double, double> best = corners[0];
  auto best_count = occupied.size() + 1;
  for (const auto& [x0, y0] : corners) {
    const auto covered = static_cast<size_t>(std::count_if(occupied.begin(), occupied.end(), [&](const auto& p) {
      return p.first >= x0 - kGap && p.first <= x0 + w + kGap && p.second >= y0 - kGap && p.second <= y0 + h + kGap;
    }));
    if (covered < best_count) {
      best = {x0, y0};
      best_count = covered;
    }
  }
  return best;
}

void panel_svg(const CurvePanel& panel, double offset_x, std::string& out) {
  std::vector<double> xs, ys;  // the finite points of all series
  for (const CurveSeries& s : panel.series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!finite_point(s, i)) continue;
      xs.push_back(s.x[i]);
      ys.push_back(s.y[i]);
    }
  }
  const bool empty = xs.empty();
  const Axis ax = empty ? make_axis(0, 1, false)
                        : make_axis(*std::min_element(xs.begin(), xs.end()), *std::max_element(xs.begin(), xs.end()),
                                    all_whole(xs));
  const Axis ay = empty ? make_axis(0, 1, false)
                        : make_axis(*std::min_element(ys.begin(), ys.end()), *std::max_element(ys.begin(), ys.end()),
                                    all_whole(ys));
  auto sx = [&](double v) { return kLeft + ax.fraction(v) * kPlotW; };
  auto sy = [&](double v) { return kTop + kPlotH - ay.fraction(v) * kPlotH; };

  emit(out, "<g transform=\"translate({:.1f},0)\">\n", offset_x);
  emit(out, "<text x=\"{:.1f}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
       kLeft + kPlotW / 2, xml_escape(panel.title));
  // Grid lines, tick marks (the grid lines' 4 px outside the frame) and tick labels.
  for (double v : ax.ticks()) {
    const double x = sx(v);
    emit(out, "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#e6e6e6\"/>\n", x, kTop,
         kTop + kPlotH + 4);
    emit(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x, kTop + kPlotH + 18, ax.label(v));
  }
  for (double v : ay.ticks()) {
    const double y = sy(v);
    emit(out, "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#e6e6e6\"/>\n", kLeft - 4, y,
         kLeft + kPlotW);
    emit(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 7, y + 4, ay.label(v));
  }
  emit(out, "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#333333\"/>\n",
       kLeft, kTop, kPlotW, kPlotH);
  emit(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", kLeft + kPlotW / 2, kHeight - 10,
       xml_escape(panel.x_label));
  emit(out, "<text transform=\"translate(16,{:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
       kTop + kPlotH / 2, xml_escape(panel.y_label));
  if (empty) {
    emit(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"#777777\">no data</text>\n",
         kLeft + kPlotW / 2, kTop + kPlotH / 2);
  }

  // Series: a polyline through the finite points, a marker on each (hovering shows its values).
  std::vector<std::string> legend;
  std::vector<std::pair<double, double>> occupied;  // the markers and 16 points along each segment
  for (size_t k = 0; k < panel.series.size(); ++k) {
    const CurveSeries& s = panel.series[k];
    const char* colour = kColours[k % std::size(kColours)];
    std::string points, markers;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!finite_point(s, i)) continue;
      const double x = sx(s.x[i]), y = sy(s.y[i]);
      if (!points.empty()) {
        const auto [px, py] = occupied.back();
        for (int t = 1; t < 16; ++t) occupied.emplace_back(px + (x - px) * t / 16, py + (y - py) * t / 16);
      }
      occupied.emplace_back(x, y);
      emit(points, "{}{:.1f},{:.1f}", points.empty() ? "" : " ", x, y);
      emit(markers,
           "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"><title>{} ({:.6g}, {:.6g})</title>"
           "</circle>\n",
           x, y, colour, xml_escape(s.name), s.x[i], s.y[i]);
    }
    legend.push_back(points.empty() ? s.name + " (no data)" : s.name);
    if (points.empty()) continue;
    emit(out, "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n{}", colour, points, markers);
  }

  if (!legend.empty()) {
    size_t longest = 0;
    for (const std::string& entry : legend) longest = std::max(longest, columns(entry));
    const double w = 40 + kCharWidth * static_cast<double>(longest), h = 8 + 18 * static_cast<double>(legend.size());
    const auto [x0, y0] = legend_corner(w, h, occupied);
    emit(out,
         "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"white\" fill-opacity=\"0.85\" "
         "stroke=\"#bbbbbb\"/>\n",
         x0, y0, w, h);
    for (size_t k = 0; k < legend.size(); ++k) {
      const char* colour = kColours[k % std::size(kColours)];
      const double y = y0 + 13 + 18 * static_cast<double>(k);
      emit(out, "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"/>\n",
           x0 + 8, y, x0 + 30, y, colour);
      emit(out, "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", x0 + 19, y, colour);
      emit(out, "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", x0 + 36, y + 4, xml_escape(legend[k]));
    }
  }
  out += "</g>\n";
}

}  // namespace

std::string curves_svg(const std::vector<CurvePanel>& panels) {
  DOCBERT_CHECK(!panels.empty(), "curves_svg: no panel to draw");
  for (const CurvePanel& p : panels) {
    for (const CurveSeries& s : p.series) {
      DOCBERT_CHECK(s.x.size() == s.y.size(), "curves_svg: panel '{}', series '{}': {} x values but {} y values",
                    p.title, s.name, s.x.size(), s.y.size());
    }
  }
  const double width = kWidth * static_cast<double>(panels.size());
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"{0:.0f}\" height=\"{1:.0f}\" fill=\"white\"/>\n",
      width, kHeight);
  for (size_t i = 0; i < panels.size(); ++i) panel_svg(panels[i], kWidth * static_cast<double>(i), out);
  out += "</svg>\n";
  return out;
}

void write_curves_svg(const std::string& path, const std::vector<CurvePanel>& panels) {
  write_file_atomic(path, curves_svg(panels), "training curves");
}

}  // namespace docbert::train
