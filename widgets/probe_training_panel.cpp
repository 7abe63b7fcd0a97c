#include "probe_training_panel.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "analysis/probes.h"
#include "kit/tables.h"
#include "training_curve_view.h"

namespace ls::widgets {

ProbeTrainingPanel::ProbeTrainingPanel(QWidget* parent) : QFrame(parent) {
    setObjectName(QStringLiteral("probeTrainingPanel"));
    setFrameShape(QFrame::StyledPanel);
    heading_ = makeNote(this);
    curve_ = new TrainingCurveView(this);
    curve_->plot()->xAxis->setLabel(tr("epoch"));
    curve_->plot()->yAxis->setLabel(tr("loss (MSE, or BCE for classification)"));
    curve_->setMinimumHeight(230);
    table_ = makeTable(this, {tr("Probe"), tr("Epochs"), tr("Best validation loss")});
    auto* body = new QHBoxLayout;
    body->addWidget(curve_, 3);
    body->addWidget(table_, 2);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 4, 6, 4);
    layout->addWidget(heading_);
    layout->addLayout(body, 1);
    hide();
}

void ProbeTrainingPanel::begin(int probes) {
    training_ = true;
    probesExpected_ = std::max(0, probes);
    probesSeen_ = 0;
    currentProbe_.clear();
    currentEpochs_ = 0;
    currentBest_ = 0;
    table_->setRowCount(0);
    curve_->clear();
    curve_->setTitle(tr("Probe training"));
    heading_->setText(headingText());
}

QString ProbeTrainingPanel::headingText() const {
    if (!training_)
        return {};
    if (currentProbe_.isEmpty())
        return tr("<b>Training probes</b> once the capture pass is done…");
    return tr("<b>Training probes</b>: probe %1 of %2, <b>%3</b>, epoch %4 (early stopping on the validation "
              "loss). The results appear when the run is done.")
        .arg(probesSeen_)
        .arg(std::max(probesExpected_, probesSeen_))
        .arg(currentProbe_.toHtmlEscaped())
        .arg(currentEpochs_);
}

void ProbeTrainingPanel::finishCurrentProbe() {
    if (currentProbe_.isEmpty())
        return;
    const int row = table_->rowCount();
    table_->insertRow(row);
    setCell(table_, row, 0, currentProbe_, kTextAlign);
    setCell(table_, row, 1, QString::number(currentEpochs_), kNumberAlign);
    setCell(table_, row, 2, QString::number(currentBest_, 'f', 4), kNumberAlign);
    fitColumns(table_);
    table_->scrollToBottom();
}

void ProbeTrainingPanel::addEpoch(const ls::ProbeEpoch& epoch) {
    if (!training_)
        return;  // late: the run is over
    const QString name = QString::fromStdString(epoch.probe);
    if (name != currentProbe_) {
        finishCurrentProbe();
        currentProbe_ = name;
        currentEpochs_ = 0;
        currentBest_ = INFINITY;
        ++probesSeen_;
        curve_->clear();
        curve_->setTitle(tr("%1: loss per epoch").arg(name));
    }
    currentEpochs_ = epoch.epoch;
    if (std::isfinite(epoch.validationLoss))
        currentBest_ = std::min(currentBest_, epoch.validationLoss);
    curve_->addPoint({double(epoch.epoch), epoch.trainLoss, epoch.validationLoss});
    heading_->setText(headingText());
    show();
}

void ProbeTrainingPanel::end() {
    training_ = false;
    hide();
}

}  // namespace ls::widgets
