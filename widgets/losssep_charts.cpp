// The charts of LossSepView and how its methods are named and coloured (losssep_parts.h).
#include <algorithm>
#include <cmath>

#include "kit/format.h"
#include "kit/hover.h"
#include "kit/palette.h"
#include "kit/plot_style.h"
#include "losssep_parts.h"

namespace ls::widgets {

namespace {

const QColor kEasyColor = palette::kGreen;
const QColor kHardColor = palette::kVermillion;
const QColor kSplitColor = palette::kDark;  // the Oracle split (median)

QString lossText(double v) { return formatNumber(v, 2); }
QString corrText(double v) { return formatNumber(v, 3); }
QString ratioText(double ratio) { return formatPercent(ratio); }

// "probe:mlp2_128:regression" or "probe_mlp2_128_regression" -> {"mlp2_128", "regression"};
// false if not a probe.
bool splitProbe(const std::string& method, std::string* arch, std::string* task) {
    if (!isProbeMethod(method))
        return false;
    const std::string rest = method.substr(6);
    const size_t sep = method[5] == ':' ? rest.find(':') : rest.rfind('_');
    *arch = rest.substr(0, sep);
    *task = sep == std::string::npos ? std::string() : rest.substr(sep + 1);
    return true;
}

const ls::PredictorRow* predictor(const ls::LossSepResult& r, const std::string& method, int layer) {
    for (const ls::PredictorRow& row : r.predictors)
        if (row.method == method && row.layer == layer)
            return &row;
    return nullptr;
}

}  // namespace

// ---- methods --------------------------------------------------------------------------------

QString probeArchitectureLabel(const std::string& a) {
    if (a == "linear") return QStringLiteral("Linear");
    if (a == "mlp2_128") return QStringLiteral("MLP-2 (128)");
    if (a == "mlp3_128") return QStringLiteral("MLP-3 (128)");
    if (a == "mlp2_256") return QStringLiteral("MLP-2-wide (256)");
    return QString::fromStdString(a);
}

bool isProbeMethod(const std::string& method) {
    return method.rfind("probe:", 0) == 0 || method.rfind("probe_", 0) == 0;
}

QString methodLabel(const std::string& method) {
    std::string arch, task;
    if (splitProbe(method, &arch, &task)) {
        QString t = QString::fromStdString(task);
        if (task == "classification")
            t = QObject::tr("classification (easy iff loss ≤ threshold)");
        return QObject::tr("probe %1 · %2").arg(probeArchitectureLabel(arch), t);
    }
    if (method == "oracle") return QObject::tr("Oracle (actual loss)");
    if (method == "correct_prob") return QObject::tr("p(correct token) — needs the answer");
    const QString formula = metricFormula(method, QStringLiteral("z"));
    if (method == "entropy") return QObject::tr("%1 (lower = easier)").arg(formula);
    if (!formula.isEmpty()) return QStringLiteral("%1 = %2").arg(QString::fromStdString(method), formula);
    return QString::fromStdString(method);
}

QString methodShortLabel(const std::string& method) {
    std::string arch, task;
    if (splitProbe(method, &arch, &task))
        return QStringLiteral("%1 · %2").arg(probeArchitectureLabel(arch),
                                              task == "regression" ? QStringLiteral("reg")
                                              : task == "classification" ? QStringLiteral("cls")
                                                                         : QString::fromStdString(task));
    if (method == "oracle") return QStringLiteral("Oracle");
    if (method == "correct_prob") return QStringLiteral("p(correct)");
    return QString::fromStdString(method);
}

QColor methodColor(const std::string& method) {
    if (method == "oracle") return palette::kDark;
    if (method == "correct_prob") return palette::kPurple;  // needs the answer
    if (isProbeMethod(method)) return palette::kOrange;     // learned
    return palette::kBlue;                                  // inference-time metric
}

// ---- loss histogram -------------------------------------------------------------------------

LossSplitHistogram::LossSplitHistogram(QWidget* parent) : QCustomPlot(parent) {
    setUpTitledPlot(this, tr("Per-token loss and the Oracle split"), QSize(260, 200));
    xAxis->setLabel(tr("loss (nats)"));
    yAxis->setLabel(tr("tokens"));
    easyBars_ = addHistogramBars(this, tr("easy (loss ≤ median)"), kEasyColor, 160);
    hardBars_ = addHistogramBars(this, tr("hard"), kHardColor, 160);
    auto makeLine = [this](const QColor& color, Qt::PenStyle style) {
        auto* line = new QCPItemStraightLine(this);
        line->setPen(QPen(color, 2, style));
        line->setVisible(false);
        return line;
    };
    median_.line = makeLine(kSplitColor, Qt::DashLine);
    easyMean_.line = makeLine(kEasyColor.darker(120), Qt::DotLine);
    hardMean_.line = makeLine(kHardColor.darker(120), Qt::DotLine);
    median_.label = makeMarkerLabel(this, kSplitColor);
    QFont bold = font();
    bold.setBold(true);
    median_.label->setFont(bold);
    easyMean_.label = makeMarkerLabel(this, kEasyColor.darker(140));
    hardMean_.label = makeMarkerLabel(this, kHardColor.darker(120));
    diffArrow_ = new QCPItemLine(this);
    diffArrow_->setPen(QPen(kSplitColor, 1.5));
    diffArrow_->setHead(QCPLineEnding::esSpikeArrow);
    diffArrow_->setTail(QCPLineEnding::esSpikeArrow);
    diffArrow_->setVisible(false);
    diffLabel_ = new QCPItemText(this);
    diffLabel_->position->setType(QCPItemPosition::ptPlotCoords);
    diffLabel_->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
    diffLabel_->setColor(kSplitColor);
    diffLabel_->setClipToAxisRect(true);
    diffLabel_->setVisible(false);
    connect(this, &QCustomPlot::afterLayout, this, &LossSplitHistogram::placeLabels);
    addHoverText(this, [this](const QPointF& pos) { return hoverText(pos); });
}

void LossSplitHistogram::setResult(const ls::LossSepResult* result) {
    result_ = result;
    for (QCPBars* bars : {easyBars_, hardBars_})
        bars->data()->clear();
    for (const MarkerLine& marker : {median_, easyMean_, hardMean_})
        marker.setVisible(false);
    diffArrow_->setVisible(false);
    diffLabel_->setVisible(false);
    if (!result_ || result_->distribution.histogram.counts.empty()) {
        xAxis->setRange(0, 10);
        yAxis->setRange(0, 1);
        return;
    }
    const ls::LossDistribution& d = result_->distribution;
    const ls::Histogram& h = d.histogram;
    QVector<double> easyKeys, easyCounts, hardKeys, hardCounts;
    int64_t top = 1;
    for (int i = 0; i < int(h.counts.size()); ++i) {
        const double centre = 0.5 * (h.edge(i) + h.edge(i + 1));
        (centre <= d.median ? easyKeys : hardKeys) << centre;
        (centre <= d.median ? easyCounts : hardCounts) << double(h.counts[size_t(i)]);
        top = std::max(top, h.counts[size_t(i)]);
    }
    easyBars_->setData(easyKeys, easyCounts, true);
    hardBars_->setData(hardKeys, hardCounts, true);
    easyBars_->setWidth(h.binWidth());
    hardBars_->setWidth(h.binWidth());
    const double pad = 0.02 * std::max(h.hi - h.lo, 1e-9);
    xAxis->setRange(h.lo - pad, h.hi + pad);

    median_.showAt(d.median, tr("Oracle split: median %1").arg(lossText(d.median)));
    easyMean_.showAt(d.oracle.easyLoss, tr("easy mean %1").arg(lossText(d.oracle.easyLoss)));
    hardMean_.showAt(d.oracle.hardLoss, tr("hard mean %1").arg(lossText(d.oracle.hardLoss)));
    // The Loss Diff as an arrow between the two means, above the bars.
    const double y = top * 1.12;
    diffArrow_->start->setCoords(d.oracle.easyLoss, y);
    diffArrow_->end->setCoords(d.oracle.hardLoss, y);
    diffLabel_->position->setCoords(0.5 * (d.oracle.easyLoss + d.oracle.hardLoss), y);
    diffLabel_->setText(tr("Loss Diff %1").arg(lossText(d.oracle.lossDiff)));
    diffArrow_->setVisible(std::isfinite(d.oracle.lossDiff));
    diffLabel_->setVisible(std::isfinite(d.oracle.lossDiff));
    yAxis->setRange(0, top * 1.55);  // room for the arrow and the labels
    placeLabels();
}

// Each marker's label goes on the side of its line with room for it (the median's on the
// right unless it does not fit), in its own row.
void LossSplitHistogram::placeLabels() {
    if (!result_ || !median_.line->visible())
        return;
    auto place = [&](const MarkerLine& marker, double yRatio, int preferred) {
        const double x = marker.line->point1->key();
        placeBesideLine(marker.label, x, yRatio, sideWithRoom(this, marker.label, x, preferred, 300));
    };
    place(median_, 0.01, 1);
    place(easyMean_, 0.075, 0);
    place(hardMean_, 0.14, 1);
}

QString LossSplitHistogram::hoverText(const QPointF& pos) const {
    if (!result_ || result_->distribution.histogram.counts.empty())
        return {};
    const ls::Histogram& h = result_->distribution.histogram;
    const double key = xAxis->pixelToCoord(pos.x());
    if (key < h.lo || key > h.hi)
        return {};
    const int bins = int(h.counts.size());
    const int bin = std::clamp(int(std::floor((key - h.lo) / h.binWidth())), 0, bins - 1);
    const double total = std::max<double>(double(h.total()), 1);
    return tr("loss in [%1, %2%3\n%4 tokens (%5)")
        .arg(h.edge(bin), 0, 'f', 3)
        .arg(h.edge(bin + 1), 0, 'f', 3)
        .arg(bin + 1 == bins ? QStringLiteral("]") : QStringLiteral(")"))
        .arg(formatCount(h.counts[size_t(bin)]))
        .arg(formatPercentValue(100.0 * h.counts[size_t(bin)] / total, 2));
}

// ---- Oracle-ratio bars ----------------------------------------------------------------------

OracleRatioChart::OracleRatioChart(QWidget* parent) : QCustomPlot(parent) {
    setUpTitledPlot(this, tr("Oracle ratio at the final layer (Oracle = 100%)"), QSize(260, 200));
    // Horizontal bars: methods down the y axis (first at the top), ratio along x.
    yAxis->setRangeReversed(true);
    yAxis->grid()->setVisible(false);
    yAxis->setTickLength(0, 0);
    yAxis->setSubTicks(false);
    xAxis->setLabel(tr("Oracle ratio (%)"));
    const QList<QPair<std::string, QString>> kinds{{"confidence", tr("inference-time metric")},
                                                   {"probe:linear:regression", tr("learned probe")},
                                                   {"correct_prob", tr("needs the answer")},
                                                   {"oracle", tr("Oracle")}};
    for (const auto& [example, name] : kinds) {
        auto* bars = new QCPBars(yAxis, xAxis);
        bars->setName(name);
        bars->setWidth(0.7);
        styleBars(bars, methodColor(example), 200);
        bars_ << bars;
    }
    hundredLine_ = new QCPItemStraightLine(this);
    hundredLine_->setPen(QPen(methodColor("oracle"), 1, Qt::DashLine));
    hundredLine_->point1->setCoords(100, 0);
    hundredLine_->point2->setCoords(100, 1);
    hundredLine_->setVisible(false);
    addHoverText(this, [this](const QPointF& pos) {
        const int i = wholeValueAt(this, pos);
        return rows_ && i >= 0 && i < int(rows_->size()) ? barText((*rows_)[size_t(i)]) : QString();
    });
}

QString OracleRatioChart::barText(const ls::PredictorRow& p) {
    const ls::SplitStats& s = p.split;
    return tr("%1\nOracle ratio %2 · Loss Diff %3\neasy %4 (%5 of tokens) · hard %6\nPearson r with the loss %7")
        .arg(methodLabel(p.method), ratioText(s.oracleRatio), lossText(s.lossDiff), lossText(s.easyLoss),
             formatPercentValue(s.easyPct), lossText(s.hardLoss), corrText(p.pearson));
}

void OracleRatioChart::setRows(const std::vector<ls::PredictorRow>* rows) {
    rows_ = rows;
    for (QCPBars* bars : bars_)
        bars->data()->clear();
    for (QCPItemText* label : labels_)
        removeItem(label);
    labels_.clear();
    hundredLine_->setVisible(false);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    if (!rows_ || rows_->empty()) {
        yAxis->setTicker(ticker);
        yAxis->setRange(-0.5, 3.5);
        xAxis->setRange(0, 110);
        return;
    }
    QVector<double> values;
    double lo = 0, hi = 100;
    for (int i = 0; i < int(rows_->size()); ++i) {
        const std::string& method = (*rows_)[size_t(i)].method;
        const double v = 100.0 * (*rows_)[size_t(i)].split.oracleRatio;
        values << v;
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
        const int kind = method == "oracle" ? 3 : method == "correct_prob" ? 2 : isProbeMethod(method) ? 1 : 0;
        bars_[kind]->addData(i, v);
        ticker->addTick(i, methodShortLabel(method));
    }
    yAxis->setTicker(ticker);
    yAxis->setRange(-0.6, rows_->size() - 0.4);
    xAxis->setRange(lo < 0 ? lo - 0.08 * (hi - lo) : 0, hi + 0.06 * (hi - lo));
    hundredLine_->setVisible(true);
    for (int i = 0; i < int(rows_->size()); ++i) {
        const double v = values[i];
        auto* label = new QCPItemText(this);
        label->position->setType(QCPItemPosition::ptPlotCoords);
        label->position->setCoords(std::isfinite(v) ? std::max(v, 0.0) : 0, i);
        // Long bars carry their value inside (no clipping at the right edge), short ones after.
        const bool inside = std::isfinite(v) && v > 0.3 * hi;
        const QColor color = methodColor((*rows_)[size_t(i)].method);
        label->setPositionAlignment((inside ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter);
        label->setPadding(inside ? QMargins(0, 0, 4, 0) : QMargins(4, 0, 0, 0));
        label->setText(formatPercentValue(v));
        label->setColor(inside ? palette::textOn(palette::onWhite(color, 200)) : color.darker(130));
        label->setClipToAxisRect(true);
        labels_ << label;
    }
}

double OracleRatioChart::drawnRatio(int index) const {
    for (QCPBars* bars : bars_)
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
            if (int(std::lround(it->key)) == index)
                return it->value;
    return std::nan("");
}

// ---- layer x method grid --------------------------------------------------------------------

LayerMethodGrid::LayerMethodGrid(QWidget* parent) : QCustomPlot(parent) {
    setUpTitledPlot(this, tr("Oracle ratio (%) per lens layer"), QSize(260, 200));
    xAxis->setLabel(tr("layer l"));
    yAxis->setRangeReversed(true);
    yAxis->setTickLength(0, 0);
    heatmap_ = addHeatmap(this, tr("Oracle ratio"), 10);
    heatmap_.scale->axis()->setLabel(tr("Oracle ratio (%)"));
    connect(this, &QCustomPlot::afterLayout, this, &LayerMethodGrid::placeLabels);
    addHoverText(this, [this](const QPointF& pos) {
        return result_ ? cellText(*result_, wholeValueAt(this, pos), wholeKeyAt(this, pos)) : QString();
    });
}

QString LayerMethodGrid::cellText(const ls::LossSepResult& r, int method, int layer) {
    const std::vector<ls::MetricInfo>& metrics = ls::separationMetrics();
    if (method < 0 || method >= int(metrics.size()) || layer < 1 || layer > r.numLayers)
        return {};
    const std::string name = metrics[size_t(method)].name;
    const ls::PredictorRow* p = predictor(r, name, layer);
    if (!p)
        return tr("%1 at layer %2: not computed").arg(QString::fromStdString(name)).arg(layer);
    return tr("%1 at layer %2\nOracle ratio %3 · Pearson r %4\nLoss Diff %5 (easy %6, hard %7)")
        .arg(QString::fromStdString(name))
        .arg(layer)
        .arg(ratioText(p->split.oracleRatio), corrText(p->pearson), lossText(p->split.lossDiff),
             lossText(p->split.easyLoss), lossText(p->split.hardLoss));
}

void LayerMethodGrid::setResult(const ls::LossSepResult* result) {
    result_ = result;
    for (QCPItemText* label : labels_)
        removeItem(label);
    labels_.clear();
    const std::vector<ls::MetricInfo>& metrics = ls::separationMetrics();
    const int M = int(metrics.size());
    QSharedPointer<QCPAxisTickerText> methods(new QCPAxisTickerText);
    for (int m = 0; m < M; ++m)
        methods->addTick(m, QString::fromLatin1(metrics[size_t(m)].name));
    yAxis->setTicker(methods);
    yAxis->setRange(-0.5, M - 0.5);
    if (!result_ || result_->numLayers < 1) {
        heatmap_.map->data()->clear();
        heatmap_.map->setVisible(false);
        xAxis->setRange(0.5, 1.5);
        return;
    }
    const int L = result_->numLayers;
    heatmap_.map->setVisible(true);
    heatmap_.map->data()->setSize(L, M);
    heatmap_.map->data()->setRange(QCPRange(1, std::max(L, 2)), QCPRange(0, std::max(M - 1, 1)));
    if (L == 1)
        heatmap_.map->data()->setKeyRange(QCPRange(0.5, 1.5));  // a single column of width 1
    double lo = 0, hi = 100;
    for (int l = 1; l <= L; ++l)
        for (int m = 0; m < M; ++m) {
            const ls::PredictorRow* row = predictor(*result_, metrics[size_t(m)].name, l);
            const double v = row ? 100.0 * row->split.oracleRatio : std::nan("");
            heatmap_.map->data()->setCell(l - 1, m, v);
            if (std::isfinite(v)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        }
    QCPColorGradient gradient = palette::signedSequentialGradient(lo, hi);
    heatmap_.map->setGradient(gradient);
    heatmap_.map->setDataRange(QCPRange(lo, hi));
    heatmap_.scale->setGradient(gradient);
    heatmap_.scale->setDataRange(QCPRange(lo, hi));
    xAxis->setRange(0.5, L + 0.5);
    QSharedPointer<QCPAxisTickerText> layers(new QCPAxisTickerText);
    const int step = L <= 12 ? 1 : L <= 30 ? 5 : 10;
    for (int l = 1; l <= L; ++l)
        if (l == 1 || l == L || l % step == 0)
            layers->addTick(l, QString::number(l));
    xAxis->setTicker(layers);
    for (int l = 1; l <= L; ++l)
        for (int m = 0; m < M; ++m) {
            const double v = heatmap_.map->data()->cell(l - 1, m);
            auto* label = new QCPItemText(this);
            label->position->setType(QCPItemPosition::ptPlotCoords);
            label->position->setCoords(l, m);
            label->setText(std::isfinite(v) ? QString::number(std::lround(v)) : noValue());
            label->setColor(palette::textOn(QColor::fromRgb(gradient.color(v, QCPRange(lo, hi)))));
            label->setClipToAxisRect(true);
            label->setVisible(false);
            labels_ << label;
        }
    placeLabels();
}

// The cells carry their value only when it fits.
void LayerMethodGrid::placeLabels() {
    if (labels_.isEmpty() || !result_)
        return;
    const int L = result_->numLayers;
    const int M = int(ls::separationMetrics().size());
    const QRect rect = axisRect()->rect();
    const double cellW = rect.width() / double(std::max(L, 1));
    const double cellH = rect.height() / double(std::max(M, 1));
    const QFontMetrics fm(labels_.front()->font());
    const bool fits = cellW >= fm.horizontalAdvance(QStringLiteral("100")) + 6 && cellH >= fm.height() + 2;
    for (QCPItemText* label : labels_)
        label->setVisible(fits);
}

}  // namespace ls::widgets
