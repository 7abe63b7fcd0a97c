// AblationView, offscreen: a hand-built head-ablation result (3 layers x 4 heads, one dominant
// head, ranked by ls::rankAblation) and what the view draws from it: the cells of both
// heatmaps (linear and log-like colour scales, one range centred at 0), the top-10 table in
// rank order with the subset's columns, the ranking-stability and attribution scatter points,
// hover texts, clicking a cell, a partial (canceled) result and growing snapshots of a running
// scan, the linearisation page, and export (every chart as PNG/PDF/SVG with pixels drawn, every
// table as CSV equal to ls::toCsv of ls::ablationTables). A GPT-2-small-like run (12 x 12, the
// seed's numbers) renders at 1400 x 900; with LAYERSCOPE_SCREENSHOT_DIR set it is saved there.
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QMenu>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QToolTip>
#include <QtTest>
#include <array>
#include <cmath>
#include <memory>
#include <qcustomplot.h>
#include <random>

#include "ablation_view.h"
#include "head_importance_page.h"
#include "plot_export.h"
#include "analysis/ablation.h"
#include "analysis/linearize.h"
#include "export_menu.h"
#include "io/table.h"
#include "test_support.h"
#include "widget_test_support.h"

using namespace ls::widgets;
using Kind = AblationView::Ablation;
using Scale = AblationView::ColourScale;

namespace {

// Zero-ablation dPPL per (layer, head), layer-major. L0H2 dominates (+2.0, mean +0.01: 200x).
// Ranks: L0H2 1, L0H0 2, L1H2 3, L2H0 4, L0H1 5, L2H3 6, L1H0 7, L2H1 8, L2H2 9, L1H1 10,
// L1H3 11, L0H3 12. The subset swaps L1H2 (0.12) and L2H0 (0.25): ranks 4 and 3.
const double kZero[3][4] = {{0.30, 0.10, 2.00, -0.02}, {0.05, 0.001, 0.20, -0.01}, {0.15, 0.02, 0.005, 0.07}};

double meanOf(int l, int h, double zero) {
    if (l == 0 && h == 2)
        return 0.01;
    if (l == 0 && h == 3)
        return -0.03;
    return 0.5 * zero;
}

// Adds the head (layer l + 1, head h) to r, on all tokens and on the subset: its PPLs from its
// zero and mean dPPL, the attribution's loss estimates.
void addHead(ls::AblationResult& r, int l, int h, double zero, double mean, double estZeroDloss, double estMeanDloss,
             double subsetZero, double subsetMean) {
    ls::HeadAblation a;
    a.layer = l + 1;
    a.head = h;
    a.zeroPpl = r.basePpl * (1 + zero);
    a.meanPpl = r.basePpl * (1 + mean);
    a.estZeroDloss = estZeroDloss;
    a.estMeanDloss = estMeanDloss;
    r.heads.push_back(a);
    ls::HeadAblation s = a;
    s.zeroPpl = r.subsetBasePpl * (1 + subsetZero);
    s.meanPpl = r.subsetBasePpl * (1 + subsetMean);
    r.subsetHeads.push_back(s);
}

// What a scan (or its subset) evaluated: tokens, windows, the base PPL.
struct Evaluated {
    int64_t tokens, windows;
    double basePpl;
};

// A scan of a layers x heads model with attribution and no heads yet: the full and the subset
// evaluation, and the seconds of the scan, its baseline and its attribution.
ls::AblationResult emptyResult(int layers, int heads, Evaluated full, Evaluated subset,
                               const std::array<double, 3>& seconds) {
    ls::AblationResult r;
    r.numLayers = layers;
    r.numHeads = heads;
    r.tokens = full.tokens;
    r.windows = full.windows;
    r.basePpl = full.basePpl;
    r.baseLoss = std::log(full.basePpl);
    r.subsetTokens = subset.tokens;
    r.subsetWindows = subset.windows;
    r.subsetBasePpl = subset.basePpl;
    r.hasAttribution = true;
    r.seconds = seconds[0];
    r.baselineSeconds = seconds[1];
    r.attributionSeconds = seconds[2];
    return r;
}

// A cumulative linearisation with no heads, curve or context yet.
ls::LinearizeResult emptyLinearization(int64_t tokens, double basePpl, double seconds) {
    ls::LinearizeResult r;
    r.tokens = tokens;
    r.basePpl = basePpl;
    r.normalize = "count";
    r.seconds = seconds;
    return r;
}

ls::AblationResult smallResult() {
    ls::AblationResult r = emptyResult(3, 4, {4096, 4, 10}, {1024, 1, 8}, {12.5, 0.5, 1.25});
    for (int l = 0; l < 3; ++l)
        for (int h = 0; h < 4; ++h) {
            const double z = kZero[l][h], m = meanOf(l, h, z);
            double sz = z;
            if (l == 1 && h == 2)
                sz = 0.12;
            if (l == 2 && h == 0)
                sz = 0.25;
            addHead(r, l, h, z, m, 0.8 * std::log1p(z), 1.1 * std::log1p(m), sz, l == 0 && h == 2 ? 0.02 : 0.5 * sz);
        }
    ls::rankAblation(r);
    return r;
}

std::shared_ptr<const ls::AblationResult> small() { return std::make_shared<const ls::AblationResult>(smallResult()); }

// A cumulative linearisation: 12 heads, curve every 4, and a context sweep of N = 0 and 4.
ls::LinearizeResult smallLinearization() {
    ls::LinearizeResult r = emptyLinearization(4096, 10, 30);
    for (int l = 1; l <= 3; ++l)
        for (int h = 0; h < 4; ++h)
            r.heads.push_back({l, h, 10.0 + l + h, (10.0 + l + h) / 10, (l - 1) * 4 + h + 1});
    r.curve = {{0, 10, 1.0}, {4, 10.5, 1.05}, {8, 13, 1.3}, {12, 25, 2.5}};
    r.thresholds = {{1.1, 4, 10.5, 1.05}, {1.5, 8, 13, 1.3}, {2.0, 8, 13, 1.3}};
    r.context = {{128, 0, 1024, 20, 1.0}, {128, 4, 1024, 23, 1.15}, {256, 0, 1024, 15, 1.0}, {256, 4, 1024, 16.5, 1.1}};
    return r;
}

// The seed's GPT-2 small numbers (exp10 V1-V4, P4): 12 x 12 heads, top 10 as in V2, the rest
// small (a few slightly negative), estimates near the exact values.
ls::AblationResult gpt2Result() {
    ls::AblationResult r = emptyResult(12, 12, {250880, 245, 31.04}, {2048, 2, 24.27}, {2400, 16.4, 41.0});
    struct Known {
        int tlLayer, head;
        double subset, full;
    };
    const Known top[] = {{0, 8, 2.365, 2.806}, {0, 1, 0.734, 0.634}, {0, 11, 0.678, 0.722}, {0, 10, 0.547, 0.459},
                         {0, 5, 0.247, 0.254}, {0, 9, 0.159, 0.132},  {11, 0, 0.156, 0.156}, {0, 3, 0.131, 0.146},
                         {8, 2, 0.0724, 0.073}, {0, 6, 0.0716, 0.091}};  // both +0.072 in the seed
    std::mt19937 rng(3);
    std::normal_distribution<double> noise(0.0, 1.0);
    for (int l = 0; l < 12; ++l)
        for (int h = 0; h < 12; ++h) {
            double full = std::clamp(0.012 * std::abs(noise(rng)) - 0.004 + (l == 0 ? 0.01 : 0), -0.009, 0.06);
            double subset = std::min(0.06, full * (1 + 0.25 * noise(rng)));
            for (const Known& k : top)
                if (k.tlLayer == l && k.head == h) {
                    full = k.full;
                    subset = k.subset;
                }
            double mean = full * (0.3 + 0.4 * std::abs(noise(rng)));
            double subsetMean = subset * 0.5;
            if (l == 0 && h == 8) {
                mean = 0.009267;  // 2.806 / 0.009267 = 303x
                subsetMean = 0.0108;  // 219x
            }
            // One statement each, in this order: the same draws from rng as ever.
            const double estZero = std::log1p(full) * (0.75 + 0.2 * noise(rng)) + 0.002 * noise(rng);
            const double estMean = std::log1p(mean) * (0.9 + 0.2 * noise(rng)) + 0.001 * noise(rng);
            addHead(r, l, h, full, mean, estZero, estMean, subset, subsetMean);
        }
    ls::rankAblation(r);
    return r;
}

ls::LinearizeResult gpt2Linearization() {
    ls::LinearizeResult r = emptyLinearization(250880, 31.04, 3000);
    const double full[][2] = {{0, 31.04}, {10, 31.76}, {20, 32.91}, {30, 35.18}, {40, 37.34}, {50, 39.71}, {60, 43.88},
                              {70, 47.70}, {80, 49.82}, {90, 59.61}, {100, 73.66}, {132, 364.8}};
    for (const auto& p : full)
        r.curve.push_back({int(p[0]), p[1], p[1] / r.basePpl});
    r.thresholds = {{1.1, 20, 32.91, 32.91 / 31.04}, {1.5, 60, 43.88, 43.88 / 31.04}, {2.0, 90, 59.61, 59.61 / 31.04}};
    const double ctx[][4] = {{128, 55.48, 64.39, 94.70}, {256, 42.11, 46.84, 62.27}, {512, 33.94, 37.19, 46.76},
                             {1024, 28.98, 32.52, 43.97}};
    for (const auto& c : ctx) {
        r.context.push_back({int(c[0]), 0, 250880, c[1], 1.0});
        r.context.push_back({int(c[0]), 30, 250880, c[2], c[2] / c[1]});
        r.context.push_back({int(c[0]), 70, 250880, c[3], c[3] / c[1]});
    }
    for (int l = 1; l <= 12; ++l)
        for (int h = 0; h < 12; ++h)
            r.heads.push_back({l, h, 31.5, 31.5 / 31.04, (l - 1) * 12 + h + 1});
    return r;
}

// Whether a graph holds the point (key, value).
bool hasPoint(const QCPGraph* graph, double key, double value) {
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
        if (std::abs(it->key - key) < 1e-9 && std::abs(it->value - value) < 1e-9)
            return true;
    return false;
}

QPoint cellCentre(QCustomPlot* plot, int layer, int head) {
    return {int(plot->xAxis->coordToPixel(head)), int(plot->yAxis->coordToPixel(layer - 1))};
}

}  // namespace

class TestWidgetsAblation : public QObject {
    Q_OBJECT
private slots:
    void scaleFunctions();
    void heatmapCellsLinear();
    void heatmapCellsLogLike_data();
    void heatmapCellsLogLike();
    void rankLabels();
    void topTableOrder();
    void subsetTable();
    void stabilityScatter();
    void attributionScatter();
    void toolTips();
    void clickSelectsHead();
    void exportsLeaveTheSelectionOut();
    void partialResult();
    void growingSnapshots();
    void noSubsetNoAttribution();
    void linearization();
    void exportEverything();
    void clearEmptiesAll();
    void realisticScreenshots();
    void importanceByRank();
};

void TestWidgetsAblation::scaleFunctions() {
    // log10 and sqrt of quotients that are not exact in binary: float64 rounding.
    QCOMPARE_NEAR(AblationView::toScale(0.99, Scale::SymmetricLog), 2.0, 1e-12, 0);  // log10(1 + 0.99 / 0.01)
    QCOMPARE_NEAR(AblationView::toScale(-0.09, Scale::SymmetricLog), -1.0, 1e-12, 0);
    QCOMPARE_NEAR(AblationView::toScale(-0.25, Scale::SignedSqrt), -0.5, 1e-12, 0);
    QCOMPARE_NEAR(AblationView::toScale(0.3, Scale::Linear), 0.3, 1e-12, 0);
    QCOMPARE_NEAR(AblationView::toScale(0, Scale::SymmetricLog), 0.0, 1e-12, 0);
    for (Scale s : {Scale::Linear, Scale::SymmetricLog, Scale::SignedSqrt})
        for (double d : {-0.5, -0.001, 0.0, 0.02, 2.806})
            QCOMPARE_NEAR(AblationView::fromScale(AblationView::toScale(d, s), s), d, 1e-12, 0);
    QVERIFY(std::isnan(AblationView::toScale(std::nan(""), Scale::SignedSqrt)));
}

void TestWidgetsAblation::heatmapCellsLinear() {
    AblationView view;
    view.setColourScale(Scale::Linear);
    QVERIFY(!view.logLikeCheck()->isChecked());
    const auto r = small();
    view.setResult(r);
    QVERIFY(view.hasData());
    for (Kind kind : {Kind::Zero, Kind::Mean}) {
        QCPColorMapData* data = view.colorMap(kind)->data();
        QCOMPARE(data->keySize(), 4);    // heads
        QCOMPARE(data->valueSize(), 3);  // layers
        for (const ls::HeadAblation& a : r->heads)  // the result's values, copied into the map: exact
            QCOMPARE_NEAR(data->cell(a.head, a.layer - 1), kind == Kind::Zero ? a.zeroDppl : a.meanDppl, 0, 0);
        // One range for both maps, centred at 0: the dominant head's +2.0 (copied, negated: exact).
        QCOMPARE_NEAR(view.colorMap(kind)->dataRange().lower, -2.0, 0, 0);
        QCOMPARE_NEAR(view.colorMap(kind)->dataRange().upper, 2.0, 0, 0);
        QCOMPARE_NEAR(view.colorScale(kind)->dataRange().upper, 2.0, 0, 0);
    }
    QCOMPARE_NEAR(view.colorMap(Kind::Zero)->data()->cell(2, 0), 2.0, 0, 0);  // L0H2
    QCOMPARE_NEAR(view.colorMap(Kind::Mean)->data()->cell(2, 0), 0.01, 1e-12, 0);
    QCOMPARE_NEAR(view.colorMap(Kind::Mean)->data()->cell(3, 0), -0.03, 1e-12, 0);  // negative: ablating helps
    // L0 is drawn at the top; layers and heads have their cells.
    QCustomPlot* plot = view.heatmapPlot(Kind::Zero);
    QVERIFY(plot->yAxis->rangeReversed());
    QCOMPARE_NEAR(plot->xAxis->range().lower, -0.5, 0, 0);  // cell edges: whole numbers -+ 0.5, exact
    QCOMPARE_NEAR(plot->xAxis->range().upper, 3.5, 0, 0);
    QCOMPARE_NEAR(plot->yAxis->range().upper, 2.5, 0, 0);
    // Positive is red, negative blue, 0 white.
    QCPColorGradient g = view.colorMap(Kind::Zero)->gradient();
    const QColor hot = QColor::fromRgb(g.color(2.0, QCPRange(-2, 2))), cold = QColor::fromRgb(g.color(-2.0, QCPRange(-2, 2)));
    const QColor white = QColor::fromRgb(g.color(0.0, QCPRange(-2, 2)));
    QVERIFY(hot.red() > hot.blue() + 50);
    QVERIFY(cold.blue() > cold.red() + 50);
    QVERIFY(white.lightness() > 240);
}

void TestWidgetsAblation::heatmapCellsLogLike_data() {
    QTest::addColumn<int>("scale");
    QTest::addColumn<int>("comboIndex");
    QTest::newRow("symmetric log") << int(Scale::SymmetricLog) << 0;
    QTest::newRow("signed sqrt") << int(Scale::SignedSqrt) << 1;
}

void TestWidgetsAblation::heatmapCellsLogLike() {
    QFETCH(int, scale);
    QFETCH(int, comboIndex);
    AblationView view;
    const auto r = small();
    view.setResult(r);
    view.setColourScale(Scale::Linear);
    // Through the check box and its combo box, as a person would.
    view.logLikeCombo()->setCurrentIndex(comboIndex);
    view.logLikeCheck()->setChecked(true);
    QCOMPARE(int(view.colourScale()), scale);
    QVERIFY(view.logLikeCombo()->isEnabled());
    const Scale s = Scale(scale);
    for (const ls::HeadAblation& a : r->heads) {  // the same function of the same value: exact
        QCOMPARE_NEAR(view.colorMap(Kind::Zero)->data()->cell(a.head, a.layer - 1), AblationView::toScale(a.zeroDppl, s), 0, 0);
        QCOMPARE_NEAR(view.colorMap(Kind::Mean)->data()->cell(a.head, a.layer - 1), AblationView::toScale(a.meanDppl, s), 0, 0);
    }
    const double m = AblationView::toScale(2.0, s);
    QCOMPARE_NEAR(view.colourLimit(), m, 0, 0);
    QCOMPARE_NEAR(view.colorMap(Kind::Mean)->dataRange().lower, -m, 0, 0);
    // The small heads get a visible share of the range: +0.05 is at more than 10% of it.
    QVERIFY(AblationView::toScale(0.05, s) / m > 0.1);
    QVERIFY(0.05 / 2.0 < 0.03);
    // The legend is labelled in dPPL, not in scaled units.
    QCPAxis* axis = view.colorScale(Kind::Zero)->axis();
    QVERIFY(axis->label().contains(s == Scale::SymmetricLog ? "symmetric log" : "signed sqrt"));
    auto ticker = axis->ticker().dynamicCast<QCPAxisTickerText>();
    QVERIFY(ticker);
    QCOMPARE(ticker->ticks().value(0.0), QStringLiteral("0"));
    QCOMPARE(ticker->ticks().value(AblationView::toScale(1.0, s)), QStringLiteral("+1"));
    QCOMPARE(ticker->ticks().value(AblationView::toScale(-1.0, s)), QStringLiteral("-1"));
    // And back to linear.
    view.logLikeCheck()->setChecked(false);
    QCOMPARE(view.colourScale(), Scale::Linear);
    QCOMPARE_NEAR(view.colorMap(Kind::Zero)->data()->cell(0, 0), r->heads[0].zeroDppl, 0, 0);  // copied: exact
    QVERIFY(!view.logLikeCombo()->isEnabled());
}

void TestWidgetsAblation::rankLabels() {
    AblationView view;
    QVERIFY(showResult(view, small()));
    view.heatmapPlot(Kind::Zero)->replot();
    view.heatmapPlot(Kind::Mean)->replot();
    const QList<QCPItemText*> zero = view.rankLabels(Kind::Zero);
    QCOMPARE(zero.size(), AblationView::kTopHeads);
    // Zero ranks 1..10 sit in their cells; 12 heads, so all ten labels are used.
    QCOMPARE(zero[0]->text(), QStringLiteral("1"));
    // Cell coordinates are whole numbers: exact (QPointF's == would be fuzzy).
    QCOMPARE_NEAR(zero[0]->position->coords().x(), 2, 0, 0);  // L0H2
    QCOMPARE_NEAR(zero[0]->position->coords().y(), 0, 0, 0);
    QCOMPARE_NEAR(zero[1]->position->coords().x(), 0, 0, 0);  // L0H0
    QCOMPARE_NEAR(zero[1]->position->coords().y(), 0, 0, 0);
    QCOMPARE_NEAR(zero[2]->position->coords().x(), 2, 0, 0);  // L1H2
    QCOMPARE_NEAR(zero[2]->position->coords().y(), 1, 0, 0);
    QCOMPARE(zero[9]->text(), QStringLiteral("10"));
    for (QCPItemText* t : zero)
        QVERIFY(t->visible());
    // The dominant cell is dark red: white text on it.
    QVERIFY2(zero[0]->color().lightness() > 240, qPrintable(zero[0]->color().name()));
    // The mean map by its own ranks: L0H0 (+0.15) first, L0H2 (+0.01) is 7th.
    const QList<QCPItemText*> mean = view.rankLabels(Kind::Mean);
    QCOMPARE_NEAR(mean[0]->position->coords().x(), 0, 0, 0);
    QCOMPARE_NEAR(mean[0]->position->coords().y(), 0, 0, 0);
    const ls::HeadAblation* dominant = view.headAt(1, 2);
    QCOMPARE(dominant->meanRank, 7);
    QCOMPARE_NEAR(mean[6]->position->coords().x(), 2, 0, 0);
    QCOMPARE_NEAR(mean[6]->position->coords().y(), 0, 0, 0);
    QCOMPARE(mean[6]->text(), QStringLiteral("7"));
}

void TestWidgetsAblation::topTableOrder() {
    AblationView view;
    view.setResult(small());
    QTableWidget* t = view.topTable();
    QCOMPARE(t->rowCount(), 10);
    const QStringList expected{"L0H2", "L0H0", "L1H2", "L2H0", "L0H1", "L2H3", "L1H0", "L2H1", "L2H2", "L1H1"};
    for (int row = 0; row < 10; ++row) {
        QCOMPARE(t->item(row, 0)->text(), QString::number(row + 1));
        QCOMPARE(t->item(row, 2)->text(), expected[row]);
    }
    // The seed's V2 format: +d.ddd, subset rank and dPPL beside; zero / mean as "200x".
    QCOMPARE(t->item(0, 3)->text(), QStringLiteral("+2.000"));
    QCOMPARE(t->item(0, 1)->text(), QStringLiteral("1"));
    QCOMPARE(t->item(0, 4)->text(), QStringLiteral("+2.000"));
    QCOMPARE(t->item(0, 5)->text(), QStringLiteral("+0.010"));
    QCOMPARE(t->item(0, 6)->text(), QStringLiteral("200x"));
    QCOMPARE(t->item(2, 1)->text(), QStringLiteral("4"));  // L1H2: 3rd on all tokens, 4th on the subset
    QCOMPARE(t->item(2, 4)->text(), QStringLiteral("+0.120"));
    QCOMPARE(t->item(3, 1)->text(), QStringLiteral("3"));  // L2H0
    QCOMPARE(t->item(1, 6)->text(), QStringLiteral("2.00x"));  // 0.3 / 0.15
    QCOMPARE(t->horizontalHeaderItem(1)->text(), QStringLiteral("Rank\n(1K)"));
    QCOMPARE(t->horizontalHeaderItem(4)->text(), QStringLiteral("ΔPPL zero\n(1K)"));
    QVERIFY(!t->isColumnHidden(1));
    const std::vector<const ls::HeadAblation*> top = view.topHeads();
    QCOMPARE(int(top.size()), 10);
    QCOMPARE(top.front(), view.headAt(1, 2));
    // A row click selects its head.
    emit t->cellClicked(4, 0);
    QCOMPARE(view.selectedLayer(), 1);
    QCOMPARE(view.selectedHead(), 1);
}

void TestWidgetsAblation::subsetTable() {
    AblationView view;
    view.setResult(small());
    QTableWidget* t = view.subsetTable();
    QCOMPARE(t->rowCount(), 3);
    QCOMPARE(t->item(0, 0)->text(), QStringLiteral("Windows"));
    QCOMPARE(t->item(0, 1)->text(), QStringLiteral("1"));
    QCOMPARE(t->item(0, 2)->text(), QStringLiteral("4"));
    QCOMPARE(t->item(0, 3)->text(), QStringLiteral("4.00x"));
    QCOMPARE(t->item(1, 1)->text(), QLocale().toString(1024));
    QCOMPARE(t->item(2, 1)->text(), QStringLiteral("8.00"));
    QCOMPARE(t->item(2, 2)->text(), QStringLiteral("10.00"));
    QCOMPARE(t->item(2, 3)->text(), QStringLiteral("+25%"));
}

void TestWidgetsAblation::stabilityScatter() {
    AblationView view;
    const auto r = small();
    view.setResult(r);
    // 12 heads: 10 in the top graph, 2 in the other; x = full rank, y = subset rank.
    QCOMPARE(view.stabilityTopGraph()->data()->size(), 10);
    QCOMPARE(view.stabilityGraph()->data()->size(), 2);
    QVERIFY(hasPoint(view.stabilityTopGraph(), 1, 1));
    QVERIFY(hasPoint(view.stabilityTopGraph(), 3, 4));  // L1H2
    QVERIFY(hasPoint(view.stabilityTopGraph(), 4, 3));  // L2H0
    QVERIFY(hasPoint(view.stabilityGraph(), 11, 11));
    QVERIFY(hasPoint(view.stabilityGraph(), 12, 12));
    // The top heads are named beside their points.
    const QList<QCPItemText*> labels = view.stabilityLabels();
    QCOMPARE(labels[0]->text(), QStringLiteral("L0H2"));
    QCOMPARE(labels[2]->text(), QStringLiteral("L1H2"));
    for (QCPItemText* t : labels)
        QVERIFY(t->visible());
    // The numbers: rank correlations of ls::rankAblation, the subset's size and base PPL.
    QVERIFY(std::isfinite(r->spearman) && r->spearman < 1);
    const QString text = view.stabilityText();
    QVERIFY2(text.contains(QString::number(r->spearman, 'f', 3)), qPrintable(text));
    QVERIFY2(text.contains(QString::number(r->kendall, 'f', 3)), qPrintable(text));
    QVERIFY(text.contains(QLocale().toString(1024)));
    QVERIFY(text.contains("(PPL 8.00)"));
    auto* subtitle = qobject_cast<QCPTextElement*>(view.stabilityPlot()->plotLayout()->element(1, 0));
    QCOMPARE(subtitle->text(), text);
    // The selected head (the top one) is ringed.
    QCOMPARE(view.selectedLayer(), 1);
    QCOMPARE(view.selectedHead(), 2);
}

void TestWidgetsAblation::attributionScatter() {
    AblationView view;
    view.setColourScale(Scale::Linear);
    const auto r = small();
    view.setResult(r);
    QCOMPARE(view.attributionGraph(Kind::Zero)->data()->size(), 12);
    QCOMPARE(view.attributionGraph(Kind::Mean)->data()->size(), 12);
    for (const ls::HeadAblation& a : r->heads) {
        QVERIFY(hasPoint(view.attributionGraph(Kind::Zero), a.zeroDppl, std::expm1(a.estZeroDloss)));
        QVERIFY(hasPoint(view.attributionGraph(Kind::Mean), a.meanDppl, std::expm1(a.estMeanDloss)));
    }
    const QString text = view.attributionText();
    QVERIFY2(text.contains(QString::number(r->attributionSpearmanZero, 'f', 3)), qPrintable(text));
    QVERIFY(text.contains(QString::number(r->attributionSpearmanMean, 'f', 3)));
    // The caution where the estimate ranks the heads poorly, and only there.
    const bool poor = r->attributionSpearmanZero < 0.5 || r->attributionSpearmanMean < 0.5;
    QCOMPARE(text.contains("trust the exact scan"), poor);
    auto lowered = std::make_shared<ls::AblationResult>(*r);
    lowered->attributionSpearmanZero = 0.07;
    lowered->attributionSpearmanMean = 0.19;
    view.setResult(lowered);
    QVERIFY2(view.attributionText().contains("⚠ ranks poorly (ρ < 0.5): trust the exact scan"),
             qPrintable(view.attributionText()));
    lowered->attributionSpearmanZero = lowered->attributionSpearmanMean = 0.9;
    view.setResult(lowered);
    QVERIFY2(!view.attributionText().contains("poorly"), qPrintable(view.attributionText()));
    view.setResult(r);
    // Log-like: the same points in scaled units.
    view.setColourScale(Scale::SymmetricLog);
    const ls::HeadAblation& d = *view.headAt(1, 2);
    QVERIFY(hasPoint(view.attributionGraph(Kind::Zero), AblationView::toScale(d.zeroDppl, Scale::SymmetricLog),
                     AblationView::toScale(std::expm1(d.estZeroDloss), Scale::SymmetricLog)));
    QVERIFY(view.attributionPlot()->xAxis->label().contains("symmetric log"));
}

void TestWidgetsAblation::toolTips() {
    AblationView view;
    view.setResult(small());
    const QString zero = view.cellToolTip(Kind::Zero, 1, 2);
    for (const char* part : {"L0H2 (block 1, head 2)", "Zero ablation: PPL 30.00 (base 10.00)", "ΔPPL +2.0000 relative",
                             "+20.00 PPL absolute", "rank 1 of 12", "Mean ablation: PPL 10.10", "ΔPPL +0.0100 relative",
                             "rank 7 of 12", "zero / mean: 200x", "estimate: ΔPPL", "first 1,024 tokens: zero ΔPPL +2.0000, rank 1"})
        QVERIFY2(zero.contains(QString::fromUtf8(part).replace("1,024", QLocale().toString(1024))), qPrintable(zero + " / " + part));
    // Estimate: exp(0.8 log 3) - 1.
    QVERIFY(zero.contains(QString::number(std::pow(3.0, 0.8) - 1, 'f', 4)));
    // The hovered map's ablation comes first.
    const QString mean = view.cellToolTip(Kind::Mean, 1, 2);
    QVERIFY(mean.indexOf("Mean ablation") < mean.indexOf("Zero ablation"));
    QVERIFY(zero.indexOf("Zero ablation") < zero.indexOf("Mean ablation"));
    QVERIFY(view.cellToolTip(Kind::Zero, 4, 0).isEmpty());
    QVERIFY(view.cellToolTip(Kind::Zero, 1, 4).isEmpty());

    // Hovering a cell shows it.
    QVERIFY(showExposed(view));
    QCustomPlot* plot = view.heatmapPlot(Kind::Mean);
    plot->replot();
    QTest::mouseMove(plot, cellCentre(plot, 3, 1));
    QTRY_COMPARE(QToolTip::text(), view.cellToolTip(Kind::Mean, 3, 1));
    QVERIFY(QToolTip::text().startsWith("L2H1"));
}

// The frame and ring around the selected head are on screen only: a figure exported with
// one head selected is the same as with another, and the selection is still shown after.
void TestWidgetsAblation::exportsLeaveTheSelectionOut() {
    AblationView view;
    QVERIFY(showResult(view, small()));
    QTemporaryDir dir;
    for (QCustomPlot* plot : {view.heatmapPlot(Kind::Zero), view.attributionPlot()}) {
        QImage exported[2], onScreen[2];
        for (int i = 0; i < 2; ++i) {
            view.selectHead(i == 0 ? 1 : 2, i == 0 ? 2 : 3);
            plot->replot();
            onScreen[i] = plot->toPixmap(400, 300).toImage();
            const QString path = dir.filePath(QStringLiteral("figure%1.png").arg(i));
            QVERIFY(ls::widgets::savePlotImage(plot, path, QSize(400, 300)));
            exported[i] = QImage(path).convertToFormat(onScreen[i].format());
        }
        QVERIFY2(onScreen[0] != onScreen[1], "the selection shows on screen");
        QVERIFY2(exported[0] == exported[1], "the figure does not depend on the selection");  // one renderer, same input
        plot->replot();  // as the export's queued replot does
        QVERIFY2(plot->toPixmap(400, 300).toImage() == onScreen[1], "the selection is back on screen");
    }
}

void TestWidgetsAblation::clickSelectsHead() {
    AblationView view;
    QVERIFY(showResult(view, small()));
    // The most damaging head is selected at first.
    QCOMPARE(view.selectedLayer(), 1);
    QCOMPARE(view.selectedHead(), 2);
    QVERIFY(view.detailsText().startsWith("L0H2: block 1, head 2"));
    QCOMPARE(view.topTable()->currentRow(), 0);

    QSignalSpy spy(&view, &AblationView::headSelected);
    QCustomPlot* plot = view.heatmapPlot(Kind::Zero);
    plot->replot();
    QTest::mouseClick(plot, Qt::LeftButton, {}, cellCentre(plot, 2, 3));
    QCOMPARE(view.selectedLayer(), 2);
    QCOMPARE(view.selectedHead(), 3);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toInt(), 2);
    QCOMPARE(spy.at(0).at(1).toInt(), 3);
    // L1H3: zero -0.01 (rank 11), mean -0.005, not in the top 10.
    const QString details = view.detailsText();
    QVERIFY2(details.contains("L1H3: block 2, head 3"), qPrintable(details));
    QVERIFY(details.contains("zero: PPL 9.90, ΔPPL -0.010 (-0.10 PPL), rank 11"));
    QVERIFY(details.contains("mean: PPL 9.95, ΔPPL -0.005 (-0.05 PPL), rank"));
    QVERIFY(details.contains("zero / mean: 2.00x"));
    QVERIFY(details.contains("subset (first"));
    QVERIFY(details.contains("estimate: zero ΔPPL"));
    QVERIFY(view.detailsLabel()->text().contains("L1H3"));
    QVERIFY(view.detailsLabel()->text().contains("-0.010"));
    QVERIFY(view.topTable()->selectedItems().isEmpty());
    // The marker outlines the cell on both maps.
    // (x = head, y = layer - 1, half a cell around)
    // Ringed in the scatter plots.
    QVERIFY(hasPoint(view.stabilityTopGraph(), 1, 1));
    // A point of the stability chart selects its head too.
    QCustomPlot* stability = view.stabilityPlot();
    stability->replot();
    QTest::mouseClick(stability, Qt::LeftButton, {},
                      QPoint(int(stability->xAxis->coordToPixel(3)), int(stability->yAxis->coordToPixel(4))));
    QCOMPARE(view.selectedLayer(), 2);
    QCOMPARE(view.selectedHead(), 2);
    QCOMPARE(view.topTable()->currentRow(), 2);
    // Out of range clears the selection.
    view.selectHead(9, 9);
    QCOMPARE(view.selectedLayer(), 0);
    QVERIFY(view.detailsText().isEmpty());
    // A new result keeps the selected head.
    view.selectHead(3, 1);
    view.setResult(small());
    QCOMPARE(view.selectedLayer(), 3);
    QCOMPARE(view.selectedHead(), 1);
}

void TestWidgetsAblation::partialResult() {
    AblationView view;
    QVERIFY(view.partialLabel()->isHidden());
    ls::AblationResult r = smallResult();
    view.setResult(std::make_shared<const ls::AblationResult>(r));
    QVERIFY(view.partialLabel()->isHidden());
    QVERIFY(view.summaryText().contains("complete"));
    QVERIFY(!view.isPartial());
    r.complete = false;
    r.windows = 2;
    r.tokens = 2048;
    view.setResult(std::make_shared<const ls::AblationResult>(r));
    QVERIFY(view.isPartial());
    QVERIFY(!view.partialLabel()->isHidden());
    QVERIFY2(view.partialLabel()->text().contains("PARTIAL (canceled)"), qPrintable(view.partialLabel()->text()));
    QVERIFY(view.partialLabel()->text().contains("first 2 windows"));
    const QString summary = view.summaryText();
    QVERIFY2(summary.contains("PARTIAL (canceled)"), qPrintable(summary));
    QVERIFY(!summary.contains("complete"));
    QVERIFY(summary.contains("Base PPL 10.00"));
    QVERIFY(summary.contains(QLocale().toString(2048) + " tokens"));
    QVERIFY(summary.contains("2 windows"));
    QVERIFY(summary.contains("12.5 s (baseline 0.50 s, attribution 1.25 s)"));
    QVERIFY(view.summaryLabel()->text().contains("PARTIAL"));
    // The charts say so too (they are exported on their own).
    auto* title = qobject_cast<QCPTextElement*>(view.heatmapPlot(Kind::Zero)->plotLayout()->element(0, 0));
    QVERIFY(title->text().contains("PARTIAL"));
    // Complete again: the label goes.
    r.complete = true;
    view.setResult(std::make_shared<const ls::AblationResult>(r));
    QVERIFY(view.partialLabel()->isHidden());
    QVERIFY(!title->text().contains("PARTIAL"));
}

void TestWidgetsAblation::growingSnapshots() {
    AblationView view;
    view.setColourScale(Scale::Linear);
    QVERIFY(showExposed(view));
    const ls::AblationResult full = smallResult();
    // A scan in progress: layer 3 not evaluated yet (NaN PPL, no rank).
    ls::AblationResult snap = full;
    snap.complete = false;
    snap.windows = 1;
    snap.tokens = 1024;
    for (ls::HeadAblation& a : snap.heads)
        if (a.layer == 3) {
            a.zeroPpl = a.meanPpl = a.zeroDppl = a.meanDppl = std::nan("");
            a.zeroRank = a.meanRank = 0;
        }
    view.updateResult(std::make_shared<const ls::AblationResult>(snap));
    QCPColorMapData* data = view.colorMap(Kind::Zero)->data();
    QVERIFY(std::isnan(data->cell(0, 2)));  // grey: pending
    QCOMPARE_NEAR(data->cell(2, 0), full.heads[2].zeroDppl, 0, 0);  // copied: exact
    QCOMPARE(view.topTable()->rowCount(), 8);
    QVERIFY(view.summaryText().contains("8 of 12 heads"));
    QVERIFY2(view.partialLabel()->text().contains("in progress"), qPrintable(view.partialLabel()->text()));
    QVERIFY(view.partialLabel()->text().contains("grey: 4 heads not evaluated yet"));
    QCOMPARE(view.stabilityTopGraph()->data()->size(), 8);
    QVERIFY(view.cellToolTip(Kind::Zero, 3, 0).contains("not evaluated yet"));
    view.selectHead(2, 1);
    QTableWidgetItem* firstItem = view.topTable()->item(0, 0);

    // Many snapshots in a row: the colour-map data, table items and selection are kept.
    for (int i = 0; i < 20; ++i)
        view.updateResult(std::make_shared<const ls::AblationResult>(snap));
    view.updateResult(std::make_shared<const ls::AblationResult>(full));
    QCOMPARE(view.colorMap(Kind::Zero)->data(), data);
    QCOMPARE(view.topTable()->item(0, 0), firstItem);
    QCOMPARE(view.selectedLayer(), 2);
    QCOMPARE(view.selectedHead(), 1);
    QCOMPARE_NEAR(data->cell(0, 2), full.heads[8].zeroDppl, 0, 0);
    QCOMPARE(view.topTable()->rowCount(), 10);
    QVERIFY(view.partialLabel()->isHidden());
    QVERIFY(view.summaryText().contains("complete"));
    // The queued replots draw once the event loop runs: the map shows the final data.
    QTest::qWait(20);
    QVERIFY(colouredPixels(view.heatmapPlot(Kind::Zero)->toPixmap().toImage()) > 500);
}

void TestWidgetsAblation::noSubsetNoAttribution() {
    ls::AblationResult r = smallResult();
    r.subsetHeads.clear();
    r.subsetTokens = r.subsetWindows = 0;
    r.subsetBasePpl = 0;
    r.hasAttribution = false;
    ls::rankAblation(r);
    AblationView view;
    view.setResult(std::make_shared<const ls::AblationResult>(r));
    QVERIFY(view.topTable()->isColumnHidden(1));
    QVERIFY(view.topTable()->isColumnHidden(4));
    QCOMPARE(view.stabilityGraph()->data()->size() + view.stabilityTopGraph()->data()->size(), 0);
    QCOMPARE(view.attributionGraph(Kind::Zero)->data()->size(), 0);
    QCOMPARE(view.stabilityText(), QStringLiteral("no subset scan"));
    QCOMPARE(view.attributionText(), QStringLiteral("not estimated in this run"));
    QVERIFY(!view.cellToolTip(Kind::Zero, 1, 2).contains("estimate"));
    // Only the heatmaps and the importance by rank are offered for export.
    QCOMPARE(view.charts().size(), 3);
}

void TestWidgetsAblation::linearization() {
    AblationView view;
    view.resize(1400, 900);
    view.setResult(small());
    QVERIFY(!view.isPageShown(view.linearizationPage()));
    QCOMPARE(view.pages()->count(), 2);  // heads and their importance by rank
    const auto lin = std::make_shared<const ls::LinearizeResult>(smallLinearization());
    view.setLinearization(lin);
    QVERIFY(view.hasLinearization());
    QVERIFY(view.isPageShown(view.linearizationPage()));
    QVERIFY(view.isPageShown(view.headsPage()));
    QCOMPARE(view.pages()->count(), 3);
    QCOMPARE(view.pages()->indexOf(view.headsPage()), 0);
    // The curve: N -> ratio, the threshold points, dashed limits at 1.1x / 1.5x / 2.0x.
    QCOMPARE(view.curveGraph()->data()->size(), 4);
    QVERIFY(hasPoint(view.curveGraph(), 12, 2.5));
    QVERIFY(hasPoint(view.curveThresholdGraph(), 4, 1.05));
    QVERIFY(hasPoint(view.curveThresholdGraph(), 8, 1.3));
    QCOMPARE(view.curvePlot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
    QCOMPARE(view.curveTable()->rowCount(), 4);
    QCOMPARE(view.curveTable()->item(3, 0)->text(), QStringLiteral("12"));
    QCOMPARE(view.curveTable()->item(3, 1)->text(), QStringLiteral("25.00"));
    QCOMPARE(view.curveTable()->item(3, 2)->text(), QStringLiteral("2.500x"));
    QCOMPARE(view.thresholdTable()->rowCount(), 3);
    QCOMPARE(view.thresholdTable()->item(0, 0)->text(), QStringLiteral("PPL ≤ 1.1x"));
    QCOMPARE(view.thresholdTable()->item(1, 1)->text(), QStringLiteral("8"));
    QVERIFY(view.curveToolTip(1).contains("4 heads linearised"));
    QVERIFY(view.curveToolTip(1).contains("the most heads within 1.1x"));
    // The context sweep: a line per N, the seed's P4 table.
    QCOMPARE(view.contextGraphs().size(), 2);
    QVERIFY(hasPoint(view.contextGraphs()[0], 128, 20));
    QVERIFY(hasPoint(view.contextGraphs()[1], 256, 16.5));
    QTableWidget* ctx = view.contextTable();
    QCOMPARE(ctx->columnCount(), 4);
    QCOMPARE(ctx->horizontalHeaderItem(2)->text(), QStringLiteral("ReLU-4"));
    QCOMPARE(ctx->horizontalHeaderItem(3)->text(), QStringLiteral("Ratio"));
    QCOMPARE(ctx->item(0, 0)->text(), QStringLiteral("128"));
    QCOMPARE(ctx->item(0, 1)->text(), QStringLiteral("20.00"));
    QCOMPARE(ctx->item(0, 2)->text(), QStringLiteral("23.00"));
    QCOMPARE(ctx->item(0, 3)->text(), QStringLiteral("1.150x"));
    // Its charts join the export menu; its tables the CSVs.
    QStringList stems;
    for (const auto& chart : view.charts())
        stems << chart.first;
    QVERIFY(stems.contains("linearize_curve"));
    QVERIFY(stems.contains("linearize_context"));

    // A linearisation alone: only its page.
    AblationView alone;
    alone.setLinearization(lin);
    QVERIFY(!alone.hasData());
    QVERIFY(!alone.isPageShown(alone.headsPage()));
    QCOMPARE(alone.pages()->currentWidget(), alone.linearizationPage());
    QCOMPARE(alone.charts().size(), 2);
    alone.setResult(nullptr);  // no ablation: the linearisation stays
    QVERIFY(alone.hasLinearization());
    view.setLinearization(nullptr);
    QVERIFY(!view.isPageShown(view.linearizationPage()));
    QCOMPARE(view.curveGraph()->data()->size(), 0);
}

void TestWidgetsAblation::exportEverything() {
    AblationView view;
    const auto r = small();
    QVERIFY(showResult(view, r));
    const std::vector<ls::Table> tables = ls::ablationTables(*r);
    QCOMPARE(int(tables.size()), 4);  // heads, summary, ranking stability, attribution
    checkExportEverything(view.exportButton(),
                          {"ablation_zero_heatmap", "ablation_mean_heatmap", "ablation_ranking_stability",
                           "ablation_attribution", "ablation_zipf"},
                          tables);

    // With a linearisation: its charts and tables too.
    const auto lin = std::make_shared<const ls::LinearizeResult>(smallLinearization());
    view.setLinearization(lin);
    QTemporaryDir dir2;
    QStringList written2;
    QString error;
    std::vector<ls::Table> tables2 = ls::ablationTables(*r);
    for (ls::Table& t : ls::linearizeTables(*lin))
        tables2.push_back(t);
    QVERIFY2(exportAll(dir2.path(), view.charts(), tables2, &written2, &error), qPrintable(error));
    QCOMPARE(written2.size(), 7 * 3 + int(tables2.size()) + 1);  // + manifest.json
    QVERIFY(colouredPixels(QImage(QDir(dir2.path()).filePath("linearize_curve.png"))) > 200);
    QCOMPARE(readAll(QDir(dir2.path()).filePath("linearize_curve.csv")),
             QByteArray::fromStdString(ls::toCsv(*ls::findTable(tables2, "linearize_curve"))));
}

void TestWidgetsAblation::clearEmptiesAll() {
    AblationView view;
    view.setResult(small());
    view.setLinearization(std::make_shared<const ls::LinearizeResult>(smallLinearization()));
    view.clear();
    QVERIFY(!view.hasData());
    QVERIFY(!view.hasLinearization());
    QCOMPARE(view.topTable()->rowCount(), 0);
    QCOMPARE(view.colorMap(Kind::Zero)->data()->keySize(), 0);
    QCOMPARE(view.stabilityTopGraph()->data()->size(), 0);
    QCOMPARE(view.attributionGraph(Kind::Mean)->data()->size(), 0);
    QVERIFY(view.partialLabel()->isHidden());
    QVERIFY(view.summaryLabel()->text().startsWith("No ablation result yet"));
    QCOMPARE(view.selectedLayer(), 0);
    QVERIFY(view.charts().isEmpty());
    view.setResult(nullptr);
    QVERIFY(!view.hasData());
}

// The Zipf fit (seed 003, Ph1): heads on an exact power law, dPPL = 0.5 rank^-1.5, and some
// that do not hurt (left out of the fit); then a noisy law, against a fit worked out here.
void TestWidgetsAblation::importanceByRank() {
    ls::AblationResult r = emptyResult(2, 8, {4096, 4, 10}, {1024, 1, 10}, {1, 0.1, 0.1});
    const int damaging = 12;
    for (int i = 0; i < 16; ++i) {
        const double zero = i < damaging ? 0.5 * std::pow(i + 1, -1.5) : (i % 2 ? 0.0 : -0.01);
        // Scattered over the heads so that the fit has to rank them itself.
        const int at = (i * 5) % 16;
        addHead(r, at / 8, at % 8, zero, zero, 0, 0, zero, zero);
    }
    std::sort(r.heads.begin(), r.heads.end(), [](const auto& a, const auto& b) {
        return std::pair(a.layer, a.head) < std::pair(b.layer, b.head);
    });
    r.subsetHeads = r.heads;
    ls::rankAblation(r);
    QCOMPARE(r.zipf.heads, damaging);
    QCOMPARE_NEAR(r.zipf.alpha, 1.5, 1e-9, 0);
    QCOMPARE_NEAR(r.zipf.r2, 1.0, 1e-9, 0);
    QCOMPARE_NEAR(r.zipf.intercept, std::log(0.5), 1e-9, 0);

    // Noisy: dPPL_i = 0.3 i^-1.2 (1 + e_i); the fit by the normal equations of two unknowns.
    const double noise[] = {0.05, -0.1, 0.2, -0.15, 0.1, 0.0, -0.05, 0.3, -0.2, 0.1};
    std::vector<ls::HeadAblation> noisy;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < 10; ++i) {
        ls::HeadAblation a;
        a.layer = 1;
        a.head = i;
        a.zeroDppl = 0.3 * std::pow(i + 1, -1.2) * (1 + noise[i]);
        noisy.push_back(a);
    }
    std::vector<double> sorted;
    for (const auto& a : noisy) sorted.push_back(a.zeroDppl);
    std::sort(sorted.rbegin(), sorted.rend());
    for (int i = 0; i < 10; ++i) {
        const double x = std::log(i + 1.0), y = std::log(sorted[size_t(i)]);
        sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    const double slope = (10 * sxy - sx * sy) / (10 * sxx - sx * sx);
    const ls::ZipfFit fit = ls::fitZipf(noisy);
    QCOMPARE_NEAR(fit.alpha, -slope, 1e-9, 0);
    QVERIFY(fit.r2 > 0.9 && fit.r2 < 1.0);
    QVERIFY(std::isnan(ls::fitZipf(std::vector<ls::HeadAblation>(noisy.begin(), noisy.begin() + 1)).alpha));

    // The page: the positive heads by rank and the fitted line through them.
    AblationView view;
    QVERIFY(showResult(view, std::make_shared<const ls::AblationResult>(r)));
    HeadImportancePage* page = view.importancePage();
    QVERIFY(view.isPageShown(page));
    QCOMPARE(page->headsGraph()->data()->size(), damaging);
    QCOMPARE(page->fitGraph()->data()->size(), damaging);
    for (int i = 0; i < damaging; ++i) {
        QCOMPARE_NEAR(page->headsGraph()->data()->at(i)->value, 0.5 * std::pow(i + 1, -1.5), 1e-9, 1e-9);
        QCOMPARE_NEAR(page->fitGraph()->data()->at(i)->value, 0.5 * std::pow(i + 1, -1.5), 1e-9, 1e-9);
    }
    QVERIFY2(page->subtitle().startsWith(QStringLiteral("α = 1.500 · R² = 1.000 · 12 heads")), qPrintable(page->subtitle()));
    bool listed = false;
    for (const auto& chart : view.charts()) listed |= chart.first == "ablation_zipf";
    QVERIFY(listed);
}

void TestWidgetsAblation::realisticScreenshots() {
    const QString shots = qEnvironmentVariable("LAYERSCOPE_SCREENSHOT_DIR");
    auto r = std::make_shared<const ls::AblationResult>(gpt2Result());
    // The seed's V2: the same top 10 in the same order.
    AblationView view;
    view.setResult(r);
    view.setLinearization(std::make_shared<const ls::LinearizeResult>(gpt2Linearization()));
    QVERIFY(showExposed(view));
    const QStringList v2{"L0H8", "L0H11", "L0H1", "L0H10", "L0H5", "L11H0", "L0H3", "L0H9", "L0H6", "L8H2"};
    const QStringList v2Subset{"1", "3", "2", "4", "5", "7", "8", "6", "10", "9"};
    for (int row = 0; row < 10; ++row) {
        QCOMPARE(view.topTable()->item(row, 2)->text(), v2[row]);
        QCOMPARE(view.topTable()->item(row, 1)->text(), v2Subset[row]);
    }
    QCOMPARE(view.topTable()->item(0, 3)->text(), QStringLiteral("+2.806"));
    QCOMPARE(view.topTable()->item(0, 4)->text(), QStringLiteral("+2.365"));
    QCOMPARE(view.topTable()->item(0, 6)->text(), QStringLiteral("303x"));
    QCOMPARE(view.topTable()->horizontalHeaderItem(1)->text(), QStringLiteral("Rank\n(2K)"));
    QCOMPARE(view.subsetTable()->item(2, 3)->text(), QStringLiteral("+28%"));  // V1: 24.27 -> 31.04
    QCOMPARE(view.subsetTable()->item(1, 3)->text(), QStringLiteral("122x"));
    QCOMPARE(view.colorMap(Kind::Zero)->data()->keySize(), 12);
    QCOMPARE(view.colorMap(Kind::Zero)->data()->valueSize(), 12);
    for (QCPItemText* t : view.rankLabels(Kind::Zero))
        QVERIFY(t->visible());
    // The top heads' names in the stability chart: inside it, beside their points, apart.
    QCustomPlot* stability = view.stabilityPlot();
    stability->replot();
    const QRectF area = stability->axisRect()->rect();
    const std::vector<const ls::HeadAblation*> top = view.topHeads();
    QList<QRectF> rects;
    for (int i = 0; i < 10; ++i) {
        QCPItemText* t = view.stabilityLabels()[i];
        QCOMPARE(t->text(), QString::fromStdString(top[i]->name()));
        const QRectF rect(t->topLeft->pixelPosition(), t->bottomRight->pixelPosition());
        const ls::HeadAblation* s = view.subsetHeadAt(top[i]->layer, top[i]->head);
        const QPointF point(stability->xAxis->coordToPixel(top[i]->zeroRank), stability->yAxis->coordToPixel(s->zeroRank));
        QVERIFY2(area.contains(rect), qPrintable(t->text()));
        const QPointF centre = rect.center();
        QVERIFY2(std::hypot(centre.x() - point.x(), centre.y() - point.y()) < 85, qPrintable(t->text()));
        for (const QRectF& other : rects)
            QVERIFY2(!other.intersects(rect), qPrintable(t->text()));
        rects << rect;
    }
    checkScreenshot(view, "ablation_view.png");
    if (!shots.isEmpty()) {
        view.setColourScale(Scale::Linear);
        QVERIFY(view.grab().save(QDir(shots).filePath("ablation_view_linear.png")));
        view.setColourScale(Scale::SignedSqrt);
        QVERIFY(view.grab().save(QDir(shots).filePath("ablation_view_sqrt.png")));
        view.setColourScale(Scale::SymmetricLog);
        view.pages()->setCurrentWidget(view.linearizationPage());
        QTest::qWait(20);
        QVERIFY(view.grab().save(QDir(shots).filePath("ablation_view_linearization.png")));
        view.pages()->setCurrentWidget(view.importancePage());
        QTest::qWait(20);
        QVERIFY(view.grab().save(QDir(shots).filePath("ablation_view_importance.png")));
        view.pages()->setCurrentWidget(view.headsPage());
        // Partial, narrow.
        ls::AblationResult partial = gpt2Result();
        partial.complete = false;
        partial.windows = 37;
        partial.tokens = 37 * 1024;
        view.resize(1100, 800);
        view.setResult(std::make_shared<const ls::AblationResult>(partial));
        QTest::qWait(20);
        QVERIFY(view.grab().save(QDir(shots).filePath("ablation_view_partial.png")));
        // A scan in progress: layers 8..12 not evaluated yet.
        for (ls::HeadAblation& a : partial.heads)
            if (a.layer >= 8) {
                a.zeroPpl = a.meanPpl = a.zeroDppl = a.meanDppl = std::nan("");
                a.zeroRank = a.meanRank = 0;
            }
        view.resize(1400, 900);
        view.updateResult(std::make_shared<const ls::AblationResult>(partial));
        QTest::qWait(50);
        QVERIFY(view.grab().save(QDir(shots).filePath("ablation_view_running.png")));
    }
}

QTEST_MAIN(TestWidgetsAblation)
#include "test_widgets_ablation.moc"
