#pragma once
// A heatmap of a rows x columns grid with a text label per row and per column (tokens, layers,
// heads), cells at whole coordinates, row 0 at the top, NaN cells grey; hover shows what
// hoverText says of the cell under the mouse, a click emits cellClicked, one cell can be
// outlined. The colour scale is diverging around 0 (signed values) or sequential from 0.
#include <QStringList>
#include <functional>
#include <vector>

#include "qcustomplot.h"
#include "kit/plot_style.h"

namespace ls::widgets {

class GridHeatmap : public QCustomPlot {
    Q_OBJECT
public:
    enum class Scale { Diverging, Sequential };
    GridHeatmap(const QString& title, const QString& xLabel, const QString& yLabel, Scale scale, QWidget* parent = nullptr);

    // values: rows x columns, row-major (NaN: no value). The colour range is [-limit, limit]
    // (Diverging) or [0, limit] (Sequential); limit <= 0: the largest |value|.
    void setGrid(int rows, int columns, const std::vector<double>& values, const QStringList& rowLabels,
                 const QStringList& columnLabels, double limit = 0);
    void clearGrid();
    void setScaleLabel(const QString& label);
    void setTitle(const QString& title);
    // Hover text of a cell (row, column); empty: none.
    void setHoverText(std::function<QString(int row, int column)> text) { hoverText_ = std::move(text); }
    void outlineCell(int row, int column);  // -1: none
    int rows() const { return rows_; }
    int columns() const { return columns_; }
    double valueAt(int row, int column) const { return values_[size_t(row) * columns_ + column]; }
    QCPColorMap* colorMap() const { return heatmap_.map; }
    // The cell under a point of the widget, or false.
    bool cellAt(const QPointF& pos, int* row, int* column) const;

signals:
    void cellClicked(int row, int column);

private:
    void layoutTicks();

    Heatmap heatmap_;
    Scale scale_;
    QCPItemRect* outline_ = nullptr;
    int rows_ = 0, columns_ = 0;
    std::vector<double> values_;
    QStringList rowLabels_, columnLabels_;
    int rowStep_ = 0, columnStep_ = 0;
    std::function<QString(int, int)> hoverText_;
};

}  // namespace ls::widgets
