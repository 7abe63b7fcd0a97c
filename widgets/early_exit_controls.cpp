#include "early_exit_controls.h"

#include <QGridLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <algorithm>
#include <cmath>

#include "kit/format.h"
#include "kit/palette.h"

namespace ls::widgets {

int nearestGridPosition(const std::vector<double>& grid, double value) {
    if (grid.empty() || !std::isfinite(value))
        return std::max(int(grid.size()) - 1, 0) / 2;
    const auto it = std::lower_bound(grid.begin(), grid.end(), value);
    if (it == grid.end())
        return int(grid.size()) - 1;
    int i = int(it - grid.begin());
    if (i > 0 && std::abs(grid[size_t(i) - 1] - value) <= std::abs(grid[size_t(i)] - value))
        --i;
    return i;
}

// ---- the numbers ----------------------------------------------------------------------------

namespace {

QLabel* valueLabel(QWidget* parent) {
    auto* label = new QLabel(noValue(), parent);
    QFont f = label->font();
    f.setBold(true);
    f.setPointSizeF(f.pointSizeF() * 1.15);
    label->setFont(f);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return label;
}

}  // namespace

ExitNumbersBox::ExitNumbersBox(QWidget* parent) : QGroupBox(tr("This policy"), parent) {
    auto* numbers = new QGridLayout(this);
    numbers->setContentsMargins(6, 4, 6, 4);
    numbers->setVerticalSpacing(2);
    exitFraction_ = valueLabel(this);
    meanLayers_ = valueLabel(this);
    computeSaved_ = valueLabel(this);
    agreement_ = valueLabel(this);
    ppl_ = valueLabel(this);
    fullPpl_ = new QLabel(this);
    fullPpl_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    fullPpl_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    const QList<QPair<QString, QLabel*>> rows{{tr("Tokens that exit early"), exitFraction_},
                                              {tr("Mean blocks computed"), meanLayers_},
                                              {tr("Compute saved"), computeSaved_},
                                              {tr("Top-1 agreement"), agreement_},
                                              {tr("PPL at the exit layer"), ppl_},
                                              {tr("Full model PPL"), fullPpl_}};
    for (int r = 0; r < rows.size(); ++r) {
        numbers->addWidget(new QLabel(rows[r].first, this), r, 0);
        numbers->addWidget(rows[r].second, r, 1);
    }
    // The two numbers the trade-off is about, in the colours of the charts' axes.
    computeSaved_->setStyleSheet(palette::textStyle(palette::readableText(palette::kBlue.darker(130), palette())));
    agreement_->setStyleSheet(palette::textStyle(palette::readableText(palette::kGreen.darker(130), palette())));
}

void ExitNumbersBox::showOutcome(const ls::ExitOutcome& o, int L, double fullPpl) {
    const bool any = o.tokens > 0;
    exitFraction_->setText(any ? formatPercent(o.exitFraction) : noValue());
    meanLayers_->setText(any ? tr("%1 of %2").arg(o.meanLayers, 0, 'f', 2).arg(L) : noValue());
    computeSaved_->setText(any ? formatPercent(o.computeSaved) : noValue());
    agreement_->setText(any ? formatPercent(o.top1Agreement) : noValue());
    ppl_->setText(any ? formatPpl(o.ppl) : noValue());
    const double ratio = o.ppl / fullPpl;
    if (any && std::isfinite(fullPpl) && fullPpl > 0 && ratio >= 2)  // a percentage of thousands says little
        fullPpl_->setText(tr("%1 (exit: %2×)").arg(formatPpl(fullPpl), formatNumber(ratio, ratio < 100 ? 2 : 0)));
    else if (any && std::isfinite(fullPpl) && fullPpl > 0)
        fullPpl_->setText(tr("%1 (exit: %2%3%)")
                              .arg(formatPpl(fullPpl), o.ppl >= fullPpl ? QStringLiteral("+") : QStringLiteral("−"))
                              .arg(std::abs(ratio - 1) * 100, 0, 'f', 1));
    else
        fullPpl_->setText(formatPpl(fullPpl));
}

// ---- per-layer sliders ----------------------------------------------------------------------

LayerThresholdSliders::LayerThresholdSliders(QWidget* parent) : QScrollArea(parent) {
    setWidgetResizable(true);
    setFrameShape(QFrame::NoFrame);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    panel_ = new QWidget(this);
    auto* grid = new QGridLayout(panel_);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setVerticalSpacing(2);
    grid->setColumnStretch(1, 1);
    setWidget(panel_);
}

void LayerThresholdSliders::setLayers(const std::vector<int>& layers, const std::vector<std::vector<double>>* grids) {
    grids_ = grids;
    sliders_.clear();
    values_.clear();
    auto* grid = static_cast<QGridLayout*>(panel_->layout());
    while (QLayoutItem* item = grid->takeAt(0)) {
        if (item->widget()) {
            item->widget()->hide();
            item->widget()->deleteLater();
        }
        delete item;
    }
    for (int j = 0; j < int(layers.size()) && grids && j < int(grids->size()); ++j) {
        auto* name = new QLabel(tr("l = %1").arg(layers[size_t(j)]), panel_);
        auto* slider = new QSlider(Qt::Horizontal, panel_);
        slider->setRange(0, int((*grids)[size_t(j)].size()) - 1);
        slider->setToolTip(tr("Threshold at layer %1 (steps: quantiles of the signal at that layer)").arg(layers[size_t(j)]));
        auto* value = new QLabel(panel_);
        value->setMinimumWidth(fontMetrics().horizontalAdvance(QStringLiteral("−00.0000")));
        value->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        grid->addWidget(name, j, 0);
        grid->addWidget(slider, j, 1);
        grid->addWidget(value, j, 2);
        connect(slider, &QSlider::valueChanged, this, [this, j, value](int position) {
            const std::vector<double>& steps = (*grids_)[size_t(j)];
            const double threshold = steps[size_t(std::clamp(position, 0, int(steps.size()) - 1))];
            value->setText(QString::number(threshold, 'g', 5));
            emit thresholdMoved(j, threshold);
        });
        sliders_ << slider;
        values_ << value;
    }
    grid->setRowStretch(grid->rowCount(), 1);
}

void LayerThresholdSliders::setThresholds(const std::vector<double>& thresholds) {
    for (int j = 0; j < sliders_.size() && j < int(thresholds.size()); ++j) {
        const QSignalBlocker block(sliders_[j]);
        sliders_[j]->setValue(nearestGridPosition((*grids_)[size_t(j)], thresholds[size_t(j)]));
        values_[j]->setText(QString::number(thresholds[size_t(j)], 'g', 5));
    }
}

void LayerThresholdSliders::setSlidersEnabled(bool on) {
    for (QSlider* slider : sliders_)
        slider->setEnabled(on);
}

}  // namespace ls::widgets
