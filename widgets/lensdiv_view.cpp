#include "lensdiv_view.h"

#include <QCheckBox>
#include <QGridLayout>
#include <QLabel>
#include <QTableWidget>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "kit/format.h"
#include "kit/hover.h"
#include "kit/palette.h"
#include "kit/plot_style.h"
#include "kit/tables.h"
#include "stats/summary.h"

namespace ls::widgets {

namespace {

const QColor kBlockColor = palette::kBlue;        // lens on h_l
const QColor kAttentionColor = palette::kPurple;  // lens on a_l
const QColor kEntropyColor = palette::kOrange;
const QColor kLossColor = palette::kDark;         // the model's own loss

bool isAttention(const LensDivRow& row) { return row.stage == "attention"; }
// Attention rows sit half a layer before their block: a_l comes before h_l.
double xOf(const LensDivRow& row) { return isAttention(row) ? row.layer - 0.5 : row.layer; }
QString layerName(const LensDivRow& row) {
    if (isAttention(row)) return QStringLiteral("%1.attn").arg(row.layer);
    return row.layer == 0 ? QStringLiteral("emb") : QString::number(row.layer);
}
QString nats(double v) { return formatNumber(v, 4); }

// A log axis cannot show 0 (the KL at the last layer): such points are left out.
double onAxis(double v, bool log) { return log && !(v > 0) ? std::nan("") : v; }

constexpr double kBoxQuantiles[5] = {0.05, 0.25, 0.5, 0.75, 0.95};

QCPGraph* addLayerGraph(QCustomPlot* plot, const QString& name, const QColor& color, Qt::PenStyle style) {
    QCPGraph* g = plot->addGraph();
    g->setName(name);
    g->setPen(QPen(color, style == Qt::SolidLine ? 2 : 1.5, style));
    g->setScatterStyle(style == Qt::SolidLine ? QCPScatterStyle(QCPScatterStyle::ssDisc, color, 6)
                                              : QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(color, 1.5),
                                                                QBrush(Qt::white), 7));
    return g;
}

QCustomPlot* makeLayerPlot(QWidget* parent, const QString& title, const QString& yLabel) {
    QCustomPlot* plot = makeTitledPlot(parent, title, QSize(300, 200));
    plot->xAxis->setLabel(QObject::tr("layer l (emb = embeddings)"));
    plot->yAxis->setLabel(yLabel);
    plot->xAxis->setSubTicks(false);
    plot->xAxis->grid()->setZeroLinePen(Qt::NoPen);  // x = 0 is "emb", not a zero
    return plot;
}

}  // namespace

LensDivView::LensDivView(QWidget* parent)
    : ResultViewOf(tr("<b>Lens divergence.</b> %1")
                       .arg(subscriptsAsHtml(tr("p_l = softmax(W norm_f(h_l)) at layer l through the logit lens, or softmax(W norm_f(A_l h_l + b_l)) "
                                                "through a tuned lens (the run's Lens, in its Summary); p_L is the "
                                                "model's output. KL(p_L ‖ p_l) says how far layer l still is from the "
                                                "final prediction; the lens's cross-entropy and entropy say how good and "
                                                "how sure it is (all in nats)."))),
                   [](const ls::LensDivResult& r) { return std::vector<ls::Table>{ls::lensDivTable(r)}; }, parent) {
    logScale_ = new QCheckBox(tr("Log scale"), this);
    logScale_->setToolTip(tr("KL on a logarithmic axis (the last layer, where it is 0, is left out)"));
    addHeaderControl(logScale_);
    connect(logScale_, &QCheckBox::toggled, this, &LensDivView::applyScale);

    klPlot_ = addChart(QStringLiteral("lensdiv_kl"), makeLayerPlot(this, tr("KL(final ‖ pₗ): distance to the final output"), tr("mean KL (nats)")));
    klBlock_ = addLayerGraph(klPlot_, tr("after block l (hₗ)"), kBlockColor, Qt::SolidLine);
    klAttention_ = addLayerGraph(klPlot_, tr("after attention l (aₗ, at l − 0.5)"), kAttentionColor, Qt::DashLine);
    legendBelow(klPlot_);

    lossPlot_ = addChart(QStringLiteral("lensdiv_loss"),
                         makeLayerPlot(this, tr("The lens's cross-entropy and entropy"), tr("nats")));
    crossEntropy_ = addLayerGraph(lossPlot_, tr("cross-entropy −log pₗ(target)"), kBlockColor, Qt::SolidLine);
    entropy_ = addLayerGraph(lossPlot_, tr("entropy of pₗ"), kEntropyColor, Qt::SolidLine);
    finalLoss_ = lossPlot_->addGraph();
    finalLoss_->setName(tr("model's loss"));
    finalLoss_->setPen(QPen(kLossColor, 1, Qt::DotLine));
    legendBelow(lossPlot_);

    distributionPlot_ = addChart(QStringLiteral("lensdiv_kl_distribution"),
                                 makeLayerPlot(this, tr("Per-token KL: 5th–95th percentile, quartiles, median"),
                                               tr("KL (nats)")));
    distributionPlot_->xAxis->grid()->setVisible(false);
    boxes_ = new QCPStatisticalBox(distributionPlot_->xAxis, distributionPlot_->yAxis);
    boxes_->setName(tr("per-token KL after block l"));
    boxes_->setWidth(0.5);
    boxes_->setBrush(palette::onWhite(kBlockColor, 90));
    boxes_->setPen(QPen(kBlockColor.darker(130), 1));
    boxes_->setMedianPen(QPen(kLossColor, 2));
    boxes_->setWhiskerPen(QPen(kLossColor, 1, Qt::SolidLine));

    table_ = makeTable(this, {tr("layer"), tr("KL to final"), tr("cross-entropy"), tr("entropy"), tr("top-1 acc.")},
                       {tr("emb = embeddings; l.attn = after the attention of block l"),
                        tr("Mean KL(p_L ‖ p_l) over scored tokens, nats"), tr("Mean −log p_l(target), nats"),
                        tr("Mean entropy of p_l, nats"), tr("Share of tokens whose lens top-1 is the target")});
    auto* tableBox = new QVBoxLayout;
    tableBox->addWidget(new QLabel(tr("<b>Per layer</b> (means over scored tokens)"), this));
    tableBox->addWidget(table_, 1);

    auto* grid = new QGridLayout;
    grid->setContentsMargins(0, 0, 4, 0);
    grid->addWidget(klPlot_, 0, 0);
    grid->addWidget(lossPlot_, 0, 1);
    grid->addWidget(distributionPlot_, 1, 0);
    grid->addLayout(tableBox, 1, 1);
    for (int i = 0; i < 2; ++i) {
        grid->setColumnStretch(i, 1);
        grid->setRowStretch(i, 1);
    }
    setBody(grid);

    for (QCustomPlot* plot : {klPlot_, lossPlot_, distributionPlot_})
        addHoverText(plot, [this, plot](const QPointF& pos) {
            const int row = rowAt(plot, pos);
            return row < 0 ? QString() : rowToolTip(static_cast<size_t>(row));
        });
    clear();
}

QString LensDivView::rowToolTip(size_t i) const {
    if (!result_ || i >= result_->rows.size()) return {};
    const LensDivRow& row = result_->rows[i];
    const std::vector<float>& kl = row.tokenKl;
    QString text = tr("<b>layer %1</b> (%2)<br>KL to final: %3 nats<br>cross-entropy: %4 nats<br>entropy: %5 nats<br>"
                      "top-1 accuracy: %6")
                       .arg(layerName(row), isAttention(row) ? tr("after attention") : tr("after the block"),
                            nats(row.klToFinal), nats(row.crossEntropy), nats(row.entropy),
                            formatPercent(row.top1Accuracy, 2));
    if (!kl.empty())
        text += tr("<br>per-token KL: median %1, 95th percentile %2")
                    .arg(nats(ls::quantile(kl, 0.5)), nats(ls::quantile(kl, 0.95)));
    return text;
}

int LensDivView::rowAt(const QCustomPlot* plot, const QPointF& pos) const {
    if (!result_) return -1;
    const auto& rows = result_->rows;
    return nearestKey(plot, pos, static_cast<int>(rows.size()), [&](int i) { return xOf(rows[i]); }, 20);
}

void LensDivView::showResult() {
    if (result_ && result_->rows.empty()) result_.reset();  // nothing to show
    for (QCPGraph* g : {klBlock_, klAttention_, crossEntropy_, entropy_, finalLoss_}) g->data()->clear();
    boxData_.clear();
    table_->setRowCount(0);
    if (!hasData()) {
        setSummary({});
        replotCharts();
        return;
    }
    const auto& rows = result_->rows;
    const int L = result_->numLayers;
    table_->setRowCount(static_cast<int>(rows.size()));
    // The table in the order of the residual stream: emb, 1.attn, 1, 2.attn, 2, ...
    std::vector<size_t> order(rows.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return xOf(rows[a]) < xOf(rows[b]); });
    double finalLoss = std::nan("");
    for (size_t i = 0; i < rows.size(); ++i) {
        const LensDivRow& row = rows[i];
        const double x = xOf(row);
        if (!isAttention(row) && row.layer == L) finalLoss = row.crossEntropy;
        (isAttention(row) ? klAttention_ : klBlock_)->addData(x, row.klToFinal);
        if (!isAttention(row)) {
            crossEntropy_->addData(x, row.crossEntropy);
            entropy_->addData(x, row.entropy);
            if (!row.tokenKl.empty()) {
                std::vector<float> sorted = row.tokenKl;
                std::sort(sorted.begin(), sorted.end());
                Box box{x, {}};
                for (int q = 0; q < 5; ++q) box.quantiles[q] = quantileSorted(sorted, kBoxQuantiles[q]);
                boxData_.push_back(box);
            }
        }
        const int r = static_cast<int>(std::find(order.begin(), order.end(), i) - order.begin());
        setCell(table_, r, 0, layerName(row), kCentreAlign);
        setCell(table_, r, 1, nats(row.klToFinal));
        setCell(table_, r, 2, nats(row.crossEntropy));
        setCell(table_, r, 3, nats(row.entropy));
        setCell(table_, r, 4, formatPercent(row.top1Accuracy, 2));
    }
    finalLoss_->addData(-0.5, finalLoss);
    finalLoss_->addData(L + 0.5, finalLoss);
    klAttention_->setVisible(!klAttention_->data()->isEmpty());
    if (klAttention_->data()->isEmpty()) klAttention_->removeFromLegend();
    else klAttention_->addToLegend();
    fitColumns(table_);

    // Ticks: "emb", then the layers (every one up to 24 of them, every other one beyond).
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    const int step = L > 24 ? 4 : L > 12 ? 2 : 1;
    ticker->addTick(0, QStringLiteral("emb"));
    for (int l = step; l <= L; l += step) ticker->addTick(l, QString::number(l));
    for (QCustomPlot* plot : {klPlot_, lossPlot_, distributionPlot_}) {
        plot->xAxis->setTicker(ticker);
        plot->xAxis->setRange(-0.7, L + 0.7);
    }
    lossPlot_->rescaleAxes(true);
    lossPlot_->xAxis->setRange(-0.7, L + 0.7);
    lossPlot_->yAxis->scaleRange(1.15);

    // The first layer whose lens is within 0.1 nats of the model's loss.
    int closeLayer = L;
    for (const LensDivRow& row : rows)
        if (!isAttention(row) && row.crossEntropy - finalLoss <= 0.1) {
            closeLayer = row.layer;
            break;
        }
    setSummary(tr("%1 tokens · %2 layers · KL to the final output %3 at the embeddings, %4 at layer %5 · the lens's "
                  "cross-entropy comes within 0.1 nats of the model's loss (%6) at layer %7")
                   .arg(formatCount(result_->tokens))
                   .arg(L)
                   .arg(nats(rows.front().klToFinal), nats(L >= 1 ? rows[static_cast<size_t>(L - 1)].klToFinal : 0.0))
                   .arg(std::max(L - 1, 0))
                   .arg(nats(finalLoss))
                   .arg(closeLayer == 0 ? QStringLiteral("emb") : QString::number(closeLayer)));
    applyScale();
}

void LensDivView::applyScale() {
    const bool log = logScale_->isChecked();
    for (QCustomPlot* plot : {klPlot_, distributionPlot_}) {
        plot->yAxis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
        if (log) plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
        else plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
    // The KL graphs and boxes again, without the zeros a log axis cannot draw.
    klBlock_->data()->clear();
    klAttention_->data()->clear();
    boxes_->data()->clear();
    if (result_)
        for (const LensDivRow& row : result_->rows)
            (isAttention(row) ? klAttention_ : klBlock_)->addData(xOf(row), onAxis(row.klToFinal, log));
    for (const Box& b : boxData_)
        if (!log || b.quantiles[0] > 0)
            boxes_->addData(b.x, b.quantiles[0], b.quantiles[1], b.quantiles[2], b.quantiles[3], b.quantiles[4]);
    for (QCustomPlot* plot : {klPlot_, distributionPlot_}) {
        plot->rescaleAxes(true);
        plot->xAxis->setRange(-0.7, result_ ? result_->numLayers + 0.7 : 1.0);
        const QCPRange y = plot->yAxis->range();
        if (log)
            plot->yAxis->setRange(std::max(y.lower / 1.5, 1e-6), std::max(y.upper * 1.5, 1e-5));
        else
            plot->yAxis->setRange(0, std::max(y.upper * 1.1, 1e-9));
        plot->replot();
    }
    lossPlot_->replot();
}

}  // namespace ls::widgets
