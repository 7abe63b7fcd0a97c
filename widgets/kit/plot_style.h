#pragma once
// The look every analysis chart shares, in one place: titled plots, legends, bars, heatmaps
// and the labels beside marker lines.
#include <QColor>
#include <QPen>
#include <QSize>
#include <QString>

class QCPBars;
class QCPColorMap;
class QCPItemRect;
class QCPItemStraightLine;
class QCPGraph;
class QCPScatterStyle;
class QCPColorScale;
class QCPItemText;
class QCPLayerable;
class QCPTextElement;
class QCustomPlot;
class QWidget;

namespace ls::widgets {

// Marks what shows the user's selection on screen (a frame, a band, a ring): exported figures
// leave it out (savePlotImage).
void markOnScreenOnly(QCPLayerable* item);
bool isOnScreenOnly(const QCPLayerable* item);

// A QCustomPlot with a bold title row above its axis rect and mouse tracking on (for hover
// tooltips). Row 0 is the title, row 1 the axis rect. setUpTitledPlot does the same to a plot
// that exists (a chart class derived from QCustomPlot).
QCustomPlot* makeTitledPlot(QWidget* parent, const QString& title, QSize minimumSize, int titlePointSize = 10);
void setUpTitledPlot(QCustomPlot* plot, const QString& title, QSize minimumSize, int titlePointSize = 10);
QCPTextElement* titleOf(const QCustomPlot* plot);

// A second, plain line under the title (row 1; the axis rect moves to row 2).
QCPTextElement* addSubtitle(QCustomPlot* plot);
QCPTextElement* subtitleOf(const QCustomPlot* plot);

// Bars over whole keys (layers) along x: the axis titles, no vertical grid lines, no sub-ticks
// on x.
void setUpBarAxes(QCustomPlot* plot, const QString& xLabel, const QString& yLabel);

// Moves the legend out of the axis rect into layout row `row` (below the axis rect of a
// titled plot), entries side by side, no frame.
void legendBelow(QCustomPlot* plot, int row = 2);

// The legend shown in a corner of the axis rect, on white at the given alpha.
void legendInside(QCustomPlot* plot, Qt::Alignment corner, int alpha = 255);

// A graph of points only (no line between them), named for the legend.
QCPGraph* addPoints(QCustomPlot* plot, const QString& name, const QCPScatterStyle& style);

// Bars in color: a darker outline, the fill at the given alpha.
void styleBars(QCPBars* bars, const QColor& color, int alpha = 190);
// Bars over the plot's x axis, named for the legend and styled so. A histogram's: their width in
// plot coordinates (set it to the bin width).
QCPBars* addBars(QCustomPlot* plot, const QString& name, const QColor& color, int alpha = 190);
QCPBars* addHistogramBars(QCustomPlot* plot, const QString& name, const QColor& color, int alpha);

// A colour map over the plot's axes with its colour scale to the right of the axis rect
// (lined up with it), cells drawn as flat blocks. The axes lose their grid and sub-ticks.
struct Heatmap {
    QCPColorMap* map = nullptr;
    QCPColorScale* scale = nullptr;
};
Heatmap addHeatmap(QCustomPlot* plot, const QString& name, int scaleWidth = 12);

// A hidden text item, clipped to the axis rect: x in plot coordinates, y as a fraction of the
// axis rect's height from the top. The labels of vertical marker lines.
QCPItemText* makeMarkerLabel(QCustomPlot* plot, const QColor& color);

// A marker line and its label, shown and hidden together.
struct MarkerLine {
    QCPItemStraightLine* line = nullptr;
    QCPItemText* label = nullptr;
    void setVisible(bool visible) const;
    // The line vertical at x (plot coordinates; on a log y axis too), the label saying text
    // (placeBesideLine places it); both shown.
    void showAt(double x, const QString& text) const;
};
// A vertical marker line and its label (makeMarkerLabel's), both hidden.
MarkerLine addMarkerLine(QCustomPlot* plot, const QPen& pen, const QColor& labelColor);

// A band behind the data, no outline: x in plot coordinates, over the axis rect's full height.
// placeBand puts it between x0 and x1.
QCPItemRect* makeBand(QCustomPlot* plot, const QColor& fill);
void placeBand(QCPItemRect* band, double x0, double x1);

// Left (0) or right (1) of the vertical line at x: `preferred` when label fits there, else the
// side with more room. Before the first layout, assumes the axis rect is assumedWidth wide.
int sideWithRoom(const QCustomPlot* plot, const QCPItemText* label, double x, int preferred, int assumedWidth = 400);

// Puts label beside the vertical line at x on that side, its top at yRatio of the axis rect.
void placeBesideLine(QCPItemText* label, double x, double yRatio, int side, int gap = 4);

// How many axis labels to skip so that labelled ticks keep apart: the smallest step (1, 2, 4,
// 5, 8, 10, ...) for which the multiples of step in [first, last] fit into `pixels`, each
// label taking pixelsPerLabel.
int labelStep(int first, int last, int pixels, int pixelsPerLabel);

// An axis rect's width (or height) once laid out; before the first layout, `assumed`.
int laidOutWidth(const QCustomPlot* plot, int assumed);
int laidOutHeight(const QCustomPlot* plot, int assumed);

}  // namespace ls::widgets
