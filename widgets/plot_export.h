#pragma once
// Saving a QCustomPlot as an image, shared by every plot view. The format comes from
// the file suffix: .png, .pdf or .svg.
#include <QSize>
#include <QString>

class QCustomPlot;

namespace ls::widgets {

// size: output size in pixels (PNG) or points (PDF, SVG); empty = the plot's current size.
// Returns false and sets *error (if given) to a message naming the file on failure.
bool savePlotImage(QCustomPlot* plot, const QString& path, QSize size = {},
                   QString* error = nullptr);

// A figure's physical size and, for PNG, its resolution. The chart is laid out at that size
// with its fonts in points (a 9 pt label is 9 pt on the page): PNG has width x height x dpi
// pixels and says its dpi; PDF and SVG are vectors of that size.
struct FigureSize {
    double widthMm = 0, heightMm = 0;
    int dpi = 300;  // PNG only; 72..600
    bool isEmpty() const { return !(widthMm > 0) || !(heightMm > 0); }
};
bool savePlotImage(QCustomPlot* plot, const QString& path, const FigureSize& figure, QString* error = nullptr);
// The chart's logical size for a figure: its physical size at 96 dots per inch (the
// resolution QCustomPlot's fonts assume).
QSize figureLayoutSize(const FigureSize& figure);

// The image suffixes savePlotImage understands ("png", "pdf", "svg").
bool isPlotImageSuffix(const QString& suffix);

}  // namespace ls::widgets
