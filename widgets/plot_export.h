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

// The image suffixes savePlotImage understands ("png", "pdf", "svg").
bool isPlotImageSuffix(const QString& suffix);

}  // namespace ls::widgets
