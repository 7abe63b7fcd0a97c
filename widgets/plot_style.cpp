#include "plot_style.h"

#include <qcustomplot.h>

namespace ls::widgets {

QCustomPlot* makeTitledPlot(QWidget* parent, const QString& title, QSize minimumSize) {
    auto* plot = new QCustomPlot(parent);
    plot->setMinimumSize(minimumSize);
    plot->setMouseTracking(true);
    plot->plotLayout()->insertRow(0);
    QFont font = parent->font();
    font.setPointSize(10);
    font.setBold(true);
    auto* titleElement = new QCPTextElement(plot, title, font);
    titleElement->setMargins(QMargins(0, 4, 0, 0));
    plot->plotLayout()->addElement(0, 0, titleElement);
    return plot;
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

}  // namespace ls::widgets
