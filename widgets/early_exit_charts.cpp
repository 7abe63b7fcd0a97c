#include "early_exit_charts.h"

#include <algorithm>
#include <cmath>

#include "kit/format.h"
#include "kit/hover.h"
#include "kit/palette.h"
#include "kit/plot_style.h"

namespace ls::widgets {

namespace {

const QColor kExitColor = palette::kBlue;     // tokens that exit early
const QColor kFinalColor = palette::kGrey;    // tokens that ran every block; the sweep
const QColor kFrontColor = palette::kGreen;   // the Pareto front
const QColor kCurrentColor = palette::kVermillion;  // the current policy
const QColor kPplColor = palette::kPurple;

constexpr double kHoverReach = 14;  // pixels

}  // namespace

// ---- where the tokens exit ------------------------------------------------------------------

ExitLayersChart::ExitLayersChart(QWidget* parent) : QCustomPlot(parent) {
    setUpTitledPlot(this, tr("Where the tokens exit"), QSize(260, 180));
    setUpBarAxes(this, tr("exit layer l (blocks computed)"), tr("tokens"));
    exitBars_ = addBars(this, tr("exit at an allowed layer"), kExitColor);
    finalBars_ = addBars(this, tr("ran every block"), kFinalColor);
    for (QCPBars* bars : {exitBars_, finalBars_})
        bars->setWidth(0.7);
    legendBelow(this);
    addHoverText(this, [this](const QPointF& pos) { return barText(outcome_, layers_, wholeKeyAt(this, pos)); });
}

void ExitLayersChart::setOutcome(const ls::ExitOutcome& outcome, int L, const std::vector<int>& allowed) {
    outcome_ = outcome;
    layers_ = L;
    exitBars_->data()->clear();
    finalBars_->data()->clear();
    if (L < 1 || outcome.exits.size() != size_t(L)) {
        xAxis->setRange(0.4, std::max(L, 1) + 0.6);
        yAxis->setRange(0, 1);
        return;
    }
    int64_t top = 1;
    for (int l = 1; l < L; ++l)
        if (std::find(allowed.begin(), allowed.end(), l) != allowed.end() || outcome.exits[size_t(l - 1)] > 0) {
            exitBars_->addData(l, double(outcome.exits[size_t(l - 1)]));
            top = std::max(top, outcome.exits[size_t(l - 1)]);
        }
    finalBars_->addData(L, double(outcome.exits[size_t(L - 1)]));
    top = std::max(top, outcome.exits[size_t(L - 1)]);
    xAxis->setRange(0.4, L + 0.6);
    yAxis->setRange(0, double(top) * 1.12);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    const int step = L <= 16 ? 1 : L <= 40 ? 2 : 5;
    for (int l = 1; l <= L; ++l)
        if (l == 1 || l == L || l % step == 0)
            ticker->addTick(l, l == L ? tr("%1 (all)").arg(L) : QString::number(l));
    xAxis->setTicker(ticker);
}

QString ExitLayersChart::barText(const ls::ExitOutcome& outcome, int L, int layer) {
    if (layer < 1 || layer > L || outcome.exits.size() != size_t(L))
        return {};
    const int64_t n = outcome.exits[size_t(layer - 1)];
    const double f = outcome.tokens ? double(n) / double(outcome.tokens) : 0;
    if (layer == L)
        return tr("Ran all %1 blocks: %2 tokens (%3)").arg(L).arg(formatCount(n), formatPercent(f, 2));
    return tr("Exit after block %1: %2 tokens (%3)").arg(layer).arg(formatCount(n), formatPercent(f, 2));
}

// ---- the sweep ------------------------------------------------------------------------------

ExitSweepChart::ExitSweepChart(Measure measure, QWidget* parent) : QCustomPlot(parent), measure_(measure) {
    const bool agreement = measure == Measure::Agreement;
    setUpTitledPlot(this, agreement ? tr("Compute saved vs top-1 agreement") : tr("PPL vs compute saved"),
                    QSize(260, 180));
    xAxis->setLabel(tr("compute saved (%)"));
    yAxis->setLabel(agreement ? tr("top-1 agreement (%)") : tr("PPL at the exit layer"));
    sweep_ = addGraph();
    if (agreement) {
        sweep_->setName(tr("sweep of the threshold"));
        sweep_->setLineStyle(QCPGraph::lsNone);
        sweep_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kFinalColor, 1.2), Qt::white, 6));
        front_ = addGraph();
        front_->setName(tr("Pareto front"));
        front_->setPen(QPen(kFrontColor, 2));
        front_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kFrontColor, 4));
    } else {
        sweep_->setName(tr("sweep"));
        sweep_->setPen(QPen(kPplColor, 1.8));
        sweep_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kPplColor, 1.2), Qt::white, 5));
    }
    current_ = addPoints(this, tr("this policy"),
                      QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kCurrentColor.darker(150), 1.5), kCurrentColor, 13));
    if (agreement) {
        currentLabel_ = new QCPItemText(this);
        currentLabel_->position->setType(QCPItemPosition::ptPlotCoords);
        currentLabel_->setColor(kCurrentColor.darker(130));
        currentLabel_->setClipToAxisRect(true);
        currentLabel_->setVisible(false);
        legendInside(this, Qt::AlignBottom | Qt::AlignLeft, 220);
    } else {
        full_.line = new QCPItemStraightLine(this);
        full_.line->setPen(QPen(kFinalColor.darker(130), 1, Qt::DashLine));
        full_.label = new QCPItemText(this);
        full_.label->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
        full_.label->position->setTypeY(QCPItemPosition::ptPlotCoords);
        full_.label->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
        full_.label->setColor(kFinalColor.darker(160));
        full_.label->setClipToAxisRect(true);
        full_.setVisible(false);
    }
    addHoverText(this, [this, agreement](const QPointF& pos) {
        const int i = pointAt(pos);
        if (i < 0)
            return QString();
        return pointText(points_[size_t(i)]) + (agreement ? tr("\n(click: use this threshold)") : QString());
    });
    if (agreement)
        connect(this, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
            if (event->button() == Qt::LeftButton)
                if (const int i = pointAt(event->position()); i >= 0)
                    emit pointClicked(i);
        });
}

double ExitSweepChart::y(const ls::ExitOutcome& o) const {
    return measure_ == Measure::Agreement ? 100 * o.top1Agreement : o.ppl;
}

void ExitSweepChart::setSweep(const std::vector<ls::SweepPoint>& sweep, double fullPpl) {
    points_ = sweep;
    for (QCPGraph* graph : {sweep_, front_})
        if (graph)
            graph->data()->clear();
    if (full_.line)
        full_.setVisible(false);
    const bool agreement = measure_ == Measure::Agreement;
    if (sweep.empty()) {
        xAxis->setRange(0, 100);
        yAxis->setRange(0, agreement ? 100 : 10);
        return;
    }
    QVector<double> xs, ys, fx, fy;
    double xmax = 1, lo = INFINITY, hi = 0;
    for (const ls::SweepPoint& p : sweep) {
        const double x = 100 * p.outcome.computeSaved, v = y(p.outcome);
        xmax = std::max(xmax, x);
        if (!agreement && !(std::isfinite(v) && v > 0))
            continue;  // no PPL: left out of the PPL chart
        xs << x;
        ys << v;
        if (agreement && p.pareto) {
            fx << x;
            fy << v;
        }
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    sweep_->setData(xs, ys);
    xAxis->setRange(0, std::min(100.0, xmax * 1.08 + 1));
    if (agreement) {
        front_->setData(fx, fy);
        const double ymin = std::min(100.0, lo);
        // Room above 100 % for the marker of a policy that agrees everywhere (not clipped).
        const double span = 100 - ymin + 1;
        yAxis->setRange(std::max(0.0, ymin - 0.08 * span), 100 + 0.06 * span + 1);
        return;
    }
    if (std::isfinite(fullPpl) && fullPpl > 0) {
        lo = std::min(lo, fullPpl);
        hi = std::max(hi, fullPpl);
        full_.line->point1->setCoords(0, fullPpl);
        full_.line->point2->setCoords(1, fullPpl);
        full_.label->position->setCoords(0.98, fullPpl);
        full_.label->setText(tr("full model %1").arg(formatPpl(fullPpl)));
        full_.setVisible(true);
    }
    if (std::isfinite(lo) && hi > 0) {
        // A log axis when the PPLs span more than a factor of 20 (early layers can be far worse).
        const bool log = hi / std::max(lo, 1e-12) > 20;
        yAxis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
        if (log) {
            yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
            yAxis->setNumberFormat(QStringLiteral("eb"));  // every tick as a power of ten, not "100000" beside "10^6"
            yAxis->setNumberPrecision(0);
            yAxis->setRange(lo / 1.3, hi * 1.3);
        } else {
            yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
            yAxis->setNumberFormat(QStringLiteral("gb"));
            yAxis->setNumberPrecision(6);
            const double pad = std::max(0.06 * (hi - lo), 0.02 * hi);
            yAxis->setRange(std::max(0.0, lo - pad), hi + pad);
        }
        yAxis->setLabel(log ? tr("PPL at the exit layer (log)") : tr("PPL at the exit layer"));
    }
}

void ExitSweepChart::setCurrent(const ls::ExitOutcome& outcome) {
    current_->data()->clear();
    if (currentLabel_)
        currentLabel_->setVisible(false);
    if (outcome.tokens == 0)
        return;
    const double x = 100 * outcome.computeSaved, v = y(outcome);
    if (measure_ == Measure::Ppl) {
        if (std::isfinite(v) && v > 0)
            current_->addData(x, v);
        return;
    }
    current_->addData(x, v);
    currentLabel_->position->setCoords(x, v);
    const bool right = x < 0.45 * xAxis->range().upper;
    currentLabel_->setPositionAlignment((right ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignBottom);
    currentLabel_->setPadding(right ? QMargins(9, 0, 0, 6) : QMargins(0, 0, 9, 6));
    currentLabel_->setText(
        tr("saved %1 · agree %2").arg(formatPercent(outcome.computeSaved), formatPercent(outcome.top1Agreement)));
    currentLabel_->setVisible(true);
}

QString ExitSweepChart::pointText(const ls::SweepPoint& p) {
    return tr("threshold %1%2\ncompute saved %3 · mean blocks %4\ntop-1 agreement %5 · PPL %6\n%7 of tokens exit early")
        .arg(QString::number(p.threshold, 'g', 6), p.pareto ? tr(" (Pareto front)") : QString(),
             formatPercent(p.outcome.computeSaved))
        .arg(p.outcome.meanLayers, 0, 'f', 2)
        .arg(formatPercent(p.outcome.top1Agreement), formatPpl(p.outcome.ppl), formatPercent(p.outcome.exitFraction));
}

int ExitSweepChart::pointAt(const QPointF& pos) const {
    return nearestPoint(this, pos, int(points_.size()), [this](int i) {
        const ls::ExitOutcome& o = points_[size_t(i)].outcome;
        return QPointF(100 * o.computeSaved, y(o));
    }, kHoverReach);
}

}  // namespace ls::widgets
