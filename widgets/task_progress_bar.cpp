#include "task_progress_bar.h"

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

double estimateSecondsLeft(double elapsedSeconds, double fraction) {
    // Early estimates swing wildly (model warm-up, first window); wait for some data.
    if (!(fraction > 0.0) || elapsedSeconds < 1.0)
        return -1.0;
    if (fraction >= 1.0)
        return 0.0;
    return elapsedSeconds * (1.0 - fraction) / fraction;
}

QString formatEta(double secondsLeft) {
    if (!(secondsLeft >= 0.0))  // also catches NaN
        return {};
    const qint64 s = qint64(std::ceil(secondsLeft));
    if (s < 60)
        return QStringLiteral("~%1 s left").arg(s);
    if (s < 3600)
        return QStringLiteral("~%1 min %2 s left").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("~%1 h %2 min left").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
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
    etaLabel_->setText(formatEta(estimateSecondsLeft(clock_.elapsed() / 1000.0, fraction)));
}

void TaskProgressBar::finish() {
    active_ = false;
    hide();
}

double TaskProgressBar::fraction() const { return double(bar_->value()) / kBarSteps; }
QString TaskProgressBar::stageText() const { return stageLabel_->text(); }
QString TaskProgressBar::etaText() const { return etaLabel_->text(); }

}  // namespace ls::widgets
