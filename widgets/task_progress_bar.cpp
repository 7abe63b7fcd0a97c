#include "task_progress_bar.h"

#include "common/progress.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <algorithm>
#include <cmath>

namespace ls::widgets {

namespace {
constexpr int kBarSteps = 1000;  // QProgressBar is integer-valued: 0.1 % resolution
}

TaskProgressBar::TaskProgressBar(QWidget* parent) : QWidget(parent) {
    stageLabel_ = new QLabel(this);
    stageLabel_->setMinimumWidth(160);
    bar_ = new QProgressBar(this);
    bar_->setRange(0, kBarSteps);
    bar_->setMinimumWidth(160);
    etaLabel_ = new QLabel(this);
    etaLabel_->setMinimumWidth(fontMetrics().horizontalAdvance("~00 min 00 s left"));
    cancelButton_ = new QPushButton(tr("Cancel"), this);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(stageLabel_);
    layout->addWidget(bar_, 1);
    layout->addWidget(etaLabel_);
    layout->addWidget(cancelButton_);

    connect(cancelButton_, &QPushButton::clicked, this, [this] {
        cancelButton_->setEnabled(false);  // one request is enough
        stageLabel_->setText(tr("Canceling…"));
        emit cancelRequested();
    });
    hide();
}

void TaskProgressBar::start(const QString& title) {
    title_ = title;
    active_ = true;
    clock_.start();
    stageLabel_->setText(title);
    bar_->setValue(0);
    etaLabel_->clear();
    cancelButton_->setEnabled(true);
    show();
}

void TaskProgressBar::setProgress(double fraction, const QString& stage) {
    if (!active_)
        return;
    fraction = std::clamp(fraction, 0.0, 1.0);
    bar_->setValue(int(std::lround(fraction * kBarSteps)));
    if (cancelButton_->isEnabled())  // keep "Canceling…" once asked
        stageLabel_->setText(stage.isEmpty() ? title_ : stage);
    // The same estimate as the CLI's (common/progress.h).
    etaLabel_->setText(QString::fromStdString(ls::formatSecondsLeft(ls::secondsLeft(clock_.elapsed() / 1000.0, fraction))));
}

void TaskProgressBar::finish() {
    active_ = false;
    hide();
}

double TaskProgressBar::fraction() const { return double(bar_->value()) / kBarSteps; }
QString TaskProgressBar::stageText() const { return stageLabel_->text(); }
QString TaskProgressBar::etaText() const { return etaLabel_->text(); }

}  // namespace ls::widgets
