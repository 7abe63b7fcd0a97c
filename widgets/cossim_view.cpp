#include "cossim_view.h"

#include <QCheckBox>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "cossim_charts.h"
#include "cossim_controls.h"
#include "kit/format.h"
#include "kit/palette.h"
#include "kit/tables.h"

namespace ls::widgets {

namespace {

QString number(double v) { return formatNumber(v, 4); }

}  // namespace

CossimView::CossimView(QWidget* parent)
    : ResultViewOf(tr("<b>Cos-sim per layer.</b> %1.").arg(subscriptsAsHtml(QString::fromStdString(ls::cossimCompared(false)))),
                   &ls::cossimTables, parent) {
    heatmap_ = addChart(QStringLiteral("cossim_heatmap"), new CossimHeatmap(this));
    histogram_ = addChart(QStringLiteral("cossim_layer_histogram"), new CossimLayerHistogram(this));
    means_ = addChart(QStringLiteral("cossim_means"), new CossimMeans(this));
    controls_ = new CossimControls(this);

    // Tables.
    stats_ = makeCaptionedTable(this, tr("<b>Per layer</b> (std with ddof 0; quantiles linear, as numpy)"),
                                {tr("layer"), tr("mean"), tr("std"), tr("min"), tr("p10"), tr("p50"), tr("p90"),
                                 tr("max"), tr("frac<0"), tr("frac<0.5")},
                                {QString(), QString(), QString(), QString(), QString(), QString(), QString(),
                                 QString(), tr("Fraction of the layer's tokens with cₗ < 0"),
                                 tr("Fraction of the layer's tokens with cₗ < 0.5")});
    specialNote_ = makeNote(this);
    thresholds_ = makeCaptionedTable(this, QString(),
                                     {tr("hard ratio"), tr("threshold"), tr("tokens that exit"), tr("hard tokens")});
    thresholds_.table->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    thresholds_.table->setSelectionMode(QAbstractItemView::NoSelection);

    // Layout: heatmap, histogram and sliders on the left; means and tables on the right.
    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(heatmap_, 5);
    leftLayout->addWidget(histogram_, 4);
    leftLayout->addWidget(controls_);

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(means_, 4);
    addCaptionedTable(rightLayout, stats_, 5);
    rightLayout->addWidget(specialNote_);
    addCaptionedTable(rightLayout, thresholds_);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(left);
    splitter->addWidget(right);
    splitter->setStretchFactor(0, 11);
    splitter->setStretchFactor(1, 9);
    splitter->setChildrenCollapsible(false);
    setBody(splitter);

    connect(heatmap_, &CossimHeatmap::layerClicked, this, &CossimView::selectLayer);
    connect(means_, &CossimMeans::layerClicked, this, &CossimView::selectLayer);
    connect(stats_.table, &QTableWidget::cellClicked, this, [this](int row, int) {
        if (hasData() && row >= 0 && row < result_->numLayers())
            selectLayer(result_->layers[size_t(row)].layer);
    });
    connect(controls_, &CossimControls::layerMoved, this, &CossimView::selectLayer);
    connect(controls_, &CossimControls::ratioMoved, this, &CossimView::setHardRatio);
    connect(controls_, &CossimControls::zoomToggled, this, [this] {
        updateHistogram();
        histogram_->replot();
    });
    clear();
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

// ---- data ---------------------------------------------------------------------------------

void CossimView::showResult() {
    if (result_ && (result_->numLayers() == 0 || result_->histograms.size() != result_->layers.size()))
        result_.reset();  // nothing to show
    if (!result_) {
        showEmpty();
        return;
    }
    const int L = result_->numLayers();
    int layer = result_->params.layer;
    if (layer < 1 || layer > L)
        layer = std::max(1, L - 1);
    const std::vector<double>& ratios = result_->params.hardRatios;
    double ratio = 0.5;
    if (!ratios.empty() && std::find(ratios.begin(), ratios.end(), 0.5) == ratios.end())
        ratio = ratios.front();

    // The description says which h_L the run took (--final-norm-last).
    descriptionLabel()->setText(tr("<b>Cos-sim per layer.</b> %1.")
                                    .arg(subscriptsAsHtml(QString::fromStdString(ls::cossimCompared(result_->params.finalNormLast)))));
    const ls::Histogram& h = result_->histograms.front();
    setSummary(tr("%1 tokens · %2 layers · heatmap: %3 bins over [%4, %5], the range of all layers")
                                .arg(formatCount(result_->layers.front().summary.count))
                                .arg(L)
                                .arg(h.counts.size())
                                .arg(h.lo, 0, 'f', 4)
                                .arg(h.hi, 0, 'f', 4));
    controls_->setLayers(L);
    layer_ = layer;
    hardRatio_ = ratio;

    heatmap_->setResult(result_.get());
    means_->setResult(result_.get());
    fillStatsTable();
    updateSelection();
}

void CossimView::showEmpty() {
    layer_ = 0;
    threshold_ = {};
    setSummary(tr("No cos-sim result yet: run the analysis from the Analysis menu."));
    heatmap_->setResult(nullptr);
    histogram_->clear();
    means_->setResult(nullptr);
    stats_.table->setRowCount(0);
    stats_.table->setMaximumHeight(QWIDGETSIZE_MAX);
    thresholds_.table->setRowCount(0);
    thresholds_.caption->clear();
    specialNote_->clear();
    controls_->setLayers(0);
    replotCharts();
}

void CossimView::fillStatsTable() {
    QTableWidget* table = stats_.table;
    const int L = result_->numLayers();
    table->setRowCount(L);
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
            QTableWidgetItem* item = setCell(table, row, col, texts[col], kNumberAlign, tip);
            if (layer.special) {
                item->setBackground(palette::kHighlightRow);
                item->setForeground(palette::kVermillion.darker(150));
            }
        }
        if (layer.special)
            special << QString::number(layer.layer);
    }
    // A short table gives its unused height to the means chart above it.
    table->setMaximumHeight(tableHeight(table, L));
    fitColumns(table);
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

QSlider* CossimView::exitLayerSlider() const { return controls_->layerSlider(); }
QSlider* CossimView::hardRatioSlider() const { return controls_->ratioSlider(); }
void CossimView::setZoomToLayer(bool on) { controls_->zoomCheck()->setChecked(on); }
bool CossimView::zoomToLayer() const { return controls_->zoomCheck()->isChecked(); }

QString CossimView::thresholdText() const {
    if (!hasData())
        return {};
    return tr("Layer %1, hard ratio %2: threshold %3 · %4 of tokens exit (cₗ ≥ threshold), "
              "%5 are hard and keep computing (cₗ < threshold)")
        .arg(threshold_.layer)
        .arg(hardRatioText(threshold_.hardRatio))
        .arg(threshold_.threshold, 0, 'f', 5)
        .arg(formatPercent(threshold_.exitFraction), formatPercent(1.0 - threshold_.exitFraction));
}

QString CossimView::cellToolTip(int layer, int bin) const {
    return hasData() ? CossimHeatmap::cellText(*result_, layer, bin) : QString();
}

void CossimView::updateSelection() {
    threshold_ = ls::cossimThreshold(*result_, layer_, hardRatio_);
    controls_->showSelection(layer_, result_->layers[size_t(layer_ - 1)].special, hardRatio_, thresholdText());

    heatmap_->select(layer_, threshold_.threshold);
    means_->select(layer_);
    QTableWidget* stats = stats_.table;
    for (int row = 0; row < stats->rowCount() && row < result_->numLayers(); ++row)
        if (result_->layers[size_t(row)].layer == layer_) {
            stats->selectRow(row);
            stats->scrollToItem(stats->item(row, 0));
        }

    updateHistogram();
    updateThresholdsTable();
    replotCharts();
    emit thresholdChanged(threshold_);
}

void CossimView::updateHistogram() {
    if (hasData())
        histogram_->showLayer(*result_, threshold_, zoomToLayer());
}

void CossimView::updateThresholdsTable() {
    const std::vector<double>& ratios = result_->params.hardRatios;
    QTableWidget* table = thresholds_.table;
    thresholds_.caption->setText(tr("<b>Exit thresholds at layer %1</b> for the configured hard ratios").arg(layer_));
    table->setRowCount(int(ratios.size()));
    for (int row = 0; row < int(ratios.size()); ++row) {
        const ls::CossimThreshold t = ls::cossimThreshold(*result_, layer_, ratios[size_t(row)]);
        const QList<QString> texts{hardRatioText(t.hardRatio), QString::number(t.threshold, 'f', 5),
                                   formatPercent(t.exitFraction), formatPercent(1.0 - t.exitFraction)};
        for (int col = 0; col < texts.size(); ++col) {
            QTableWidgetItem* item = setCell(table, row, col, texts[col]);
            if (std::abs(t.hardRatio - hardRatio_) < 1e-9) {
                QFont f = item->font();
                f.setBold(true);
                item->setFont(f);
            }
        }
    }
    table->setFixedHeight(tableHeight(table, int(ratios.size())));
    fitColumns(table);
}

}  // namespace ls::widgets
