#include "cossim_charts.h"

#include <algorithm>
#include <cmath>

#include "kit/format.h"
#include "kit/hover.h"
#include "kit/palette.h"
#include "kit/plot_style.h"

namespace ls::widgets {

namespace {

const QColor kBarColor = palette::kBlue;
const QColor kSpecialColor = palette::kVermillion;  // special layers
const QColor kThresholdColor = palette::kOrange;    // the exit threshold

QString number(double v) { return formatNumber(v, 4); }

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

QString special(const ls::CossimLayer& layer) { return layer.special ? QObject::tr(" (special)") : QString(); }

// "c_l in [0.3150, 0.5300)\n12 tokens (4.00%<share>)": one bin of a histogram.
QString binText(const ls::Histogram& h, int bin, const QString& share = {}) {
    const bool last = bin + 1 == int(h.counts.size());
    return QObject::tr("cₗ in [%1, %2%3\n%4 tokens (%5%6)")
        .arg(h.edge(bin), 0, 'f', 4)
        .arg(h.edge(bin + 1), 0, 'f', 4)
        .arg(last ? QStringLiteral("]") : QStringLiteral(")"))
        .arg(formatCount(h.counts[size_t(bin)]))
        .arg(formatPercent(h.counts[size_t(bin)] / std::max<double>(double(h.total()), 1), 2), share);
}

// The bin of h under x, -1 outside [lo, hi].
int binAt(const ls::Histogram& h, double x) {
    if (h.counts.empty() || x < h.lo || x > h.hi)
        return -1;
    return std::clamp(int(std::floor((x - h.lo) / h.binWidth())), 0, int(h.counts.size()) - 1);
}

}  // namespace

// ---- layer charts ---------------------------------------------------------------------------

CossimLayerChart::CossimLayerChart(Qt::Orientation layers, QWidget* parent) : QCustomPlot(parent), layers_(layers) {
    connect(this, &QCustomPlot::afterLayout, this, &CossimLayerChart::updateTicker);
    connect(this, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
        if (event->button() == Qt::LeftButton)
            if (const int layer = layerAt(event->position()))
                emit layerClicked(layer);
    });
}

void CossimLayerChart::setResult(const ls::CossimResult* result) {
    result_ = result;
    step_ = 0;
    draw();
    updateTicker();
}

void CossimLayerChart::updateTicker() {
    if (!result_)
        return;
    const bool rows = layers_ == Qt::Vertical;
    const int step = rows ? labelStep(1, result_->numLayers(), laidOutHeight(this, 300), fontMetrics().height() + 4)
                          : labelStep(1, result_->numLayers(), laidOutWidth(this, 400),
                                      fontMetrics().horizontalAdvance(QStringLiteral("★30")) + 8);
    if (step != step_) {
        step_ = step;
        (rows ? yAxis : xAxis)->setTicker(layerTicker(*result_, step));
    }
}

// ---- heatmap --------------------------------------------------------------------------------

CossimHeatmap::CossimHeatmap(QWidget* parent) : CossimLayerChart(Qt::Vertical, parent) {
    setUpTitledPlot(this, tr("Distribution of cₗ per layer"), QSize(280, 180));
    xAxis->setLabel(tr("cos(hₗ₋₁, hₗ)"));
    yAxis->setLabel(tr("layer l"));
    yAxis->setRangeReversed(true);  // layer 1 at the top, as in the table
    yAxis->setTickLength(0, 3);
    heatmap_ = addHeatmap(this, tr("fraction of the layer's tokens"));
    heatmap_.map->setGradient(palette::sequentialGradient());
    heatmap_.scale->setGradient(palette::sequentialGradient());
    heatmap_.scale->axis()->setLabel(tr("fraction of the layer's tokens"));

    rowMarker_ = new QCPItemRect(this);
    rowMarker_->setPen(QPen(palette::kSelection, 2));
    rowMarker_->setBrush(Qt::NoBrush);
    markOnScreenOnly(rowMarker_);
    rowThreshold_ = new QCPItemLine(this);
    rowThreshold_->setPen(QPen(palette::kVermillion, 3));

    addHoverText(this, [this](const QPointF& pos) {
        int bin = 0;
        const int layer = cellAt(pos, &bin);
        return layer ? cellText(*result_, layer, bin) : QString();
    });
    setResult(nullptr);
}

void CossimHeatmap::draw() {
    rowMarker_->setVisible(false);
    rowThreshold_->setVisible(false);
    if (!result_) {
        heatmap_.map->data()->clear();
        heatmap_.map->data()->setSize(0, 0);
        xAxis->setRange(0, 1);
        yAxis->setRange(0.5, 1.5);
        yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        heatmap_.scale->setDataRange(QCPRange(0, 1));
        return;
    }
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
        const ls::Histogram& h = result_->histograms[size_t(L >= 2 ? y : 0)];
        const double total = std::max<double>(double(h.total()), 1);
        for (int x = 0; x < nx; ++x) {
            const int b = bins >= 2 ? x : 0;
            const double fraction = b < int(h.counts.size()) ? h.counts[size_t(b)] / total : 0.0;
            data->setCell(x, y, fraction);
            maxFraction = std::max(maxFraction, fraction);
        }
    }
    heatmap_.map->setData(data);
    heatmap_.map->setDataRange(QCPRange(0, maxFraction > 0 ? maxFraction : 1));
    xAxis->setRange(h0.lo, h0.hi);
    yAxis->setRange(0.5, L + 0.5);
}

void CossimHeatmap::select(int layer, double threshold) {
    const ls::Histogram& h0 = result_->histograms.front();
    rowMarker_->topLeft->setCoords(h0.lo, layer - 0.5);
    rowMarker_->bottomRight->setCoords(h0.hi, layer + 0.5);
    rowThreshold_->start->setCoords(threshold, layer - 0.5);
    rowThreshold_->end->setCoords(threshold, layer + 0.5);
    rowMarker_->setVisible(true);
    rowThreshold_->setVisible(true);
}

int CossimHeatmap::cellAt(const QPointF& pos, int* bin) const {
    if (!result_ || !insideAxisRect(this, pos))
        return 0;
    const ls::Histogram& h0 = result_->histograms.front();
    const int layer = wholeValueAt(this, pos);
    const int b = binAt(h0, xAxis->pixelToCoord(pos.x()));
    if (layer < 1 || layer > result_->numLayers() || b < 0)
        return 0;
    if (bin)
        *bin = b;
    return layer;
}

QString CossimHeatmap::cellText(const ls::CossimResult& r, int layer, int bin) {
    if (layer < 1 || layer > r.numLayers())
        return {};
    const ls::Histogram& h = r.histograms[size_t(layer - 1)];
    if (bin < 0 || bin >= int(h.counts.size()))
        return {};
    return tr("Layer %1%2\n").arg(layer).arg(special(r.layers[size_t(layer - 1)])) +
           binText(h, bin, tr(" of the layer"));
}

// ---- the selected layer's histogram ---------------------------------------------------------

CossimLayerHistogram::CossimLayerHistogram(QWidget* parent) : QCustomPlot(parent) {
    setUpTitledPlot(this, tr("Selected layer"), QSize(280, 180));
    yAxis->setLabel(tr("tokens"));

    hardRegion_ = makeBand(this, palette::withAlpha(kThresholdColor, 28));

    bars_ = addHistogramBars(this, tr("tokens per bin"), kBarColor, 170);

    thresholdLine_ = new QCPItemStraightLine(this);
    thresholdLine_->setPen(QPen(kThresholdColor, 2, Qt::DashLine));
    thresholdLabel_ = makeMarkerLabel(this, kThresholdColor.darker(115));
    QFont bold = font();
    bold.setBold(true);
    thresholdLabel_->setFont(bold);
    hardLabel_ = makeMarkerLabel(this, kThresholdColor.darker(135));
    exitLabel_ = makeMarkerLabel(this, kBarColor.darker(130));

    connect(this, &QCustomPlot::afterLayout, this, &CossimLayerHistogram::placeLabels);
    addHoverText(this, [this](const QPointF& pos) { return hoverText(pos); });
    clear();
}

void CossimLayerHistogram::clear() {
    shown_ = {};
    bars_->data()->clear();
    for (QCPAbstractItem* item : std::initializer_list<QCPAbstractItem*>{
             hardRegion_, thresholdLine_, thresholdLabel_, hardLabel_, exitLabel_})
        item->setVisible(false);
    xAxis->setRange(0, 1);
    yAxis->setRange(0, 1);
}

void CossimLayerHistogram::showLayer(const ls::CossimResult& r, const ls::CossimThreshold& t, bool zoom) {
    const int layer = t.layer;
    const std::vector<float>& sorted = r.sorted[size_t(layer - 1)];
    shown_ = r.histograms[size_t(layer - 1)];
    zoom = zoom && !sorted.empty();
    if (zoom)  // values are sorted: min and max are the ends
        shown_ = ls::histogram(sorted, int(shown_.counts.size()), sorted.front(), sorted.back());
    const int bins = int(shown_.counts.size());
    QVector<double> keys, counts;
    int64_t top = 1;
    for (int i = 0; i < bins; ++i) {
        keys << 0.5 * (shown_.edge(i) + shown_.edge(i + 1));
        counts << double(shown_.counts[size_t(i)]);
        top = std::max(top, shown_.counts[size_t(i)]);
    }
    bars_->setData(keys, counts, true);
    bars_->setWidth(shown_.binWidth());

    titleOf(this)->setText(
        tr("Layer %1%2: c%3 = cos(h%4, h%3)")
            .arg(layer)
            .arg(special(r.layers[size_t(layer - 1)]))
            .arg(subscript(layer), subscript(layer - 1)));
    xAxis->setLabel(zoom ? tr("cₗ (%1 bins over this layer's min..max)").arg(bins)
                         : tr("cₗ (%1 bins over the common range)").arg(bins));
    const double pad = 0.02 * std::max(shown_.hi - shown_.lo, 1e-9);
    const double xlo = shown_.lo - pad, xhi = shown_.hi + pad;
    xAxis->setRange(xlo, xhi);
    yAxis->setRange(0, top * 1.22);  // headroom for the labels

    threshold_ = t.threshold;
    thresholdLine_->point1->setCoords(threshold_, 0);
    thresholdLine_->point2->setCoords(threshold_, 1);
    placeBand(hardRegion_, std::min(xlo, threshold_), threshold_);
    thresholdLabel_->setText(tr("threshold %1").arg(threshold_, 0, 'f', 4));
    hardLabel_->setText(tr("◀ hard %1").arg(formatPercent(1.0 - t.exitFraction)));
    exitLabel_->setText(tr("exit %1 ▶").arg(formatPercent(t.exitFraction)));
    for (QCPAbstractItem* item : std::initializer_list<QCPAbstractItem*>{
             hardRegion_, thresholdLine_, thresholdLabel_, hardLabel_, exitLabel_})
        item->setVisible(true);
    placeLabels();
}

// The three labels go beside the threshold line, each on its preferred side (the hard share
// left, the exit share right) when it fits there, else on the other side, one row lower if
// that side is taken.
void CossimLayerHistogram::placeLabels() {
    if (!thresholdLine_->visible())
        return;
    int rows[2] = {0, 0};  // labels placed on each side so far
    auto place = [&](QCPItemText* label, int preferred) {
        const int side = sideWithRoom(this, label, threshold_, preferred);
        placeBesideLine(label, threshold_, 0.02 + 0.09 * rows[side]++, side, 5);
    };
    const QCPRange range = xAxis->range();
    place(thresholdLabel_, (threshold_ - range.lower) / range.size() > 0.6 ? 0 : 1);
    rows[0] = rows[1] = 1;  // the share labels go one row below the threshold's
    place(hardLabel_, 0);
    place(exitLabel_, 1);
}

QString CossimLayerHistogram::hoverText(const QPointF& pos) const {
    const int bin = binAt(shown_, xAxis->pixelToCoord(pos.x()));
    return bin >= 0 ? binText(shown_, bin) : QString();
}

// ---- means ----------------------------------------------------------------------------------

CossimMeans::CossimMeans(QWidget* parent) : CossimLayerChart(Qt::Horizontal, parent) {
    setUpTitledPlot(this, tr("Mean cₗ per layer (whiskers: p10 – p90)"), QSize(280, 180));
    setUpBarAxes(this, tr("layer l"), tr("cos-sim"));
    selection_ = makeBand(this, QColor(0, 0, 0, 30));
    markOnScreenOnly(selection_);

    meanBars_ = addBars(this, tr("mean"), kBarColor);
    specialBars_ = addBars(this, tr("special layer"), kSpecialColor, 200);
    for (QCPBars* bars : {meanBars_, specialBars_})
        bars->setWidth(0.7);

    meanPoints_ = new QCPGraph(xAxis, yAxis);
    meanPoints_->setLineStyle(QCPGraph::lsNone);
    meanPoints_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssNone));
    meanPoints_->removeFromLegend();
    whiskers_ = new QCPErrorBars(xAxis, yAxis);
    whiskers_->setName(tr("p10 – p90"));
    whiskers_->setDataPlottable(meanPoints_);
    whiskers_->setPen(QPen(palette::kDark, 1.2));
    whiskers_->setWhiskerWidth(5);
    whiskers_->setSymbolGap(0);

    // The legend sits in a row of its own below the axis rect: bars reach 1.0 at the top.
    legendBelow(this);
    legend->setRowSpacing(0);
    plotLayout()->setRowSpacing(0);

    addHoverText(this, [this](const QPointF& pos) {
        const int l = layerAt(pos);
        if (!l)
            return QString();
        const ls::CossimLayer& layer = result_->layers[size_t(l - 1)];
        const ls::Summary& s = layer.summary;
        return tr("Layer %1%2\nmean %3 (std %4)\np10 %5 · p50 %6 · p90 %7\nneighbours' median %8")
            .arg(l)
            .arg(special(layer))
            .arg(number(s.mean), number(s.std), number(s.p10), number(s.p50), number(s.p90),
                 number(layer.neighbourMedian));
    });
    setResult(nullptr);
}

void CossimMeans::draw() {
    selection_->setVisible(false);
    for (QCPBars* bars : {meanBars_, specialBars_})
        bars->data()->clear();
    meanPoints_->data()->clear();
    whiskers_->data()->clear();
    if (!result_) {
        xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        xAxis->setRange(0.5, 1.5);
        yAxis->setRange(0, 1);
        return;
    }
    QVector<double> keys, means, specialKeys, specialMeans, allKeys, allMeans, minus, plus;
    double lo = 0, hi = 1;
    for (const ls::CossimLayer& layer : result_->layers) {
        const ls::Summary& s = layer.summary;
        (layer.special ? specialKeys : keys) << layer.layer;
        (layer.special ? specialMeans : means) << s.mean;
        allKeys << layer.layer;
        allMeans << s.mean;
        minus << std::max(0.0, s.mean - s.p10);
        plus << std::max(0.0, s.p90 - s.mean);
        if (std::isfinite(s.p10))
            lo = std::min(lo, s.p10);
        if (std::isfinite(s.p90))
            hi = std::max(hi, s.p90);
    }
    meanBars_->setData(keys, means, true);
    specialBars_->setData(specialKeys, specialMeans, true);
    meanPoints_->setData(allKeys, allMeans, true);
    whiskers_->setData(minus, plus);
    xAxis->setRange(0.4, result_->numLayers() + 0.6);
    const double pad = 0.04 * (hi - lo);
    yAxis->setRange(lo < 0 ? lo - pad : 0, hi + pad);
    specialBars_->setVisible(!specialKeys.isEmpty());
    if (specialKeys.isEmpty())
        specialBars_->removeFromLegend();
    else
        specialBars_->addToLegend();
}

void CossimMeans::select(int layer) {
    placeBand(selection_, layer - 0.5, layer + 0.5);
    selection_->setVisible(true);
}

int CossimMeans::layerAt(const QPointF& pos) const {
    if (!result_ || !insideAxisRect(this, pos))
        return 0;
    const int l = wholeKeyAt(this, pos);
    return l >= 1 && l <= result_->numLayers() ? l : 0;
}

}  // namespace ls::widgets
