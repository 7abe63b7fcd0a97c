#include "kit/plot_style.h"

#include <algorithm>
#include <qcustomplot.h>

#include "kit/plot_theme.h"

namespace ls::widgets {

namespace {
constexpr const char* kOnScreenOnly = "layerscopeOnScreenOnly";
}

void markOnScreenOnly(QCPLayerable* item) { item->setProperty(kOnScreenOnly, true); }
bool isOnScreenOnly(const QCPLayerable* item) { return item->property(kOnScreenOnly).toBool(); }


QCustomPlot* makeTitledPlot(QWidget* parent, const QString& title, QSize minimumSize, int titlePointSize) {
    auto* plot = new QCustomPlot(parent);
    setUpTitledPlot(plot, title, minimumSize, titlePointSize);
    return plot;
}

void setUpTitledPlot(QCustomPlot* plot, const QString& title, QSize minimumSize, int titlePointSize) {
    plot->setMinimumSize(minimumSize);
    plot->setMouseTracking(true);
    followWindowTheme(plot);
    plot->plotLayout()->insertRow(0);
    QFont font = plot->font();
    font.setPointSize(titlePointSize);
    font.setBold(true);
    auto* titleElement = new QCPTextElement(plot, title, font);
    titleElement->setMargins(QMargins(0, 4, 0, 0));
    plot->plotLayout()->addElement(0, 0, titleElement);
}

QCPTextElement* titleOf(const QCustomPlot* plot) {
    return qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0));
}

QCPTextElement* addSubtitle(QCustomPlot* plot) {
    plot->plotLayout()->insertRow(1);
    QFont font = plot->font();
    font.setPointSize(9);
    auto* sub = new QCPTextElement(plot, QString(), font);
    sub->setTextColor(QColor(60, 60, 60));
    sub->setMargins(QMargins(0, 0, 0, 2));
    plot->plotLayout()->addElement(1, 0, sub);
    plot->plotLayout()->setRowSpacing(0);
    return sub;
}

QCPTextElement* subtitleOf(const QCustomPlot* plot) {
    return qobject_cast<QCPTextElement*>(plot->plotLayout()->element(1, 0));
}

void setUpBarAxes(QCustomPlot* plot, const QString& xLabel, const QString& yLabel) {
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    plot->xAxis->grid()->setVisible(false);
    plot->xAxis->setSubTicks(false);
}

void legendBelow(QCustomPlot* plot, int row) {
    plot->legend->setVisible(true);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setBrush(Qt::NoBrush);
    plot->legend->setColumnSpacing(12);
    plot->axisRect()->insetLayout()->take(plot->legend);
    plot->plotLayout()->addElement(row, 0, plot->legend);
    plot->plotLayout()->setRowStretchFactor(row, 0.001);
    plot->legend->setMargins(QMargins(4, 0, 4, 2));
}

void legendInside(QCustomPlot* plot, Qt::Alignment corner, int alpha) {
    plot->legend->setVisible(true);
    plot->legend->setBrush(QColor(255, 255, 255, alpha));
    plot->axisRect()->insetLayout()->setInsetAlignment(0, corner);
}

QCPGraph* addPoints(QCustomPlot* plot, const QString& name, const QCPScatterStyle& style) {
    QCPGraph* graph = plot->addGraph();
    graph->setName(name);
    graph->setLineStyle(QCPGraph::lsNone);
    graph->setScatterStyle(style);
    return graph;
}

void styleBars(QCPBars* bars, const QColor& color, int alpha) {
    bars->setPen(QPen(color.darker(130), 1));
    QColor fill = color;
    fill.setAlpha(alpha);
    bars->setBrush(fill);
}

QCPBars* addBars(QCustomPlot* plot, const QString& name, const QColor& color, int alpha) {
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setName(name);
    styleBars(bars, color, alpha);
    return bars;
}

QCPBars* addHistogramBars(QCustomPlot* plot, const QString& name, const QColor& color, int alpha) {
    QCPBars* bars = addBars(plot, name, color, alpha);
    bars->setWidthType(QCPBars::wtPlotCoords);
    return bars;
}

Heatmap addHeatmap(QCustomPlot* plot, const QString& name, int scaleWidth) {
    for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
        axis->grid()->setVisible(false);
        axis->setSubTicks(false);
    }
    Heatmap h;
    h.map = new QCPColorMap(plot->xAxis, plot->yAxis);
    h.map->setName(name);
    h.map->setInterpolate(false);
    h.map->setTightBoundary(false);
    h.scale = new QCPColorScale(plot);
    // Beside the axis rect, whichever row it is in.
    int row = 0;
    while (row + 1 < plot->plotLayout()->rowCount() && plot->plotLayout()->element(row, 0) != plot->axisRect())
        ++row;
    plot->plotLayout()->addElement(row, 1, h.scale);
    h.scale->setType(QCPAxis::atRight);
    h.scale->setBarWidth(scaleWidth);
    h.map->setColorScale(h.scale);
    // The colour scale lines up with the axis rect vertically.
    auto* margins = new QCPMarginGroup(plot);
    plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    h.scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    return h;
}

QCPItemText* makeMarkerLabel(QCustomPlot* plot, const QColor& color) {
    auto* text = new QCPItemText(plot);
    text->position->setTypeX(QCPItemPosition::ptPlotCoords);
    text->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    text->setColor(color);
    text->setClipToAxisRect(true);
    text->setVisible(false);
    return text;
}

void MarkerLine::setVisible(bool visible) const {
    line->setVisible(visible);
    label->setVisible(visible);
}

void MarkerLine::showAt(double x, const QString& text) const {
    line->point1->setCoords(x, 1);  // positive y: on a log axis too
    line->point2->setCoords(x, 2);
    label->setText(text);
    setVisible(true);
}

MarkerLine addMarkerLine(QCustomPlot* plot, const QPen& pen, const QColor& labelColor) {
    MarkerLine marker;
    marker.line = new QCPItemStraightLine(plot);
    marker.line->setPen(pen);
    marker.line->setVisible(false);
    marker.label = makeMarkerLabel(plot, labelColor);
    return marker;
}

QCPItemRect* makeBand(QCustomPlot* plot, const QColor& fill) {
    auto* band = new QCPItemRect(plot);
    band->setLayer(QStringLiteral("background"));
    band->setPen(Qt::NoPen);
    band->setBrush(fill);
    band->topLeft->setTypeY(QCPItemPosition::ptAxisRectRatio);
    band->bottomRight->setTypeY(QCPItemPosition::ptAxisRectRatio);
    return band;
}

void placeBand(QCPItemRect* band, double x0, double x1) {
    band->topLeft->setCoords(x0, 0);
    band->bottomRight->setCoords(x1, 1);
}

int sideWithRoom(const QCustomPlot* plot, const QCPItemText* label, double x, int preferred, int assumedWidth) {
    const QCPRange range = plot->xAxis->range();
    const double where = std::clamp((x - range.lower) / range.size(), 0.0, 1.0);
    const int width = laidOutWidth(plot, assumedWidth);
    const double room[2] = {where * width, (1.0 - where) * width};
    const int needed = QFontMetrics(label->font()).horizontalAdvance(label->text()) + 10;
    if (room[preferred] < needed && room[1 - preferred] > room[preferred])
        return 1 - preferred;
    return preferred;
}

void placeBesideLine(QCPItemText* label, double x, double yRatio, int side, int gap) {
    label->position->setCoords(x, yRatio);
    label->setPositionAlignment((side == 0 ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
    label->setPadding(side == 0 ? QMargins(0, 0, gap, 0) : QMargins(gap, 0, 0, 0));
}

int labelStep(int first, int last, int pixels, int pixelsPerLabel) {
    const int fit = std::max(1, pixels / std::max(1, pixelsPerLabel));
    // Multiples of step in [first, last], first >= 0.
    const auto labels = [&](int step) { return last / step - (first > 0 ? (first - 1) / step : -1); };
    for (int step : {1, 2, 4, 5, 8, 10, 16, 20, 50, 100})
        if (labels(step) <= fit)
            return step;
    return 200;
}

int laidOutWidth(const QCustomPlot* plot, int assumed) {
    return plot->axisRect()->width() > 50 ? plot->axisRect()->width() : assumed;
}

int laidOutHeight(const QCustomPlot* plot, int assumed) {
    return plot->axisRect()->height() > 50 ? plot->axisRect()->height() : assumed;
}

}  // namespace ls::widgets
