#include "cossim_view.h"

#include <QCheckBox>
#include <QGridLayout>
#include <QLabel>
#include <QSlider>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "cossim_charts.h"
#include "kit/format.h"
#include "kit/palette.h"
#include "kit/tables.h"

namespace ls::widgets {

namespace {

// "30%" for whole percentages, "32.5%" otherwise.
QString ratioText(double ratio) {
    const double p = ratio * 100.0;
    return std::abs(p - std::round(p)) < 1e-9 ? QStringLiteral("%1%").arg(std::lround(p))
                                              : QStringLiteral("%1%").arg(p, 0, 'f', 1);
}

QString number(double v) { return formatNumber(v, 4); }

}  // namespace

CossimView::CossimView(QWidget* parent)
    : ResultView(tr("<b>Cos-sim per layer.</b> %1.").arg(QString::fromUtf8(ls::kCossimCompared).toHtmlEscaped()),
                 parent) {
    heatmap_ = new CossimHeatmap(this);
    histogram_ = new CossimLayerHistogram(this);
    means_ = new CossimMeans(this);

    // Tables.
    statsTable_ = makeTable(this,
                            {tr("layer"), tr("mean"), tr("std"), tr("min"), tr("p10"), tr("p50"), tr("p90"),
                             tr("max"), tr("frac<0"), tr("frac<0.5")},
                            {QString(), QString(), QString(), QString(), QString(), QString(), QString(), QString(),
                             tr("Fraction of the layer's tokens with c_l < 0"),
                             tr("Fraction of the layer's tokens with c_l < 0.5")});
    specialNote_ = new QLabel(this);
    specialNote_->setWordWrap(true);
    specialNote_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    thresholdsCaption_ = new QLabel(this);
    thresholdsTable_ = makeTable(this, {tr("hard ratio"), tr("threshold"), tr("tokens that exit"), tr("hard tokens")});
    thresholdsTable_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    thresholdsTable_->setSelectionMode(QAbstractItemView::NoSelection);

    // Layout: heatmap, histogram and sliders on the left; means and tables on the right.
    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(heatmap_, 5);
    leftLayout->addWidget(histogram_, 4);
    leftLayout->addWidget(buildControls());

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(means_, 4);
    rightLayout->addWidget(new QLabel(tr("<b>Per layer</b> (std with ddof 0; quantiles linear, as numpy)"), right));
    rightLayout->addWidget(statsTable_, 5);
    rightLayout->addWidget(specialNote_);
    rightLayout->addWidget(thresholdsCaption_);
    rightLayout->addWidget(thresholdsTable_);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(left);
    splitter->addWidget(right);
    splitter->setStretchFactor(0, 11);
    splitter->setStretchFactor(1, 9);
    splitter->setChildrenCollapsible(false);
    setBody(splitter);

    connect(heatmap_, &CossimHeatmap::layerClicked, this, &CossimView::selectLayer);
    connect(means_, &CossimMeans::layerClicked, this, &CossimView::selectLayer);
    connect(statsTable_, &QTableWidget::cellClicked, this, [this](int row, int) {
        if (hasData() && row >= 0 && row < result_->numLayers())
            selectLayer(result_->layers[size_t(row)].layer);
    });
    clear();
}

// The exit-layer and hard-ratio sliders, the threshold they give, the zoom switch.
QWidget* CossimView::buildControls() {
    layerSlider_ = new QSlider(Qt::Horizontal, this);
    layerSlider_->setRange(1, 1);
    layerSlider_->setToolTip(tr("The exit layer: its threshold, histogram and row are shown"));
    ratioSlider_ = new QSlider(Qt::Horizontal, this);
    ratioSlider_->setRange(1, 99);
    ratioSlider_->setValue(50);
    ratioSlider_->setToolTip(tr("Hard ratio r: the threshold is the r-quantile of c_l at the exit layer"));
    layerValue_ = new QLabel(this);
    ratioValue_ = new QLabel(this);
    const int valueWidth = fontMetrics().horizontalAdvance(QStringLiteral("000 (special)"));
    layerValue_->setMinimumWidth(valueWidth);
    ratioValue_->setMinimumWidth(valueWidth);
    thresholdLabelText_ = new QLabel(this);
    thresholdLabelText_->setWordWrap(true);
    thresholdLabelText_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    zoomCheck_ = new QCheckBox(tr("Histogram over this layer's own range"), this);
    zoomCheck_->setChecked(true);
    zoomCheck_->setToolTip(tr("On: bins span the selected layer's min..max (finer). "
                              "Off: the common range and bins of the heatmap."));

    auto* box = new QWidget(this);
    auto* controls = new QGridLayout(box);
    controls->setContentsMargins(6, 0, 6, 0);
    controls->setHorizontalSpacing(8);
    controls->addWidget(new QLabel(tr("Exit layer:"), box), 0, 0);
    controls->addWidget(layerSlider_, 0, 1);
    controls->addWidget(layerValue_, 0, 2);
    controls->addWidget(new QLabel(tr("Hard ratio:"), box), 1, 0);
    controls->addWidget(ratioSlider_, 1, 1);
    controls->addWidget(ratioValue_, 1, 2);
    controls->addWidget(thresholdLabelText_, 2, 0, 1, 3);
    controls->addWidget(zoomCheck_, 3, 0, 1, 3);
    controls->setColumnStretch(1, 1);

    connect(layerSlider_, &QSlider::valueChanged, this, [this](int v) {
        if (!updating_)
            selectLayer(v);
    });
    connect(ratioSlider_, &QSlider::valueChanged, this, [this](int v) {
        if (!updating_)
            setHardRatio(v / 100.0);
    });
    connect(zoomCheck_, &QCheckBox::toggled, this, [this] {
        updateHistogram();
        histogram_->replot();
    });
    return box;
}

QCustomPlot* CossimView::heatmapPlot() const { return heatmap_; }
QCPColorMap* CossimView::colorMap() const { return heatmap_->colorMap(); }
QCPColorScale* CossimView::colorScale() const { return heatmap_->colorScale(); }
QCustomPlot* CossimView::histogramPlot() const { return histogram_; }
QCPBars* CossimView::histogramBars() const { return histogram_->bars(); }
QCPItemStraightLine* CossimView::thresholdLine() const { return histogram_->thresholdLine(); }
QCustomPlot* CossimView::meansPlot() const { return means_; }
QCPBars* CossimView::meanBars() const { return means_->meanBars(); }
QCPBars* CossimView::specialBars() const { return means_->specialBars(); }
QCPErrorBars* CossimView::whiskers() const { return means_->whiskers(); }

QList<QPair<QString, QCustomPlot*>> CossimView::charts() const {
    return {{QStringLiteral("cossim_heatmap"), heatmap_},
            {QStringLiteral("cossim_layer_histogram"), histogram_},
            {QStringLiteral("cossim_means"), means_}};
}

std::vector<ls::Table> CossimView::tables() const {
    return result_ ? ls::cossimTables(*result_) : std::vector<ls::Table>{};
}

// ---- data ---------------------------------------------------------------------------------

void CossimView::setResult(std::shared_ptr<const ls::CossimResult> result) {
    if (!result || result->numLayers() == 0 || result->histograms.size() != result->layers.size()) {
        clear();
        return;
    }
    result_ = std::move(result);
    const int L = result_->numLayers();
    int layer = result_->params.layer;
    if (layer < 1 || layer > L)
        layer = std::max(1, L - 1);
    const std::vector<double>& ratios = result_->params.hardRatios;
    double ratio = 0.5;
    if (!ratios.empty() && std::find(ratios.begin(), ratios.end(), 0.5) == ratios.end())
        ratio = ratios.front();

    const ls::Histogram& h = result_->histograms.front();
    setSummary(tr("%1 tokens · %2 layers · heatmap: %3 bins over [%4, %5], the range of all layers")
                                .arg(formatCount(result_->layers.front().summary.count))
                                .arg(L)
                                .arg(h.counts.size())
                                .arg(h.lo, 0, 'f', 4)
                                .arg(h.hi, 0, 'f', 4));
    updating_ = true;
    layerSlider_->setRange(1, L);
    for (QWidget* control : std::initializer_list<QWidget*>{layerSlider_, ratioSlider_, zoomCheck_})
        control->setEnabled(true);
    updating_ = false;
    layer_ = layer;
    hardRatio_ = ratio;

    heatmap_->setResult(result_.get());
    means_->setResult(result_.get());
    fillStatsTable();
    updateSelection();
}

void CossimView::clear() {
    result_.reset();
    layer_ = 0;
    threshold_ = {};
    setSummary(tr("No cos-sim result yet: run the analysis from the Analysis menu."));
    heatmap_->setResult(nullptr);
    histogram_->clear();
    means_->setResult(nullptr);
    statsTable_->setRowCount(0);
    statsTable_->setMaximumHeight(QWIDGETSIZE_MAX);
    thresholdsTable_->setRowCount(0);
    for (QLabel* label : {thresholdsCaption_, specialNote_, thresholdLabelText_, layerValue_, ratioValue_})
        label->clear();
    updating_ = true;
    layerSlider_->setRange(1, 1);
    for (QWidget* control : std::initializer_list<QWidget*>{layerSlider_, ratioSlider_, zoomCheck_})
        control->setEnabled(false);
    updating_ = false;
    for (const auto& [stem, plot] : charts())
        plot->replot();
}

void CossimView::fillStatsTable() {
    const int L = result_->numLayers();
    statsTable_->setRowCount(L);
    QStringList special;
    for (int row = 0; row < L; ++row) {
        const ls::CossimLayer& layer = result_->layers[size_t(row)];
        const ls::Summary& s = layer.summary;
        const QList<QString> texts{
            layer.special ? QStringLiteral("★ %1").arg(layer.layer) : QString::number(layer.layer),
            number(s.mean), number(s.std), number(s.min), number(s.p10), number(s.p50), number(s.p90),
            number(s.max), formatPercent(layer.fracNegative), formatPercent(layer.fracBelowHalf)};
        const double drop = layer.neighbourMedian - s.mean;
        const QString tip = layer.special
                                ? tr("Layer %1 is special: its mean %2 is %3 below the median %4 of its neighbours' means")
                                      .arg(layer.layer).arg(number(s.mean), number(drop), number(layer.neighbourMedian))
                                : tr("Layer %1: mean %2, neighbours' median %3").arg(layer.layer).arg(number(s.mean), number(layer.neighbourMedian));
        for (int col = 0; col < texts.size(); ++col) {
            QTableWidgetItem* item = setCell(statsTable_, row, col, texts[col], kNumberAlign, tip);
            if (layer.special) {
                item->setBackground(palette::kHighlightRow);
                item->setForeground(palette::kVermillion.darker(150));
            }
        }
        if (layer.special)
            special << QString::number(layer.layer);
    }
    // A short table gives its unused height to the means chart above it.
    statsTable_->setMaximumHeight(tableHeight(statsTable_, L));
    fitColumns(statsTable_);
    const QString rule = tr("a layer is special when its mean is more than %1 below the median of the means of "
                            "layers l−2, l−1, l+1, l+2 (those that exist)")
                             .arg(result_->params.specialDrop);
    specialNote_->setText(special.isEmpty()
                              ? tr("No special layers: %1.").arg(rule)
                              : tr("<span style='color:%1'>★ Special layers: <b>%2</b></span> — %3.")
                                    .arg(palette::css(palette::kVermillion.darker(120)), special.join(QStringLiteral(", ")), rule));
}

// ---- selection and threshold ------------------------------------------------------------

void CossimView::selectLayer(int layer) {
    if (!hasData())
        return;
    layer = std::clamp(layer, 1, result_->numLayers());
    const bool changed = layer != layer_;
    layer_ = layer;
    updateSelection();
    if (changed)
        emit layerSelected(layer_);
}

void CossimView::setHardRatio(double ratio) {
    if (!std::isfinite(ratio))
        return;
    hardRatio_ = std::clamp(ratio, 0.01, 0.99);
    if (hasData())
        updateSelection();
}

void CossimView::setZoomToLayer(bool on) { zoomCheck_->setChecked(on); }
bool CossimView::zoomToLayer() const { return zoomCheck_->isChecked(); }

QString CossimView::thresholdText() const {
    if (!hasData())
        return {};
    return tr("Layer %1, hard ratio %2: threshold %3 · %4 of tokens exit (c_l ≥ threshold), "
              "%5 are hard and keep computing (c_l < threshold)")
        .arg(threshold_.layer)
        .arg(ratioText(threshold_.hardRatio))
        .arg(threshold_.threshold, 0, 'f', 5)
        .arg(formatPercent(threshold_.exitFraction), formatPercent(1.0 - threshold_.exitFraction));
}

QString CossimView::cellToolTip(int layer, int bin) const {
    return hasData() ? CossimHeatmap::cellText(*result_, layer, bin) : QString();
}

void CossimView::updateSelection() {
    threshold_ = ls::cossimThreshold(*result_, layer_, hardRatio_);

    updating_ = true;
    layerSlider_->setValue(layer_);
    ratioSlider_->setValue(int(std::lround(hardRatio_ * 100)));
    updating_ = false;
    const bool special = result_->layers[size_t(layer_ - 1)].special;
    layerValue_->setText(special ? tr("%1 (special)").arg(layer_) : QString::number(layer_));
    ratioValue_->setText(ratioText(hardRatio_));
    thresholdLabelText_->setText(QStringLiteral("<b>%1</b>").arg(thresholdText().toHtmlEscaped()));

    heatmap_->select(layer_, threshold_.threshold);
    means_->select(layer_);
    for (int row = 0; row < statsTable_->rowCount() && row < result_->numLayers(); ++row)
        if (result_->layers[size_t(row)].layer == layer_) {
            statsTable_->selectRow(row);
            statsTable_->scrollToItem(statsTable_->item(row, 0));
        }

    updateHistogram();
    updateThresholdsTable();
    for (const auto& [stem, plot] : charts())
        plot->replot();
    emit thresholdChanged(threshold_);
}

void CossimView::updateHistogram() {
    if (hasData())
        histogram_->showLayer(*result_, threshold_, zoomCheck_->isChecked());
}

void CossimView::updateThresholdsTable() {
    const std::vector<double>& ratios = result_->params.hardRatios;
    thresholdsCaption_->setText(tr("<b>Exit thresholds at layer %1</b> for the configured hard ratios").arg(layer_));
    thresholdsTable_->setRowCount(int(ratios.size()));
    for (int row = 0; row < int(ratios.size()); ++row) {
        const ls::CossimThreshold t = ls::cossimThreshold(*result_, layer_, ratios[size_t(row)]);
        const QList<QString> texts{ratioText(t.hardRatio), QString::number(t.threshold, 'f', 5),
                                   formatPercent(t.exitFraction), formatPercent(1.0 - t.exitFraction)};
        for (int col = 0; col < texts.size(); ++col) {
            QTableWidgetItem* item = setCell(thresholdsTable_, row, col, texts[col]);
            if (std::abs(t.hardRatio - hardRatio_) < 1e-9) {
                QFont f = item->font();
                f.setBold(true);
                item->setFont(f);
            }
        }
    }
    thresholdsTable_->setFixedHeight(tableHeight(thresholdsTable_, int(ratios.size())));
    fitColumns(thresholdsTable_);
}

}  // namespace ls::widgets
