#include "training_curve_view.h"

#include <QVBoxLayout>
#include <cmath>
#include <qcustomplot.h>

#include "kit/palette.h"
#include "kit/plot_style.h"
#include "plot_export.h"

namespace ls::widgets {

namespace {
const QColor kTrainColor = palette::kBlue;
const QColor kValidationColor = palette::kVermillion;
const QColor kBestColor = palette::kGreen;
}  // namespace

TrainingCurveView::TrainingCurveView(QWidget* parent) : QWidget(parent) {
    plot_ = makeTitledPlot(this, tr("Loss"), QSize(320, 200), 11);
    plot_->xAxis->setLabel(tr("step"));
    plot_->yAxis->setLabel(tr("loss (nats)"));

    train_ = plot_->addGraph();
    train_->setName(tr("train loss"));
    train_->setPen(QPen(kTrainColor, 1.5));

    validation_ = plot_->addGraph();
    validation_->setName(tr("validation loss"));
    validation_->setPen(QPen(kValidationColor, 2));
    validation_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kValidationColor, 6));

    best_ = addPoints(plot_, tr("best (saved)"),
                      QCPScatterStyle(QCPScatterStyle::ssStar, QPen(kBestColor, 2), Qt::NoBrush, 14));

    legendInside(plot_, Qt::AlignTop | Qt::AlignRight);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);
    updateRanges();
}

void TrainingCurveView::append(const LossCurvePoint& point) {
    points_.append(point);
    train_->addData(point.step, point.trainLoss);
    if (std::isfinite(point.valLoss)) {
        validation_->addData(point.step, point.valLoss);
        if (best_->data()->isEmpty() || point.valLoss < best_->data()->constBegin()->value) {
            best_->data()->clear();
            best_->addData(point.step, point.valLoss);
        }
    }
}

void TrainingCurveView::addPoint(const LossCurvePoint& point) {
    append(point);
    updateRanges();
    plot_->replot();
}

void TrainingCurveView::setPoints(const QVector<LossCurvePoint>& points) {
    points_.clear();
    for (QCPGraph* graph : {train_, validation_, best_})
        graph->data()->clear();
    for (const LossCurvePoint& point : points)
        append(point);
    updateRanges();
    plot_->replot();
}

void TrainingCurveView::setQuantity(const QString& quantity, const QString& validation) {
    plot_->yAxis->setLabel(tr("%1 (nats)").arg(quantity));
    train_->setName(tr("train %1").arg(quantity));
    validation_->setName(tr("%1 %2").arg(validation, quantity));
    plot_->replot();
}

void TrainingCurveView::setTitle(const QString& title) {
    titleOf(plot_)->setText(title);
    plot_->replot();
}

void TrainingCurveView::updateRanges() {
    if (points_.isEmpty()) {
        plot_->xAxis->setRange(0, 100);
        plot_->yAxis->setRange(0, 10);
        return;
    }
    bool found = false;
    const QCPRange train = train_->getValueRange(found);
    QCPRange values = train;
    if (!validation_->data()->isEmpty())
        values.expand(validation_->getValueRange(found));
    // Fit the losses with some room, so that late small improvements stay visible.
    const double pad = std::max(0.08 * values.size(), 0.05);
    plot_->yAxis->setRange(std::max(0.0, values.lower - pad), values.upper + pad);
    plot_->xAxis->setRange(0, std::max(points_.last().step * 1.03, 1.0));
}

bool TrainingCurveView::exportTo(const QString& path, QSize size, QString* error) const {
    return savePlotImage(plot_, path, size, error);
}

}  // namespace ls::widgets
