#include "linearize_page.h"

#include <QGridLayout>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <qcustomplot.h>

#include "ablation_parts.h"
#include "kit/format.h"
#include "kit/hover.h"
#include "kit/palette.h"
#include "kit/plot_style.h"
#include "kit/tables.h"

namespace ls::widgets {

namespace {

const QColor kCurveColor = palette::kBlue;
const QList<QColor> kLimitColors{palette::kGreen, palette::kOrange, palette::kVermillion, palette::kPurple};

QString ppl(double v) { return formatNumber(v, 2); }

}  // namespace

LinearizationPage::LinearizationPage(QWidget* parent) : QWidget(parent) {
    summary_ = makeNote(this);

    curvePlot_ = makeTitledPlot(this, tr("Cumulative ReLU linearisation (least damaging heads first)"), QSize(260, 200));
    curvePlot_->xAxis->setLabel(tr("heads linearised N"));
    curvePlot_->yAxis->setLabel(tr("PPL / base (log scale)"));
    curvePlot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
    curvePlot_->yAxis2->setVisible(true);
    curvePlot_->yAxis2->setScaleType(QCPAxis::stLogarithmic);
    curvePlot_->yAxis2->setLabel(tr("PPL"));
    curveGraph_ = curvePlot_->addGraph();
    curveGraph_->setName(tr("PPL ratio"));
    curveGraph_->setPen(QPen(kCurveColor, 2));
    curveGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kCurveColor, 6));
    curveMarks_ = addPoints(curvePlot_, tr("largest N within the limit"),
                      QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(palette::kSelection, 1.5), QBrush(Qt::white), 11));
    legendBelow(curvePlot_, 2);
    addHoverText(curvePlot_, [this](const QPointF& pos) {
        if (!result_)
            return QString();
        const auto& curve = result_->curve;
        return curveToolTip(nearestKey(curvePlot_, pos, int(curve.size()),
                                       [&](int i) { return double(curve[size_t(i)].nHeads); }, 30));
    });

    contextPlot_ = makeTitledPlot(this, tr("PPL by context length"), QSize(260, 200));
    contextPlot_->xAxis->setLabel(tr("seq_len (tokens per window)"));
    contextPlot_->yAxis->setLabel(tr("PPL"));
    contextPlot_->xAxis->setScaleType(QCPAxis::stLogarithmic);
    legendBelow(contextPlot_, 2);
    addHoverText(contextPlot_, [this](const QPointF& pos) { return contextToolTip(pos); });

    curveTable_ = makeTable(this, {tr("N linearised"), tr("PPL"), tr("Ratio")});
    thresholdTable_ = makeTable(this, {tr("Threshold"), tr("N heads"), tr("PPL"), tr("Ratio")});
    thresholdTable_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    contextTable_ = makeTable(this, {tr("seq_len"), tr("Baseline")});

    // Charts on the left (3 parts of the width), their tables on the right (2).
    auto* curveTables = new QVBoxLayout;
    curveTables->addWidget(new QLabel(tr("<b>Cumulative curve</b>"), this));
    curveTables->addWidget(curveTable_, 1);
    curveTables->addWidget(new QLabel(tr("<b>Thresholds</b>: the most heads within each PPL ratio"), this));
    curveTables->addWidget(thresholdTable_);
    auto* contextTables = new QVBoxLayout;
    contextCaption_ = makeNote(this);
    contextTables->addWidget(contextCaption_);
    contextTables->addWidget(contextTable_, 1);
    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(4, 4, 4, 2);
    grid->addWidget(summary_, 0, 0, 1, 2);
    grid->addWidget(curvePlot_, 1, 0);
    grid->addLayout(curveTables, 1, 1);
    grid->addWidget(contextPlot_, 2, 0);
    grid->addLayout(contextTables, 2, 1);
    grid->setColumnStretch(0, 3);
    grid->setColumnStretch(1, 2);
    grid->setRowStretch(1, 1);
    grid->setRowStretch(2, 1);
}

void LinearizationPage::setResult(const ls::LinearizeResult* result) {
    result_ = result;
    for (QCPItemStraightLine* line : limitLines_)
        curvePlot_->removeItem(line);
    for (QCPItemText* text : limitLabels_)
        curvePlot_->removeItem(text);
    limitLines_.clear();
    limitLabels_.clear();
    for (QCPGraph* g : contextGraphs_)
        contextPlot_->removeGraph(g);
    contextGraphs_.clear();
    curveGraph_->data()->clear();
    curveMarks_->data()->clear();
    if (!result_) {
        summary_->clear();
        for (QTableWidget* table : {curveTable_, thresholdTable_, contextTable_})
            table->setRowCount(0);
    } else {
        const ls::LinearizeResult& r = *result_;
        summary_->setText(
            tr("<b>ReLU linearisation.</b> A head's softmax weights become relu(q·k / √d) under the causal mask, "
               "divided by %1; heads are linearised cumulatively in order of increasing damage alone. Base PPL %2 · "
               "%3 tokens · %4 unprotected heads · %5")
                .arg(r.normalize == "rowsum" ? tr("the row sum") : tr("the number of attended positions"))
                .arg(ppl(r.basePpl), formatCount(r.tokens))
                .arg(r.heads.size())
                .arg(formatDuration(r.seconds)));
        fillCurve();
        fillContext();
    }
    curvePlot_->replot();
    contextPlot_->replot();
}

// The curve: ratio on the left (log), PPL on the right (the same curve, base x ratio).
void LinearizationPage::fillCurve() {
    const ls::LinearizeResult& r = *result_;
    QVector<double> ns, ratios;
    double lo = 1, hi = 1;
    int maxN = 1;
    for (const ls::CurvePoint& p : r.curve) {
        if (!std::isfinite(p.ratio) || p.ratio <= 0)
            continue;
        ns << p.nHeads;
        ratios << p.ratio;
        lo = std::min(lo, p.ratio);
        hi = std::max(hi, p.ratio);
        maxN = std::max(maxN, p.nHeads);
    }
    curveGraph_->setData(ns, ratios, true);
    for (const ls::LinearizeThreshold& t : r.thresholds) hi = std::max(hi, t.limit);
    const double rangeLo = lo / 1.04, rangeHi = hi * 1.12;
    // Pixels between two ratios on the log axis (the axis rect's height, or a typical one
    // before the first layout): ticks and labels closer than a line of text would overlap.
    const int axisHeight = curvePlot_->axisRect()->height() > 50 ? curvePlot_->axisRect()->height() : 220;
    auto pixelsBetween = [&](double a, double b) {
        return std::abs(std::log(b / a)) / std::log(rangeHi / rangeLo) * axisHeight;
    };
    constexpr double kTextPixels = 14;
    QVector<double> markN, markRatio;
    QFont small = font();
    small.setPointSize(8);
    QCPItemText* previousLabel = nullptr;
    double previousLimit = 0;
    for (int i = 0; i < int(r.thresholds.size()); ++i) {
        const ls::LinearizeThreshold& t = r.thresholds[size_t(i)];
        const QColor color = kLimitColors[i % kLimitColors.size()];
        auto* line = new QCPItemStraightLine(curvePlot_);
        line->setPen(QPen(color, 1.2, Qt::DashLine));
        line->point1->setCoords(0, t.limit);
        line->point2->setCoords(1, t.limit);
        limitLines_ << line;
        const QString text = tr("%1: N = %2").arg(limitText(t.limit)).arg(t.nHeads);
        if (previousLabel && pixelsBetween(previousLimit, t.limit) < kTextPixels) {
            // Too close to the last label to stand apart: one label for both, on one line.
            previousLabel->setText(previousLabel->text() + QStringLiteral(" · ") + text);
        } else {
            auto* label = new QCPItemText(curvePlot_);
            label->setFont(small);
            label->setColor(color.darker(130));
            label->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
            label->position->setTypeY(QCPItemPosition::ptPlotCoords);
            label->position->setCoords(0.01, t.limit);
            label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
            label->setText(text);
            limitLabels_ << label;
            previousLabel = label;
            previousLimit = t.limit;
        }
        if (std::isfinite(t.ratio) && t.ratio > 0) {
            markN << t.nHeads;
            markRatio << t.ratio;
        }
    }
    curveMarks_->setData(markN, markRatio);
    QSharedPointer<QCPAxisTickerText> ratioTicker(new QCPAxisTickerText);
    double lastTick = 0;
    for (double v : {1.0, 1.1, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 1000.0, 10000.0})
        if (v >= lo * 0.999 && v <= hi * 1.2 && (lastTick == 0 || pixelsBetween(lastTick, v) >= kTextPixels)) {
            ratioTicker->addTick(v, QStringLiteral("%1x").arg(v, 0, 'g', 4));
            lastTick = v;
        }
    ratioTicker->setSubTickCount(0);
    curvePlot_->yAxis->setTicker(ratioTicker);
    curvePlot_->yAxis->setRange(rangeLo, rangeHi);
    QSharedPointer<QCPAxisTickerText> pplTicker(new QCPAxisTickerText);
    const double pplLo = rangeLo * r.basePpl, pplHi = rangeHi * r.basePpl;
    double lastPpl = 0;
    for (double decade = 1; decade <= 1e6; decade *= 10)
        for (double m : {1.0, 1.5, 2.0, 3.0, 5.0, 7.0})
            if (const double v = m * decade;
                v >= pplLo && v <= pplHi && (lastPpl == 0 || pixelsBetween(lastPpl, v) >= kTextPixels)) {
                pplTicker->addTick(v, QString::number(v, 'g', 6));
                lastPpl = v;
            }
    pplTicker->setSubTickCount(0);
    curvePlot_->yAxis2->setTicker(pplTicker);
    curvePlot_->yAxis2->setRange(pplLo, pplHi);
    QSharedPointer<QCPAxisTicker> nTicker(new QCPAxisTicker);
    nTicker->setTickStepStrategy(QCPAxisTicker::tssReadability);
    curvePlot_->xAxis->setTicker(nTicker);
    curvePlot_->xAxis->setRange(-maxN * 0.02, maxN * 1.03);

    curveTable_->setRowCount(int(r.curve.size()));
    for (int row = 0; row < int(r.curve.size()); ++row) {
        const ls::CurvePoint& p = r.curve[size_t(row)];
        setCell(curveTable_, row, 0, QString::number(p.nHeads), kCentreAlign);
        setCell(curveTable_, row, 1, ppl(p.ppl));
        setCell(curveTable_, row, 2, curveRatioText(p.ratio));
    }
    thresholdTable_->setRowCount(int(r.thresholds.size()));
    for (int row = 0; row < int(r.thresholds.size()); ++row) {
        const ls::LinearizeThreshold& t = r.thresholds[size_t(row)];
        setCell(thresholdTable_, row, 0, QStringLiteral("PPL ≤ %1").arg(limitText(t.limit)), kCentreAlign);
        setCell(thresholdTable_, row, 1, QString::number(t.nHeads));
        setCell(thresholdTable_, row, 2, ppl(t.ppl));
        setCell(thresholdTable_, row, 3, curveRatioText(t.ratio));
    }
    thresholdTable_->setFixedHeight(tableHeight(thresholdTable_, std::max<int>(1, int(r.thresholds.size()))));
    fitColumns(curveTable_);
    fitColumns(thresholdTable_);
}

// Context: one line per N (0 = baseline), x = seq_len; the P4 table.
void LinearizationPage::fillContext() {
    const ls::LinearizeResult& r = *result_;
    std::map<int, std::map<int, const ls::ContextPoint*>> byN;  // N -> seq_len -> point
    std::vector<int> seqLens;
    for (const ls::ContextPoint& p : r.context) {
        byN[p.nHeads][p.seqLen] = &p;
        if (std::find(seqLens.begin(), seqLens.end(), p.seqLen) == seqLens.end())
            seqLens.push_back(p.seqLen);
    }
    std::sort(seqLens.begin(), seqLens.end());
    // Where the windows of each length start: the same places, or each length's own (a run
    // from before the sweep said so has 0 windows: nothing to say).
    const bool told = !r.context.empty() && r.context.front().windows > 0;
    const bool aligned = told && r.context.front().aligned;
    QString caption = tr("<b>Context length</b>: PPL and ratio to the baseline at the same seq_len");
    if (aligned)
        caption += tr(". Every length's windows start where the longest length's do: only the context differs.");
    else if (told)
        caption += tr(". Each length windows the stream on its own, so a short length's windows mostly start "
                      "mid-document (<i>Same window starts for every length</i> aligns them).");
    contextCaption_->setText(caption);
    double pLo = std::numeric_limits<double>::infinity(), pHi = 0;
    int colour = 0;
    for (const auto& [n, points] : byN) {
        QCPGraph* g = contextPlot_->addGraph();
        const QColor c = palette::series(colour++);
        g->setName(n == 0 ? tr("baseline (softmax)") : tr("ReLU-%1").arg(n));
        g->setPen(QPen(c, 2));
        g->setScatterStyle(QCPScatterStyle(n == 0 ? QCPScatterStyle::ssSquare : QCPScatterStyle::ssDisc, c, 7));
        QVector<double> xs, ys;
        for (const auto& [len, p] : points)
            if (std::isfinite(p->ppl) && p->ppl > 0) {
                xs << len;
                ys << p->ppl;
                pLo = std::min(pLo, p->ppl);
                pHi = std::max(pHi, p->ppl);
            }
        g->setData(xs, ys, true);
        contextGraphs_ << g;
    }
    QSharedPointer<QCPAxisTickerText> lenTicker(new QCPAxisTickerText);
    for (int len : seqLens)
        lenTicker->addTick(len, QString::number(len));
    lenTicker->setSubTickCount(0);
    contextPlot_->xAxis->setTicker(lenTicker);
    if (!seqLens.empty())
        contextPlot_->xAxis->setRange(seqLens.front() / 1.25, seqLens.back() * 1.25);
    if (pHi > 0)
        contextPlot_->yAxis->setRange(std::max(0.0, pLo - 0.08 * (pHi - pLo) - 1e-9), pHi + 0.08 * (pHi - pLo) + 1e-9);
    contextPlot_->legend->setVisible(!contextGraphs_.isEmpty());

    // The P4 table: seq_len, Baseline, then ReLU-N and its ratio for each N.
    QStringList headers{tr("seq_len"), tr("Baseline")};
    QList<int> relus;
    for (const auto& [n, points] : byN)
        if (n != 0) {
            relus << n;
            headers << tr("ReLU-%1").arg(n) << tr("Ratio");
        }
    contextTable_->setColumnCount(int(headers.size()));
    contextTable_->setHorizontalHeaderLabels(headers);
    contextTable_->setRowCount(int(seqLens.size()));
    for (int row = 0; row < int(seqLens.size()); ++row) {
        const int len = seqLens[size_t(row)];
        auto at = [&](int n) -> const ls::ContextPoint* {
            const auto it = byN.find(n);
            if (it == byN.end())
                return nullptr;
            const auto jt = it->second.find(len);
            return jt == it->second.end() ? nullptr : jt->second;
        };
        setCell(contextTable_, row, 0, QString::number(len), kCentreAlign);
        const ls::ContextPoint* base = at(0);
        setCell(contextTable_, row, 1, base ? ppl(base->ppl) : noValue());
        for (int i = 0; i < relus.size(); ++i) {
            const ls::ContextPoint* p = at(relus[i]);
            setCell(contextTable_, row, 2 + 2 * i, p ? ppl(p->ppl) : noValue());
            setCell(contextTable_, row, 3 + 2 * i, p ? curveRatioText(p->ratio) : noValue());
        }
    }
    fitColumns(contextTable_);
}

QString LinearizationPage::curveToolTip(int index) const {
    if (!result_ || index < 0 || index >= int(result_->curve.size()))
        return {};
    const ls::CurvePoint& p = result_->curve[size_t(index)];
    QString text = tr("%1 heads linearised\nPPL %2 (base %3)\nratio %4x")
                       .arg(p.nHeads)
                       .arg(ppl(p.ppl), ppl(result_->basePpl))
                       .arg(p.ratio, 0, 'f', 3);
    for (const ls::LinearizeThreshold& t : result_->thresholds)
        if (t.nHeads == p.nHeads)
            text += tr("\nthe most heads within %1").arg(limitText(t.limit));
    return text;
}

QString LinearizationPage::contextToolTip(const QPointF& pos) const {
    if (!result_)
        return {};
    const auto& context = result_->context;
    const int i = nearestPoint(contextPlot_, pos, int(context.size()), [&](int k) {
        return QPointF(context[size_t(k)].seqLen, context[size_t(k)].ppl);
    }, 15);
    if (i < 0)
        return {};
    const ls::ContextPoint& p = context[size_t(i)];
    return tr("seq_len %1, %2\nPPL %3 · ratio to the baseline %4x\n%5 tokens")
        .arg(p.seqLen)
        .arg(p.nHeads == 0 ? tr("baseline") : tr("%1 heads linearised").arg(p.nHeads))
        .arg(ppl(p.ppl))
        .arg(p.ratio, 0, 'f', 3)
        .arg(formatCount(p.tokens));
}

}  // namespace ls::widgets
