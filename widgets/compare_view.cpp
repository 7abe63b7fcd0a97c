#include "compare_view.h"

#include <QComboBox>
#include <QGridLayout>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <map>
#include <qcustomplot.h>

#include "kit/format.h"
#include "kit/hover.h"
#include "kit/palette.h"
#include "kit/plot_style.h"
#include "kit/tables.h"

namespace ls::widgets {

namespace {

const ls::Table* tableNamed(const ls::RunComparison& c, const char* name) { return ls::findTable(c.tables, name); }

// "kl_to_final · attention" for a stage other than the block's; the key of the list.
QString quantityName(const std::string& metric, const std::string& stage) {
    const QString m = QString::fromStdString(metric);
    return stage == "block" ? m : QStringLiteral("%1 · %2").arg(m, QString::fromStdString(stage));
}

// The runs' labels: "run 0: a.h5".
QStringList runLabels(const ls::RunComparison& c) {
    QStringList labels;
    if (const ls::Table* runs = tableNamed(c, "compare_runs"))
        for (size_t i = 0; i < runs->rows(); ++i)
            labels << QObject::tr("run %1: %2").arg(i).arg(QString::fromStdString(runs->column("file").texts[i]).section('/', -1));
    return labels;
}

void fillTable(QTableWidget* table, const ls::Table* source, const QStringList& columns) {
    table->setRowCount(source ? int(source->rows()) : 0);
    if (!source) return;
    for (int c = 0; c < columns.size(); ++c) {
        const std::string name = columns[c].toStdString();
        const size_t index = size_t(std::find_if(source->columns.begin(), source->columns.end(),
                                                 [&](const ls::Column& col) { return col.name == name; }) -
                                    source->columns.begin());
        if (index >= source->columns.size()) continue;
        const bool text = source->columns[index].kind == ls::Column::Kind::Text;
        for (size_t r = 0; r < source->rows(); ++r)
            setCell(table, int(r), c, QString::fromStdString(source->cell(index, r)), text ? kTextAlign : kNumberAlign);
    }
    fitColumns(table);
}

// Ticks on whole numbers only (layers, ranks): 1, 2, 3 or 5, 10, 15.
QSharedPointer<QCPAxisTicker> wholeNumbers() {
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    return ticker;
}

}  // namespace

CompareView::CompareView(QWidget* parent)
    : ResultViewOf(tr("<b>Runs compared.</b> Every per-layer quantity the runs share, one colour per run; the head "
                      "scans of two runs against each other. The numbers are the runs' own (their CSVs); "
                      "the CSVs of <tt>layerscope-cli compare</tt> are in Export…."),
                   [](const ls::RunComparison& c) { return c.tables; }, parent) {
    differences_ = makeNote(this);
    addHeaderLine(differences_);
    quantity_ = new QComboBox(this);
    quantity_->setObjectName(QStringLiteral("compareQuantity"));
    quantity_->setToolTip(tr("The per-layer quantity on the chart"));
    quantity_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    addHeaderControl(quantity_);
    connect(quantity_, &QComboBox::currentTextChanged, this, [this] { fillLayerChart(); });

    layerPlot_ = addChart(QStringLiteral("compare_layers"), makeTitledPlot(this, tr("Per layer"), QSize(360, 240)));
    layerPlot_->xAxis->setLabel(tr("layer l"));
    layerPlot_->xAxis->setSubTicks(false);
    layerPlot_->xAxis->setTicker(wholeNumbers());
    legendBelow(layerPlot_);
    addHoverText(layerPlot_, [this](const QPointF& pos) {
        QString text;
        const double layer = std::round(layerPlot_->xAxis->pixelToCoord(pos.x()));
        for (QCPGraph* g : runGraphs_)
            for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it)
                if (it->key == layer)
                    text += QStringLiteral("%1%2: %3").arg(text.isEmpty() ? QString() : QStringLiteral("<br>"), g->name())
                                .arg(it->value, 0, 'g', 6);
        return text.isEmpty() ? QString() : tr("<b>layer %1</b><br>%2").arg(layer).arg(text);
    });

    frontPlot_ = addChart(QStringLiteral("compare_fronts"), makeTitledPlot(this, tr("Early-exit Pareto front"), QSize(320, 240)));
    frontPlot_->xAxis->setLabel(tr("compute saved"));
    frontPlot_->yAxis->setLabel(tr("top-1 agreement with layer L"));
    legendBelow(frontPlot_);

    headDiffPlot_ = addChart(QStringLiteral("compare_heads_zero_dppl"),
                             makeTitledPlot(this, tr("Zero ΔPPL: run 1 − run 0"), QSize(280, 220)));
    headDiffPlot_->xAxis->setLabel(tr("head"));
    headDiffPlot_->yAxis->setLabel(tr("layer l"));
    headDiffPlot_->yAxis->setRangeReversed(true);
    const Heatmap heatmap = addHeatmap(headDiffPlot_, tr("difference"));
    headDiffMap_ = heatmap.map;
    headDiffMap_->setGradient(palette::divergingGradient());
    heatmap.scale->axis()->setLabel(tr("Δ ΔPPL (relative)"));

    rankPlot_ = addChart(QStringLiteral("compare_heads_rank"),
                         makeTitledPlot(this, tr("Zero-ablation rank"), QSize(260, 220)));
    rankPlot_->xAxis->setLabel(tr("rank in run 0"));
    rankPlot_->yAxis->setLabel(tr("rank in run 1"));
    auto* diagonal = new QCPItemStraightLine(rankPlot_);  // the same rank in both runs
    diagonal->setPen(QPen(Qt::gray, 1, Qt::DashLine));
    diagonal->point1->setCoords(0, 0);
    diagonal->point2->setCoords(1, 1);
    rankGraph_ = addPoints(rankPlot_, tr("head"), QCPScatterStyle(QCPScatterStyle::ssDisc, palette::kBlue, 6));
    for (QCPAxis* axis : {rankPlot_->xAxis, rankPlot_->yAxis}) axis->setTicker(wholeNumbers());

    runs_ = makeTable(this, {tr("run"), tr("file"), tr("model"), tr("data"), tr("tokens"), tr("windows"), tr("status")});
    rankings_ = makeTable(this, {tr("run a"), tr("run b"), tr("ablation"), tr("Spearman ρ"), tr("Kendall τ-b"),
                                 tr("top-10 overlap")});

    // Charts in two rows whose hidden charts give their room to the others (no exit sweep: no
    // front; fewer than two head scans: no head charts), then the tables.
    auto* charts = new QHBoxLayout;
    charts->addWidget(layerPlot_, 3);
    charts->addWidget(frontPlot_, 2);
    headCharts_ = new QWidget(this);
    auto* headCharts = new QHBoxLayout(headCharts_);
    headCharts->setContentsMargins(0, 0, 0, 0);
    headCharts->addWidget(headDiffPlot_, 1);
    headCharts->addWidget(rankPlot_, 1);
    auto* runsBox = new QVBoxLayout;
    runsBox->addWidget(new QLabel(tr("<b>Runs</b>"), this));
    runsBox->addWidget(runs_, 1);
    auto* rankingsBox = new QVBoxLayout;
    rankingsBox->addWidget(new QLabel(tr("<b>Head rankings</b> over the heads both runs scanned"), this));
    rankingsBox->addWidget(rankings_, 1);
    auto* tables = new QHBoxLayout;
    tables->addLayout(runsBox, 1);
    tables->addLayout(rankingsBox, 1);
    auto* grid = new QVBoxLayout;
    grid->setContentsMargins(0, 0, 4, 0);
    grid->addLayout(charts, 3);
    grid->addWidget(headCharts_, 3);
    grid->addLayout(tables, 1);
    setBody(grid);
    clear();
}

QStringList CompareView::quantities() const {
    QStringList names;
    if (!result_) return names;
    if (const ls::Table* layers = tableNamed(*result_, "compare_layers"))
        for (size_t i = 0; i < layers->rows(); ++i) {
            const std::string& stage = layers->column("stage").texts[i];
            if (stage == "best") continue;  // one point per run, not a curve
            const QString name = quantityName(layers->column("metric").texts[i], stage);
            if (!names.contains(name)) names << name;
        }
    return names;
}

void CompareView::showQuantity(const QString& quantity) { quantity_->setCurrentText(quantity); }

void CompareView::showResult() {
    const QSignalBlocker block(quantity_);
    const QString shown = quantity_->currentText();
    quantity_->clear();
    quantity_->addItems(quantities());
    if (quantity_->findText(shown) >= 0) quantity_->setCurrentText(shown);
    if (!result_) {
        differences_->setText(tr("Open two or more run files with <b>File › Compare Runs…</b>."));
        setSummary({});
    } else {
        QStringList lines;
        for (const std::string& d : result_->differences) lines << QString::fromStdString(d).toHtmlEscaped();
        differences_->setText(lines.isEmpty() ? tr("The runs have the same model, data and parameters.")
                                              : tr("<b>The runs differ in</b>: %1").arg(lines.join(QStringLiteral("; "))));
        setSummary(runLabels(*result_).join(QStringLiteral(" · ")));
    }
    fillLayerChart();
    fillFronts();
    fillHeads();
    fillTable(runs_, result_ ? tableNamed(*result_, "compare_runs") : nullptr,
              {"run", "file", "model", "data", "tokens", "windows", "status"});
    fillTable(rankings_, result_ ? tableNamed(*result_, "compare_rankings") : nullptr,
              {"run_a", "run_b", "metric", "spearman", "kendall", "top10_overlap"});
    replotCharts();
}

// One graph per run: the chosen quantity against the layer.
void CompareView::fillLayerChart() {
    for (QCPGraph* g : runGraphs_) layerPlot_->removeGraph(g);
    runGraphs_.clear();
    const ls::Table* layers = result_ ? tableNamed(*result_, "compare_layers") : nullptr;
    const QString chosen = quantity_->currentText();
    titleOf(layerPlot_)->setText(chosen.isEmpty() ? tr("Per layer") : chosen);
    if (layers && !chosen.isEmpty()) {
        const QStringList labels = runLabels(*result_);
        std::map<int, QVector<QPair<double, double>>> byRun;
        for (size_t i = 0; i < layers->rows(); ++i)
            if (quantityName(layers->column("metric").texts[i], layers->column("stage").texts[i]) == chosen)
                byRun[int(layers->column("run").numbers[i])].append(
                    {layers->column("layer").numbers[i], layers->column("value").numbers[i]});
        for (int run = 0; run < labels.size(); ++run) {
            QCPGraph* g = layerPlot_->addGraph();
            const QColor colour = palette::series(run);
            g->setName(labels[run]);
            g->setPen(QPen(colour, 2));
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, colour, 6));
            QVector<double> xs, ys;
            for (const auto& [x, y] : byRun[run]) {
                xs << x;
                ys << y;
            }
            g->setData(xs, ys, true);
            runGraphs_ << g;
        }
        layerPlot_->rescaleAxes();
        const QCPRange x = layerPlot_->xAxis->range(), y = layerPlot_->yAxis->range();
        layerPlot_->xAxis->setRange(x.lower - 0.3, x.upper + 0.3);
        const double pad = std::max(0.06 * y.size(), 1e-9);
        layerPlot_->yAxis->setRange(y.lower - pad, y.upper + pad);
        layerPlot_->yAxis->setLabel(chosen.section(QStringLiteral(" · "), 0, 0));
    }
    layerPlot_->legend->setVisible(!runGraphs_.isEmpty());
    layerPlot_->replot();
}

// One curve per run with an exit sweep: its Pareto points, by compute saved.
void CompareView::fillFronts() {
    for (QCPGraph* g : frontGraphs_) frontPlot_->removeGraph(g);
    frontGraphs_.clear();
    const ls::Table* fronts = result_ ? tableNamed(*result_, "compare_fronts") : nullptr;
    if (fronts && fronts->rows() > 0) {
        const QStringList labels = runLabels(*result_);
        for (int run = 0; run < labels.size(); ++run) {
            QVector<double> xs, ys;
            for (size_t i = 0; i < fronts->rows(); ++i)
                if (fronts->column("front").texts[i] == "exit_pareto" && int(fronts->column("run").numbers[i]) == run) {
                    xs << fronts->column("x").numbers[i];
                    ys << fronts->column("y").numbers[i];
                }
            if (xs.isEmpty()) continue;
            QCPGraph* g = frontPlot_->addGraph();
            const QColor colour = palette::series(run);
            g->setName(labels[run]);
            g->setPen(QPen(colour, 2));
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, colour, 6));
            g->setData(xs, ys, true);
            frontGraphs_ << g;
        }
        frontPlot_->rescaleAxes();
        const QCPRange y = frontPlot_->yAxis->range();
        const double pad = std::max(0.06 * y.size(), 1e-3);
        frontPlot_->yAxis->setRange(y.lower - pad, std::min(1.0 + pad, y.upper + pad));
    }
    frontPlot_->setVisible(!frontGraphs_.isEmpty());
    frontPlot_->legend->setVisible(!frontGraphs_.isEmpty());
    frontPlot_->replot();
}

// The heads both of the first two runs with a head scan scanned: the difference and the ranks.
void CompareView::fillHeads() {
    headDiffMap_->data()->clear();
    rankGraph_->data()->clear();
    const ls::Table* heads = result_ ? tableNamed(*result_, "compare_heads") : nullptr;
    std::vector<int> scanned;  // the runs with heads, in order
    if (heads)
        for (double run : heads->column("run").numbers)
            if (std::find(scanned.begin(), scanned.end(), int(run)) == scanned.end()) scanned.push_back(int(run));
    const int runA = scanned.size() > 0 ? scanned[0] : 0, runB = scanned.size() > 1 ? scanned[1] : 1;
    titleOf(headDiffPlot_)->setText(tr("Zero ΔPPL: run %1 − run %2").arg(runB).arg(runA));
    headCharts_->setVisible(scanned.size() >= 2);
    rankPlot_->xAxis->setLabel(tr("rank in run %1").arg(runA));
    rankPlot_->yAxis->setLabel(tr("rank in run %1").arg(runB));
    std::map<std::pair<int, int>, std::pair<size_t, size_t>> both;  // (layer, head) -> rows of runs A, B
    int layers = 0, headCount = 0;
    if (heads && scanned.size() >= 2)
        for (size_t i = 0; i < heads->rows(); ++i) {
            const int run = int(heads->column("run").numbers[i]);
            if (run != runA && run != runB) continue;
            const std::pair<int, int> key{int(heads->column("layer").numbers[i]), int(heads->column("head").numbers[i])};
            auto& rows = both.try_emplace(key, SIZE_MAX, SIZE_MAX).first->second;
            (run == runA ? rows.first : rows.second) = i;
            layers = std::max(layers, key.first);
            headCount = std::max(headCount, key.second + 1);
        }
    double limit = 0;
    QVector<double> r0, r1;
    if (layers > 0) {
        headDiffMap_->data()->setSize(headCount, layers);
        headDiffMap_->data()->setRange(QCPRange(0, headCount - 1), QCPRange(0, layers - 1));
        for (int l = 0; l < layers; ++l)
            for (int h = 0; h < headCount; ++h) headDiffMap_->data()->setAlpha(h, l, 0);  // not in both: blank
        for (const auto& [key, rows] : both) {
            if (rows.first == SIZE_MAX || rows.second == SIZE_MAX) continue;
            const double d = heads->column("zero_dppl").numbers[rows.second] - heads->column("zero_dppl").numbers[rows.first];
            headDiffMap_->data()->setCell(key.second, key.first - 1, d);
            headDiffMap_->data()->setAlpha(key.second, key.first - 1, 255);
            limit = std::max(limit, std::abs(d));
            r0 << heads->column("zero_rank").numbers[rows.first];
            r1 << heads->column("zero_rank").numbers[rows.second];
        }
    }
    if (limit <= 0) limit = 1;
    headDiffMap_->setDataRange(QCPRange(-limit, limit));  // symmetric: white is no change
    headDiffPlot_->xAxis->setRange(-0.5, std::max(headCount, 1) - 0.5);
    headDiffPlot_->yAxis->setRange(-0.5, std::max(layers, 1) - 0.5);
    QSharedPointer<QCPAxisTickerText> layerTicks(new QCPAxisTickerText);
    for (int l = 0; l < layers; ++l) layerTicks->addTick(l, QString::number(l + 1));
    headDiffPlot_->yAxis->setTicker(layerTicks);
    rankGraph_->setData(r0, r1);
    const double n = std::max(2, int(r0.size()));
    for (QCPAxis* axis : {rankPlot_->xAxis, rankPlot_->yAxis}) axis->setRange(0, n + 1);
}

}  // namespace ls::widgets
