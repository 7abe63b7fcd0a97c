#include "saturation_view.h"

#include <QGridLayout>
#include <QLabel>
#include <QTableWidget>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "analysis/capture_pass.h"
#include "kit/format.h"
#include "kit/hover.h"
#include "kit/palette.h"
#include "kit/plot_style.h"
#include "kit/tables.h"

namespace ls::widgets {

namespace {

const QColor kRateColor = palette::kBlue;        // lens on h_l
const QColor kAttentionColor = palette::kPurple; // lens on a_l
const QColor kSatColor = palette::kGreen;        // saturated
const QColor kUnsatColor = palette::kVermillion; // not yet
const QColor kDiffColor = palette::kDark;        // the difference

// Labels "emb" (from 0) and every step-th layer; attention: "l.attn" at l - 0.5.
QSharedPointer<QCPAxisTickerText> layerTicker(int L, int first, int step, bool attention) {
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int l = first; l <= L; ++l) {
        if (l == 0)
            ticker->addTick(0, QStringLiteral("emb"));
        else if (l % step == 0 || (l == 1 && first == 1))
            ticker->addTick(l, QString::number(l));
        if (attention && l >= 1)
            ticker->addTick(l - 0.5, QStringLiteral("%1.attn").arg(l));
    }
    return ticker;
}

QString nats(double v) { return formatNumber(v, 3); }

QString layerName(int layer) { return layer == 0 ? QStringLiteral("emb") : QString::number(layer); }

}  // namespace

SaturationView::SaturationView(QWidget* parent)
    : ResultView(tr("<b>Saturation through the logit lens.</b> top1_l = argmax W norm_f(h_l). A token is saturated "
                    "at layer l when top1_l equals the final top1_L; its saturation layer is the first block from "
                    "which the lens keeps the final top-1."),
                 parent) {
    // Rate per layer.
    ratePlot_ = makeTitledPlot(this, tr("Saturation rate: top1_l = top1_L"), QSize(300, 200));
    ratePlot_->xAxis->setLabel(tr("layer l (emb = embeddings)"));
    ratePlot_->yAxis->setLabel(tr("tokens saturated (%)"));
    ratePlot_->xAxis->setSubTicks(false);
    ratePlot_->xAxis->grid()->setZeroLinePen(Qt::NoPen);  // x = 0 is "emb", not a zero
    rateGraph_ = ratePlot_->addGraph();
    rateGraph_->setName(tr("after block l (h_l)"));
    rateGraph_->setPen(QPen(kRateColor, 2));
    rateGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kRateColor, 6));
    postAttentionGraph_ = ratePlot_->addGraph();
    postAttentionGraph_->setName(tr("after attention l (a_l, at l − 0.5)"));
    postAttentionGraph_->setPen(QPen(kAttentionColor, 1.5, Qt::DashLine));
    postAttentionGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(kAttentionColor, 1.5),
                                                         QBrush(Qt::white), 7));
    legendBelow(ratePlot_);
    ratePlot_->plotLayout()->setRowSpacing(0);

    // Saturation-layer histogram.
    histPlot_ = makeTitledPlot(this, tr("Saturation layer: top-1 fixed from block l on"), QSize(300, 200));
    histPlot_->xAxis->setLabel(tr("saturation layer l"));
    histPlot_->yAxis->setLabel(tr("tokens"));
    histPlot_->xAxis->setSubTicks(false);
    histPlot_->xAxis->grid()->setVisible(false);
    histBars_ = new QCPBars(histPlot_->xAxis, histPlot_->yAxis);
    histBars_->setName(tr("tokens"));
    histBars_->setWidth(0.75);
    styleBars(histBars_, kRateColor, 180);

    // Loss of saturated vs unsaturated tokens.
    lossPlot_ = makeTitledPlot(this, tr("Mean loss: saturated vs not yet saturated at layer l"), QSize(300, 200));
    lossPlot_->xAxis->setLabel(tr("layer l"));
    lossPlot_->yAxis->setLabel(tr("mean loss (nats)"));
    lossPlot_->xAxis->setSubTicks(false);
    lossPlot_->xAxis->grid()->setVisible(false);
    lossGroup_ = new QCPBarsGroup(lossPlot_);
    lossGroup_->setSpacingType(QCPBarsGroup::stAbsolute);
    lossGroup_->setSpacing(1);
    satBars_ = new QCPBars(lossPlot_->xAxis, lossPlot_->yAxis);
    satBars_->setName(tr("saturated"));
    styleBars(satBars_, kSatColor);
    unsatBars_ = new QCPBars(lossPlot_->xAxis, lossPlot_->yAxis);
    unsatBars_->setName(tr("not saturated"));
    styleBars(unsatBars_, kUnsatColor);
    for (QCPBars* bars : {satBars_, unsatBars_}) {
        bars->setWidth(0.38);
        bars->setBarsGroup(lossGroup_);
    }
    diffGraph_ = lossPlot_->addGraph();
    diffGraph_->setName(tr("difference (not saturated − saturated)"));
    diffGraph_->setPen(QPen(kDiffColor, 1.5));
    diffGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kDiffColor, 1.5), QBrush(Qt::white), 6));
    legendBelow(lossPlot_);
    lossPlot_->plotLayout()->setRowSpacing(0);

    // Table.
    table_ = makeTable(this,
                       {tr("layer"), tr("saturated"), tr("rate"), tr("after attn"), tr("sat loss"), tr("unsat loss"),
                        tr("unsat − sat"), tr("sat. layer")},
                       {QString(), QString(), QString(),
                        tr("Saturation rate of the lens on a_l (after attention, before the MLP)"), QString(),
                        QString(), QString(), tr("Tokens whose saturation layer is l")});

    auto* tableBox = new QVBoxLayout;
    tableBox->addWidget(new QLabel(tr("<b>Per layer</b> (loss in nats; rate = share of all tokens)"), this));
    tableBox->addWidget(table_, 1);

    auto* grid = new QGridLayout;
    grid->setContentsMargins(0, 0, 4, 0);
    grid->addWidget(ratePlot_, 0, 0);
    grid->addWidget(histPlot_, 0, 1);
    grid->addWidget(lossPlot_, 1, 0);
    grid->addLayout(tableBox, 1, 1);
    grid->setColumnStretch(0, 1);
    grid->setColumnStretch(1, 1);
    grid->setRowStretch(0, 1);
    grid->setRowStretch(1, 1);
    setBody(grid);

    for (QCustomPlot* plot : {ratePlot_, histPlot_, lossPlot_})
        connect(plot, &QCustomPlot::afterLayout, this, &SaturationView::updateTickers);
    addHoverText(ratePlot_, [this](const QPointF& pos) { return rateHoverText(pos); });
    addHoverText(histPlot_, [this](const QPointF& pos) { return histogramToolTip(wholeKeyAt(histPlot_, pos)); });
    addHoverText(lossPlot_, [this](const QPointF& pos) { return lossToolTip(wholeKeyAt(lossPlot_, pos)); });
    clear();
}

QList<QPair<QString, QCustomPlot*>> SaturationView::charts() const {
    return {{QStringLiteral("saturation_rate"), ratePlot_},
            {QStringLiteral("saturation_layers"), histPlot_},
            {QStringLiteral("saturation_loss"), lossPlot_}};
}

std::vector<ls::Table> SaturationView::tables() const {
    // Without perToken the capture is not read: the result alone gives every table.
    return result_ ? ls::saturationTables(*result_, ls::CaptureResult{}, false) : std::vector<ls::Table>{};
}

void SaturationView::setResult(std::shared_ptr<const ls::SaturationResult> result) {
    if (!result || result->layers.empty()) {
        clear();
        return;
    }
    result_ = std::move(result);
    const int L = result_->numLayers;
    const ls::SaturationLayer& first = result_->layers.front();
    setSummary(tr("%1 tokens · %2 layers · %3 already saturated at the embeddings, %4 at layer 1%5")
                          .arg(formatCount(result_->tokens))
                          .arg(L)
                          .arg(formatPercent(first.rate))
                          .arg(result_->layers.size() > 1 ? formatPercent(result_->layers[1].rate) : noValue())
                          .arg(result_->postAttention.empty() ? tr(" · post-attention lens not captured")
                                                              : QString()));
    fillRate();
    fillHistogram();
    fillLoss();
    fillTable();
    rateStep_ = histStep_ = lossStep_ = 0;
    updateTickers();
    for (QCustomPlot* plot : {ratePlot_, histPlot_, lossPlot_})
        plot->replot();
}

void SaturationView::clear() {
    result_.reset();
    setSummary(tr("No saturation result yet: run the analysis from the Analysis menu."));
    for (QCPGraph* graph : {rateGraph_, postAttentionGraph_, diffGraph_})
        graph->data()->clear();
    for (QCPBars* bars : {histBars_, satBars_, unsatBars_})
        bars->data()->clear();
    postAttentionGraph_->removeFromLegend();
    ratePlot_->xAxis->setRange(-0.5, 1.5);
    ratePlot_->yAxis->setRange(0, 100);
    histPlot_->xAxis->setRange(0.5, 1.5);
    histPlot_->yAxis->setRange(0, 1);
    lossPlot_->xAxis->setRange(-0.5, 1.5);
    lossPlot_->yAxis->setRange(0, 1);
    table_->setRowCount(0);
    for (QCustomPlot* plot : {ratePlot_, histPlot_, lossPlot_})
        plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    rateStep_ = histStep_ = lossStep_ = 0;
    for (QCustomPlot* plot : {ratePlot_, histPlot_, lossPlot_})
        plot->replot();
}

void SaturationView::fillRate() {
    const int L = result_->numLayers;
    QVector<double> keys, values;
    for (const ls::SaturationLayer& s : result_->layers)
        if (std::isfinite(s.rate)) {
            keys << s.layer;
            values << 100.0 * s.rate;
        }
    rateGraph_->setData(keys, values, true);
    keys.clear();
    values.clear();
    for (const ls::SaturationLayer& s : result_->postAttention)
        if (std::isfinite(s.rate)) {
            keys << s.layer - 0.5;
            values << 100.0 * s.rate;
        }
    postAttentionGraph_->setData(keys, values, true);
    const bool attention = !result_->postAttention.empty();
    if (attention)
        postAttentionGraph_->addToLegend();
    else
        postAttentionGraph_->removeFromLegend();
    ratePlot_->xAxis->setRange(-0.6, L + 0.6);
    ratePlot_->yAxis->setRange(0, 104);
}

void SaturationView::updateTickers() {
    if (!hasData())
        return;
    const int L = result_->numLayers;
    const int labelWidth = fontMetrics().horizontalAdvance(QStringLiteral("emb")) + 12;

    const int rateWidth = laidOutWidth(ratePlot_, 400);
    // "l.attn" labels only when every one fits between the layer labels; the hover has them anyway.
    const int attentionWidth = fontMetrics().horizontalAdvance(QStringLiteral("00.attn")) + 8;
    const bool attention = !result_->postAttention.empty() && 2 * (L + 1) * attentionWidth <= rateWidth;
    const int rateStep = attention ? 1 : labelStep(0, L, rateWidth, labelWidth);
    if (rateStep != rateStep_ || attention != rateAttentionTicks_) {
        rateStep_ = rateStep;
        rateAttentionTicks_ = attention;
        ratePlot_->xAxis->setTicker(layerTicker(L, 0, rateStep, attention));
    }
    const int histStep = labelStep(1, L, laidOutWidth(histPlot_, 400), labelWidth);
    if (histStep != histStep_) {
        histStep_ = histStep;
        histPlot_->xAxis->setTicker(layerTicker(L, 1, histStep, false));
    }
    const int lossStep = labelStep(0, L, laidOutWidth(lossPlot_, 400), labelWidth);
    if (lossStep != lossStep_) {
        lossStep_ = lossStep;
        lossPlot_->xAxis->setTicker(layerTicker(L, 0, lossStep, false));
    }
}

void SaturationView::fillHistogram() {
    const int L = result_->numLayers;
    QVector<double> keys, counts;
    int64_t top = 1;
    for (int l = 1; l <= int(result_->histogram.size()); ++l) {
        keys << l;
        counts << double(result_->histogram[l - 1]);
        top = std::max(top, result_->histogram[l - 1]);
    }
    histBars_->setData(keys, counts, true);
    histPlot_->xAxis->setRange(0.4, L + 0.6);
    histPlot_->yAxis->setRange(0, top * 1.08);
}

void SaturationView::fillLoss() {
    const int L = result_->numLayers;
    QVector<double> satKeys, satValues, unsatKeys, unsatValues, diffKeys, diffValues;
    double lo = 0, hi = 0;
    for (const ls::SaturationLayer& s : result_->layers) {
        if (std::isfinite(s.satLoss)) {
            satKeys << s.layer;
            satValues << s.satLoss;
            hi = std::max(hi, s.satLoss);
        }
        if (std::isfinite(s.unsatLoss)) {
            unsatKeys << s.layer;
            unsatValues << s.unsatLoss;
            hi = std::max(hi, s.unsatLoss);
        }
        const double diff = s.unsatLoss - s.satLoss;
        if (std::isfinite(diff)) {
            diffKeys << s.layer;
            diffValues << diff;
            lo = std::min(lo, diff);
            hi = std::max(hi, diff);
        }
    }
    satBars_->setData(satKeys, satValues, true);
    unsatBars_->setData(unsatKeys, unsatValues, true);
    diffGraph_->setData(diffKeys, diffValues, true);
    lossPlot_->xAxis->setRange(-0.6, L + 0.6);
    const double pad = 0.06 * std::max(hi - lo, 1e-6);
    lossPlot_->yAxis->setRange(lo < 0 ? lo - pad : 0, hi + pad);
}

void SaturationView::fillTable() {
    const int rows = int(result_->layers.size());
    table_->setRowCount(rows);
    for (int row = 0; row < rows; ++row) {
        const ls::SaturationLayer& s = result_->layers[row];
        const int l = s.layer;
        const ls::SaturationLayer* attention = nullptr;
        for (const ls::SaturationLayer& a : result_->postAttention)
            if (a.layer == l)
                attention = &a;
        const bool hasHist = l >= 1 && l <= int(result_->histogram.size());
        const QList<QString> texts{
            layerName(l),
            formatCount((s.saturated)),
            formatPercent(s.rate),
            attention ? formatPercent(attention->rate) : noValue(),
            nats(s.satLoss),
            nats(s.unsatLoss),
            nats(s.unsatLoss - s.satLoss),
            hasHist ? formatCount((result_->histogram[l - 1])) : noValue()};
        for (int col = 0; col < texts.size(); ++col)
            setCell(table_, row, col, texts[col]);
    }
    table_->setColumnHidden(3, result_->postAttention.empty());
    fitColumns(table_);
}

// ---- hover --------------------------------------------------------------------------------

QString SaturationView::rateToolTip(int layer, bool attention) const {
    if (!hasData())
        return {};
    const std::vector<ls::SaturationLayer>& rows = attention ? result_->postAttention : result_->layers;
    for (const ls::SaturationLayer& s : rows)
        if (s.layer == layer)
            return tr("%1: %2 of %3 tokens (%4) have the final top-1")
                .arg(attention ? QStringLiteral("%1.attn (a_%1)").arg(layer)
                               : (layer == 0 ? tr("emb (h_0)") : tr("layer %1 (h_%1)").arg(layer)))
                .arg(formatCount((s.saturated)), formatCount((result_->tokens)),
                     formatPercent(s.rate));
    return {};
}

QString SaturationView::histogramToolTip(int layer) const {
    if (!hasData() || layer < 1 || layer > int(result_->histogram.size()))
        return {};
    const int64_t n = result_->histogram[layer - 1];
    return tr("Saturation layer %1: %2 tokens (%3)\ntheir lens top-1 equals the final one from layer %1 on")
        .arg(layer)
        .arg(formatCount((n)))
        .arg(formatPercent(result_->tokens ? double(n) / double(result_->tokens) : std::nan(""), 2));
}

QString SaturationView::lossToolTip(int layer) const {
    if (!hasData())
        return {};
    for (const ls::SaturationLayer& s : result_->layers)
        if (s.layer == layer)
            return tr("Layer %1\nsaturated: %2 tokens, mean loss %3\nnot saturated: %4 tokens, mean loss %5\n"
                      "difference: %6 nats")
                .arg(layerName(layer))
                .arg(formatCount((s.saturated)), nats(s.satLoss),
                     formatCount((result_->tokens - s.saturated)), nats(s.unsatLoss),
                     nats(s.unsatLoss - s.satLoss));
    return {};
}

QString SaturationView::rateHoverText(const QPointF& pos) const {
    if (!hasData())
        return {};
    // The nearest drawn point of either curve, within 30 pixels; the attention lens's
    // points sit at l - 0.5.
    QList<QPair<QPointF, bool>> points;  // (key, value), attention
    for (QCPGraph* graph : {rateGraph_, postAttentionGraph_})
        for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
            points.append({QPointF(it->key, it->value), graph == postAttentionGraph_});
    const int i = nearestPoint(ratePlot_, pos, int(points.size()), [&](int k) { return points[k].first; }, 30);
    if (i < 0)
        return {};
    const auto& [point, attention] = points[i];
    return attention ? rateToolTip(int(std::lround(point.x() + 0.5)), true) : rateToolTip(int(std::lround(point.x())));
}

}  // namespace ls::widgets
