// The layer-analysis views, offscreen: what CossimView and SaturationView draw from results
// with known numbers (colour-map cells, bar heights, whiskers, curve points), that the
// sliders move the threshold and its marker to what ls::cossimThreshold gives, special-layer
// rows, clicking a heatmap row, and export (every chart as PNG/PDF/SVG with pixels drawn,
// every table as CSV equal to ls::toCsv). A realistic 30-layer run renders at 1400 x 900;
// with LAYERSCOPE_SCREENSHOT_DIR set the views are also saved there as PNG.
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QLabel>
#include <QMenu>
#include <QSignalSpy>
#include <QSlider>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QToolTip>
#include <QtTest>
#include <cmath>
#include <memory>
#include <qcustomplot.h>
#include <random>

#include "analysis/capture_pass.h"
#include "analysis/cossim.h"
#include "analysis/saturation.h"
#include "cossim_view.h"
#include "export_menu.h"
#include "io/table.h"
#include "lensdiv_view.h"
#include "saturation_view.h"
#include "stats/histogram.h"
#include "test_support.h"
#include "widget_test_support.h"

using namespace ls::widgets;

namespace {

// 3 layers x 4 tokens. Layer 1's mean (0.25) is far below its neighbours' (median 0.9025):
// special. 4 bins over [0.1, 0.96], edges 0.1, 0.315, 0.53, 0.745, 0.96:
//   layer 1 -> counts 3, 1, 0, 0; layers 2 and 3 -> 0, 0, 0, 4.
ls::CaptureResult smallCossimCapture() {
    ls::CaptureResult c;
    c.numLayers = 3;
    c.loss = {1, 2, 3, 4};
    c.cossim = {{0.1f, 0.2f, 0.3f, 0.4f}, {0.9f, 0.95f, 0.8f, 0.85f}, {0.9f, 0.92f, 0.94f, 0.96f}};
    return c;
}

std::shared_ptr<const ls::CossimResult> smallCossim() {
    ls::CossimParams params;
    params.layer = 2;
    params.bins = 4;
    params.hardRatios = {0.3, 0.5, 0.7};
    return std::make_shared<const ls::CossimResult>(ls::analyseCossim(smallCossimCapture(), params));
}

// 3 layers x 5 tokens, final top-1 = 5 6 7 8 9, loss = 1..5.
//   rate: emb 1/5, l1 2/5, l2 3/5, l3 5/5
//   sat / unsat loss: emb 1 / 3.5, l1 1.5 / 4, l2 3 / 3, l3 3 / NaN
//   saturation layers: 3 1 2 2 3 -> histogram 1, 2, 2
//   post-attention rates: 1/5, 3/5, 4/5
ls::CaptureResult smallSaturationCapture() {
    ls::CaptureResult c;
    c.numLayers = 3;
    c.loss = {1, 2, 3, 4, 5};
    c.targetIndex = {0, 1, 2, 3, 4};
    c.targetId = {5, 6, 7, 8, 9};
    c.lensTop1 = {{5, 0, 0, 0, 0}, {5, 6, 0, 0, 1}, {0, 6, 7, 8, 0}, {5, 6, 7, 8, 9}};
    c.postAttentionTop1 = {{5, 0, 0, 0, 0}, {5, 6, 7, 0, 0}, {0, 6, 7, 8, 9}};
    return c;
}

std::shared_ptr<const ls::SaturationResult> smallSaturation(bool postAttention = true) {
    ls::CaptureResult c = smallSaturationCapture();
    if (!postAttention)
        c.postAttentionTop1.clear();
    return std::make_shared<const ls::SaturationResult>(ls::analyseSaturation(c));
}

// A SmolLM2-like run: 30 layers, 3000 tokens, block outputs close to their inputs except at
// layers 1, 25 and 30 (special); saturation mostly in the last third, easy tokens earlier.
ls::CaptureResult realisticCapture(bool postAttention) {
    const int L = 30, N = 3000;
    std::mt19937 rng(7);
    std::normal_distribution<float> noise(0.f, 1.f);
    std::uniform_int_distribution<int> anyId(0, 49151);
    ls::CaptureResult c;
    c.numLayers = L;
    c.cossim.assign(L, std::vector<float>(N));
    for (int l = 1; l <= L; ++l) {
        float mean = 0.93f + 0.04f * float(l) / L, spread = 0.025f;
        if (l == 1) mean = 0.35f, spread = 0.22f;
        if (l == 25) mean = 0.62f, spread = 0.12f;
        if (l == 30) mean = 0.48f, spread = 0.2f;
        for (float& v : c.cossim[l - 1])
            v = std::clamp(mean + spread * noise(rng), -0.3f, 0.9995f);
    }
    c.loss.resize(N);
    c.lensTop1.assign(L + 1, std::vector<int32_t>(N));
    if (postAttention)
        c.postAttentionTop1.assign(L, std::vector<int32_t>(N));
    std::gamma_distribution<double> satLayer(6.0, 3.2);
    for (int t = 0; t < N; ++t) {
        const int32_t final = anyId(rng);
        const int s = std::clamp(int(std::lround(satLayer(rng))), 1, L);
        c.loss[t] = std::max(0.05f, float(0.5 + 0.17 * s + 0.8 * noise(rng)));
        for (int l = 0; l <= L; ++l) {
            const bool agree = l >= s || (l >= s - 4 && (t + l) % 3 == 0);  // early agreement sometimes
            c.lensTop1[l][t] = agree ? final : (final + 1 + l) % 49152;
        }
        if (postAttention)
            for (int l = 1; l <= L; ++l)
                c.postAttentionTop1[l - 1][t] = (l > s || (l == s && t % 2)) ? final : (final + 7) % 49152;
    }
    return c;
}

}  // namespace

class TestWidgetsLayers : public QObject {
    Q_OBJECT
private slots:
    void cossimHeatmapCells();
    void cossimHeatmapToolTip();
    void cossimMeansAndWhiskers();
    void cossimStatsTableHighlightsSpecial();
    void cossimSliders_data();
    void cossimSliders();
    void cossimHistogramBars();
    void cossimClickSelectsRow();
    void cossimThresholdsTable();
    void cossimClear();
    void cossimExport();

    void saturationCurves();
    void saturationWithoutPostAttention();
    void saturationHistogramAndLoss();
    void saturationTable();
    void saturationExport();

    void lensDivCurvesAndTable();
    void lensDivLogScale();
    void lensDivExport();

    void exportButtonMenu();
    void exportAllReportsFailure();

    void realisticScreenshots();
};

// ---- cos-sim ------------------------------------------------------------------------------

void TestWidgetsLayers::cossimHeatmapCells() {
    CossimView view;
    QVERIFY(!view.hasData());
    const auto result = smallCossim();
    view.setResult(result);
    QVERIFY(view.hasData());
    QVERIFY2(view.comparedLabel()->text().contains("cos(h<sub>l−1</sub>, h<sub>l</sub>)"),
             qPrintable(view.comparedLabel()->text()));

    QCPColorMapData* data = view.colorMap()->data();
    QCOMPARE(data->keySize(), 4);    // bins
    QCOMPARE(data->valueSize(), 3);  // layers
    // The view's same expression (lo + width / 2) and layer numbers: exact.
    QCOMPARE_NEAR(data->keyRange().lower, result->histograms[0].lo + result->histograms[0].binWidth() / 2, 0, 0);
    QCOMPARE_NEAR(data->valueRange().lower, 1.0, 0, 0);
    QCOMPARE_NEAR(data->valueRange().upper, 3.0, 0, 0);
    const double expected[3][4] = {{0.75, 0.25, 0, 0}, {0, 0, 0, 1}, {0, 0, 0, 1}};
    for (int l = 0; l < 3; ++l)
        for (int b = 0; b < 4; ++b)
            QCOMPARE_NEAR(data->cell(b, l), expected[l][b], 1e-12, 0);  // fractions of counts
    // The colour scale spans 0 .. the largest fraction.
    QCOMPARE_NEAR(view.colorMap()->dataRange().lower, 0.0, 0, 0);  // set to 0, not computed
    QCOMPARE_NEAR(view.colorMap()->dataRange().upper, 1.0, 1e-12, 0);
    QVERIFY(view.heatmapPlot()->yAxis->rangeReversed());  // layer 1 on top
}

void TestWidgetsLayers::cossimHeatmapToolTip() {
    CossimView view;
    view.setResult(smallCossim());
    const QString tip = view.cellToolTip(1, 0);
    QVERIFY2(tip.contains("Layer 1 (special)"), qPrintable(tip));
    QVERIFY2(tip.contains("[0.1000, 0.3150)"), qPrintable(tip));
    QVERIFY2(tip.contains("3 tokens (75.00% of the layer)"), qPrintable(tip));
    QVERIFY2(view.cellToolTip(3, 3).contains("0.9600]"), qPrintable(view.cellToolTip(3, 3)));  // last bin closed
    QVERIFY(view.cellToolTip(4, 0).isEmpty());
    QVERIFY(view.cellToolTip(1, 4).isEmpty());
}

void TestWidgetsLayers::cossimMeansAndWhiskers() {
    CossimView view;
    const auto r = smallCossim();
    view.setResult(r);
    // Layer 1 is special: drawn in the special bars only.
    QCOMPARE(view.specialBars()->data()->size(), 1);
    // Layer numbers and the result's means, copied into the bars: exact.
    QCOMPARE_NEAR(view.specialBars()->data()->at(0)->key, 1.0, 0, 0);
    QCOMPARE_NEAR(view.specialBars()->data()->at(0)->value, r->layers[0].summary.mean, 0, 0);
    QCOMPARE_NEAR(r->layers[0].summary.mean, 0.25, 1e-6, 0);  // of float32 cos-sims
    QCOMPARE(view.meanBars()->data()->size(), 2);
    QCOMPARE_NEAR(view.meanBars()->data()->at(0)->key, 2.0, 0, 0);
    QCOMPARE_NEAR(view.meanBars()->data()->at(0)->value, r->layers[1].summary.mean, 0, 0);
    QCOMPARE_NEAR(r->layers[1].summary.mean, 0.875, 1e-6, 0);
    QCOMPARE_NEAR(view.meanBars()->data()->at(1)->value, r->layers[2].summary.mean, 0, 0);
    // Whiskers p10..p90 around every mean.
    QCOMPARE(view.whiskers()->dataCount(), 3);
    for (int i = 0; i < 3; ++i) {
        const ls::Summary& s = r->layers[i].summary;
        const QCPRange range = view.whiskers()->dataValueRange(i);
        QCOMPARE_NEAR(range.lower, s.p10, 1e-12, 0);  // mean -+ (mean - p10): float64 rounding
        QCOMPARE_NEAR(range.upper, s.p90, 1e-12, 0);
    }
    // The axis shows every bar and whisker.
    QVERIFY(view.meansPlot()->yAxis->range().lower <= 0);
    QVERIFY(view.meansPlot()->yAxis->range().upper >= r->layers[2].summary.p90);
}

void TestWidgetsLayers::cossimStatsTableHighlightsSpecial() {
    CossimView view;
    view.setResult(smallCossim());
    QTableWidget* t = view.statsTable();
    QCOMPARE(t->rowCount(), 3);
    QCOMPARE(t->columnCount(), 10);
    QCOMPARE(t->horizontalHeaderItem(9)->text(), QStringLiteral("frac<0.5"));
    QCOMPARE(t->item(0, 1)->text(), QStringLiteral("0.2500"));
    QCOMPARE(t->item(1, 1)->text(), QStringLiteral("0.8750"));
    QCOMPARE(t->item(0, 9)->text(), QStringLiteral("100.0%"));  // frac < 0.5 of layer 1
    QCOMPARE(t->item(1, 9)->text(), QStringLiteral("0.0%"));
    // Special row highlighted, the others not.
    const QColor special = t->item(0, 3)->background().color();
    QVERIFY(t->item(0, 0)->background().style() != Qt::NoBrush);
    QVERIFY(special.red() > special.blue() + 20);
    for (int row : {1, 2})
        for (int col = 0; col < t->columnCount(); ++col)
            QCOMPARE(t->item(row, col)->background().style(), Qt::NoBrush);
    QVERIFY(t->item(0, 0)->text().contains("1"));
    QVERIFY(t->item(0, 0)->toolTip().contains("special"));
    // The note states the rule and names the special layer.
    const QString note = view.specialNote()->text();
    QVERIFY2(note.contains("0.1 below the median of the means"), qPrintable(note));
    QVERIFY2(note.contains("<b>1</b>"), qPrintable(note));
}

void TestWidgetsLayers::cossimSliders_data() {
    QTest::addColumn<int>("layer");
    QTest::addColumn<int>("percent");
    QTest::addColumn<double>("threshold");  // numpy linear quantile of the layer's values
    QTest::addColumn<double>("exitFraction");
    // Layer 2 sorted: 0.8 0.85 0.9 0.95. r = 0.3: position 0.9 -> 0.845; 3 of 4 exit.
    QTest::newRow("layer 2, 30%") << 2 << 30 << 0.845 << 0.75;
    // r = 0.7: position 2.1 -> 0.905; 1 of 4 exit.
    QTest::newRow("layer 2, 70%") << 2 << 70 << 0.905 << 0.25;
    // Layer 1 sorted: 0.1 0.2 0.3 0.4. r = 0.5: 0.25; 2 of 4 exit.
    QTest::newRow("layer 1, 50%") << 1 << 50 << 0.25 << 0.5;
    // Layer 3: 0.9 0.92 0.94 0.96, r = 0.99: position 2.97 -> 0.9594; 1 of 4 exits.
    QTest::newRow("layer 3, 99%") << 3 << 99 << 0.9594 << 0.25;
}

void TestWidgetsLayers::cossimSliders() {
    QFETCH(int, layer);
    QFETCH(int, percent);
    QFETCH(double, threshold);
    QFETCH(double, exitFraction);
    CossimView view;
    const auto r = smallCossim();
    view.setResult(r);
    QCOMPARE(view.selectedLayer(), 2);  // the run's exit layer
    QCOMPARE(view.exitLayerSlider()->minimum(), 1);
    QCOMPARE(view.exitLayerSlider()->maximum(), 3);
    QSignalSpy spy(&view, &CossimView::thresholdChanged);
    const QString before = view.thresholdText();

    // Move the sliders as a user would: their valueChanged drives the view.
    view.exitLayerSlider()->setValue(layer);
    view.hardRatioSlider()->setValue(percent);
    QCOMPARE(view.selectedLayer(), layer);
    const ls::CossimThreshold expected = ls::cossimThreshold(*r, layer, percent / 100.0);
    QCOMPARE_NEAR(expected.threshold, threshold, 1e-6, 0);  // a quantile of float32 values
    QCOMPARE_NEAR(expected.exitFraction, exitFraction, 1e-12, 0);  // a fraction of counts
    // The view makes the same call with the same arguments: exact.
    QCOMPARE_NEAR(view.currentThreshold().threshold, expected.threshold, 0, 0);
    QCOMPARE_NEAR(view.currentThreshold().exitFraction, expected.exitFraction, 0, 0);
    QVERIFY(spy.count() >= 1);

    // The marker sits at the threshold, and the text says it.
    QCOMPARE_NEAR(view.thresholdLine()->point1->key(), expected.threshold, 0, 0);  // copied: exact
    QCOMPARE_NEAR(view.thresholdLine()->point2->key(), expected.threshold, 0, 0);
    const QString text = view.thresholdText();
    QVERIFY(text != before);
    QVERIFY2(text.contains(QStringLiteral("Layer %1, hard ratio %2%").arg(layer).arg(percent)), qPrintable(text));
    QVERIFY2(text.contains(QString::number(expected.threshold, 'f', 5)), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("%1% of tokens exit").arg(exitFraction * 100, 0, 'f', 1)), qPrintable(text));

    // The setters move the sliders back.
    view.setExitLayer(1);
    view.setHardRatio(0.42);
    QCOMPARE(view.exitLayerSlider()->value(), 1);
    QCOMPARE(view.hardRatioSlider()->value(), 42);
    QCOMPARE_NEAR(view.thresholdLine()->point1->key(), ls::cossimThreshold(*r, 1, 0.42).threshold, 0, 0);  // same call
    // Out of range is clamped, never thrown.
    view.setHardRatio(1.5);
    QCOMPARE_NEAR(view.hardRatio(), 0.99, 0, 0);  // the clamp's bound itself
    view.selectLayer(99);
    QCOMPARE(view.selectedLayer(), 3);
}

void TestWidgetsLayers::cossimHistogramBars() {
    CossimView view;
    const auto r = smallCossim();
    view.setResult(r);
    view.selectLayer(1);

    // Common range: the stored histogram.
    view.setZoomToLayer(false);
    QCPBarsDataContainer* bars = view.histogramBars()->data().data();
    QCOMPARE(bars->size(), 4);
    const double counts[4] = {3, 1, 0, 0};
    for (int i = 0; i < 4; ++i) {
        QCOMPARE_NEAR(bars->at(i)->value, counts[i], 0, 0);  // counts: exact
        QCOMPARE_NEAR(bars->at(i)->key, (r->histograms[0].edge(i) + r->histograms[0].edge(i + 1)) / 2, 1e-12, 0);
    }
    QCOMPARE_NEAR(view.histogramBars()->width(), r->histograms[0].binWidth(), 0, 0);  // copied: exact

    // Layer's own range: the same number of bins over min..max of its values.
    view.setZoomToLayer(true);
    bars = view.histogramBars()->data().data();
    const ls::Histogram own = ls::histogram(r->sorted[0], 4, r->sorted[0].front(), r->sorted[0].back());
    QCOMPARE(bars->size(), 4);
    for (int i = 0; i < 4; ++i)
        QCOMPARE_NEAR(bars->at(i)->value, double(own.counts[i]), 0, 0);  // counts: exact
    QCOMPARE(own.total(), qint64(4));
    // The marker stays inside the shown range.
    const double t = view.thresholdLine()->point1->key();
    QVERIFY(view.histogramPlot()->xAxis->range().contains(t));
}

void TestWidgetsLayers::cossimClickSelectsRow() {
    CossimView view;
    QVERIFY(showResult(view, smallCossim(), 1200, 800));
    QCustomPlot* plot = view.heatmapPlot();
    plot->replot();
    QSignalSpy spy(&view, &CossimView::layerSelected);
    const QPoint row3(int(plot->xAxis->coordToPixel(0.5)), int(plot->yAxis->coordToPixel(3.2)));
    QTest::mouseClick(plot, Qt::LeftButton, {}, row3);
    QCOMPARE(view.selectedLayer(), 3);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toInt(), 3);
    QCOMPARE(view.exitLayerSlider()->value(), 3);
    QCOMPARE(view.statsTable()->currentRow(), 2);
    // Hovering a cell shows its numbers.
    QTest::mouseMove(plot, row3);
    QTRY_VERIFY2(QToolTip::text().contains("Layer 3"), qPrintable(QToolTip::text()));
    QCOMPARE(QToolTip::text(), view.cellToolTip(3, 1));  // 0.5 is in [0.315, 0.53)
    // Layer 1 is drawn above layer 3 (reversed axis).
    QVERIFY(plot->yAxis->coordToPixel(1) < plot->yAxis->coordToPixel(3));

    // Clicking a row of the table selects the layer too.
    emit view.statsTable()->cellClicked(0, 2);
    QCOMPARE(view.selectedLayer(), 1);
    // And a bar of the means chart.
    QCustomPlot* means = view.meansPlot();
    means->replot();
    QTest::mouseClick(means, Qt::LeftButton, {},
                      QPoint(int(means->xAxis->coordToPixel(2)), int(means->yAxis->coordToPixel(0.5))));
    QCOMPARE(view.selectedLayer(), 2);
}

void TestWidgetsLayers::cossimThresholdsTable() {
    CossimView view;
    const auto r = smallCossim();
    view.setResult(r);
    QTableWidget* t = view.thresholdsTable();
    QCOMPARE(t->rowCount(), 3);
    // At the run's layer the table shows the result's own thresholds.
    for (int row = 0; row < 3; ++row) {
        QCOMPARE(t->item(row, 0)->text(), QStringLiteral("%1%").arg(std::lround(r->thresholds[row].hardRatio * 100)));
        QCOMPARE(t->item(row, 1)->text(), QString::number(r->thresholds[row].threshold, 'f', 5));
    }
    // It follows the exit layer.
    view.selectLayer(3);
    QCOMPARE(t->item(1, 1)->text(), QString::number(ls::cossimThreshold(*r, 3, 0.5).threshold, 'f', 5));
}

void TestWidgetsLayers::cossimClear() {
    CossimView view;
    view.setResult(smallCossim());
    view.clear();
    QVERIFY(!view.hasData());
    QCOMPARE(view.selectedLayer(), 0);
    QCOMPARE(view.statsTable()->rowCount(), 0);
    QCOMPARE(view.histogramBars()->data()->size(), 0);
    QCOMPARE(view.meanBars()->data()->size(), 0);
    QVERIFY(view.thresholdText().isEmpty());
    QVERIFY(!view.thresholdLine()->visible());
    QVERIFY(!view.exitLayerSlider()->isEnabled());
    view.selectLayer(2);  // no data: ignored
    view.setHardRatio(0.3);
    QCOMPARE(view.selectedLayer(), 0);
    view.setResult(nullptr);
    QVERIFY(!view.hasData());
}

void TestWidgetsLayers::cossimExport() {
    CossimView view;
    const auto r = smallCossim();
    QVERIFY(showResult(view, r));
    QTemporaryDir dir;
    QStringList written;
    QString error;
    const QList<QPair<QString, QCustomPlot*>> charts{{"cossim_heatmap", view.heatmapPlot()},
                                                     {"cossim_layer_histogram", view.histogramPlot()},
                                                     {"cossim_means", view.meansPlot()}};
    const std::vector<ls::Table> tables = ls::cossimTables(*r);
    QVERIFY2(exportAll(dir.path(), charts, tables, &written, &error), qPrintable(error));
    checkExport(dir.path(), {"cossim_heatmap", "cossim_layer_histogram", "cossim_means"}, tables, written);
    // The PNG is the size on screen.
    QCOMPARE(QImage(dir.filePath("cossim_heatmap.png")).size(), view.heatmapPlot()->size());
}

// ---- saturation ---------------------------------------------------------------------------

void TestWidgetsLayers::saturationCurves() {
    SaturationView view;
    QVERIFY(!view.hasData());
    view.setResult(smallSaturation());
    QVERIFY(view.hasData());
    QCPGraphDataContainer* rate = view.rateGraph()->data().data();
    QCOMPARE(rate->size(), 4);
    const double percent[4] = {20, 40, 60, 100};
    for (int l = 0; l < 4; ++l) {
        QCOMPARE_NEAR(rate->at(l)->key, double(l), 0, 0);  // layer numbers: exact
        QCOMPARE_NEAR(rate->at(l)->value, percent[l], 1e-9, 0);  // 100 x a fraction of counts
    }
    QCPGraphDataContainer* attn = view.postAttentionGraph()->data().data();
    QCOMPARE(attn->size(), 3);
    const double attnPercent[3] = {20, 60, 80};
    for (int i = 0; i < 3; ++i) {
        QCOMPARE_NEAR(attn->at(i)->key, i + 1 - 0.5, 0, 0);  // halves: exact
        QCOMPARE_NEAR(attn->at(i)->value, attnPercent[i], 1e-9, 0);
    }
    // Layer 0 is labelled "emb"; with 3 layers on a wide window the "l.attn" ticks fit.
    QVERIFY(showExposed(view));
    view.ratePlot()->replot();
    auto ticker = view.ratePlot()->xAxis->ticker().dynamicCast<QCPAxisTickerText>();
    QVERIFY(ticker);
    QCOMPARE(ticker->ticks().value(0.0), QStringLiteral("emb"));
    QCOMPARE(ticker->ticks().value(1.5), QStringLiteral("2.attn"));
    QVERIFY(view.ratePlot()->yAxis->range().contains(100));
    QVERIFY(view.postAttentionGraph()->visible());
    QVERIFY2(view.rateToolTip(2).contains("3 of 5 tokens (60.0%)"), qPrintable(view.rateToolTip(2)));
    QVERIFY2(view.rateToolTip(3, true).contains("3.attn"), qPrintable(view.rateToolTip(3, true)));
}

void TestWidgetsLayers::saturationWithoutPostAttention() {
    SaturationView view;
    view.setResult(smallSaturation(false));
    QCOMPARE(view.postAttentionGraph()->data()->size(), 0);
    QCOMPARE(view.ratePlot()->legend->itemCount(), 1);
    QVERIFY(view.table()->isColumnHidden(3));
    QVERIFY(view.rateToolTip(1, true).isEmpty());
}

void TestWidgetsLayers::saturationHistogramAndLoss() {
    SaturationView view;
    view.setResult(smallSaturation());
    QCPBarsDataContainer* hist = view.histogramBars()->data().data();
    QCOMPARE(hist->size(), 3);
    const double counts[3] = {1, 2, 2};
    for (int i = 0; i < 3; ++i) {
        QCOMPARE_NEAR(hist->at(i)->key, double(i + 1), 0, 0);  // layer numbers and counts: exact
        QCOMPARE_NEAR(hist->at(i)->value, counts[i], 0, 0);
    }
    QVERIFY2(view.histogramToolTip(2).contains("2 tokens (40.00%)"), qPrintable(view.histogramToolTip(2)));

    // Saturated tokens at every layer; unsaturated ones up to layer 2 (none at L).
    QCPBarsDataContainer* sat = view.saturatedLossBars()->data().data();
    QCPBarsDataContainer* unsat = view.unsaturatedLossBars()->data().data();
    QCOMPARE(sat->size(), 4);
    QCOMPARE(unsat->size(), 3);
    const double satLoss[4] = {1, 1.5, 3, 3}, unsatLoss[3] = {3.5, 4, 3};
    for (int l = 0; l < 4; ++l)
        QCOMPARE_NEAR(sat->at(l)->value, satLoss[l], 1e-9, 0);  // mean losses
    for (int l = 0; l < 3; ++l)
        QCOMPARE_NEAR(unsat->at(l)->value, unsatLoss[l], 1e-9, 0);
    // Grouped: the two bars of a layer side by side, not on top of each other.
    QVERIFY(view.saturatedLossBars()->barsGroup() == view.unsaturatedLossBars()->barsGroup());
    QVERIFY(view.saturatedLossBars()->barsGroup() != nullptr);
    QCPGraphDataContainer* diff = view.lossDifferenceGraph()->data().data();
    QCOMPARE(diff->size(), 3);
    const double difference[3] = {2.5, 2.5, 0};
    for (int l = 0; l < 3; ++l)
        QCOMPARE_NEAR(diff->at(l)->value, difference[l], 1e-9, 0);
    const QString tip = view.lossToolTip(1);
    QVERIFY2(tip.contains("mean loss 1.500") && tip.contains("mean loss 4.000") && tip.contains("2.500 nats"),
             qPrintable(tip));
}

void TestWidgetsLayers::saturationTable() {
    SaturationView view;
    view.setResult(smallSaturation());
    QTableWidget* t = view.table();
    QCOMPARE(t->rowCount(), 4);
    QCOMPARE(t->item(0, 0)->text(), QStringLiteral("emb"));
    QCOMPARE(t->item(0, 7)->text(), QStringLiteral("–"));  // no saturation layer 0
    QCOMPARE(t->item(2, 1)->text(), QStringLiteral("3"));
    QCOMPARE(t->item(2, 2)->text(), QStringLiteral("60.0%"));
    QCOMPARE(t->item(2, 3)->text(), QStringLiteral("60.0%"));  // a_2
    QCOMPARE(t->item(1, 6)->text(), QStringLiteral("2.500"));
    QCOMPARE(t->item(3, 5)->text(), QStringLiteral("–"));  // every token saturated at L
    QCOMPARE(t->item(3, 7)->text(), QStringLiteral("2"));
    QVERIFY(!t->isColumnHidden(3));
    view.clear();
    QCOMPARE(t->rowCount(), 0);
    QVERIFY(!view.hasData());
}

void TestWidgetsLayers::saturationExport() {
    SaturationView view;
    const auto r = smallSaturation();
    QVERIFY(showResult(view, r));

    const std::vector<ls::Table> tables = ls::saturationTables(*r, smallSaturationCapture(), false);
    QCOMPARE(int(tables.size()), 3);  // layers, histogram, post-attention
    // Through the view's own button: "everything to a folder".
    checkExportEverything(view.exportButton(), {"saturation_rate", "saturation_layers", "saturation_loss"}, tables);
}

// ---- the export button -------------------------------------------------------------------

void TestWidgetsLayers::exportButtonMenu() {
    CossimView view;
    const auto r = smallCossim();
    QVERIFY(showResult(view, r));
    ExportButton* button = view.exportButton();
    QCOMPARE(button->text(), QStringLiteral("Export…"));
    QTemporaryDir dir;
    QString suggested;
    button->setPathChooser([&](const QString& s, const QString&) {
        suggested = s;
        return dir.filePath(QFileInfo(s).fileName());
    });
    QSignalSpy exported(button, &ExportButton::exported);
    QSignalSpy failed(button, &ExportButton::failed);
    emit button->menu()->aboutToShow();

    // Every chart in every format, every table as CSV.
    for (const QString& stem : {"cossim_heatmap", "cossim_layer_histogram", "cossim_means"})
        for (const QString& suffix : {"png", "pdf", "svg"}) {
            QAction* action = findAction(button->menu(), QStringLiteral("export_%1_%2").arg(stem, suffix));
            QVERIFY2(action, qPrintable(stem + "." + suffix));
            action->trigger();
            QCOMPARE(QFileInfo(suggested).fileName(), stem + "." + suffix);
            const QString path = dir.filePath(stem + "." + suffix);
            QCOMPARE(exported.last().at(0).toString(), path);
            QVERIFY(QFileInfo(path).size() > 1000);
        }
    const QImage means(dir.filePath("cossim_means.png"));
    QVERIFY(colouredPixels(means) > 500);
    for (const ls::Table& table : ls::cossimTables(*r)) {
        const QString name = QString::fromStdString(table.name);
        QAction* action = findAction(button->menu(), QStringLiteral("export_%1_csv").arg(name));
        QVERIFY2(action, qPrintable(name));
        action->trigger();
        QCOMPARE(readAll(dir.filePath(name + ".csv")), QByteArray::fromStdString(ls::toCsv(table)));
    }
    QCOMPARE(exported.count(), 9 + 4);
    QCOMPARE(failed.count(), 0);
    // No .partial files left behind.
    QCOMPARE(QDir(dir.path()).entryList({"*.partial"}, QDir::Files).size(), 0);

    // Canceling the file dialog writes nothing and reports nothing.
    button->setPathChooser([](const QString&, const QString&) { return QString(); });
    findAction(button->menu(), "export_cossim_means_png")->trigger();
    QCOMPARE(exported.count(), 13);
    QCOMPARE(failed.count(), 0);

    // A failed write is reported with the file's name.
    const QString bad = dir.filePath("missing/sub/cossim_layers.csv");
    button->setPathChooser([&](const QString&, const QString&) { return bad; });
    findAction(button->menu(), "export_cossim_layers_csv")->trigger();
    QCOMPARE(failed.count(), 1);
    QVERIFY2(failed.at(0).at(0).toString().contains(bad), qPrintable(failed.at(0).at(0).toString()));
}

void TestWidgetsLayers::exportAllReportsFailure() {
    QTemporaryDir dir;
    QFile blocker(dir.filePath("file"));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    ls::Table table{"t", "T", {}};
    table.add("x", ls::Column::Kind::Integer).numbers = {1, 2};
    QStringList written;
    QString error;
    // The folder cannot be created: a file is in the way.
    QVERIFY(!exportAll(dir.filePath("file/sub"), {}, {table}, &written, &error));
    QVERIFY2(error.contains(dir.filePath("file/sub")), qPrintable(error));
    QVERIFY(written.isEmpty());
    // Tables only, into a new folder.
    QVERIFY2(exportAll(dir.filePath("new"), {}, {table}, &written, &error), qPrintable(error));
    QCOMPARE(written, (QStringList{dir.filePath("new/t.csv"), dir.filePath("new/manifest.json")}));
    QCOMPARE(readAll(written.front()), QByteArray("x\n1\n2\n"));
}

// ---- realistic size -----------------------------------------------------------------------

void TestWidgetsLayers::realisticScreenshots() {
    const QString shots = qEnvironmentVariable("LAYERSCOPE_SCREENSHOT_DIR");
    const ls::CaptureResult capture = realisticCapture(true);
    ls::CossimParams params;
    params.layer = 29;
    auto cossim = std::make_shared<const ls::CossimResult>(ls::analyseCossim(capture, params));
    QStringList special;
    for (const ls::CossimLayer& l : cossim->layers)
        if (l.special)
            special << QString::number(l.layer);
    QCOMPARE(special, (QStringList{"1", "25", "30"}));

    CossimView cv;
    cv.setResult(cossim);
    cv.setHardRatio(0.3);
    QVERIFY(showExposed(cv));
    QCOMPARE(cv.colorMap()->data()->valueSize(), 30);
    QCOMPARE(cv.colorMap()->data()->keySize(), 60);
    QCOMPARE(cv.specialBars()->data()->size(), 3);
    checkScreenshot(cv, "cossim_view.png");

    SaturationView sv;
    QVERIFY(showResult(sv, std::make_shared<const ls::SaturationResult>(ls::analyseSaturation(capture))));
    QCOMPARE(sv.rateGraph()->data()->size(), 31);
    QCOMPARE(sv.postAttentionGraph()->data()->size(), 30);
    checkScreenshot(sv, "saturation_view.png");

    // A small model: 4 layers, no post-attention lens.
    ls::CaptureResult small = realisticCapture(false);
    small.numLayers = 4;
    small.cossim.resize(4);
    small.lensTop1.erase(small.lensTop1.begin() + 4, small.lensTop1.end() - 1);
    params.layer = 3;
    CossimView cv4;
    cv4.resize(1400, 900);
    cv4.setResult(std::make_shared<const ls::CossimResult>(ls::analyseCossim(small, params)));
    SaturationView sv4;
    sv4.resize(1400, 900);
    sv4.setResult(std::make_shared<const ls::SaturationResult>(ls::analyseSaturation(small)));
    cv4.show();
    sv4.show();
    QVERIFY(QTest::qWaitForWindowExposed(&cv4));
    QVERIFY(QTest::qWaitForWindowExposed(&sv4));
    QCOMPARE(sv4.rateGraph()->data()->size(), 5);
    if (!shots.isEmpty()) {
        QVERIFY(cv4.grab().save(QDir(shots).filePath("cossim_view_4.png")));
        QVERIFY(sv4.grab().save(QDir(shots).filePath("saturation_view_4.png")));
    }
    // Narrow, as in the main window next to a dock, the threshold near the right edge.
    cv4.resize(1000, 800);
    cv4.setHardRatio(0.8);
    QTest::qWait(50);
    cv4.histogramPlot()->replot();
    if (!shots.isEmpty())
        QVERIFY(cv4.grab().save(QDir(shots).filePath("cossim_view_narrow.png")));
}

// ---- lens divergence -----------------------------------------------------------------------

namespace {

// L = 3 with the lens after attention: token t's KL at block l is (3 - l) * (t + 1) / 10
// (t = 0..9: mean (3 - l) * 0.55; 0 at layer 3, as in a real run); after attention l,
// (3.5 - l) * (t + 1) / 10.
std::shared_ptr<const ls::LensDivResult> smallLensDiv() {
    auto r = std::make_shared<ls::LensDivResult>();
    r->numLayers = 3;
    r->tokens = 10;
    auto addRow = [&](int layer, const char* stage, double scale, double ce) {
        ls::LensDivRow row;
        row.layer = layer;
        row.stage = stage;
        for (int t = 0; t < 10; ++t) row.tokenKl.push_back(static_cast<float>(scale * (t + 1) / 10.0));
        row.klToFinal = scale * 0.55;
        row.crossEntropy = ce;
        row.entropy = ce - 0.5;
        row.top1Accuracy = 0.1 * layer;
        r->rows.push_back(row);
    };
    for (int l = 0; l <= 3; ++l) addRow(l, "block", 3 - l, 5.0 - l);
    for (int l = 1; l <= 3; ++l) addRow(l, "attention", 3.5 - l, 5.5 - l);
    return r;
}

}  // namespace

void TestWidgetsLayers::lensDivCurvesAndTable() {
    LensDivView view;
    view.setResult(smallLensDiv());
    QVERIFY(view.hasData());
    // KL per layer: blocks at l, attention at l - 0.5.
    QCOMPARE(view.klGraph()->data()->size(), 4);
    QCOMPARE(view.klGraph(true)->data()->size(), 3);
    QCOMPARE_NEAR(view.klGraph()->data()->at(0)->value, 1.65, 1e-12, 0);
    QCOMPARE_NEAR(view.klGraph(true)->data()->at(0)->key, 0.5, 1e-12, 0);
    QCOMPARE(view.crossEntropyGraph()->data()->size(), 4);
    // One box per block layer: the per-token KL's median at layer 0 is 3 * 5.5 / 10.
    QCOMPARE(view.klBoxes()->data()->size(), 4);
    QCOMPARE_NEAR(view.klBoxes()->data()->at(0)->median, 1.65, 1e-6, 0);
    // The table in residual-stream order: emb, 1.attn, 1, 2.attn, 2, 3.attn, 3.
    QTableWidget* t = view.table();
    QCOMPARE(t->rowCount(), 7);
    QCOMPARE(t->item(0, 0)->text(), QStringLiteral("emb"));
    QCOMPARE(t->item(1, 0)->text(), QStringLiteral("1.attn"));
    QCOMPARE(t->item(2, 0)->text(), QStringLiteral("1"));
    QCOMPARE(t->item(1, 1)->text(), QStringLiteral("1.3750"));  // (3.5 - 1) * 0.55
    QVERIFY(view.summaryLabel()->text().contains(QStringLiteral("10 tokens")));
    QVERIFY(view.rowToolTip(4).contains(QStringLiteral("after attention")));
    view.setResult(nullptr);
    QVERIFY(!view.hasData());
    QCOMPARE(t->rowCount(), 0);
    QCOMPARE(view.klGraph()->data()->size(), 0);
}

void TestWidgetsLayers::lensDivLogScale() {
    LensDivView view;
    view.setResult(smallLensDiv());
    view.logScaleBox()->setChecked(true);
    QCOMPARE(view.klPlot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
    // Layer 3's KL is 0: not drawn on a log axis (NaN), nor its box.
    QVERIFY(std::isnan(view.klGraph()->data()->at(3)->value));
    QCOMPARE(view.klBoxes()->data()->size(), 3);
    QVERIFY(view.klPlot()->yAxis->range().lower > 0);
    view.logScaleBox()->setChecked(false);
    QCOMPARE(view.klPlot()->yAxis->scaleType(), QCPAxis::stLinear);
    QCOMPARE_NEAR(view.klGraph()->data()->at(3)->value, 0.0, 0, 0);  // the value set in smallLensDiv
    QCOMPARE(view.klBoxes()->data()->size(), 4);
}

void TestWidgetsLayers::lensDivExport() {
    LensDivView view;
    const auto r = smallLensDiv();
    QVERIFY(showResult(view, r));
    const std::vector<ls::Table> tables = view.tables();
    QCOMPARE(tables.size(), size_t(1));
    QCOMPARE(tables[0].name, std::string("lensdiv_layers"));
    // Through the view's own button: "everything to a folder".
    checkExportEverything(view.exportButton(), {"lensdiv_kl", "lensdiv_loss", "lensdiv_kl_distribution"}, tables);
}

QTEST_MAIN(TestWidgetsLayers)
#include "test_widgets_layers.moc"
