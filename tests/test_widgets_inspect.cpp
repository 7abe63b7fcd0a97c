// The low-rank head view and the token inspector, offscreen, on results built by hand with
// known numbers: what the charts hold (coverage points = the coverage values in %, one
// point per requested rank, undefined values left out), the tables' rows and cells, the
// rank axis toggle, hover texts; the inspector's cells (texts, target marks, colours that
// darken with probability, painted pixels), tooltips (top-k in order with probabilities,
// the final top-1's probability), hit tests and scrolling on a 1024 x 13 grid; exports
// through the Export… button (files written, CSV = ls::toCsv of the tables, grid PNG).
// With LAYERSCOPE_SCREENSHOT_DIR set, realistic views at 1400 x 900 are saved there.
#include <QAbstractScrollArea>
#include <QDir>
#include <QFile>
#include <QElapsedTimer>
#include <QImage>
#include <QLabel>
#include <QMenu>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <limits>
#include <iterator>
#include <map>
#include <memory>
#include <numeric>
#include <qcustomplot.h>
#include <random>

#include "analysis/capture_pass.h"
#include "analysis/inspect.h"
#include "analysis/lowrank.h"
#include "export_menu.h"
#include "io/table.h"
#include "lowrank_view.h"
#include "test_support.h"
#include "token_inspector_view.h"
#include "widget_test_support.h"

using namespace ls::widgets;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();


// Singular values s_i = scale * i^-decay; coverage and energy coverage from them.
ls::LowRankResult makeLowRank(int dim, double scale, double decay, std::vector<int> ranks, int layer) {
    ls::LowRankResult r;
    r.layer = layer;
    std::vector<double> squares;
    for (int i = 1; i <= dim; ++i) {
        r.singularValues.push_back(scale * std::pow(double(i), -decay));
        squares.push_back(r.singularValues.back() * r.singularValues.back());
    }
    // Running sums over the totals.
    std::partial_sum(r.singularValues.begin(), r.singularValues.end(), std::back_inserter(r.coverage));
    std::partial_sum(squares.begin(), squares.end(), std::back_inserter(r.energyCoverage));
    for (std::vector<double>* running : {&r.coverage, &r.energyCoverage}) {
        const double total = running->back();
        for (double& v : *running)
            v /= total;
    }
    for (int rank : ranks) {
        ls::LowRankRow row;
        row.rank = rank;
        row.coverage = r.coverage[size_t(rank - 1)];
        row.energyCoverage = r.energyCoverage[size_t(rank - 1)];
        const double x = double(rank) / dim;
        row.agreementFinal = rank == dim ? 1.0 : 1.0 - std::exp(-9.0 * x) * 0.97;
        row.agreementLayer = rank == dim ? 1.0 : 1.0 - std::exp(-7.0 * x) * 0.98;
        row.precision = rank == dim ? 1.0 : 0.55 + 0.45 * (1 - std::exp(-6.0 * x));
        row.recall = rank == dim ? 1.0 : 0.35 + 0.65 * (1 - std::exp(-5.0 * x));
        row.f1 = 2 * row.precision * row.recall / (row.precision + row.recall);
        r.rows.push_back(row);
    }
    for (int rank : ranks) {
        ls::LowRankSpeed s;
        s.rank = rank;
        s.tokens = 4096;
        s.fullMs = 12.0;
        s.factoredMs = 0.4 + 12.0 * 1.3 * rank / dim;
        s.speedup = s.fullMs / s.factoredMs;
        r.speed.push_back(s);
    }
    return r;
}

// A small grid with hand-picked numbers: 4 positions, 3 layers (emb, 1, 2), top-3.
//   ids 10..15 have texts, id 99 has none (shown as "#99").
std::shared_ptr<ls::InspectGrid> makeSmallGrid() {
    auto g = std::make_shared<ls::InspectGrid>();
    g->window = 2;
    g->begin = 100;
    g->positions = 4;
    g->layers = 3;
    g->topK = 3;
    g->inputIds = {10, 11, 12, 13};
    g->targetIds = {11, 12, 13, -1};
    g->tokenText = {{10, "The"}, {11, " cat"}, {12, " sat"}, {13, " down"}, {14, "<|x|>"}, {15, ","}};
    // topIds (p, l, k) and probabilities, descending in k.
    const int32_t ids[4][3][3] = {
        {{10, 15, 14}, {15, 11, 10}, {11, 15, 12}},  // p0: target 11 at layer 2
        {{11, 99, 15}, {12, 15, 11}, {12, 13, 15}},  // p1: target 12 at layers 1, 2
        {{99, 15, 10}, {15, 13, 12}, {15, 13, 12}},  // p2: target 13 never top-1
        {{13, 15, 14}, {14, 15, 13}, {15, 14, 13}},  // p3: no target
    };
    const float probs[4][3][3] = {
        {{0.05f, 0.04f, 0.01f}, {0.30f, 0.20f, 0.10f}, {0.90f, 0.05f, 0.01f}},
        {{0.02f, 0.015f, 0.01f}, {0.45f, 0.25f, 0.05f}, {0.75f, 0.10f, 0.05f}},
        {{0.001f, 0.0009f, 0.0005f}, {0.60f, 0.30f, 0.02f}, {0.50f, 0.40f, 0.05f}},
        {{0.10f, 0.05f, 0.02f}, {0.15f, 0.12f, 0.11f}, {0.35f, 0.30f, 0.20f}},
    };
    for (int p = 0; p < 4; ++p)
        for (int l = 0; l < 3; ++l)
            for (int k = 0; k < 3; ++k) {
                g->topIds.push_back(ids[p][l][k]);
                g->topProbs.push_back(probs[p][l][k]);
            }
    // Probability of the final top-1 (ids[p][2][0]) at each layer.
    g->finalTop1Prob = {0.002f, 0.20f, 0.90f, 0.001f, 0.45f, 0.75f, 0.0009f, 0.60f, 0.50f, 0.0f, 0.0f, 0.35f};
    return g;
}

// A realistic window: word-like tokens, the lens settling on the next word layer by layer.
std::shared_ptr<ls::InspectGrid> makeRealisticGrid(int positions, int layers, int topK) {
    const std::vector<std::string> words = {
        "The", " history", " of", " the", " city", " dates", " back", " to", " the", " Roman", " period",
        ",", " when", " a", " small", " settlement", " was", " founded", " on", " the", " north", " bank",
        " of", " the", " river", ".", "\n", "In", " the", " Middle", " Ages", " it", " became", " an",
        " important", " market", " town", ",", " and", " its", " cathedral", " was", " built", " in",
        " 1220", ".", " The", " population", " grew", " rapidly", " during", " the", " industrial",
        " revolution", " as", " mills", " and", " factories", " opened", " along", " the", " canal", ".", "\n"};
    const std::vector<std::string> common = {" the", ",", ".", " of", " and", " a", " in", " to", " is", " was"};
    auto g = std::make_shared<ls::InspectGrid>();
    g->window = 3;
    g->begin = 3 * 1024;
    g->positions = positions;
    g->layers = layers;
    g->topK = topK;
    std::map<std::string, int32_t> ids;
    const auto idOf = [&](const std::string& text) {
        auto [it, added] = ids.emplace(text, int32_t(1000 + ids.size()));
        if (added)
            g->tokenText[it->second] = text;
        return it->second;
    };
    std::vector<int32_t> stream;
    for (int i = 0; i <= positions; ++i)
        stream.push_back(idOf(words[size_t(i) % words.size()]));
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> uni(0, 1);
    g->finalTop1Prob.assign(size_t(positions) * layers, 0.f);
    for (int p = 0; p < positions; ++p) {
        g->inputIds.push_back(stream[size_t(p)]);
        g->targetIds.push_back(p + 1 < positions ? stream[size_t(p) + 1] : -1);
        const int32_t next = stream[size_t(p) + 1];
        // Easy tokens settle early, hard ones late or never.
        const int settle = 2 + int(uni(rng) * (layers + 2));
        const bool finalRight = settle < layers;
        const int32_t wrongFinal = idOf(common[size_t(rng() % common.size())]);
        for (int l = 0; l < layers; ++l) {
            std::vector<int32_t> top;
            double p1;
            if (l == 0) {
                top.push_back(stream[size_t(p)]);  // the embedding predicts the input itself
                p1 = 0.02 + 0.05 * uni(rng);
            } else if (l >= settle) {
                top.push_back(next);
                p1 = std::min(0.97, 0.25 + 0.08 * (l - settle) + 0.3 * uni(rng));
            } else if (l == layers - 1 && !finalRight) {
                top.push_back(wrongFinal);
                p1 = 0.15 + 0.3 * uni(rng);
            } else {
                top.push_back(idOf(common[size_t(rng() % common.size())]));
                p1 = 0.03 + 0.25 * double(l) / layers * uni(rng) + 0.05 * uni(rng);
            }
            while (int(top.size()) < topK) {
                const int32_t c = idOf(uni(rng) < 0.5 ? common[size_t(rng() % common.size())]
                                                     : words[size_t(rng() % words.size())]);
                if (std::find(top.begin(), top.end(), c) == top.end())
                    top.push_back(c);
            }
            double p = p1;
            for (int k = 0; k < topK; ++k) {
                g->topIds.push_back(top[size_t(k)]);
                g->topProbs.push_back(float(p));
                p *= 0.3 + 0.4 * uni(rng);
            }
        }
        const int32_t final1 = g->topIds[g->index(p, layers - 1, 0)];
        for (int l = 0; l < layers; ++l) {
            float prob = 0.0005f * float(l + 1);
            for (int k = 0; k < topK; ++k)
                if (g->topIds[g->index(p, l, k)] == final1)
                    prob = g->topProbs[g->index(p, l, k)];
            g->finalTop1Prob[size_t(p) * layers + l] = prob;
        }
    }
    return g;
}

// A mouse move without buttons, straight to the widget (offscreen has no real cursor).
void moveMouse(QWidget* widget, const QPoint& pos) {
    QMouseEvent event(QEvent::MouseMove, QPointF(pos), widget->mapToGlobal(QPointF(pos)), Qt::NoButton, Qt::NoButton,
                      Qt::NoModifier);
    QCoreApplication::sendEvent(widget, &event);
}

// Lightness of a colour (HSL), 0..255.
int lightness(const QColor& c) { return c.toHsl().lightness(); }

}  // namespace

class TestWidgetsInspect : public QObject {
    Q_OBJECT
private slots:
    void lowRankCoverageGraphs();
    void lowRankRankGraphs();
    void lowRankTables();
    void lowRankAxisAndHover();
    void lowRankClear();
    void lowRankExport();

    void probabilityScale_data();
    void probabilityScale();
    void inspectorCells();
    void inspectorToolTips();
    void inspectorPaintsCells();
    void inspectorLargeGridScrolls();
    void inspectorExport();
    void inspectorClear();

    void screenshots();
};

// ---------------------------------------------------------------------------------------
// Low-rank view

void TestWidgetsInspect::lowRankCoverageGraphs() {
    const auto result = std::make_shared<ls::LowRankResult>(makeLowRank(64, 10, 0.7, {1, 4, 16, 64}, 3));
    LowRankView view;
    view.setResult(result);
    QVERIFY(view.hasData());
    QCPGraph* cov = view.coverageGraph();
    QCPGraph* energy = view.energyGraph();
    QCOMPARE(cov->data()->size(), 64);
    QCOMPARE(energy->data()->size(), 64);
    int r = 1;
    for (auto it = cov->data()->constBegin(); it != cov->data()->constEnd(); ++it, ++r) {
        QCOMPARE_NEAR(it->key, double(r), 0, 0);
        QCOMPARE_NEAR(it->value, 100.0 * result->coverage[size_t(r - 1)], 0, 0);  // the view's same product: exact
    }
    r = 1;
    for (auto it = energy->data()->constBegin(); it != energy->data()->constEnd(); ++it, ++r)
        QCOMPARE_NEAR(it->value, 100.0 * result->energyCoverage[size_t(r - 1)], 0, 0);
    // Both end at 100 %, energy above the plain coverage (faster-decaying s_i^2).
    QCOMPARE_NEAR(cov->data()->at(63)->value, 100.0, 5e-7, 0);  // a ratio of float64 sums, in percent
    QVERIFY(energy->data()->at(3)->value > cov->data()->at(3)->value);
    // y in percent: the whole 0..100 is on screen.
    QVERIFY(view.coveragePlot()->yAxis->range().lower <= 0);
    QVERIFY(view.coveragePlot()->yAxis->range().upper >= 100);
    QVERIFY(view.summaryText().contains("64 singular values"));
}

void TestWidgetsInspect::lowRankRankGraphs() {
    auto result = std::make_shared<ls::LowRankResult>(makeLowRank(64, 10, 0.7, {1, 4, 16, 64}, 3));
    result->rows[0].precision = kNaN;  // no predicted positive at r = 1
    result->rows[0].f1 = kNaN;
    LowRankView view;
    view.setResult(result);
    const std::vector<ls::LowRankRow>& rows = result->rows;
    const auto check = [&](QCPGraph* graph, double ls::LowRankRow::*member) {
        QVector<double> keys, values;
        for (const ls::LowRankRow& row : rows)
            if (std::isfinite(row.*member)) {
                keys << row.rank;
                values << 100.0 * (row.*member);
            }
        QCOMPARE(graph->data()->size(), keys.size());
        for (int i = 0; i < keys.size(); ++i) {  // the view's same numbers and products: exact
            QCOMPARE_NEAR(graph->data()->at(i)->key, keys[i], 0, 0);
            QCOMPARE_NEAR(graph->data()->at(i)->value, values[i], 0, 0);
        }
    };
    check(view.agreementFinalGraph(), &ls::LowRankRow::agreementFinal);
    check(view.agreementLayerGraph(), &ls::LowRankRow::agreementLayer);
    check(view.precisionGraph(), &ls::LowRankRow::precision);
    check(view.recallGraph(), &ls::LowRankRow::recall);
    check(view.f1Graph(), &ls::LowRankRow::f1);
    QCOMPARE(view.precisionGraph()->data()->size(), 3);  // the NaN is left out
    QCOMPARE(view.recallGraph()->data()->size(), 4);
    // The chosen layer is named in the legend.
    QCOMPARE(view.agreementLayerGraph()->name(), QStringLiteral("layer 3"));
}

void TestWidgetsInspect::lowRankTables() {
    auto result = std::make_shared<ls::LowRankResult>(makeLowRank(64, 10, 0.7, {1, 4, 16, 64}, 3));
    result->rows[0].precision = kNaN;
    result->speed[1].fullMs = 12;
    result->speed[1].factoredMs = 5;
    result->speed[1].speedup = 2.4;
    LowRankView view;
    view.setResult(result);
    QTableWidget* rows = view.rowsTable();
    QCOMPARE(rows->rowCount(), 4);
    QCOMPARE(rows->columnCount(), 8);
    for (int i = 0; i < 4; ++i) {
        const ls::LowRankRow& row = result->rows[size_t(i)];
        QCOMPARE(rows->item(i, 0)->text(), QString::number(row.rank));
        QCOMPARE(rows->item(i, 1)->text(), QStringLiteral("%1 %").arg(100 * row.coverage, 0, 'f', 2));
        QCOMPARE(rows->item(i, 3)->text(), QStringLiteral("%1 %").arg(100 * row.agreementFinal, 0, 'f', 2));
        QCOMPARE(rows->item(i, 7)->text(), QStringLiteral("%1 %").arg(100 * row.f1, 0, 'f', 2));
    }
    QCOMPARE(rows->item(0, 5)->text(), QStringLiteral("—"));  // undefined precision
    QVERIFY(!rows->item(0, 5)->toolTip().isEmpty());
    QCOMPARE(rows->horizontalHeaderItem(4)->text(), QStringLiteral("Agree (layer 3)"));

    QTableWidget* speed = view.speedTable();
    QCOMPARE(speed->rowCount(), 4);
    QCOMPARE(speed->columnCount(), 5);
    QCOMPARE(speed->item(1, 0)->text(), QStringLiteral("4"));
    QCOMPARE(speed->item(1, 2)->text(), QStringLiteral("12.000"));
    QCOMPARE(speed->item(1, 3)->text(), QStringLiteral("5.000"));
    QCOMPARE(speed->item(1, 4)->text(), QStringLiteral("2.40×"));
    const auto best = std::max_element(result->speed.begin(), result->speed.end(),
                                       [](const auto& a, const auto& b) { return a.speedup < b.speedup; });
    QVERIFY(view.summaryText().contains(
        QStringLiteral("best speed-up %1× at r = %2").arg(best->speedup, 0, 'f', 2).arg(best->rank)));
}

void TestWidgetsInspect::lowRankAxisAndHover() {
    const auto result = std::make_shared<ls::LowRankResult>(makeLowRank(256, 10, 0.7, {8, 32, 128, 256}, 5));
    LowRankView view;
    QVERIFY(showResult(view, result, 1200, 800));
    for (QCustomPlot* plot : {view.coveragePlot(), view.agreementPlot(), view.detectionPlot()}) {
        plot->replot();
        QCOMPARE(plot->xAxis->scaleType(), QCPAxis::stLogarithmic);
        QVERIFY(plot->xAxis->range().lower <= 1);
        QVERIFY(plot->xAxis->range().upper >= 256);
    }
    // Hover the agreement chart at r = 32: both agreements of that row.
    QCustomPlot* agreement = view.agreementPlot();
    const QPointF at32(agreement->xAxis->coordToPixel(32) + 3, agreement->yAxis->coordToPixel(50));
    const QString text = view.hoverText(agreement, at32);
    QVERIFY2(text.startsWith(QStringLiteral("rank 32\n")), qPrintable(text));
    QVERIFY(text.contains(QStringLiteral("%1 %").arg(100 * result->rows[1].agreementFinal, 0, 'f', 2)));
    QVERIFY(text.contains(QStringLiteral("layer 5: %1 %").arg(100 * result->rows[1].agreementLayer, 0, 'f', 2)));
    // Far from every requested rank: nothing.
    const double between = std::sqrt(8.0 * 32.0);
    const double gap = agreement->xAxis->coordToPixel(32) - agreement->xAxis->coordToPixel(8);
    if (gap > 60)
        QVERIFY(view.hoverText(agreement, QPointF(agreement->xAxis->coordToPixel(between), at32.y())).isEmpty());
    // Coverage: any rank under the cursor.
    QCustomPlot* coverage = view.coveragePlot();
    const QString c = view.hoverText(coverage, QPointF(coverage->xAxis->coordToPixel(100), coverage->yAxis->coordToPixel(50)));
    QVERIFY2(c.startsWith(QStringLiteral("rank 100\n")), qPrintable(c));
    QVERIFY(c.contains(QStringLiteral("%1 %").arg(100 * result->coverage[99], 0, 'f', 2)));
    QVERIFY(c.contains(QStringLiteral("%1 %").arg(100 * result->energyCoverage[99], 0, 'f', 2)));
    // Detection: precision, recall, F1.
    QCustomPlot* detection = view.detectionPlot();
    const QString d = view.hoverText(detection, QPointF(detection->xAxis->coordToPixel(128), detection->yAxis->coordToPixel(50)));
    QVERIFY(d.contains(QStringLiteral("F1: %1 %").arg(100 * result->rows[2].f1, 0, 'f', 2)));
    // Outside the axis rect: nothing.
    QVERIFY(view.hoverText(coverage, QPointF(1, 1)).isEmpty());

    view.setLogRank(false);
    for (QCustomPlot* plot : {view.coveragePlot(), view.agreementPlot(), view.detectionPlot()}) {
        QCOMPARE(plot->xAxis->scaleType(), QCPAxis::stLinear);
        QVERIFY(plot->xAxis->range().upper >= 256);
    }
}

void TestWidgetsInspect::lowRankClear() {
    LowRankView view;
    QVERIFY(!view.hasData());
    view.setResult(std::make_shared<ls::LowRankResult>(makeLowRank(32, 5, 0.5, {8, 32}, 1)));
    QVERIFY(view.hasData());
    view.clear();
    QVERIFY(!view.hasData());
    for (QCPGraph* g : {view.coverageGraph(), view.energyGraph(), view.agreementFinalGraph(), view.f1Graph()})
        QCOMPARE(g->data()->size(), 0);
    QCOMPARE(view.rowsTable()->rowCount(), 0);
    QCOMPARE(view.speedTable()->rowCount(), 0);
    QVERIFY(view.summaryText().startsWith(QStringLiteral("No low-rank result")));
}

void TestWidgetsInspect::lowRankExport() {
    const auto result = std::make_shared<ls::LowRankResult>(makeLowRank(48, 10, 0.7, {4, 16, 48}, 2));
    LowRankView view;
    view.resize(1200, 800);
    view.setResult(result);
    QTemporaryDir dir;
    const QStringList written = exportEverything(view.exportButton(), dir);
    // 3 charts x (png, pdf, svg) + 3 tables + manifest.json.
    QCOMPARE(written.size(), 3 * 3 + 3 + 1);
    for (const QString& path : written)
        QVERIFY2(QFileInfo(path).size() > 0, qPrintable(path));
    const QImage png(QDir(dir.path()).filePath("lowrank_coverage.png"));
    QVERIFY(!png.isNull());
    QVERIFY(png.width() >= 200);
    QVERIFY(readAll(QDir(dir.path()).filePath("lowrank_agreement.pdf")).startsWith("%PDF"));
    QVERIFY(readAll(QDir(dir.path()).filePath("lowrank_detection.svg")).contains("<svg"));
    for (const ls::Table& table : ls::lowRankTables(*result)) {
        const QString path = QDir(dir.path()).filePath(QString::fromStdString(table.name) + ".csv");
        QCOMPARE(readAll(path), QByteArray::fromStdString(ls::toCsv(table)));
    }
    // The menu offers every chart and table.
    QMenu* menu = openExportMenu(view.exportButton());
    for (const char* name : {"export_lowrank_coverage_png", "export_lowrank_detection_svg", "export_lowrank_csv",
                             "export_lowrank_speed_csv", "export_lowrank_singular_values_csv"})
        QVERIFY2(menu->findChild<QAction*>(QString::fromLatin1(name)), name);
}

// ---------------------------------------------------------------------------------------
// Token inspector

void TestWidgetsInspect::probabilityScale_data() {
    QTest::addColumn<double>("step");
    QTest::addColumn<bool>("strict");  // fine steps may round to the same 8-bit colour
    QTest::newRow("coarse") << 0.25 << true;
    QTest::newRow("medium") << 0.05 << true;
    QTest::newRow("fine") << 0.01 << false;
}

void TestWidgetsInspect::probabilityScale() {
    QFETCH(double, step);
    QFETCH(bool, strict);
    // Sequential: darker with every step up, from near white to dark blue.
    int previous = 256;
    for (double p = 0; p <= 1 + 1e-9; p += step) {
        const int l = lightness(TokenInspectorView::probabilityColor(p));
        QVERIFY2(strict ? l < previous : l <= previous, qPrintable(QStringLiteral("p = %1: lightness %2 after %3").arg(p).arg(l).arg(previous)));
        previous = l;
    }
    QVERIFY(lightness(TokenInspectorView::probabilityColor(0)) > 240);
    QVERIFY(lightness(TokenInspectorView::probabilityColor(1)) < 80);
    const QColor top = TokenInspectorView::probabilityColor(1);
    QVERIFY(top.blue() > top.red());
    // Text stays readable: black on light cells, white on dark ones.
    QVERIFY(lightness(TokenInspectorView::textColorOn(TokenInspectorView::probabilityColor(0.1))) < 20);
    QVERIFY(lightness(TokenInspectorView::textColorOn(TokenInspectorView::probabilityColor(0.95))) > 240);
}

void TestWidgetsInspect::inspectorCells() {
    const auto grid = makeSmallGrid();
    TokenInspectorView view;
    view.setGrid(grid);
    QVERIFY(view.hasData());
    QCOMPARE(view.positions(), 4);
    QCOMPARE(view.layers(), 3);
    QCOMPARE(TokenInspectorView::layerName(0), QStringLiteral("emb"));
    QCOMPARE(TokenInspectorView::layerName(2), QStringLiteral("2"));
    // Texts: whitespace made visible, an id without text as "#id".
    QCOMPARE(view.cellText(0, 0), QStringLiteral("The"));
    QCOMPARE(view.cellText(0, 2), QStringLiteral("·cat"));
    QCOMPARE(view.cellText(2, 0), QStringLiteral("#99"));
    QCOMPARE(view.tokenLabel(14), QStringLiteral("<|x|>"));
    QCOMPARE(view.tokenLabel(-1), QString());
    // Target marks: exactly where top-1 == the next token.
    const bool hits[4][3] = {{false, false, true}, {false, true, true}, {false, false, false}, {false, false, false}};
    for (int p = 0; p < 4; ++p)
        for (int l = 0; l < 3; ++l)
            QCOMPARE(view.cellHitsTarget(p, l), hits[p][l]);
    // Colours follow the top-1 probability: sorted by probability, the cells get darker.
    QVector<QPair<double, QColor>> cells;
    for (int p = 0; p < 4; ++p)
        for (int l = 0; l < 3; ++l) {
            QCOMPARE_NEAR(view.cellProbability(p, l), double(grid->topProbs[grid->index(p, l, 0)]), 0, 0);  // read, not computed
            QCOMPARE(view.cellColor(p, l), TokenInspectorView::probabilityColor(view.cellProbability(p, l)));
            cells.append({view.cellProbability(p, l), view.cellColor(p, l)});
        }
    std::sort(cells.begin(), cells.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (int i = 1; i < cells.size(); ++i)
        if (cells[i].first > cells[i - 1].first + 0.02)
            QVERIFY(lightness(cells[i].second) < lightness(cells[i - 1].second));
    // Out of range: nothing, no crash.
    QCOMPARE(view.cellText(4, 0), QString());
    QVERIFY(std::isnan(view.cellProbability(0, 3)));
    QVERIFY(!view.cellHitsTarget(-1, 0));
    // Summary: window, tokens, layers, final accuracy (p0, p1 of 3 scored positions).
    const QString summary = view.summaryText();
    QVERIFY2(summary.contains(QStringLiteral("Window 2")), qPrintable(summary));
    QVERIFY(summary.contains(QStringLiteral("4 positions × 3 layers")));
    QVERIFY(summary.contains(QStringLiteral("2 of 3 positions")));
}

void TestWidgetsInspect::inspectorToolTips() {
    const auto grid = makeSmallGrid();
    TokenInspectorView view;
    view.setGrid(grid);
    for (int p = 0; p < 4; ++p) {
        for (int l = 0; l < 3; ++l) {
            const QString tip = view.cellToolTip(p, l);
            QVERIFY(tip.contains(QStringLiteral("position %1").arg(p)));
            QVERIFY(tip.contains(QStringLiteral("layer %1").arg(TokenInspectorView::layerName(l))));
            // Top-k in order, each followed by its probability.
            int from = tip.indexOf(QStringLiteral("<table"));
            QVERIFY(from > 0);
            for (int k = 0; k < 3; ++k) {
                const QString label = view.tokenLabel(grid->topIds[grid->index(p, l, k)]).toHtmlEscaped();
                const QString prob = TokenInspectorView::formatProbability(grid->topProbs[grid->index(p, l, k)]);
                const int at = tip.indexOf(QStringLiteral("%1.&nbsp;</td><td>%2</td>").arg(k + 1).arg(label), from);
                QVERIFY2(at > from, qPrintable(QStringLiteral("p %1 l %2 k %3: %4").arg(p).arg(l).arg(k).arg(tip)));
                const int probAt = tip.indexOf(prob, at);
                QVERIFY2(probAt > at, qPrintable(tip));
                from = probAt;
            }
            // The final top-1 and its probability at this layer.
            const int32_t final1 = grid->topIds[grid->index(p, 2, 0)];
            const QString finalLine = QStringLiteral("final top-1 <b>%1</b>: %2")
                                          .arg(view.tokenLabel(final1).toHtmlEscaped(),
                                               TokenInspectorView::formatProbability(grid->finalTop1Prob[size_t(p) * 3 + l]));
            QVERIFY2(tip.contains(finalLine), qPrintable(tip));
        }
    }
    // Markup in token texts is escaped; the target is marked.
    QVERIFY(view.cellToolTip(0, 0).contains(QStringLiteral("&lt;|x|&gt;")));
    QVERIFY(view.cellToolTip(0, 2).contains(QStringLiteral("✓&nbsp;next")));
    QCOMPARE(TokenInspectorView::formatProbability(0.9), QStringLiteral("90.0 %"));
    QCOMPARE(TokenInspectorView::formatProbability(0.015), QStringLiteral("1.50 %"));
    QCOMPARE(TokenInspectorView::formatProbability(0.0009), QStringLiteral("0.09 %"));
    QCOMPARE(view.cellToolTip(9, 0), QString());
}

void TestWidgetsInspect::inspectorPaintsCells() {
    const auto grid = makeSmallGrid();
    TokenInspectorView view;
    view.setGrid(grid);
    QVERIFY(showExposed(view, 900, 500));
    QAbstractScrollArea* area = view.gridArea();
    const QImage image = area->viewport()->grab().toImage();
    const qreal dpr = image.devicePixelRatio();
    const auto pixel = [&](const QPoint& pos) { return QColor(image.pixel((QPointF(pos) * dpr).toPoint())); };
    for (int p = 0; p < 4; ++p) {
        for (int l = 0; l < 3; ++l) {
            const QRect rect = view.cellRect(p, l);
            QVERIFY(area->viewport()->rect().contains(rect));
            QCOMPARE(view.cellAt(rect.center()), QPoint(l, p));
            if (view.cellHitsTarget(p, l)) {
                // The orange outline.
                const QColor c = pixel(QPoint(rect.left() + 2, rect.center().y()));
                QVERIFY2(c.red() > 180 && c.blue() < 80, qPrintable(c.name()));
            } else {
                QCOMPARE(pixel(rect.topLeft() + QPoint(3, 3)), view.cellColor(p, l));
            }
        }
    }
    // Hovering a cell outlines it in black.
    const QRect hovered = view.cellRect(2, 1);
    moveMouse(area->viewport(), hovered.center());
    const QImage after = area->viewport()->grab().toImage();
    const QColor outline(after.pixel((QPointF(hovered.left() + 1, hovered.center().y()) * dpr).toPoint()));
    QVERIFY2(lightness(outline) < 40, qPrintable(outline.name()));
    // Headers are not cells.
    QCOMPARE(view.cellAt(QPoint(2, 2)), QPoint(-1, -1));
    QCOMPARE(view.cellAt(QPoint(view.cellRect(0, 0).left() - 3, view.cellRect(0, 0).center().y())), QPoint(-1, -1));
}

void TestWidgetsInspect::inspectorLargeGridScrolls() {
    const auto grid = makeRealisticGrid(1024, 13, 5);
    TokenInspectorView view;
    QElapsedTimer timer;
    timer.start();
    view.setGrid(grid);
    QVERIFY(showExposed(view));
    QAbstractScrollArea* area = view.gridArea();
    QVERIFY(area->verticalScrollBar()->maximum() > 0);
    // 13 layers fit the width: no horizontal scrolling needed.
    QCOMPARE(area->horizontalScrollBar()->maximum(), 0);
    view.scrollToCell(1000, 12);
    const QRect rect = view.cellRect(1000, 12);
    QVERIFY(area->viewport()->rect().contains(rect));
    QCOMPARE(view.cellAt(rect.center()), QPoint(12, 1000));
    const QImage image = area->viewport()->grab().toImage();
    QVERIFY(!image.isNull());
    if (!view.cellHitsTarget(1000, 12))
        QCOMPARE(QColor(image.pixel((QPointF(rect.topLeft() + QPoint(3, 3)) * image.devicePixelRatio()).toPoint())),
                 view.cellColor(1000, 12));
    // Painting only what is visible keeps this quick.
    QVERIFY2(timer.elapsed() < 5000, qPrintable(QString::number(timer.elapsed())));
    // Many layers (a 32-block model): columns scroll sideways.
    view.setGrid(makeRealisticGrid(64, 33, 3));
    QVERIFY(area->horizontalScrollBar()->maximum() > 0);
    view.scrollToCell(10, 32);
    QVERIFY(area->viewport()->rect().contains(view.cellRect(10, 32)));
}

void TestWidgetsInspect::inspectorExport() {
    const auto grid = makeSmallGrid();
    TokenInspectorView view;
    view.resize(900, 500);
    view.setGrid(grid);
    QTemporaryDir dir;
    const QStringList written = exportEverything(view.exportButton(), dir);
    QCOMPARE(written.size(), 3);  // inspect.csv, inspect_topk.csv, manifest.json
    for (const ls::Table& table : ls::inspectTables(*grid)) {
        const QString path = QDir(dir.path()).filePath(QString::fromStdString(table.name) + ".csv");
        QVERIFY(written.contains(path));
        QCOMPARE(readAll(path), QByteArray::fromStdString(ls::toCsv(table)));
    }
    QMenu* menu = openExportMenu(view.exportButton());
    QVERIFY(menu->findChild<QAction*>(QStringLiteral("export_inspect_csv")));
    QVERIFY(menu->findChild<QAction*>(QStringLiteral("export_inspect_topk_csv")));
    QAction* image = menu->findChild<QAction*>(QStringLiteral("export_grid_png"));
    QVERIFY(image);
    QVERIFY(image->isEnabled());

    // The grid image: every row and column, cells in their colours.
    const QString png = QDir(dir.path()).filePath("grid.png");
    QString error;
    QVERIFY2(view.saveGridImage(png, &error), qPrintable(error));
    QVERIFY(QFileInfo(png).size() > 0);
    const QImage saved(png);
    QVERIFY(!saved.isNull());
    const QRect first = view.cellRect(0, 0);
    const QRect last = view.cellRect(3, 2);
    QCOMPARE(saved.width(), std::max(last.right() + 1, 200));
    QCOMPARE(saved.height(), last.bottom() + 1);
    QCOMPARE(QColor(saved.pixel(first.topLeft() + QPoint(3, 3))), view.cellColor(0, 0));
    QCOMPARE(QColor(saved.pixel(last.topLeft() + QPoint(3, 3))), view.cellColor(3, 2));

    TokenInspectorView empty;
    QVERIFY(!empty.saveGridImage(png, &error));
    QVERIFY(error.contains(png));
}

void TestWidgetsInspect::inspectorClear() {
    TokenInspectorView view;
    view.setGrid(makeSmallGrid());
    view.clear();
    QVERIFY(!view.hasData());
    QCOMPARE(view.positions(), 0);
    QCOMPARE(view.cellToolTip(0, 0), QString());
    QCOMPARE(view.cellAt(QPoint(300, 100)), QPoint(-1, -1));
    QVERIFY(view.summaryText().startsWith(QStringLiteral("No grid")));
    QAction* image = openExportMenu(view.exportButton())->findChild<QAction*>(QStringLiteral("export_grid_png"));
    QVERIFY(image && !image->isEnabled());
    // A grid with zero positions counts as none.
    auto none = std::make_shared<ls::InspectGrid>();
    view.setGrid(none);
    QVERIFY(!view.hasData());
}

// Realistic data at the size a person would use: a 12-layer model with dim 768 and a
// 64-position window. Checks that the views draw something; saves the pictures for a look
// when LAYERSCOPE_SCREENSHOT_DIR is set.
void TestWidgetsInspect::screenshots() {
    const QString dir = qEnvironmentVariable("LAYERSCOPE_SCREENSHOT_DIR");
    LowRankView lowRank;
    lowRank.setResult(std::make_shared<ls::LowRankResult>(
        makeLowRank(768, 40, 0.55, {8, 16, 32, 64, 128, 256, 512, 768}, 11)));
    QVERIFY(showExposed(lowRank));
    QCustomPlot* agreement = lowRank.agreementPlot();
    moveMouse(agreement, QPoint(int(agreement->xAxis->coordToPixel(64)), int(agreement->yAxis->coordToPixel(50))));
    agreement->replot();
    const QImage lowRankShot = lowRank.grab().toImage();
    QCOMPARE(lowRankShot.size() / lowRankShot.devicePixelRatio(), QSize(1400, 900));

    TokenInspectorView inspector;
    inspector.setGrid(makeRealisticGrid(64, 13, 5));
    QVERIFY(showExposed(inspector));
    // Hover a cell: it gets a black outline, its row and column headers light up.
    inspector.scrollToCell(40, 8);
    moveMouse(inspector.gridArea()->viewport(), inspector.cellRect(20, 8).center());
    const QImage inspectorShot = inspector.grab().toImage();
    QVERIFY(!inspectorShot.isNull());
    if (!dir.isEmpty()) {
        QDir().mkpath(dir);
        QVERIFY(lowRankShot.save(QDir(dir).filePath("lowrank_view.png")));
        QVERIFY(inspectorShot.save(QDir(dir).filePath("token_inspector_view.png")));
        QVERIFY(inspector.saveGridImage(QDir(dir).filePath("token_inspector_grid.png")));
        // A tooltip as it would pop up, rendered as rich text.
        QLabel tip;
        tip.setTextFormat(Qt::RichText);
        tip.setText(inspector.cellToolTip(20, 8));
        tip.adjustSize();
        QVERIFY(tip.grab().save(QDir(dir).filePath("token_inspector_tooltip.png")));
        lowRank.setLogRank(false);
        QVERIFY(lowRank.grab().save(QDir(dir).filePath("lowrank_view_linear.png")));
    }
}

QTEST_MAIN(TestWidgetsInspect)
#include "test_widgets_inspect.moc"
