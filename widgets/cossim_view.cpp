#include "cossim_view.h"

#include <QCheckBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMouseEvent>
#include <QSlider>
#include <QSplitter>
#include <QTableWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "export_menu.h"
#include "plot_style.h"
#include "stats/histogram.h"

namespace ls::widgets {

namespace {

const QColor kBarColor(52, 101, 164);       // blue, as the other views
const QColor kSpecialColor(204, 0, 0);      // red: special layers
const QColor kSpecialRow(255, 226, 214);    // table rows of special layers
const QColor kThresholdColor(206, 92, 0);   // orange: the exit threshold
const QColor kHardShade(206, 92, 0, 28);
const QColor kWhiskerColor(46, 52, 54);
const QColor kSelectionColor(20, 20, 20);

// White for empty bins, then viridis from light to dark: any token at all shows.
QCPColorGradient fractionGradient() {
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(255, 255, 255));
    g.setColorStopAt(0.004, QColor(253, 246, 200));
    g.setColorStopAt(0.08, QColor(253, 231, 37));
    g.setColorStopAt(0.3, QColor(94, 201, 98));
    g.setColorStopAt(0.55, QColor(33, 145, 140));
    g.setColorStopAt(0.8, QColor(59, 82, 139));
    g.setColorStopAt(1.0, QColor(68, 1, 84));
    g.setLevelCount(350);
    return g;
}

QString percent(double fraction, int decimals = 1) {
    return QStringLiteral("%1%").arg(fraction * 100.0, 0, 'f', decimals);
}

// "30%" for whole percentages, "32.5%" otherwise.
QString ratioText(double ratio) {
    const double p = ratio * 100.0;
    return std::abs(p - std::round(p)) < 1e-9 ? QStringLiteral("%1%").arg(std::lround(p))
                                              : QStringLiteral("%1%").arg(p, 0, 'f', 1);
}

QString number(double v, int decimals = 4) {
    if (std::isnan(v))
        return QStringLiteral("–");
    return QString::number(v, 'f', decimals);
}

// Layer labels for an axis: every step-th layer and the special layers (starred). With
// step > 1 a plain label next to a special one is left out so that they cannot overlap.
QSharedPointer<QCPAxisTickerText> layerTicker(const ls::CossimResult& r, int step) {
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    const int gap = step > 1 ? std::max(1, step / 2) : 0;
    for (const ls::CossimLayer& layer : r.layers) {
        const int l = layer.layer;
        if (layer.special) {
            ticker->addTick(l, QStringLiteral("★%1").arg(l));
            continue;
        }
        if (l % step != 0)
            continue;
        bool nearSpecial = false;
        for (const ls::CossimLayer& other : r.layers)
            nearSpecial = nearSpecial || (other.special && std::abs(other.layer - l) <= gap);
        if (!nearSpecial)
            ticker->addTick(l, QString::number(l));
    }
    return ticker;
}

int labelStep(int layers, int pixels, int pixelsPerLabel) {
    const int fit = std::max(1, pixels / std::max(1, pixelsPerLabel));
    if (layers <= fit)
        return 1;
    for (int step : {2, 5, 10, 20, 50, 100})
        if (layers / step <= fit)
            return step;
    return 200;
}

QTableWidgetItem* cell(const QString& text, Qt::Alignment align = Qt::AlignRight | Qt::AlignVCenter) {
    auto* item = new QTableWidgetItem(text);
    item->setTextAlignment(align);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    return item;
}

QTableWidget* makeTable(QWidget* parent, const QStringList& headers) {
    auto* table = new QTableWidget(0, headers.size(), parent);
    table->setHorizontalHeaderLabels(headers);
    table->verticalHeader()->setVisible(false);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setSelectionMode(QAbstractItemView::SingleSelection);
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table->setAlternatingRowColors(false);
    return table;
}

}  // namespace

CossimView::CossimView(QWidget* parent) : QWidget(parent) {
    comparedLabel_ = new QLabel(this);
    comparedLabel_->setWordWrap(true);
    comparedLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    comparedLabel_->setText(tr("<b>Cos-sim per layer.</b> %1.").arg(QString::fromUtf8(ls::kCossimCompared).toHtmlEscaped()));
    summaryLabel_ = new QLabel(this);
    summaryLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    exportButton_ = new ExportButton(this);
    exportButton_->setTables([this] { return result_ ? ls::cossimTables(*result_) : std::vector<ls::Table>{}; });

    buildHeatmap();
    buildHistogram();
    buildMeans();
    exportButton_->setCharts({{QStringLiteral("cossim_heatmap"), heatmap_},
                              {QStringLiteral("cossim_layer_histogram"), histPlot_},
                              {QStringLiteral("cossim_means"), meansPlot_}});

    // Sliders: the exit layer (= the selected layer) and the hard ratio.
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

    auto* controls = new QGridLayout;
    controls->setContentsMargins(6, 0, 6, 0);
    controls->setHorizontalSpacing(8);
    controls->addWidget(new QLabel(tr("Exit layer:"), this), 0, 0);
    controls->addWidget(layerSlider_, 0, 1);
    controls->addWidget(layerValue_, 0, 2);
    controls->addWidget(new QLabel(tr("Hard ratio:"), this), 1, 0);
    controls->addWidget(ratioSlider_, 1, 1);
    controls->addWidget(ratioValue_, 1, 2);
    controls->addWidget(thresholdLabelText_, 2, 0, 1, 3);
    controls->addWidget(zoomCheck_, 3, 0, 1, 3);
    controls->setColumnStretch(1, 1);

    // Tables.
    statsTable_ = makeTable(this, {tr("layer"), tr("mean"), tr("std"), tr("min"), tr("p10"), tr("p50"),
                                   tr("p90"), tr("max"), tr("frac<0"), tr("frac<0.5")});
    statsTable_->horizontalHeaderItem(8)->setToolTip(tr("Fraction of the layer's tokens with c_l < 0"));
    statsTable_->horizontalHeaderItem(9)->setToolTip(tr("Fraction of the layer's tokens with c_l < 0.5"));
    statsTable_->viewport()->installEventFilter(this);  // its width decides fitColumns
    specialNote_ = new QLabel(this);
    specialNote_->setWordWrap(true);
    specialNote_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    thresholdsCaption_ = new QLabel(this);
    thresholdsTable_ = makeTable(this, {tr("hard ratio"), tr("threshold"), tr("tokens that exit"),
                                        tr("hard tokens")});
    thresholdsTable_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    thresholdsTable_->setSelectionMode(QAbstractItemView::NoSelection);

    // Layout: heatmap, histogram and sliders on the left; means and tables on the right.
    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(heatmap_, 5);
    leftLayout->addWidget(histPlot_, 4);
    leftLayout->addLayout(controls);

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(meansPlot_, 4);
    auto* statsCaption = new QLabel(tr("<b>Per layer</b> (std with ddof 0; quantiles linear, as numpy)"), right);
    rightLayout->addWidget(statsCaption);
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

    auto* top = new QHBoxLayout;
    top->setContentsMargins(6, 4, 6, 0);
    auto* texts = new QVBoxLayout;
    texts->addWidget(comparedLabel_);
    texts->addWidget(summaryLabel_);
    top->addLayout(texts, 1);
    top->addWidget(exportButton_, 0, Qt::AlignTop);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 4);
    layout->addLayout(top);
    layout->addWidget(splitter, 1);

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
        histPlot_->replot();
    });
    connect(statsTable_, &QTableWidget::cellClicked, this, [this](int row, int) {
        if (hasData() && row >= 0 && row < result_->numLayers())
            selectLayer(result_->layers[row].layer);
    });

    clear();
}

// ---- plots --------------------------------------------------------------------------------

void CossimView::buildHeatmap() {
    heatmap_ = makeTitledPlot(this, tr("Distribution of c_l per layer"), QSize(280, 180));
    heatmap_->setMouseTracking(true);
    heatmap_->xAxis->setLabel(tr("cos(h_{l-1}, h_l)"));
    heatmap_->yAxis->setLabel(tr("layer l"));
    heatmap_->yAxis->setRangeReversed(true);  // layer 1 at the top, as in the table
    heatmap_->xAxis->grid()->setVisible(false);
    heatmap_->yAxis->grid()->setVisible(false);
    heatmap_->yAxis->setTickLength(0, 3);
    heatmap_->yAxis->setSubTicks(false);

    colorMap_ = new QCPColorMap(heatmap_->xAxis, heatmap_->yAxis);
    colorMap_->setName(tr("fraction of the layer's tokens"));
    colorMap_->setInterpolate(false);
    colorMap_->setTightBoundary(false);
    colorMap_->setGradient(fractionGradient());

    colorScale_ = new QCPColorScale(heatmap_);
    heatmap_->plotLayout()->addElement(1, 1, colorScale_);
    colorScale_->setType(QCPAxis::atRight);
    colorScale_->setBarWidth(12);
    colorScale_->axis()->setLabel(tr("fraction of the layer's tokens"));
    colorMap_->setColorScale(colorScale_);
    colorScale_->setGradient(fractionGradient());  // the scale's gradient is the map's
    // The colour scale lines up with the axis rect vertically.
    auto* margins = new QCPMarginGroup(heatmap_);
    heatmap_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    colorScale_->setMarginGroup(QCP::msBottom | QCP::msTop, margins);

    rowMarker_ = new QCPItemRect(heatmap_);
    rowMarker_->setPen(QPen(kSelectionColor, 2));
    rowMarker_->setBrush(Qt::NoBrush);
    rowThreshold_ = new QCPItemLine(heatmap_);
    rowThreshold_->setPen(QPen(QColor(255, 90, 0), 3));

    connect(heatmap_, &QCustomPlot::afterLayout, this, &CossimView::updateTickers);
    connect(heatmap_, &QCustomPlot::mouseMove, this, &CossimView::heatmapMouseMove);
    connect(heatmap_, &QCustomPlot::mousePress, this, &CossimView::heatmapMousePress);
}

void CossimView::buildHistogram() {
    histPlot_ = makeTitledPlot(this, tr("Selected layer"), QSize(280, 180));
    histPlot_->setMouseTracking(true);
    histPlot_->yAxis->setLabel(tr("tokens"));

    hardRegion_ = new QCPItemRect(histPlot_);
    hardRegion_->setLayer(QStringLiteral("background"));
    hardRegion_->setPen(Qt::NoPen);
    hardRegion_->setBrush(kHardShade);
    hardRegion_->topLeft->setTypeY(QCPItemPosition::ptAxisRectRatio);
    hardRegion_->bottomRight->setTypeY(QCPItemPosition::ptAxisRectRatio);

    histBars_ = new QCPBars(histPlot_->xAxis, histPlot_->yAxis);
    histBars_->setName(tr("tokens per bin"));
    histBars_->setWidthType(QCPBars::wtPlotCoords);
    histBars_->setPen(QPen(kBarColor.darker(130), 1));
    histBars_->setBrush(QColor(kBarColor.red(), kBarColor.green(), kBarColor.blue(), 170));

    thresholdLine_ = new QCPItemStraightLine(histPlot_);
    thresholdLine_->setPen(QPen(kThresholdColor, 2, Qt::DashLine));
    auto makeText = [this](const QColor& color) {
        auto* text = new QCPItemText(histPlot_);
        text->position->setTypeX(QCPItemPosition::ptPlotCoords);
        text->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
        text->setColor(color);
        text->setClipToAxisRect(true);
        return text;
    };
    thresholdLabel_ = makeText(kThresholdColor);
    QFont bold = font();
    bold.setBold(true);
    thresholdLabel_->setFont(bold);
    hardLabel_ = makeText(kThresholdColor.darker(120));
    exitLabel_ = makeText(kBarColor.darker(130));

    connect(histPlot_, &QCustomPlot::afterLayout, this, &CossimView::placeThresholdLabels);
    connect(histPlot_, &QCustomPlot::mouseMove, this, &CossimView::histogramMouseMove);
}

void CossimView::buildMeans() {
    meansPlot_ = makeTitledPlot(this, tr("Mean c_l per layer (whiskers: p10 – p90)"), QSize(280, 180));
    meansPlot_->setMouseTracking(true);
    meansPlot_->xAxis->setLabel(tr("layer l"));
    meansPlot_->yAxis->setLabel(tr("cos-sim"));
    meansPlot_->xAxis->grid()->setVisible(false);
    meansPlot_->xAxis->setSubTicks(false);

    meansSelection_ = new QCPItemRect(meansPlot_);
    meansSelection_->setLayer(QStringLiteral("background"));
    meansSelection_->setPen(Qt::NoPen);
    meansSelection_->setBrush(QColor(0, 0, 0, 30));
    meansSelection_->topLeft->setTypeY(QCPItemPosition::ptAxisRectRatio);
    meansSelection_->bottomRight->setTypeY(QCPItemPosition::ptAxisRectRatio);

    meanBars_ = new QCPBars(meansPlot_->xAxis, meansPlot_->yAxis);
    meanBars_->setName(tr("mean"));
    meanBars_->setWidth(0.7);
    meanBars_->setPen(QPen(kBarColor.darker(130), 1));
    meanBars_->setBrush(QColor(kBarColor.red(), kBarColor.green(), kBarColor.blue(), 190));
    specialBars_ = new QCPBars(meansPlot_->xAxis, meansPlot_->yAxis);
    specialBars_->setName(tr("special layer"));
    specialBars_->setWidth(0.7);
    specialBars_->setPen(QPen(kSpecialColor.darker(130), 1));
    specialBars_->setBrush(QColor(kSpecialColor.red(), kSpecialColor.green(), kSpecialColor.blue(), 200));

    meanPoints_ = new QCPGraph(meansPlot_->xAxis, meansPlot_->yAxis);
    meanPoints_->setLineStyle(QCPGraph::lsNone);
    meanPoints_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssNone));
    meanPoints_->removeFromLegend();
    whiskers_ = new QCPErrorBars(meansPlot_->xAxis, meansPlot_->yAxis);
    whiskers_->setName(tr("p10 – p90"));
    whiskers_->setDataPlottable(meanPoints_);
    whiskers_->setPen(QPen(kWhiskerColor, 1.2));
    whiskers_->setWhiskerWidth(5);
    whiskers_->setSymbolGap(0);

    // The legend sits in a row of its own below the axis rect: bars reach 1.0 at the top.
    meansPlot_->legend->setVisible(true);
    meansPlot_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    meansPlot_->legend->setBorderPen(Qt::NoPen);
    meansPlot_->legend->setBrush(Qt::NoBrush);
    meansPlot_->legend->setRowSpacing(0);
    meansPlot_->legend->setColumnSpacing(12);
    meansPlot_->axisRect()->insetLayout()->take(meansPlot_->legend);
    meansPlot_->plotLayout()->addElement(2, 0, meansPlot_->legend);
    meansPlot_->plotLayout()->setRowStretchFactor(2, 0.001);
    meansPlot_->plotLayout()->setRowSpacing(0);
    meansPlot_->legend->setMargins(QMargins(4, 0, 4, 2));

    connect(meansPlot_, &QCustomPlot::afterLayout, this, &CossimView::updateTickers);
    connect(meansPlot_, &QCustomPlot::mouseMove, this, &CossimView::meansMouseMove);
    connect(meansPlot_, &QCustomPlot::mousePress, this, &CossimView::meansMousePress);
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
    const int64_t tokens = result_->layers.front().summary.count;
    summaryLabel_->setText(tr("%1 tokens · %2 layers · heatmap: %3 bins over [%4, %5], the range of all layers")
                               .arg(QLocale().toString(qint64(tokens)))
                               .arg(L)
                               .arg(h.counts.size())
                               .arg(h.lo, 0, 'f', 4)
                               .arg(h.hi, 0, 'f', 4));
    updating_ = true;
    layerSlider_->setRange(1, L);
    layerSlider_->setEnabled(true);
    ratioSlider_->setEnabled(true);
    zoomCheck_->setEnabled(true);
    updating_ = false;
    layer_ = layer;
    hardRatio_ = ratio;

    fillHeatmap();
    fillMeans();
    fillStatsTable();
    updateSelection();
}

void CossimView::clear() {
    result_.reset();
    layer_ = 0;
    threshold_ = {};
    summaryLabel_->setText(tr("No cos-sim result yet: run the analysis from the Analysis menu."));
    colorMap_->data()->clear();
    colorMap_->data()->setSize(0, 0);
    heatmap_->xAxis->setRange(0, 1);
    heatmap_->yAxis->setRange(0.5, 1.5);
    heatmap_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    meansPlot_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    heatmapStep_ = meansStep_ = 0;
    colorScale_->setDataRange(QCPRange(0, 1));
    rowMarker_->setVisible(false);
    rowThreshold_->setVisible(false);
    histBars_->data()->clear();
    histLo_.clear();
    histHi_.clear();
    histCounts_.clear();
    for (QCPAbstractItem* item : std::initializer_list<QCPAbstractItem*>{
             hardRegion_, thresholdLine_, thresholdLabel_, hardLabel_, exitLabel_, meansSelection_})
        item->setVisible(false);
    histPlot_->xAxis->setRange(0, 1);
    histPlot_->yAxis->setRange(0, 1);
    meanBars_->data()->clear();
    specialBars_->data()->clear();
    meanPoints_->data()->clear();
    whiskers_->data()->clear();
    meansPlot_->xAxis->setRange(0.5, 1.5);
    meansPlot_->yAxis->setRange(0, 1);
    statsTable_->setRowCount(0);
    statsTable_->setMaximumHeight(QWIDGETSIZE_MAX);
    thresholdsTable_->setRowCount(0);
    thresholdsCaption_->clear();
    specialNote_->clear();
    thresholdLabelText_->clear();
    layerValue_->clear();
    ratioValue_->clear();
    updating_ = true;
    layerSlider_->setRange(1, 1);
    layerSlider_->setEnabled(false);
    ratioSlider_->setEnabled(false);
    zoomCheck_->setEnabled(false);
    updating_ = false;
    for (QCustomPlot* plot : {heatmap_, histPlot_, meansPlot_})
        plot->replot();
}

void CossimView::fillHeatmap() {
    const int L = result_->numLayers();
    const ls::Histogram& h0 = result_->histograms.front();
    const int bins = static_cast<int>(h0.counts.size());
    const double w = h0.binWidth();
    // One cell per (bin, layer); QCPColorMap needs two cells per dimension to know a cell's
    // size, so a single bin or layer is drawn as two equal halves.
    const int nx = std::max(bins, 2), ny = std::max(L, 2);
    const QCPRange keys = bins >= 2 ? QCPRange(h0.lo + w / 2, h0.hi - w / 2)
                                    : QCPRange(h0.lo + (h0.hi - h0.lo) / 4, h0.hi - (h0.hi - h0.lo) / 4);
    const QCPRange values = L >= 2 ? QCPRange(1, L) : QCPRange(0.75, 1.25);
    auto* data = new QCPColorMapData(nx, ny, keys, values);
    double maxFraction = 0;
    for (int y = 0; y < ny; ++y) {
        const int l = L >= 2 ? y : 0;
        const ls::Histogram& h = result_->histograms[l];
        const double total = std::max<double>(h.total(), 1);
        for (int x = 0; x < nx; ++x) {
            const int b = bins >= 2 ? x : 0;
            const double fraction = b < int(h.counts.size()) ? h.counts[b] / total : 0.0;
            data->setCell(x, y, fraction);
            maxFraction = std::max(maxFraction, fraction);
        }
    }
    colorMap_->setData(data);
    colorMap_->setDataRange(QCPRange(0, maxFraction > 0 ? maxFraction : 1));

    heatmap_->xAxis->setRange(h0.lo, h0.hi);
    heatmap_->yAxis->setRange(0.5, L + 0.5);
    heatmapStep_ = 0;
    updateTickers();
}

void CossimView::updateTickers() {
    if (!hasData())
        return;
    const int L = result_->numLayers();
    // Before the first layout the axis rects are tiny: assume a usual size.
    const int height = heatmap_->axisRect()->height() > 50 ? heatmap_->axisRect()->height() : 300;
    const int width = meansPlot_->axisRect()->width() > 50 ? meansPlot_->axisRect()->width() : 400;
    const int heatmapStep = labelStep(L, height, fontMetrics().height() + 4);
    const int meansStep = labelStep(L, width, fontMetrics().horizontalAdvance(QStringLiteral("★30")) + 8);
    if (heatmapStep != heatmapStep_) {
        heatmapStep_ = heatmapStep;
        heatmap_->yAxis->setTicker(layerTicker(*result_, heatmapStep));
    }
    if (meansStep != meansStep_) {
        meansStep_ = meansStep;
        meansPlot_->xAxis->setTicker(layerTicker(*result_, meansStep));
    }
}

void CossimView::fillMeans() {
    const int L = result_->numLayers();
    QVector<double> keys, means, specialKeys, specialMeans, minus, plus;
    double lo = 0, hi = 1;
    for (const ls::CossimLayer& layer : result_->layers) {
        const ls::Summary& s = layer.summary;
        (layer.special ? specialKeys : keys) << layer.layer;
        (layer.special ? specialMeans : means) << s.mean;
        minus << std::max(0.0, s.mean - s.p10);
        plus << std::max(0.0, s.p90 - s.mean);
        if (std::isfinite(s.p10))
            lo = std::min(lo, s.p10);
        if (std::isfinite(s.p90))
            hi = std::max(hi, s.p90);
    }
    meanBars_->setData(keys, means, true);
    specialBars_->setData(specialKeys, specialMeans, true);
    QVector<double> allKeys, allMeans;
    for (const ls::CossimLayer& layer : result_->layers) {
        allKeys << layer.layer;
        allMeans << layer.summary.mean;
    }
    meanPoints_->setData(allKeys, allMeans, true);
    whiskers_->setData(minus, plus);
    meansPlot_->xAxis->setRange(0.4, L + 0.6);
    const double pad = 0.04 * (hi - lo);
    meansPlot_->yAxis->setRange(lo < 0 ? lo - pad : 0, hi + pad);
    meansStep_ = 0;
    updateTickers();
    specialBars_->setVisible(!specialKeys.isEmpty());
    if (specialKeys.isEmpty())
        specialBars_->removeFromLegend();
    else
        specialBars_->addToLegend();
}

void CossimView::fillStatsTable() {
    const int L = result_->numLayers();
    statsTable_->setRowCount(L);
    QStringList special;
    for (int row = 0; row < L; ++row) {
        const ls::CossimLayer& layer = result_->layers[row];
        const ls::Summary& s = layer.summary;
        const QList<QString> texts{
            layer.special ? QStringLiteral("★ %1").arg(layer.layer) : QString::number(layer.layer),
            number(s.mean), number(s.std), number(s.min), number(s.p10), number(s.p50), number(s.p90),
            number(s.max), percent(layer.fracNegative), percent(layer.fracBelowHalf)};
        const double drop = layer.neighbourMedian - s.mean;
        const QString tip = layer.special
                                ? tr("Layer %1 is special: its mean %2 is %3 below the median %4 of its neighbours' means")
                                      .arg(layer.layer).arg(number(s.mean), number(drop), number(layer.neighbourMedian))
                                : tr("Layer %1: mean %2, neighbours' median %3").arg(layer.layer).arg(number(s.mean), number(layer.neighbourMedian));
        for (int col = 0; col < texts.size(); ++col) {
            QTableWidgetItem* item = cell(texts[col]);
            item->setToolTip(tip);
            if (layer.special) {
                item->setBackground(kSpecialRow);
                item->setForeground(kSpecialColor.darker(140));
            }
            statsTable_->setItem(row, col, item);
        }
        if (layer.special)
            special << QString::number(layer.layer);
    }
    // A short table gives its unused height to the means chart above it.
    statsTable_->setMaximumHeight(statsTable_->horizontalHeader()->sizeHint().height() +
                                  statsTable_->verticalHeader()->defaultSectionSize() * L +
                                  2 * statsTable_->frameWidth() + 2);
    fitColumns(statsTable_);
    const QString rule = tr("a layer is special when its mean is more than %1 below the median of the means of "
                            "layers l−2, l−1, l+1, l+2 (those that exist)")
                             .arg(result_->params.specialDrop);
    specialNote_->setText(special.isEmpty()
                              ? tr("No special layers: %1.").arg(rule)
                              : tr("<span style='color:%1'>★ Special layers: <b>%2</b></span> — %3.")
                                    .arg(kSpecialColor.name(), special.join(QStringLiteral(", ")), rule));
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
        .arg(percent(threshold_.exitFraction), percent(1.0 - threshold_.exitFraction));
}

void CossimView::updateSelection() {
    const int L = result_->numLayers();
    threshold_ = ls::cossimThreshold(*result_, layer_, hardRatio_);

    updating_ = true;
    layerSlider_->setValue(layer_);
    ratioSlider_->setValue(int(std::lround(hardRatio_ * 100)));
    updating_ = false;
    const bool special = result_->layers[layer_ - 1].special;
    layerValue_->setText(special ? tr("%1 (special)").arg(layer_) : QString::number(layer_));
    ratioValue_->setText(ratioText(hardRatio_));
    thresholdLabelText_->setText(QStringLiteral("<b>%1</b>").arg(thresholdText().toHtmlEscaped()));

    // Heatmap: outline the row, mark the threshold in it.
    const ls::Histogram& h0 = result_->histograms.front();
    rowMarker_->topLeft->setCoords(h0.lo, layer_ - 0.5);
    rowMarker_->bottomRight->setCoords(h0.hi, layer_ + 0.5);
    rowThreshold_->start->setCoords(threshold_.threshold, layer_ - 0.5);
    rowThreshold_->end->setCoords(threshold_.threshold, layer_ + 0.5);
    rowMarker_->setVisible(true);
    rowThreshold_->setVisible(true);

    meansSelection_->topLeft->setCoords(layer_ - 0.5, 0);
    meansSelection_->bottomRight->setCoords(layer_ + 0.5, 1);
    meansSelection_->setVisible(true);

    for (int row = 0; row < statsTable_->rowCount() && row < L; ++row)
        if (result_->layers[row].layer == layer_) {
            statsTable_->selectRow(row);
            statsTable_->scrollToItem(statsTable_->item(row, 0));
        }

    updateHistogram();
    updateThresholdsTable();
    for (QCustomPlot* plot : {heatmap_, histPlot_, meansPlot_})
        plot->replot();
    emit thresholdChanged(threshold_);
}

void CossimView::updateHistogram() {
    if (!hasData())
        return;
    const std::vector<float>& sorted = result_->sorted[layer_ - 1];
    ls::Histogram h = result_->histograms[layer_ - 1];
    const bool zoom = zoomCheck_->isChecked() && !sorted.empty();
    if (zoom)  // values are sorted: min and max are the ends
        h = ls::histogram(sorted, int(result_->histograms[layer_ - 1].counts.size()), sorted.front(), sorted.back());
    const int bins = int(h.counts.size());
    histLo_.assign(bins, 0);
    histHi_.assign(bins, 0);
    histCounts_ = h.counts;
    QVector<double> keys, counts;
    int64_t top = 1;
    for (int i = 0; i < bins; ++i) {
        histLo_[i] = h.edge(i);
        histHi_[i] = h.edge(i + 1);
        keys << 0.5 * (histLo_[i] + histHi_[i]);
        counts << double(h.counts[i]);
        top = std::max(top, h.counts[i]);
    }
    histBars_->setData(keys, counts, true);
    histBars_->setWidth(h.binWidth());

    const bool special = result_->layers[layer_ - 1].special;
    auto* title = qobject_cast<QCPTextElement*>(histPlot_->plotLayout()->element(0, 0));
    if (title)
        title->setText(tr("Layer %1%2: c_l = cos(h_%3, h_%1)").arg(layer_).arg(special ? tr(" (special)") : QString()).arg(layer_ - 1));
    histPlot_->xAxis->setLabel(zoom ? tr("c_l (%1 bins over this layer's min..max)").arg(bins)
                                    : tr("c_l (%1 bins over the common range)").arg(bins));

    const double pad = 0.02 * std::max(h.hi - h.lo, 1e-9);
    const double xlo = h.lo - pad, xhi = h.hi + pad;
    histPlot_->xAxis->setRange(xlo, xhi);
    histPlot_->yAxis->setRange(0, top * 1.22);  // headroom for the labels

    const double t = threshold_.threshold;
    thresholdLine_->point1->setCoords(t, 0);
    thresholdLine_->point2->setCoords(t, 1);
    hardRegion_->topLeft->setCoords(std::min(xlo, t), 0);
    hardRegion_->bottomRight->setCoords(t, 1);
    thresholdLabel_->setText(tr("threshold %1").arg(t, 0, 'f', 4));
    hardLabel_->setText(tr("◀ hard %1").arg(percent(1.0 - threshold_.exitFraction)));
    exitLabel_->setText(tr("exit %1 ▶").arg(percent(threshold_.exitFraction)));
    placeThresholdLabels();
    for (QCPAbstractItem* item : std::initializer_list<QCPAbstractItem*>{
             hardRegion_, thresholdLine_, thresholdLabel_, hardLabel_, exitLabel_})
        item->setVisible(true);
}

// The three labels go beside the threshold line, each on its preferred side (the hard share
// left, the exit share right) when it fits there, else on the other side, one row lower if
// that side is taken. Runs after every layout: the room depends on the plot's width.
void CossimView::placeThresholdLabels() {
    if (!hasData() || !thresholdLine_->visible())
        return;
    const QCPRange range = histPlot_->xAxis->range();
    const double t = threshold_.threshold;
    const double where = std::clamp((t - range.lower) / range.size(), 0.0, 1.0);
    const int width = histPlot_->axisRect()->width() > 50 ? histPlot_->axisRect()->width() : 400;
    const double room[2] = {where * width, (1.0 - where) * width};  // left, right of the line
    auto fits = [&](QCPItemText* label, int side) {
        return QFontMetrics(label->font()).horizontalAdvance(label->text()) + 10 <= room[side];
    };
    int rows[2] = {0, 0};  // labels placed on each side so far
    auto place = [&](QCPItemText* label, int preferred) {
        int side = preferred;
        if (!fits(label, side) && (fits(label, 1 - side) || room[1 - side] > room[side]))
            side = 1 - side;
        label->position->setCoords(t, 0.02 + 0.09 * rows[side]++);
        label->setPositionAlignment((side == 0 ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
        label->setPadding(side == 0 ? QMargins(0, 0, 5, 0) : QMargins(5, 0, 0, 0));
    };
    place(thresholdLabel_, where > 0.6 ? 0 : 1);
    rows[0] = rows[1] = 1;  // the share labels go one row below the threshold's
    place(hardLabel_, 0);
    place(exitLabel_, 1);
}

void CossimView::updateThresholdsTable() {
    const std::vector<double>& ratios = result_->params.hardRatios;
    thresholdsCaption_->setText(tr("<b>Exit thresholds at layer %1</b> for the configured hard ratios").arg(layer_));
    thresholdsTable_->setRowCount(int(ratios.size()));
    for (int row = 0; row < int(ratios.size()); ++row) {
        const ls::CossimThreshold t = ls::cossimThreshold(*result_, layer_, ratios[row]);
        const QList<QString> texts{ratioText(t.hardRatio), QString::number(t.threshold, 'f', 5),
                                   percent(t.exitFraction), percent(1.0 - t.exitFraction)};
        for (int col = 0; col < texts.size(); ++col) {
            QTableWidgetItem* item = cell(texts[col]);
            if (std::abs(t.hardRatio - hardRatio_) < 1e-9) {
                QFont f = item->font();
                f.setBold(true);
                item->setFont(f);
            }
            thresholdsTable_->setItem(row, col, item);
        }
    }
    const int h = thresholdsTable_->horizontalHeader()->sizeHint().height() +
                  thresholdsTable_->verticalHeader()->defaultSectionSize() * int(ratios.size()) +
                  2 * thresholdsTable_->frameWidth() + 2;
    thresholdsTable_->setFixedHeight(h);
}

void CossimView::fitColumns(QTableWidget* table) {
    QHeaderView* header = table->horizontalHeader();
    int needed = 0;
    for (int c = 0; c < table->columnCount(); ++c)  // + room for the cells' padding
        needed += std::max(static_cast<QAbstractItemView*>(table)->sizeHintForColumn(c), header->sectionSizeHint(c)) + 8;
    const QHeaderView::ResizeMode mode =
        needed <= table->viewport()->width() ? QHeaderView::Stretch : QHeaderView::ResizeToContents;
    if (header->sectionResizeMode(0) != mode)
        header->setSectionResizeMode(mode);
}

bool CossimView::eventFilter(QObject* watched, QEvent* event) {
    if (watched == statsTable_->viewport() && event->type() == QEvent::Resize)
        fitColumns(statsTable_);
    return QWidget::eventFilter(watched, event);
}

// ---- hover and click --------------------------------------------------------------------

int CossimView::layerAtHeatmap(const QPointF& pos, int* bin) const {
    if (!hasData() || !heatmap_->axisRect()->rect().contains(pos.toPoint()))
        return 0;
    const ls::Histogram& h0 = result_->histograms.front();
    const double key = heatmap_->xAxis->pixelToCoord(pos.x());
    const double value = heatmap_->yAxis->pixelToCoord(pos.y());
    const int layer = int(std::lround(value));
    if (layer < 1 || layer > result_->numLayers() || key < h0.lo || key > h0.hi)
        return 0;
    if (bin) {
        const int bins = int(h0.counts.size());
        *bin = std::clamp(int(std::floor((key - h0.lo) / h0.binWidth())), 0, bins - 1);
    }
    return layer;
}

QString CossimView::cellToolTip(int layer, int bin) const {
    if (!hasData() || layer < 1 || layer > result_->numLayers())
        return {};
    const ls::Histogram& h = result_->histograms[layer - 1];
    if (bin < 0 || bin >= int(h.counts.size()))
        return {};
    const bool last = bin + 1 == int(h.counts.size());
    const double total = std::max<double>(h.total(), 1);
    return tr("Layer %1%2\nc_l in [%3, %4%5\n%6 tokens (%7 of the layer)")
        .arg(layer)
        .arg(result_->layers[layer - 1].special ? tr(" (special)") : QString())
        .arg(h.edge(bin), 0, 'f', 4)
        .arg(h.edge(bin + 1), 0, 'f', 4)
        .arg(last ? QStringLiteral("]") : QStringLiteral(")"))
        .arg(QLocale().toString(qint64(h.counts[bin])))
        .arg(percent(h.counts[bin] / total, 2));
}

void CossimView::heatmapMouseMove(QMouseEvent* event) {
    int bin = 0;
    const int layer = layerAtHeatmap(event->position(), &bin);
    if (layer)
        QToolTip::showText(event->globalPosition().toPoint(), cellToolTip(layer, bin), heatmap_);
    else
        QToolTip::hideText();
}

void CossimView::heatmapMousePress(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton)
        return;
    if (const int layer = layerAtHeatmap(event->position(), nullptr))
        selectLayer(layer);
}

void CossimView::meansMouseMove(QMouseEvent* event) {
    if (!hasData() || !meansPlot_->axisRect()->rect().contains(event->position().toPoint())) {
        QToolTip::hideText();
        return;
    }
    const int l = int(std::lround(meansPlot_->xAxis->pixelToCoord(event->position().x())));
    if (l < 1 || l > result_->numLayers()) {
        QToolTip::hideText();
        return;
    }
    const ls::CossimLayer& layer = result_->layers[l - 1];
    const ls::Summary& s = layer.summary;
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("Layer %1%2\nmean %3 (std %4)\np10 %5 · p50 %6 · p90 %7\nneighbours' median %8")
                           .arg(l)
                           .arg(layer.special ? tr(" (special)") : QString())
                           .arg(number(s.mean), number(s.std), number(s.p10), number(s.p50), number(s.p90),
                                number(layer.neighbourMedian)),
                       meansPlot_);
}

void CossimView::meansMousePress(QMouseEvent* event) {
    if (!hasData() || event->button() != Qt::LeftButton ||
        !meansPlot_->axisRect()->rect().contains(event->position().toPoint()))
        return;
    const int l = int(std::lround(meansPlot_->xAxis->pixelToCoord(event->position().x())));
    if (l >= 1 && l <= result_->numLayers())
        selectLayer(l);
}

void CossimView::histogramMouseMove(QMouseEvent* event) {
    if (!hasData() || histCounts_.empty() || !histPlot_->axisRect()->rect().contains(event->position().toPoint())) {
        QToolTip::hideText();
        return;
    }
    const double key = histPlot_->xAxis->pixelToCoord(event->position().x());
    const int bins = int(histCounts_.size());
    if (key < histLo_.front() || key > histHi_.back()) {
        QToolTip::hideText();
        return;
    }
    const double w = (histHi_.back() - histLo_.front()) / bins;
    const int bin = std::clamp(int(std::floor((key - histLo_.front()) / w)), 0, bins - 1);
    int64_t total = 0;
    for (int64_t c : histCounts_)
        total += c;
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("c_l in [%1, %2%3\n%4 tokens (%5)")
                           .arg(histLo_[bin], 0, 'f', 4)
                           .arg(histHi_[bin], 0, 'f', 4)
                           .arg(bin + 1 == bins ? QStringLiteral("]") : QStringLiteral(")"))
                           .arg(QLocale().toString(qint64(histCounts_[bin])))
                           .arg(percent(histCounts_[bin] / double(std::max<int64_t>(total, 1)), 2)),
                       histPlot_);
}

}  // namespace ls::widgets
