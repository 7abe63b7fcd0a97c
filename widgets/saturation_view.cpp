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
    : ResultViewOf(tr("<b>Saturation through the lens.</b> %1")
                       .arg(subscriptsAsHtml(tr("top1_l = argmax W norm_f(h_l) (logit lens; a tuned lens reads A_l h_l + b_l). A token is saturated at layer l when "
                                                "top1_l equals the final top1_L; its saturation layer is the first block "
                                                "from which the lens keeps the final top-1."))),
                   // Without perToken the capture is not read: the result alone gives every table.
                   [](const ls::SaturationResult& r) { return ls::saturationTables(r, ls::CaptureResult{}, false); },
                   parent) {
    // Rate per layer.
    rate_.plot = addChart(QStringLiteral("saturation_rate"),
                          makeTitledPlot(this, tr("Saturation rate: top-1 at l = top-1 at L"), QSize(300, 200)));
    rate_.plot->xAxis->setLabel(tr("layer l (emb = embeddings)"));
    rate_.plot->yAxis->setLabel(tr("tokens saturated (%)"));
    rate_.plot->xAxis->setSubTicks(false);
    rate_.plot->xAxis->grid()->setZeroLinePen(Qt::NoPen);  // x = 0 is "emb", not a zero
    rate_.rate = rate_.plot->addGraph();
    rate_.rate->setName(tr("after block l (hₗ)"));
    rate_.rate->setPen(QPen(kRateColor, 2));
    rate_.rate->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kRateColor, 6));
    rate_.postAttention = rate_.plot->addGraph();
    rate_.postAttention->setName(tr("after attention l (aₗ, at l − 0.5)"));
    rate_.postAttention->setPen(QPen(kAttentionColor, 1.5, Qt::DashLine));
    rate_.postAttention->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(kAttentionColor, 1.5),
                                                         QBrush(Qt::white), 7));
    legendBelow(rate_.plot);
    rate_.plot->plotLayout()->setRowSpacing(0);

    // Saturation-layer histogram.
    hist_.plot = addChart(QStringLiteral("saturation_layers"),
                          makeTitledPlot(this, tr("Saturation layer: top-1 fixed from block l on"), QSize(300, 200)));
    setUpBarAxes(hist_.plot, tr("saturation layer l"), tr("tokens"));
    hist_.bars = addBars(hist_.plot, tr("tokens"), kRateColor, 180);
    hist_.bars->setWidth(0.75);

    // Loss of saturated vs unsaturated tokens.
    loss_.plot = addChart(QStringLiteral("saturation_loss"),
                          makeTitledPlot(this, tr("Mean loss: saturated vs not yet saturated at layer l"),
                                         QSize(300, 200)));
    setUpBarAxes(loss_.plot, tr("layer l"), tr("mean loss (nats)"));
    loss_.group = new QCPBarsGroup(loss_.plot);
    loss_.group->setSpacingType(QCPBarsGroup::stAbsolute);
    loss_.group->setSpacing(1);
    loss_.saturated = addBars(loss_.plot, tr("saturated"), kSatColor);
    loss_.unsaturated = addBars(loss_.plot, tr("not saturated"), kUnsatColor);
    for (QCPBars* bars : {loss_.saturated, loss_.unsaturated}) {
        bars->setWidth(0.38);
        bars->setBarsGroup(loss_.group);
    }
    loss_.difference = loss_.plot->addGraph();
    loss_.difference->setName(tr("difference (not saturated − saturated)"));
    loss_.difference->setPen(QPen(kDiffColor, 1.5));
    loss_.difference->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kDiffColor, 1.5), QBrush(Qt::white), 6));
    legendBelow(loss_.plot);
    loss_.plot->plotLayout()->setRowSpacing(0);

    // Table.
    table_ = makeCaptionedTable(this, tr("<b>Per layer</b> (loss in nats; rate = share of all tokens)"),
                                {tr("layer"), tr("saturated"), tr("rate"), tr("after attn"), tr("sat loss"),
                                 tr("unsat loss"), tr("unsat − sat"), tr("sat. layer")},
                                {QString(), QString(), QString(),
                                 tr("Saturation rate of the lens on a_l (after attention, before the MLP)"), QString(),
                                 QString(), QString(), tr("Tokens whose saturation layer is l")});
    auto* tableBox = new QVBoxLayout;
    addCaptionedTable(tableBox, table_, 1);

    auto* grid = new QGridLayout;
    grid->setContentsMargins(0, 0, 4, 0);
    grid->addWidget(rate_.plot, 0, 0);
    grid->addWidget(hist_.plot, 0, 1);
    grid->addWidget(loss_.plot, 1, 0);
    grid->addLayout(tableBox, 1, 1);
    grid->setColumnStretch(0, 1);
    grid->setColumnStretch(1, 1);
    grid->setRowStretch(0, 1);
    grid->setRowStretch(1, 1);
    setBody(grid);

    for (QCustomPlot* plot : {rate_.plot, hist_.plot, loss_.plot})
        connect(plot, &QCustomPlot::afterLayout, this, &SaturationView::updateTickers);
    addHoverText(rate_.plot, [this](const QPointF& pos) { return rateHoverText(pos); });
    addHoverText(hist_.plot, [this](const QPointF& pos) { return histogramToolTip(wholeKeyAt(hist_.plot, pos)); });
    addHoverText(loss_.plot, [this](const QPointF& pos) { return lossToolTip(wholeKeyAt(loss_.plot, pos)); });
    clear();
}

void SaturationView::showResult() {
    if (result_ && result_->layers.empty())
        result_.reset();  // nothing to show
    if (!result_) {
        showEmpty();
        return;
    }
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
    rate_.step = hist_.step = loss_.step = 0;
    updateTickers();
    replotCharts();
}

void SaturationView::showEmpty() {
    setSummary(tr("No saturation result yet: run the analysis from the Analysis menu."));
    for (QCPGraph* graph : {rate_.rate, rate_.postAttention, loss_.difference})
        graph->data()->clear();
    for (QCPBars* bars : {hist_.bars, loss_.saturated, loss_.unsaturated})
        bars->data()->clear();
    rate_.postAttention->removeFromLegend();
    rate_.plot->xAxis->setRange(-0.5, 1.5);
    rate_.plot->yAxis->setRange(0, 100);
    hist_.plot->xAxis->setRange(0.5, 1.5);
    hist_.plot->yAxis->setRange(0, 1);
    loss_.plot->xAxis->setRange(-0.5, 1.5);
    loss_.plot->yAxis->setRange(0, 1);
    table_.table->setRowCount(0);
    for (QCustomPlot* plot : {rate_.plot, hist_.plot, loss_.plot})
        plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    rate_.step = hist_.step = loss_.step = 0;
    replotCharts();
}

void SaturationView::fillRate() {
    const int L = result_->numLayers;
    QVector<double> keys, values;
    for (const ls::SaturationLayer& s : result_->layers)
        if (std::isfinite(s.rate)) {
            keys << s.layer;
            values << 100.0 * s.rate;
        }
    rate_.rate->setData(keys, values, true);
    keys.clear();
    values.clear();
    for (const ls::SaturationLayer& s : result_->postAttention)
        if (std::isfinite(s.rate)) {
            keys << s.layer - 0.5;
            values << 100.0 * s.rate;
        }
    rate_.postAttention->setData(keys, values, true);
    const bool attention = !result_->postAttention.empty();
    if (attention)
        rate_.postAttention->addToLegend();
    else
        rate_.postAttention->removeFromLegend();
    rate_.plot->xAxis->setRange(-0.6, L + 0.6);
    rate_.plot->yAxis->setRange(0, 104);
}

void SaturationView::updateTickers() {
    if (!hasData())
        return;
    const int L = result_->numLayers;
    const int labelWidth = fontMetrics().horizontalAdvance(QStringLiteral("emb")) + 12;

    const int rateWidth = laidOutWidth(rate_.plot, 400);
    // "l.attn" labels only when every one fits between the layer labels; the hover has them anyway.
    const int attentionWidth = fontMetrics().horizontalAdvance(QStringLiteral("00.attn")) + 8;
    const bool attention = !result_->postAttention.empty() && 2 * (L + 1) * attentionWidth <= rateWidth;
    const int rateStep = attention ? 1 : labelStep(0, L, rateWidth, labelWidth);
    if (rateStep != rate_.step || attention != rate_.attentionTicks) {
        rate_.step = rateStep;
        rate_.attentionTicks = attention;
        rate_.plot->xAxis->setTicker(layerTicker(L, 0, rateStep, attention));
    }
    const int histStep = labelStep(1, L, laidOutWidth(hist_.plot, 400), labelWidth);
    if (histStep != hist_.step) {
        hist_.step = histStep;
        hist_.plot->xAxis->setTicker(layerTicker(L, 1, histStep, false));
    }
    const int lossStep = labelStep(0, L, laidOutWidth(loss_.plot, 400), labelWidth);
    if (lossStep != loss_.step) {
        loss_.step = lossStep;
        loss_.plot->xAxis->setTicker(layerTicker(L, 0, lossStep, false));
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
    hist_.bars->setData(keys, counts, true);
    hist_.plot->xAxis->setRange(0.4, L + 0.6);
    hist_.plot->yAxis->setRange(0, top * 1.08);
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
    loss_.saturated->setData(satKeys, satValues, true);
    loss_.unsaturated->setData(unsatKeys, unsatValues, true);
    loss_.difference->setData(diffKeys, diffValues, true);
    loss_.plot->xAxis->setRange(-0.6, L + 0.6);
    const double pad = 0.06 * std::max(hi - lo, 1e-6);
    loss_.plot->yAxis->setRange(lo < 0 ? lo - pad : 0, hi + pad);
}

void SaturationView::fillTable() {
    const int rows = int(result_->layers.size());
    QTableWidget* table = table_.table;
    table->setRowCount(rows);
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
            setCell(table, row, col, texts[col]);
    }
    table->setColumnHidden(3, result_->postAttention.empty());
    fitColumns(table);
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
    for (QCPGraph* graph : {rate_.rate, rate_.postAttention})
        for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
            points.append({QPointF(it->key, it->value), graph == rate_.postAttention});
    const int i = nearestPoint(rate_.plot, pos, int(points.size()), [&](int k) { return points[k].first; }, 30);
    if (i < 0)
        return {};
    const auto& [point, attention] = points[i];
    return attention ? rateToolTip(int(std::lround(point.x() + 0.5)), true) : rateToolTip(int(std::lround(point.x())));
}

}  // namespace ls::widgets
