#pragma once
// Hover tooltips over the charts, and finding what is under the mouse.
#include <QPointF>
#include <QString>
#include <functional>

class QCustomPlot;

namespace ls::widgets {

// While the mouse moves over plot's axis rect, shows textAt(position in plot pixels) as a
// tooltip (an empty text hides it). When the mouse is elsewhere on the plot, or leaves it,
// hides the tooltip and calls outside (if given: e.g. to hide a cursor line).
void addHoverText(QCustomPlot* plot, std::function<QString(const QPointF& pos)> textAt,
                  std::function<void()> outside = {});

// Of `count` points at plot coordinates pointAt(i), the one nearest pos (pixels) within
// reach pixels, -1 if none. nearestKey measures along x only.
int nearestPoint(const QCustomPlot* plot, const QPointF& pos, int count, const std::function<QPointF(int)>& pointAt,
                 double reach);
int nearestKey(const QCustomPlot* plot, const QPointF& pos, int count, const std::function<double(int)>& keyAt,
               double reach);

// The whole number nearest the x (key) or y (value) coordinate at pos: the bar or heatmap
// cell under the mouse when they sit at whole coordinates.
int wholeKeyAt(const QCustomPlot* plot, const QPointF& pos);
int wholeValueAt(const QCustomPlot* plot, const QPointF& pos);

// Whether pos (plot pixels) lies inside the plot's axis rect.
bool insideAxisRect(const QCustomPlot* plot, const QPointF& pos);

}  // namespace ls::widgets
