// train/common/curves_svg.h: training curves (loss and dev metric per epoch) as a standalone SVG file.
//
// Hand-written SVG 1.1 text with no script, style sheet or external reference, so any browser or image viewer
// shows it and a run folder stays self-contained. Panels sit side by side, each with a frame around the data plus a
// 5% margin, 3 to 8 ticks per axis at round values (1, 2 or 5 times a power of ten; whole numbers only when every x,
// or every y, is whole, as epochs are), light grid lines, one polyline with round markers per series in the tab10
// colours (hovering a marker shows its values) and a legend in the corner the curves leave most free.
#pragma once

#include <string>
#include <vector>

namespace docbert::train {

struct CurveSeries {
  std::string name;  // the legend entry ("train loss")
  // The points, x[i] against y[i] (same size). Points with a NaN or infinite coordinate are left out (a dev loss
  // not computed that epoch); the polyline joins the points on either side.
  std::vector<double> x, y;
};

struct CurvePanel {
  std::string title, x_label, y_label;  // "training loss", "epoch", "loss"
  // The series, coloured in this order; a panel without any finite point shows its axes and "no data", a series
  // without any is listed in the legend as "<name> (no data)".
  std::vector<CurveSeries> series;
};

// The SVG document: "<svg ...>" through "</svg>\n". Text is XML-escaped. Throws docbert::Error naming the panel
// and the series when a series' x and y differ in size.
//   panels  drawn left to right, 480 x 360 px each; at least one
std::string curves_svg(const std::vector<CurvePanel>& panels);

// Writes curves_svg(panels) to `path` atomically (base/file_io.h's write_file_atomic), so a viewer refreshing the
// file during training never sees half a picture. Throws docbert::Error as curves_svg and write_file_atomic do.
//   path    the file ("curves.svg" in the run folder); its folder must exist
//   panels  as curves_svg
void write_curves_svg(const std::string& path, const std::vector<CurvePanel>& panels);

}  // namespace docbert::train
