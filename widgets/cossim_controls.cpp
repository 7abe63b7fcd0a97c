#include "cossim_controls.h"

#include <QCheckBox>
#include <QGridLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <cmath>

#include "kit/tables.h"

namespace ls::widgets {

QString hardRatioText(double ratio) {
    const double p = ratio * 100.0;
    return std::abs(p - std::round(p)) < 1e-9 ? QStringLiteral("%1%").arg(std::lround(p))
                                              : QStringLiteral("%1%").arg(p, 0, 'f', 1);
}

CossimControls::CossimControls(QWidget* parent) : QWidget(parent) {
    layerSlider_ = new QSlider(Qt::Horizontal, this);
    layerSlider_->setRange(1, 1);
    layerSlider_->setToolTip(tr("The exit layer: its threshold, histogram and row are shown"));
    ratioSlider_ = new QSlider(Qt::Horizontal, this);
    ratioSlider_->setRange(1, 99);
    ratioSlider_->setValue(50);
    ratioSlider_->setToolTip(tr("Hard ratio r: the threshold is the r-quantile of cₗ at the exit layer"));
    layerValue_ = new QLabel(this);
    ratioValue_ = new QLabel(this);
    const int valueWidth = fontMetrics().horizontalAdvance(QStringLiteral("000 (special)"));
    layerValue_->setMinimumWidth(valueWidth);
    ratioValue_->setMinimumWidth(valueWidth);
    threshold_ = makeNote(this);
    zoomCheck_ = new QCheckBox(tr("Histogram over this layer's own range"), this);
    zoomCheck_->setChecked(true);
    zoomCheck_->setToolTip(tr("On: bins span the selected layer's min..max (finer). "
                              "Off: the common range and bins of the heatmap."));

    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(6, 0, 6, 0);
    grid->setHorizontalSpacing(8);
    grid->addWidget(new QLabel(tr("Exit layer:"), this), 0, 0);
    grid->addWidget(layerSlider_, 0, 1);
    grid->addWidget(layerValue_, 0, 2);
    grid->addWidget(new QLabel(tr("Hard ratio:"), this), 1, 0);
    grid->addWidget(ratioSlider_, 1, 1);
    grid->addWidget(ratioValue_, 1, 2);
    grid->addWidget(threshold_, 2, 0, 1, 3);
    grid->addWidget(zoomCheck_, 3, 0, 1, 3);
    grid->setColumnStretch(1, 1);

    connect(layerSlider_, &QSlider::valueChanged, this, &CossimControls::layerMoved);
    connect(ratioSlider_, &QSlider::valueChanged, this, [this](int v) { emit ratioMoved(v / 100.0); });
    connect(zoomCheck_, &QCheckBox::toggled, this, &CossimControls::zoomToggled);
}

void CossimControls::setLayers(int layers) {
    {
        const QSignalBlocker block(layerSlider_);
        layerSlider_->setRange(1, std::max(layers, 1));
    }
    for (QWidget* control : std::initializer_list<QWidget*>{layerSlider_, ratioSlider_, zoomCheck_})
        control->setEnabled(layers > 0);
    if (layers == 0)
        for (QLabel* label : {layerValue_, ratioValue_, threshold_})
            label->clear();
}

void CossimControls::showSelection(int layer, bool special, double ratio, const QString& thresholdText) {
    {
        const QSignalBlocker blockLayer(layerSlider_), blockRatio(ratioSlider_);
        layerSlider_->setValue(layer);
        ratioSlider_->setValue(int(std::lround(ratio * 100)));
    }
    layerValue_->setText(special ? tr("%1 (special)").arg(layer) : QString::number(layer));
    ratioValue_->setText(hardRatioText(ratio));
    threshold_->setText(QStringLiteral("<b>%1</b>").arg(thresholdText.toHtmlEscaped()));
}

}  // namespace ls::widgets
