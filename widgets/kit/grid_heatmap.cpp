#include "kit/grid_heatmap.h"

#include <cmath>

#include "kit/hover.h"
#include "kit/palette.h"

namespace ls::widgets {

namespace {

// Every step-th label at its whole coordinate.
QSharedPointer<QCPAxisTickerText> labelTicker(const QStringList& labels, int step) {
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < labels.size(); i += std::max(step, 1)) ticker->addTick(i, labels[i]);
    return ticker;
}

}  // namespace

GridHeatmap::GridHeatmap(const QString& title, const QString& xLabel, const QString& yLabel, Scale scale, QWidget* parent)
    : QCustomPlot(parent), scale_(scale) {
    setUpTitledPlot(this, title, QSize(240, 200));
    xAxis->setLabel(xLabel);
    yAxis->setLabel(yLabel);
    yAxis->setRangeReversed(true);  // row 0 at the top
    xAxis->setTickLength(0, 3);
    yAxis->setTickLength(0, 3);
    xAxis->setTickLabelRotation(0);
    heatmap_ = addHeatmap(this, title);
    const QCPColorGradient gradient = scale == Scale::Diverging ? palette::divergingGradient() : palette::sequentialGradient();
    heatmap_.map->setGradient(gradient);
    heatmap_.scale->setGradient(gradient);
    outline_ = new QCPItemRect(this);
    outline_->setPen(QPen(palette::kSelection, 2.5));
    outline_->setBrush(Qt::NoBrush);
    outline_->setVisible(false);
    markOnScreenOnly(outline_);
    connect(this, &QCustomPlot::afterLayout, this, &GridHeatmap::layoutTicks);
    connect(this, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
        int row = 0, column = 0;
        if (event->button() == Qt::LeftButton && cellAt(event->position(), &row, &column)) emit cellClicked(row, column);
    });
    addHoverText(this, [this](const QPointF& pos) {
        int row = 0, column = 0;
        return hoverText_ && cellAt(pos, &row, &column) ? hoverText_(row, column) : QString();
    });
    clearGrid();
}

void GridHeatmap::clearGrid() {
    rows_ = columns_ = 0;
    values_.clear();
    heatmap_.map->data()->clear();
    heatmap_.map->data()->setSize(0, 0);
    xAxis->setRange(-0.5, 0.5);
    yAxis->setRange(-0.5, 0.5);
    outline_->setVisible(false);
    replot();
}

void GridHeatmap::setScaleLabel(const QString& label) { heatmap_.scale->axis()->setLabel(label); }

void GridHeatmap::setTitle(const QString& title) { titleOf(this)->setText(title); }

void GridHeatmap::setGrid(int rows, int columns, const std::vector<double>& values, const QStringList& rowLabels,
                          const QStringList& columnLabels, double limit) {
    rows_ = rows;
    columns_ = columns;
    values_ = values;
    rowLabels_ = rowLabels;
    columnLabels_ = columnLabels;
    // QCPColorMap needs two cells per dimension to know a cell's size: one row or column is
    // drawn as two equal halves.
    const int nx = std::max(columns, 2), ny = std::max(rows, 2);
    QCPColorMapData* data = heatmap_.map->data();
    data->setSize(nx, ny);
    data->setRange(columns >= 2 ? QCPRange(0, columns - 1) : QCPRange(-0.25, 0.25),
                   rows >= 2 ? QCPRange(0, rows - 1) : QCPRange(-0.25, 0.25));
    double largest = 0;
    for (int y = 0; y < ny; ++y)
        for (int x = 0; x < nx; ++x) {
            const double v = values[size_t(rows >= 2 ? y : 0) * columns + (columns >= 2 ? x : 0)];
            data->setCell(x, y, v);
            if (std::isfinite(v)) largest = std::max(largest, std::abs(v));
        }
    if (limit <= 0) limit = largest > 0 ? largest : 1;
    heatmap_.map->setDataRange(scale_ == Scale::Diverging ? QCPRange(-limit, limit) : QCPRange(0, limit));
    xAxis->setRange(-0.5, columns - 0.5);
    yAxis->setRange(-0.5, rows - 0.5);
    outline_->setVisible(false);
    rowStep_ = columnStep_ = 0;
    layoutTicks();
    replot();
}

void GridHeatmap::outlineCell(int row, int column) {
    const bool inside = row >= 0 && column >= 0 && row < rows_ && column < columns_;
    outline_->setVisible(inside);
    if (inside) {
        outline_->topLeft->setCoords(column - 0.5, row - 0.5);
        outline_->bottomRight->setCoords(column + 0.5, row + 0.5);
    }
    replot();
}

bool GridHeatmap::cellAt(const QPointF& pos, int* row, int* column) const {
    if (rows_ == 0 || !insideAxisRect(this, pos)) return false;
    const int x = wholeKeyAt(this, pos), y = wholeValueAt(this, pos);
    if (x < 0 || y < 0 || x >= columns_ || y >= rows_) return false;
    *row = y;
    *column = x;
    return true;
}

void GridHeatmap::layoutTicks() {
    if (rows_ == 0) return;
    int widest = 0;
    for (const QString& label : columnLabels_) widest = std::max(widest, fontMetrics().horizontalAdvance(label));
    // Long labels (tokens) turn to slant up, so that each takes a line's height, not its width.
    const bool slanted = widest > 28;
    xAxis->setTickLabelRotation(slanted ? -60 : 0);
    // A few categories (heads, "bias", "MLP") are all named; a long axis (positions) steps.
    const int columnStep = columns_ <= 8 ? 1 : labelStep(0, columns_ - 1, laidOutWidth(this, 400), slanted ? fontMetrics().height() + 2 : widest + 8);
    const int rowStep = rows_ <= 8 ? 1 : labelStep(0, rows_ - 1, laidOutHeight(this, 300), fontMetrics().height() + 2);
    if (columnStep == columnStep_ && rowStep == rowStep_) return;
    columnStep_ = columnStep;
    rowStep_ = rowStep;
    xAxis->setTicker(labelTicker(columnLabels_, columnStep));
    yAxis->setTicker(labelTicker(rowLabels_, rowStep));
    if (axisRect()->width() > 50) replot(QCustomPlot::rpQueuedReplot);  // a new ticker shows at the next replot
}

}  // namespace ls::widgets
