#include "lowrank_view.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "kit/format.h"
#include "kit/hover.h"
#include "kit/palette.h"
#include "kit/plot_style.h"
#include "kit/tables.h"

namespace ls::widgets {

namespace {

constexpr double kHoverReach = 24;  // pixels from the cursor to a requested rank's point

QString percent(double fraction, int decimals = 2) {
    if (!std::isfinite(fraction))
        return QStringLiteral("—");
    return QStringLiteral("%1 %").arg(100.0 * fraction, 0, 'f', decimals);
}

// The smallest rank whose coverage reaches target (fraction), 0 if none does.
int rankReaching(const std::vector<double>& coverage, double target) {
    for (size_t i = 0; i < coverage.size(); ++i)
        if (coverage[i] >= target - 1e-12)
            return int(i) + 1;
    return 0;
}

QCustomPlot* makePlot(QWidget* parent, const QString& title, const QString& yLabel) {
    QCustomPlot* plot = makeTitledPlot(parent, title, QSize(300, 220), 11);
    plot->xAxis->setLabel(QObject::tr("rank r"));
    plot->yAxis->setLabel(yLabel);
    plot->yAxis->setRange(0, 102);
    legendBelow(plot, 2);  // inside, it covered the curves where they rise (ranks 8-16)
    return plot;
}

QCPGraph* addLine(QCustomPlot* plot, const QString& name, const QColor& color, double width,
                  bool points) {
    QCPGraph* graph = plot->addGraph();
    graph->setName(name);
    graph->setPen(QPen(color, width));
    if (points)
        graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(color, 1.5), Qt::white, 7));
    return graph;
}

// A dotted vertical line that follows the hovered rank.
QCPItemStraightLine* makeCursorLine(QCustomPlot* plot) {
    auto* line = new QCPItemStraightLine(plot);
    line->setPen(QPen(palette::kGrey, 1, Qt::DotLine));
    line->setVisible(false);
    line->setSelectable(false);
    return line;
}

}  // namespace

LowRankView::LowRankView(QWidget* parent) : ResultViewOf(QString(), &ls::lowRankTables, parent) {
    logRankCheck_ = new QCheckBox(tr("Log₂ rank axis"), this);
    logRankCheck_->setChecked(true);
    logRankCheck_->setToolTip(tr("Rank axis in powers of two (on) or linear (off)"));
    addHeaderControl(logRankCheck_);

    auto* chartsArea = new QWidget(this);
    coveragePlot_ = addChart(QStringLiteral("lowrank_coverage"),
                             makePlot(chartsArea, tr("Singular-value coverage of W"), tr("coverage (%)")));
    agreementPlot_ = addChart(QStringLiteral("lowrank_agreement"),
                              makePlot(chartsArea, tr("Top-1 agreement of W_r with W"), tr("agreement (%)")));
    detectionPlot_ = addChart(QStringLiteral("lowrank_detection"),
                              makePlot(chartsArea, tr("Low-rank saturation detection"), tr("rate (%)")));
    agreementTitle_ = titleOf(agreementPlot_);
    detectionTitle_ = titleOf(detectionPlot_);

    const QColor first = palette::kBlue, second = palette::kVermillion, third = palette::kGreen;
    coverage_ = addLine(coveragePlot_, tr("Σ sᵢ (singular values)"), first, 2, false);
    energy_ = addLine(coveragePlot_, tr("Σ sᵢ² (energy)"), second, 2, false);
    coverageMarks_ = addPoints(coveragePlot_, tr("requested ranks"),
                               QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(first, 1.5), Qt::white, 6));
    coveragePlot_->legend->setWrap(2);  // three long entries side by side did not fit the chart's width
    agreeFinal_ = addLine(agreementPlot_, tr("final layer"), first, 2, true);
    agreeLayer_ = addLine(agreementPlot_, tr("chosen layer"), second, 2, true);
    precision_ = addLine(detectionPlot_, tr("precision"), first, 1.5, true);
    recall_ = addLine(detectionPlot_, tr("recall"), second, 1.5, true);
    f1_ = addLine(detectionPlot_, tr("F1"), third, 2.5, true);
    f1_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, third, 7));

    auto* chartsLayout = new QHBoxLayout(chartsArea);
    chartsLayout->setContentsMargins(0, 0, 0, 0);
    chartsLayout->setSpacing(4);
    for (QCustomPlot* plot : {coveragePlot_, agreementPlot_, detectionPlot_}) {
        chartsLayout->addWidget(plot, 1);
        cursors_.append(makeCursorLine(plot));
        addHoverText(
            plot,
            [this, plot](const QPointF& pos) {
                moveCursor(plot, hoverRank(plot, pos));
                return hoverText(plot, pos);
            },
            [this, plot] { moveCursor(plot, 0); });
    }

    auto* tables = new QWidget(this);
    rows_ = makeCaptionedTable(
        tables, tr("<b>Requested ranks</b>"),
        {tr("Rank"), tr("SV cov."), tr("Energy"), tr("Agree (final)"), tr("Agree (layer)"),
         tr("Precision"), tr("Recall"), tr("F1")},
        {tr("r: singular values kept"),
         tr("Singular-value coverage: Σ_{i≤r} s_i / Σ s_i"),
         tr("Energy coverage: Σ_{i≤r} s_i² / Σ s_i²"),
         tr("Tokens with argmax W_r x_L = argmax W x_L (final layer)"),
         tr("Tokens with argmax W_r x_l = argmax W x_l (chosen layer)"),
         tr("Saturation detection: predicted saturated and truly saturated / predicted saturated"),
         tr("Saturation detection: predicted saturated and truly saturated / truly saturated"),
         tr("Harmonic mean of precision and recall")});
    speed_ = makeCaptionedTable(
        tables, tr("<b>Top-1 speed: full head vs factorised (U_r S_r)(V_rᵀ x)</b>"),
        {tr("Rank"), tr("Tokens"), tr("Full (ms)"), tr("Factored (ms)"), tr("Speed-up")},
        {tr("r"), tr("Tokens in the timed batch"), tr("Top-1 through the full head W"),
         tr("Top-1 through (U_r S_r)(V_rᵀ x)"), tr("Full / factored (> 1: factorised is faster)")});
    for (QTableWidget* table : {rows_.table, speed_.table})
        table->setAlternatingRowColors(true);
    auto* rowsBox = new QVBoxLayout;
    addCaptionedTable(rowsBox, rows_, 1);
    auto* speedBox = new QVBoxLayout;
    addCaptionedTable(speedBox, speed_, 1);
    auto* tablesLayout = new QHBoxLayout(tables);
    tablesLayout->setContentsMargins(6, 0, 6, 0);
    tablesLayout->addLayout(rowsBox, 3);  // eight columns beside five: F1 in view, no scrolling
    tablesLayout->addLayout(speedBox, 2);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(chartsArea);
    splitter->addWidget(tables);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 1);
    splitter->setChildrenCollapsible(false);
    setBody(splitter);

    connect(logRankCheck_, &QCheckBox::toggled, this, [this] {
        updateRankAxes();
        replotCharts();
    });
    clear();
}

void LowRankView::setLogRank(bool on) { logRankCheck_->setChecked(on); }
bool LowRankView::logRank() const { return logRankCheck_->isChecked(); }

QString LowRankView::summaryText() const {
    if (!result_)
        return tr("No low-rank result yet: run the low-rank head analysis.");
    const ls::LowRankResult& r = *result_;
    QStringList parts;
    if (!r.coverage.empty()) {
        parts << tr("W has %1 singular values").arg(r.coverage.size());
        const auto at = [&](const std::vector<double>& cov, double t) {
            const int rank = rankReaching(cov, t);
            return rank > 0 ? QString::number(rank) : QStringLiteral("—");
        };
        parts << tr("coverage 50 / 90 %: r = %1 / %2").arg(at(r.coverage, 0.5), at(r.coverage, 0.9));
        parts << tr("energy 90 / 99 %: r = %1 / %2").arg(at(r.energyCoverage, 0.9), at(r.energyCoverage, 0.99));
    }
    parts << tr("chosen layer %1").arg(r.layer);
    if (!r.speed.empty()) {
        const auto best = std::max_element(r.speed.begin(), r.speed.end(), [](const auto& a, const auto& b) {
            return a.speedup < b.speedup;
        });
        parts << tr("best speed-up %1× at r = %2").arg(best->speedup, 0, 'f', 2).arg(best->rank);
    }
    return parts.join(QStringLiteral(" · "));
}

void LowRankView::showResult() {
    for (QCPGraph* graph : {coverage_, energy_, coverageMarks_, agreeFinal_, agreeLayer_, precision_, recall_, f1_})
        graph->data()->clear();
    if (result_) {
        const ls::LowRankResult& r = *result_;
        QVector<double> keys, cov, energy;
        for (size_t i = 0; i < r.coverage.size(); ++i) {
            keys << double(i + 1);
            cov << 100.0 * r.coverage[i];
            energy << (i < r.energyCoverage.size() ? 100.0 * r.energyCoverage[i] : qQNaN());
        }
        coverage_->setData(keys, cov, true);
        energy_->setData(keys, energy, true);
        for (const ls::LowRankRow& row : r.rows) {
            const double x = row.rank;
            if (row.rank >= 1 && size_t(row.rank) <= r.coverage.size())
                coverageMarks_->addData(x, 100.0 * r.coverage[row.rank - 1]);
            const auto add = [x](QCPGraph* graph, double value) {
                if (std::isfinite(value))
                    graph->addData(x, 100.0 * value);
            };
            add(agreeFinal_, row.agreementFinal);
            add(agreeLayer_, row.agreementLayer);
            add(precision_, row.precision);
            add(recall_, row.recall);
            add(f1_, row.f1);
        }
        agreeLayer_->setName(tr("layer %1").arg(r.layer));
        detectionTitle_->setText(tr("Saturation detection, layer %1").arg(r.layer));
    } else {
        agreeLayer_->setName(tr("chosen layer"));
        detectionTitle_->setText(tr("Low-rank saturation detection"));
    }
    coverageMarks_->setVisible(!coverageMarks_->data()->isEmpty());
    if (coverageMarks_->visible())
        coverageMarks_->addToLegend();
    else
        coverageMarks_->removeFromLegend();
    updateRankAxes();
    fillTables();
    setSummary(summaryText());
    replotCharts();
}

void LowRankView::updateRankAxes() {
    int maxRank = 1;
    if (result_) {
        maxRank = std::max<int>(maxRank, int(result_->coverage.size()));
        for (const ls::LowRankRow& row : result_->rows)
            maxRank = std::max(maxRank, row.rank);
    } else {
        maxRank = 256;
    }
    for (QCustomPlot* plot : {coveragePlot_, agreementPlot_, detectionPlot_}) {
        QCPAxis* x = plot->xAxis;
        if (logRank()) {
            QSharedPointer<QCPAxisTickerLog> ticker(new QCPAxisTickerLog);
            ticker->setLogBase(2);
            ticker->setSubTickCount(0);
            ticker->setTickCount(12);  // every power of two
            x->setTicker(ticker);
            x->setScaleType(QCPAxis::stLogarithmic);
            x->setNumberFormat(QStringLiteral("f"));
            x->setNumberPrecision(0);
            x->setRange(0.8, maxRank * 1.25);
            x->setLabel(tr("rank r (log₂ scale)"));
        } else {
            x->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
            x->setScaleType(QCPAxis::stLinear);
            x->setNumberFormat(QStringLiteral("g"));
            x->setNumberPrecision(6);
            x->setRange(0, maxRank * 1.03);
            x->setLabel(tr("rank r"));
        }
        plot->yAxis->setRange(0, 103);
    }
}

void LowRankView::fillTables() {
    QTableWidget* rowsTable = rows_.table;
    QTableWidget* speedTable = speed_.table;
    rowsTable->setRowCount(0);
    speedTable->setRowCount(0);
    if (!result_) {
        rows_.caption->setText(tr("<b>Requested ranks</b>"));
        return;
    }
    const ls::LowRankResult& r = *result_;
    rows_.caption->setText(tr("<b>Requested ranks</b> (agreement and detection at layer %1)").arg(r.layer));
    rowsTable->horizontalHeaderItem(4)->setText(tr("Agree (layer %1)").arg(r.layer));
    const QString undefined = tr("undefined: no token in the denominator");
    rowsTable->setRowCount(int(r.rows.size()));
    for (int i = 0; i < int(r.rows.size()); ++i) {
        const ls::LowRankRow& row = r.rows[size_t(i)];
        setCell(rowsTable, i, 0, QString::number(row.rank));
        setCell(rowsTable, i, 1, percent(row.coverage));
        setCell(rowsTable, i, 2, percent(row.energyCoverage));
        setCell(rowsTable, i, 3, percent(row.agreementFinal));
        setCell(rowsTable, i, 4, percent(row.agreementLayer));
        setCell(rowsTable, i, 5, percent(row.precision), kNumberAlign, std::isfinite(row.precision) ? QString() : undefined);
        setCell(rowsTable, i, 6, percent(row.recall), kNumberAlign, std::isfinite(row.recall) ? QString() : undefined);
        setCell(rowsTable, i, 7, percent(row.f1), kNumberAlign, std::isfinite(row.f1) ? QString() : undefined);
    }
    speedTable->setRowCount(int(r.speed.size()));
    for (int i = 0; i < int(r.speed.size()); ++i) {
        const ls::LowRankSpeed& s = r.speed[size_t(i)];
        setCell(speedTable, i, 0, QString::number(s.rank));
        setCell(speedTable, i, 1, formatCount(s.tokens));
        setCell(speedTable, i, 2, QString::number(s.fullMs, 'f', 3));
        setCell(speedTable, i, 3, QString::number(s.factoredMs, 'f', 3));
        QTableWidgetItem* speedup =
            setCell(speedTable, i, 4, std::isfinite(s.speedup) ? QStringLiteral("%1×").arg(s.speedup, 0, 'f', 2)
                                                                : QStringLiteral("—"));
        if (std::isfinite(s.speedup)) {
            QFont font = speedup->font();
            font.setBold(s.speedup > 1);
            speedup->setFont(font);
            speedup->setForeground(s.speedup > 1 ? palette::kGreen.darker(130) : palette::kVermillion.darker(130));
        }
    }
    fitColumns(rowsTable);
    fitColumns(speedTable);
}

int LowRankView::hoverRank(QCustomPlot* plot, const QPointF& pos) const {
    if (!result_ || !plot || !insideAxisRect(plot, pos))
        return 0;
    const ls::LowRankResult& r = *result_;
    if (plot == coveragePlot_) {
        // Every rank has a point: the rank under the cursor.
        if (r.coverage.empty())
            return 0;
        return std::clamp(wholeKeyAt(plot, pos), 1, int(r.coverage.size()));
    }
    // The requested rank nearest the cursor along x, if close enough.
    const int i = nearestKey(plot, pos, int(r.rows.size()), [&](int k) {
        return r.rows[size_t(k)].rank >= 1 ? double(r.rows[size_t(k)].rank) : std::nan("");
    }, kHoverReach);
    return i >= 0 ? r.rows[size_t(i)].rank : 0;
}

QString LowRankView::hoverText(QCustomPlot* plot, const QPointF& pos) const {
    const int rank = hoverRank(plot, pos);
    if (rank <= 0)
        return {};
    const ls::LowRankResult& r = *result_;
    if (plot == coveragePlot_) {
        QString text = tr("rank %1\nsingular-value coverage: %2").arg(rank).arg(percent(r.coverage[size_t(rank - 1)]));
        if (size_t(rank) <= r.energyCoverage.size())
            text += tr("\nenergy coverage: %1").arg(percent(r.energyCoverage[size_t(rank - 1)]));
        if (size_t(rank) <= r.singularValues.size())
            text += tr("\ns_%1 = %2").arg(rank).arg(r.singularValues[size_t(rank - 1)], 0, 'g', 5);
        return text;
    }
    const auto row = std::find_if(r.rows.begin(), r.rows.end(), [rank](const ls::LowRankRow& row) {
        return row.rank == rank;
    });
    if (row == r.rows.end())
        return {};
    if (plot == agreementPlot_)
        return tr("rank %1\nagreement at the final layer: %2\nagreement at layer %3: %4")
            .arg(rank)
            .arg(percent(row->agreementFinal))
            .arg(r.layer)
            .arg(percent(row->agreementLayer));
    if (plot == detectionPlot_)
        return tr("rank %1\nprecision: %2\nrecall: %3\nF1: %4")
            .arg(rank)
            .arg(percent(row->precision), percent(row->recall), percent(row->f1));
    return {};
}

void LowRankView::moveCursor(QCustomPlot* plot, int rank) {
    for (QCPItemStraightLine* cursor : cursors_) {
        if (cursor->parentPlot() != plot || (rank <= 0 && !cursor->visible()))
            continue;
        cursor->setVisible(rank > 0);
        cursor->point1->setCoords(rank, 1);
        cursor->point2->setCoords(rank, 2);
        plot->replot(QCustomPlot::rpQueuedReplot);
    }
}

}  // namespace ls::widgets
