#pragma once
// The look every analysis chart shares, in one place.
#include <QSize>
#include <QString>

class QCustomPlot;
class QWidget;

namespace ls::widgets {

// A QCustomPlot with a bold title row above its axis rect and mouse tracking on (for hover
// tooltips). Row 0 is the title, row 1 the axis rect.
QCustomPlot* makeTitledPlot(QWidget* parent, const QString& title, QSize minimumSize);

// Moves the legend out of the axis rect into layout row `row` (below the axis rect of a
// titled plot), entries side by side, no frame.
void legendBelow(QCustomPlot* plot, int row = 2);

}  // namespace ls::widgets
