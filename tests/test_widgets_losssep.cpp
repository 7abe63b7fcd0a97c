// The loss-separation and early-exit views, offscreen, on capture results built by hand (a
// few layers, a few hundred tokens with known metrics) and summarised by the core's own
// ls::analyseLossSeparation / ls::analyseEarlyExit: what LossSepView draws (Oracle-ratio bar
// heights, the layer x method grid's cells, the histogram and its markers, every table's
// cells, the probe and low-rank tabs only when present), that EarlyExitView's sliders give
// exactly what ls::ExitSimulator::evaluate returns for the slider's threshold (one threshold
// and one per layer), that changing the signal or the allowed layers rebuilds the simulator
// (also in a worker), the sweep and Pareto front, and export. A 250,000-token x 30-layer run
// measures a slider step (printed, not asserted). LAYERSCOPE_SCREENSHOT_DIR saves the views.
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QLocale>
#include <QSlider>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>
#include <cmath>
#include <memory>
#include <qcustomplot.h>
#include <random>

#include "analysis/capture_pass.h"
#include "analysis/early_exit.h"
#include "analysis/losssep.h"
#include "analysis/probes.h"
#include "early_exit_view.h"
#include "export_menu.h"
#include "io/table.h"
#include "losssep_view.h"
#include "test_support.h"
#include "widget_test_support.h"

using namespace ls::widgets;

namespace {

// L layers x N tokens. Half the tokens are easy (loss 0.2..2.8), half hard (6..12). The lens
// metrics get closer to the loss with depth (noisy early); the answer's log-probability at
// layer L is exactly -loss, so p(correct) at L splits like the Oracle (100 %). Easy tokens
// saturate (lens top-1 = final top-1) early, hard ones late. allMetrics = false fills only
// confidence and the answer's log-probability (what the early-exit simulator reads).
ls::CaptureResult syntheticCapture(int L, int N, unsigned seed, bool allMetrics = true, bool cossim = true) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.f, 1.f);
    std::uniform_real_distribution<float> uniform(0.f, 1.f);
    ls::CaptureResult c;
    c.numLayers = L;
    c.hiddenSize = 16;
    c.windows = 1;
    c.loss.resize(size_t(N));
    c.targetIndex.resize(size_t(N));
    c.targetId.resize(size_t(N));
    c.metrics.assign(size_t(L), ls::LayerMetrics{});
    for (ls::LayerMetrics& m : c.metrics) {
        m.confidence.resize(size_t(N));
        m.correctLogProb.resize(size_t(N));
        if (allMetrics) {
            m.maxLogit.resize(size_t(N));
            m.maxMinusMean.resize(size_t(N));
            m.margin.resize(size_t(N));
            m.entropy.resize(size_t(N));
        }
    }
    if (cossim)
        c.cossim.assign(size_t(L), std::vector<float>(size_t(N)));
    c.lensTop1.assign(size_t(L) + 1, std::vector<int32_t>(size_t(N)));
    for (int t = 0; t < N; ++t) {
        const bool easy = t % 2 == 0;
        const float loss = easy ? 0.2f + 2.6f * uniform(rng) : 6.f + 6.f * uniform(rng);
        const float d = loss / 12.f;  // difficulty 0..1
        c.loss[size_t(t)] = loss;
        c.targetIndex[size_t(t)] = t + 1;
        c.targetId[size_t(t)] = t % 997;
        const int32_t final = t % 997;
        const int sat = std::clamp(1 + int(d * L + noise(rng)), 1, L);
        for (int l = 0; l <= L; ++l)
            c.lensTop1[size_t(l)][size_t(t)] = l >= sat ? final : final + 1000 + l;
        for (int l = 1; l <= L; ++l) {
            const float depth = float(l) / float(L);
            ls::LayerMetrics& m = c.metrics[size_t(l - 1)];
            // Partly informative even at L (as in the notes: inference-time metrics fall short).
            const float conf = std::clamp(depth * std::exp(-0.5f * loss) + (1.f - depth) * 0.5f * uniform(rng) +
                                              0.2f * noise(rng),
                                          0.001f, 0.999f);
            m.confidence[size_t(t)] = conf;
            m.correctLogProb[size_t(t)] = l == L ? -loss : -(loss + float(L - l) * 0.6f * uniform(rng));
            if (allMetrics) {
                m.maxLogit[size_t(t)] = 5.f + 3.f * depth * (1.f - d) + noise(rng);
                m.maxMinusMean[size_t(t)] = m.maxLogit[size_t(t)] + 5.f + 0.5f * noise(rng);
                m.margin[size_t(t)] = std::abs(noise(rng)) * (1.f - d) * depth;
                m.entropy[size_t(t)] = -std::log(conf) + 0.3f * std::abs(noise(rng));
            }
            if (cossim)
                c.cossim[size_t(l - 1)][size_t(t)] =
                    std::clamp(0.5f + 0.45f * depth + 0.05f * (1.f - d) + 0.02f * noise(rng), -1.f, 1.f);
        }
    }
    return c;
}

// Low-rank versions of the final-layer metrics at ranks 4 and 8 (the exact ones plus noise).
void addLowRankMetrics(ls::CaptureResult& c) {
    std::mt19937 rng(3);
    std::normal_distribution<float> noise(0.f, 1.f);
    for (int rank : {4, 8}) {
        ls::LowRankMetrics k;
        k.rank = rank;
        k.metrics = c.metrics.back();
        k.metrics.correctLogProb.clear();
        for (std::vector<float>* v : {&k.metrics.confidence, &k.metrics.maxLogit, &k.metrics.maxMinusMean,
                                      &k.metrics.margin, &k.metrics.entropy})
            for (float& x : *v)
                x += (rank == 4 ? 0.5f : 0.2f) * noise(rng);
        c.lowRankMetrics.push_back(k);
    }
}

ls::ProbeResult someProbes() {
    ls::ProbeResult p;
    p.layer = 4;
    p.sampleTokens = 400;
    auto row = [](const char* arch, const char* task, double pearson, double ratio) {
        ls::ProbeRow r;
        r.architecture = arch;
        r.task = task;
        r.trainTokens = 288;
        r.validationTokens = 32;
        r.testTokens = 80;
        r.epochs = 7;
        r.mse = 17.9;
        r.pearson = pearson;
        r.r2 = pearson * pearson;
        r.accuracy = 0.768;
        r.f1Easy = 0.86;
        r.f1Hard = 0.55;
        r.easyPct = 50;
        r.easyLoss = 4.08;
        r.hardLoss = 4.08 + 7.31 * ratio;
        r.lossDiff = 7.31 * ratio;
        r.oracleRatio = ratio;
        if (std::string(task) != "regression" && std::string(task) != "classification")
            r.easyPct = r.easyLoss = r.hardLoss = r.lossDiff = r.oracleRatio = std::nan("");
        return r;
    };
    p.rows = {row("linear", "regression", 0.258, 0.17),        row("mlp2_128", "regression", 0.344, 0.33),
              row("linear", "classification", std::nan(""), 0.38), row("mlp2_128", "classification", std::nan(""), 0.42),
              row("mlp2_128", "confidence", 0.827, 0),          row("mlp2_128", "max_minus_mean", 0.912, 0)};
    return p;
}

// A number as a table shows it: "27.4%", "0.292", "1,234".
double cellNumber(const QTableWidget* table, int row, int column) {
    const QTableWidgetItem* item = table->item(row, column);
    if (!item)
        return std::nan("");
    QString text = item->text();
    text.remove('%').remove(QLocale().groupSeparator());
    bool ok = false;
    const double v = QLocale().toDouble(text.trimmed(), &ok);
    return ok ? v : std::nan("");
}


void screenshot(QWidget* widget, const QString& name) {
    const QString dir = qEnvironmentVariable("LAYERSCOPE_SCREENSHOT_DIR");
    if (dir.isEmpty())
        return;
    QTest::qWait(30);  // queued replots
    QVERIFY(widget->grab().save(QDir(dir).filePath(name)));
}

// Exact equality: the view must show what the simulator returns, not something close.
bool sameOutcome(const ls::ExitOutcome& a, const ls::ExitOutcome& b) {
    return a.exits == b.exits && a.tokens == b.tokens && a.exitFraction == b.exitFraction &&
           a.meanLayers == b.meanLayers && a.computeSaved == b.computeSaved && a.top1Agreement == b.top1Agreement &&
           a.ppl == b.ppl;
}

QString pct(double fraction) { return QStringLiteral("%1%").arg(100.0 * fraction, 0, 'f', 1); }

double barValue(QCPBars* bars, double key) {
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
        if (std::abs(it->key - key) < 1e-9)
            return it->value;
    return std::nan("");
}

constexpr int kL = 4;
constexpr int kN = 400;

}  // namespace

class TestWidgetsLossSep : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();

    void lossSepEmpty();
    void lossSepBars();
    void lossSepGrid();
    void lossSepHistogram();
    void lossSepTables();
    void lossSepProbesAndLowRank();
    void lossSepExport();

    void exitInitialState();
    void exitSliderMatchesSimulator();
    void exitSpinIsExact();
    void exitPerLayerPolicy();
    void exitSignalAndLayers();
    void exitRebuildInWorker();
    void exitParetoAndPpl();
    void exitExport();
    void exitSliderSpeed();

private:
    std::shared_ptr<const ls::CaptureResult> capture_;
    std::shared_ptr<const ls::LossSepResult> lossSep_;
    std::shared_ptr<const ls::ExitResult> exit_;
};

void TestWidgetsLossSep::initTestCase() {
    capture_ = std::make_shared<const ls::CaptureResult>(syntheticCapture(kL, kN, 11));
    ls::LossSepParams params;
    params.bins = 30;
    lossSep_ = std::make_shared<const ls::LossSepResult>(ls::analyseLossSeparation(*capture_, params));
    ls::ExitParams exit;
    exit.signal = "confidence";
    exit_ = std::make_shared<const ls::ExitResult>(ls::analyseEarlyExit(*capture_, exit));
    QCOMPARE(lossSep_->numLayers, kL);
    QCOMPARE(exit_->params.layers, (std::vector<int>{1, 2, 3}));
}

// ---- loss separation ------------------------------------------------------------------------

void TestWidgetsLossSep::lossSepEmpty() {
    LossSepView view;
    QVERIFY(!view.hasData());
    QVERIFY(view.barRows().empty());
    QVERIFY(view.ratioBars().size() == 4);
    for (QCPBars* bars : view.ratioBars())
        QVERIFY(bars->data()->isEmpty());
    QCOMPARE(view.comparisonTable()->rowCount(), 0);
    QVERIFY(!view.exportButton()->isEnabled());
    view.setResult(lossSep_);
    QVERIFY(view.hasData());
    view.clear();
    QVERIFY(!view.hasData());
    QCOMPARE(view.thresholdTable()->rowCount(), 0);
    QVERIFY(!view.gridMap()->visible());
}

void TestWidgetsLossSep::lossSepBars() {
    LossSepView view;
    view.setResult(lossSep_);
    const std::vector<ls::PredictorRow>& rows = view.barRows();
    // Metrics at L (5), p(correct) at L, the Oracle: the final comparison without probes.
    QCOMPARE(int(rows.size()), 7);
    const QStringList expected{"confidence", "max_z", "max_minus_mean", "margin", "entropy", "correct_prob", "oracle"};
    int drawn = 0;
    for (QCPBars* bars : view.ratioBars())
        drawn += bars->data()->size();
    QCOMPARE(drawn, 7);
    for (int i = 0; i < int(rows.size()); ++i) {
        QCOMPARE(QString::fromStdString(rows[size_t(i)].method), expected[i]);
        QCOMPARE(rows[size_t(i)].layer, kL);
        // The same row as the result's, drawn at its Oracle ratio in percent.
        const ls::PredictorRow* want = nullptr;
        for (const ls::PredictorRow& p : lossSep_->predictors)
            if (p.method == rows[size_t(i)].method && p.layer == kL)
                want = &p;
        QVERIFY(want);
        QCOMPARE_NEAR(rows[size_t(i)].split.oracleRatio, want->split.oracleRatio, 0, 0);  // the row itself, copied
        QCOMPARE_NEAR(view.drawnRatio(i), 100 * want->split.oracleRatio, 1e-9, 0);
        QVERIFY(view.barToolTip(i).contains(QStringLiteral("%1%").arg(100 * want->split.oracleRatio, 0, 'f', 1)));
    }
    // The answer's probability at L splits as the Oracle does: both at 100 %.
    QCOMPARE_NEAR(view.drawnRatio(5), 100.0, 1e-9, 0);
    QCOMPARE_NEAR(view.drawnRatio(6), 100.0, 1e-9, 0);
    // Colours by kind: metrics, (no probes), answer, Oracle.
    QCOMPARE(view.ratioBars()[0]->data()->size(), 5);
    QCOMPARE(view.ratioBars()[1]->data()->size(), 0);
    QCOMPARE(view.ratioBars()[2]->data()->size(), 1);
    QCOMPARE(view.ratioBars()[3]->data()->size(), 1);
    QVERIFY(view.barToolTip(7).isEmpty());
    // Inference-time metrics separate less than the Oracle here.
    for (int i = 0; i < 5; ++i)
        QVERIFY(view.drawnRatio(i) < 100);
}

void TestWidgetsLossSep::lossSepGrid() {
    LossSepView view;
    QVERIFY(showResult(view, lossSep_));
    const std::vector<ls::MetricInfo>& metrics = ls::separationMetrics();
    QCPColorMapData* data = view.gridMap()->data();
    QCOMPARE(data->keySize(), kL);
    QCOMPARE(data->valueSize(), int(metrics.size()));
    int checked = 0;
    for (const ls::PredictorRow& p : lossSep_->predictors) {
        int m = -1;
        for (int i = 0; i < int(metrics.size()); ++i)
            if (p.method == metrics[size_t(i)].name)
                m = i;
        if (m < 0)
            continue;  // the Oracle
        QCOMPARE_NEAR(data->cell(p.layer - 1, m), 100 * p.split.oracleRatio, 0, 0);  // the view's same product: exact
        // The cell's centre is at (layer, method) in plot coordinates.
        double key = 0, value = 0;
        data->cellToCoord(p.layer - 1, m, &key, &value);
        QCOMPARE_NEAR(key, double(p.layer), 1e-12, 0);  // QCustomPlot scales index / (size - 1) x range
        QCOMPARE_NEAR(value, double(m), 1e-12, 0);
        const QString tip = view.cellToolTip(m, p.layer);
        QVERIFY2(tip.contains(QString::fromStdString(p.method)) && tip.contains(QString("layer %1").arg(p.layer)),
                 qPrintable(tip));
        QVERIFY2(tip.contains(QString("Pearson r %1").arg(p.pearson, 0, 'f', 3)), qPrintable(tip));
        ++checked;
    }
    QCOMPARE(checked, kL * int(metrics.size()));
    // The colour scale spans 0 % (or below) .. 100 % (or above).
    QVERIFY(view.gridScale()->dataRange().lower <= 0);
    QVERIFY(view.gridScale()->dataRange().upper >= 100);
    QVERIFY(view.cellToolTip(0, kL + 1).isEmpty());
    QVERIFY(view.cellToolTip(int(metrics.size()), 1).isEmpty());
    // Depth helps: confidence separates better at L than at layer 1 (the data is built so).
    QVERIFY(data->cell(kL - 1, 1) > data->cell(0, 1));
    screenshot(&view, "losssep-small.png");
}

void TestWidgetsLossSep::lossSepHistogram() {
    LossSepView view;
    view.setResult(lossSep_);
    const ls::LossDistribution& d = lossSep_->distribution;
    double total = 0;
    int bins = 0;
    for (QCPBars* bars : {view.histogramBars()}) {
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) {
            QVERIFY(it->key <= d.median);  // easy side
            total += it->value;
            ++bins;
        }
    }
    // The hard side is drawn by a second container on the same plot.
    for (int i = 0; i < view.histogramPlot()->plottableCount(); ++i) {
        auto* bars = qobject_cast<QCPBars*>(view.histogramPlot()->plottable(i));
        if (!bars || bars == view.histogramBars())
            continue;
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) {
            QVERIFY(it->key > d.median);
            total += it->value;
            ++bins;
        }
    }
    QCOMPARE(bins, 30);
    QCOMPARE_NEAR(total, double(kN), 0, 0);  // a sum of counts: exact
    QVERIFY(view.medianLine()->visible());
    QCOMPARE_NEAR(view.medianLine()->point1->key(), d.median, 0, 0);  // the result's numbers, copied: exact
    QCOMPARE_NEAR(view.easyMeanLine()->point1->key(), d.oracle.easyLoss, 0, 0);
    QCOMPARE_NEAR(view.hardMeanLine()->point1->key(), d.oracle.hardLoss, 0, 0);
    // Bimodal by construction: easy mean below 3, hard mean above 6.
    QVERIFY(d.oracle.easyLoss < 3 && d.oracle.hardLoss > 6);
    QVERIFY(view.summaryText().contains(QString("Loss Diff %1").arg(d.oracle.lossDiff, 0, 'f', 2)));
    QVERIFY(view.summaryText().contains(QString("Cohen's d %1").arg(d.cohensD, 0, 'f', 2)));
}

void TestWidgetsLossSep::lossSepTables() {
    LossSepView view;
    view.setResult(lossSep_);
    // Final comparison: the bars' rows, same numbers.
    const QTableWidget* cmp = view.comparisonTable();
    QCOMPARE(cmp->rowCount(), int(view.barRows().size()));
    QCOMPARE(cmp->horizontalHeaderItem(6)->text(), QString("Loss Diff"));
    QCOMPARE(cmp->horizontalHeaderItem(7)->text(), QString("Oracle ratio"));
    for (int r = 0; r < cmp->rowCount(); ++r) {
        const ls::PredictorRow& p = view.barRows()[size_t(r)];
        // Shown with 2 (percent: 1) decimals: half a unit of the last digit.
        QCOMPARE_NEAR(cellNumber(cmp, r, 6), p.split.lossDiff, 0.005 + 1e-9, 0);
        QCOMPARE_NEAR(cellNumber(cmp, r, 7), 100 * p.split.oracleRatio, 0.05 + 1e-9, 0);
        QCOMPARE_NEAR(cellNumber(cmp, r, 4), p.split.easyLoss, 0.005 + 1e-9, 0);
        QCOMPARE_NEAR(cellNumber(cmp, r, 5), p.split.hardLoss, 0.005 + 1e-9, 0);
        QCOMPARE(cmp->item(r, 0)->toolTip(), QString::fromStdString(p.method));
    }
    QCOMPARE(cmp->item(cmp->rowCount() - 1, 7)->text(), QString("100.0%"));

    // Threshold table: correct_prob and confidence at 0.01 / 0.02 / 0.05 / median.
    const QTableWidget* th = view.thresholdTable();
    QCOMPARE(th->rowCount(), int(lossSep_->thresholds.size()));
    QCOMPARE(th->rowCount(), 8);
    for (int r = 0; r < th->rowCount(); ++r) {
        const ls::ThresholdRow& t = lossSep_->thresholds[size_t(r)];
        if (t.rule == "median")
            QVERIFY2(th->item(r, 1)->text().startsWith("Median"), qPrintable(th->item(r, 1)->text()));
        else
            QCOMPARE(th->item(r, 1)->text(), QString::fromStdString(t.rule));
        QCOMPARE_NEAR(cellNumber(th, r, 2), t.split.easyPct, 0.05 + 1e-9, 0);  // half the last shown digit
        QCOMPARE_NEAR(cellNumber(th, r, 3), t.split.hardPct, 0.05 + 1e-9, 0);
        QCOMPARE_NEAR(cellNumber(th, r, 6), t.split.lossDiff, 0.005 + 1e-9, 0);
    }
    // The median split of p(correct) is the Oracle's.
    QCOMPARE(th->item(3, 6)->text(), QString::number(lossSep_->distribution.oracle.lossDiff, 'f', 2));

    // High-confidence subsets: N tokens, %, one correlation per inference metric, and the
    // tokens below the threshold (together all tokens).
    const QTableWidget* sub = view.subsetTable();
    QCOMPARE(sub->rowCount(), 6);
    QCOMPARE(sub->columnCount(), 4 + 5 + 3);
    for (int r = 0; r < sub->rowCount(); ++r) {
        const ls::SubsetRow& s = lossSep_->subsets[size_t(r)];
        QCOMPARE_NEAR(cellNumber(sub, r, 0), s.minConfidence, 0, 0);  // a short constant, shown in full
        QCOMPARE_NEAR(cellNumber(sub, r, 1), double(s.tokens), 0, 0);   // a count
        for (int m = 0; m < 5; ++m)
            if (std::isfinite(s.pearson[size_t(m)]))
                QCOMPARE_NEAR(cellNumber(sub, r, 4 + m), s.pearson[size_t(m)], 5e-5 + 1e-9, 0);  // 4 decimals shown
            else
                QCOMPARE(sub->item(r, 4 + m)->text(), QString("–"));
        QCOMPARE_NEAR(cellNumber(sub, r, 9) + cellNumber(sub, r, 1), double(kN), 0, 0);  // counts
        QCOMPARE_NEAR(cellNumber(sub, r, 10) + s.pct, 100.0, 0.05 + 1e-9, 0);            // 1 decimal shown
        if (s.lowTokens > 0)
            QCOMPARE_NEAR(cellNumber(sub, r, 11), s.lowMeanLoss, 0.005 + 1e-9, 0);
    }
    // Loss distribution.
    const QTableWidget* dist = view.distributionTable();
    QCOMPARE_NEAR(cellNumber(dist, 0, 1), double(kN), 0, 0);  // a count
    QCOMPARE_NEAR(cellNumber(dist, 1, 1), lossSep_->distribution.summary.mean, 0.005 + 1e-9, 0);  // 2 decimals shown

    // No probes, no low-rank metrics: their tabs are hidden.
    QTabWidget* tabs = view.tableTabs();
    QVERIFY(!tabs->isTabVisible(tabs->indexOf(view.probesPage())));
    QVERIFY(!tabs->isTabVisible(tabs->indexOf(view.lowRankPage())));
    QCOMPARE(tabs->tabText(0), QString("Final comparison"));
}

void TestWidgetsLossSep::lossSepProbesAndLowRank() {
    ls::CaptureResult c = syntheticCapture(kL, kN, 11);
    addLowRankMetrics(c);
    const ls::ProbeResult probes = someProbes();
    auto r = std::make_shared<const ls::LossSepResult>(ls::analyseLossSeparation(c, ls::LossSepParams{}, probes));
    LossSepView view;
    QVERIFY(showResult(view, r));
    QTabWidget* tabs = view.tableTabs();
    QVERIFY(tabs->isTabVisible(tabs->indexOf(view.probesPage())));
    QVERIFY(tabs->isTabVisible(tabs->indexOf(view.lowRankPage())));

    // The bars: 5 metrics, 4 probes (regression and classification), p(correct), the Oracle.
    QCOMPARE(int(view.barRows().size()), 11);
    QCOMPARE(view.ratioBars()[1]->data()->size(), 4);
    const double ratios[4] = {0.17, 0.33, 0.38, 0.42};
    for (int i = 0; i < 4; ++i)
        QCOMPARE_NEAR(view.drawnRatio(5 + i), 100 * ratios[i], 1e-9, 0);
    QVERIFY(view.barToolTip(5).contains("probe Linear"));
    QCOMPARE(LossSepView::methodLabel(view.barRows()[6].method), QString("probe MLP-2 (128) · regression"));

    // The notes' probe tables: regression (MSE, Corr, R², Loss Diff), classification (Accuracy,
    // F1, Easy / Hard loss, Loss Diff), metric probes (Corr(pred, actual)).
    QCOMPARE(view.probeRegressionTable()->rowCount(), 2);
    QCOMPARE(view.probeRegressionTable()->item(1, 0)->text(), QString("MLP-2 (128)"));
    // Numbers shown in full are parsed back to within 1e-9; a computed one to its 2 decimals.
    QCOMPARE_NEAR(cellNumber(view.probeRegressionTable(), 1, 2), 0.344, 1e-9, 0);
    QCOMPARE_NEAR(cellNumber(view.probeRegressionTable(), 1, 6), 7.31 * 0.33, 0.005, 0);
    QCOMPARE(view.probeClassificationTable()->rowCount(), 2);
    QCOMPARE_NEAR(cellNumber(view.probeClassificationTable(), 1, 1), 76.8, 1e-9, 0);
    QCOMPARE_NEAR(cellNumber(view.probeClassificationTable(), 1, 2), 0.86, 1e-9, 0);
    QCOMPARE_NEAR(cellNumber(view.probeClassificationTable(), 1, 7), 42.0, 1e-9, 0);
    QCOMPARE(view.probeMetricTable()->rowCount(), 2);
    QCOMPARE(view.probeMetricTable()->item(1, 0)->text(), QString("max_minus_mean"));
    QCOMPARE_NEAR(cellNumber(view.probeMetricTable(), 1, 2), 0.912, 1e-9, 0);

    // Low-rank metrics: 2 ranks x 5 metrics.
    QCOMPARE(view.lowRankTable()->rowCount(), int(r->lowRank.size()));
    QCOMPARE(view.lowRankTable()->rowCount(), 10);
    for (int i = 0; i < 10; ++i) {
        QCOMPARE_NEAR(cellNumber(view.lowRankTable(), i, 0), double(r->lowRank[size_t(i)].rank), 0, 0);  // a rank
        QCOMPARE_NEAR(cellNumber(view.lowRankTable(), i, 2), r->lowRank[size_t(i)].corrWithExact, 5e-5 + 1e-9, 0);
    }
    tabs->setCurrentWidget(view.probesPage());
    screenshot(&view, "losssep-probes.png");
    tabs->setCurrentIndex(1);
    screenshot(&view, "losssep-thresholds.png");
    tabs->setCurrentIndex(2);
    screenshot(&view, "losssep-subsets.png");
    tabs->setCurrentWidget(view.lowRankPage());
    screenshot(&view, "losssep-lowrank.png");

    // A result without them hides the tabs again.
    view.setResult(lossSep_);
    QVERIFY(!tabs->isTabVisible(tabs->indexOf(view.probesPage())));
    QCOMPARE(view.probeRegressionTable()->rowCount(), 0);
}

void TestWidgetsLossSep::lossSepExport() {
    LossSepView view;
    QVERIFY(showResult(view, lossSep_));
    QTemporaryDir dir;
    QStringList written;
    QString error;
    const std::vector<ls::Table> tables = ls::lossSepTables(*lossSep_);
    QVERIFY(tables.size() >= 5);
    QVERIFY2(exportAll(dir.path(), view.charts(), tables, &written, &error), qPrintable(error));
    checkExport(dir.path(), {"losssep_loss_histogram", "losssep_oracle_ratio", "losssep_layer_grid"}, tables, written, 0);
    QCOMPARE(QImage(dir.filePath("losssep_layer_grid.png")).size(), view.gridPlot()->size());
}

// ---- early exit -----------------------------------------------------------------------------

void TestWidgetsLossSep::exitInitialState() {
    EarlyExitView view;
    QVERIFY(!view.hasData());
    QVERIFY(!view.thresholdSlider()->isEnabled());
    QVERIFY(!view.exportButton()->isEnabled());
    view.setData(capture_, exit_);
    QVERIFY(view.hasData());
    QVERIFY(!view.isRebuilding());  // small: built at once
    QVERIFY(view.simulator());
    QCOMPARE(view.availableSignals(),
             (QStringList{"cossim", "confidence", "max_z", "max_minus_mean", "margin", "entropy"}));
    QCOMPARE(view.signalName(), QString("confidence"));
    QCOMPARE(view.allowedLayers(), (std::vector<int>{1, 2, 3}));
    QCOMPARE(view.layerChecks().size(), kL - 1);
    QCOMPARE(view.policy(), EarlyExitView::Policy::Single);
    // The run's policy (at its median threshold) and its own sweep.
    QCOMPARE_NEAR(view.threshold(), exit_->params.threshold, 0, 0);  // the run's own, copied: exact
    QVERIFY(sameOutcome(view.outcome(), exit_->policy));
    QCOMPARE(view.sweep().size(), exit_->sweep.size());
    for (size_t i = 0; i < exit_->sweep.size(); ++i) {
        QCOMPARE_NEAR(view.sweep()[i].threshold, exit_->sweep[i].threshold, 0, 0);
        QCOMPARE(view.sweep()[i].pareto, exit_->sweep[i].pareto);
    }
    QVERIFY(view.thresholdSlider()->isEnabled());
    // The slider sits at the step nearest to the run's threshold (the median: the middle).
    QVERIFY(std::abs(view.thresholdSlider()->value() - EarlyExitView::kSliderSteps / 2) <= 2);
    // The full model's PPL: exp(mean loss).
    double sum = 0;
    for (float v : capture_->loss)
        sum += v;
    QCOMPARE_NEAR(view.fullPpl(), std::exp(sum / kN), 0, 1e-9);  // its sum vs this one: float64 rounding
    QVERIFY(view.timingLabel()->text().contains(" ms"));
    view.clear();
    QVERIFY(!view.hasData());
    QVERIFY(view.exitBars()->data()->isEmpty());
    QCOMPARE(view.layerChecks().size(), 0);
}

void TestWidgetsLossSep::exitSliderMatchesSimulator() {
    EarlyExitView view;
    view.setData(capture_, exit_);
    QVERIFY(showExposed(view));
    const ls::ExitSimulator direct(*capture_, "confidence", {1, 2, 3});
    QSignalSpy changed(&view, &EarlyExitView::outcomeChanged);
    int expectedSignals = 0;
    double previousSaved = 2;
    // Ascending threshold: fewer tokens exit, less compute saved.
    for (int position : {0, 100, 250, 400, 500, 650, 800, 950, 1000}) {
        view.thresholdSlider()->setValue(position);  // what a drag does: valueChanged per step
        ++expectedSignals;
        QCOMPARE(changed.count(), expectedSignals);
        const double t = view.sliderThreshold(position);
        QCOMPARE_NEAR(view.threshold(), t, 0, 0);  // the slider's grid value itself
        const ls::ExitOutcome want = direct.evaluate(t);
        QVERIFY2(sameOutcome(view.outcome(), want), qPrintable(QString("position %1").arg(position)));
        // Every number shown is that outcome's.
        QCOMPARE(view.exitFractionLabel()->text(), pct(want.exitFraction));
        QCOMPARE(view.computeSavedLabel()->text(), pct(want.computeSaved));
        QCOMPARE(view.agreementLabel()->text(), pct(want.top1Agreement));
        QVERIFY2(view.meanLayersLabel()->text().startsWith(QString::number(want.meanLayers, 'f', 2)),
                 qPrintable(view.meanLayersLabel()->text()));
        QVERIFY2(view.pplLabel()->text().startsWith(QString::number(want.ppl, 'f', want.ppl < 100 ? 2 : 1)),
                 qPrintable(view.pplLabel()->text()));
        // The exit histogram and the current point.
        for (int l = 1; l < kL; ++l)  // counts: exact
            QCOMPARE_NEAR(barValue(view.exitBars(), l), double(want.exits[size_t(l - 1)]), 0, 0);
        QCOMPARE_NEAR(barValue(view.finalBars(), kL), double(want.exits[size_t(kL - 1)]), 0, 0);
        QCOMPARE(view.currentGraph()->data()->size(), 1);
        // The same outcome (sameOutcome above), the view's same products: exact.
        QCOMPARE_NEAR(view.currentGraph()->data()->at(0)->key, 100 * want.computeSaved, 0, 0);
        QCOMPARE_NEAR(view.currentGraph()->data()->at(0)->value, 100 * want.top1Agreement, 0, 0);
        QCOMPARE_NEAR(view.pplCurrentGraph()->data()->at(0)->value, want.ppl, 0, 0);
        QVERIFY(want.computeSaved <= previousSaved);
        previousSaved = want.computeSaved;
        // The spin box shows the same threshold.
        QCOMPARE_NEAR(view.thresholdSpin()->value(), t, std::pow(10.0, -view.thresholdSpin()->decimals()), 0);  // its decimals
    }
    // At the lowest threshold every token exits at layer 1; at the highest almost none exits.
    view.thresholdSlider()->setValue(0);
    QCOMPARE(view.outcome().exits[0], int64_t(kN));
    QVERIFY(view.outcome().computeSaved > 0.74);
    QVERIFY(view.numbersText().contains("compute saved 75.0%"));
    QVERIFY(view.barToolTip(1).contains(QString("%1 tokens").arg(kN)));
    screenshot(&view, "exit-small.png");
}

void TestWidgetsLossSep::exitSpinIsExact() {
    EarlyExitView view;
    view.setData(capture_, exit_);
    const ls::ExitSimulator direct(*capture_, "confidence", {1, 2, 3});
    view.setThreshold(0.3);
    QCOMPARE_NEAR(view.threshold(), 0.3, 0, 0);  // exactly the value set
    QVERIFY(sameOutcome(view.outcome(), direct.evaluate(0.3)));
    // Typing into the spin box evaluates at exactly the typed value.
    view.thresholdSpin()->setValue(0.25);
    QCOMPARE_NEAR(view.threshold(), 0.25, 0, 0);
    QVERIFY(sameOutcome(view.outcome(), direct.evaluate(0.25)));
    // The slider moved to the nearest step.
    const int p = view.thresholdSlider()->value();
    QVERIFY(std::abs(view.sliderThreshold(p) - 0.25) <=
            std::abs(view.sliderThreshold(std::min(p + 1, EarlyExitView::kSliderSteps)) - 0.25) + 1e-12);
}

void TestWidgetsLossSep::exitPerLayerPolicy() {
    EarlyExitView view;
    view.setData(capture_, exit_);
    QVERIFY(showExposed(view));
    const ls::ExitSimulator direct(*capture_, "confidence", {1, 2, 3});
    const double common = view.threshold();
    view.policyCombo()->setCurrentIndex(1);
    QCOMPARE(view.policy(), EarlyExitView::Policy::PerLayer);
    QCOMPARE(view.layerSliders().size(), 3);
    // Every layer starts at the common threshold: the same outcome as the single policy... but
    // the per-layer evaluation compares in float, so check against the simulator's own.
    QCOMPARE(mismatchOf(view.layerThresholds(), {common, common, common}, 0, 0), QString());  // copied: exact
    QVERIFY(sameOutcome(view.outcome(), direct.evaluate(view.layerThresholds())));
    // Move each layer's slider: exactly the simulator's per-layer outcome.
    view.layerSliders()[0]->setValue(900);
    view.layerSliders()[2]->setValue(100);
    QCOMPARE_NEAR(view.layerThresholds()[0], view.layerSliderThreshold(0, 900), 0, 0);  // grid values, copied
    QCOMPARE_NEAR(view.layerThresholds()[1], common, 0, 0);
    QCOMPARE_NEAR(view.layerThresholds()[2], view.layerSliderThreshold(2, 100), 0, 0);
    const ls::ExitOutcome want = direct.evaluate(view.layerThresholds());
    QVERIFY(sameOutcome(view.outcome(), want));
    QCOMPARE(view.computeSavedLabel()->text(), pct(want.computeSaved));
    // Layer sliders step through that layer's own quantiles.
    std::vector<float> layer1 = capture_->metrics[0].confidence;
    std::sort(layer1.begin(), layer1.end());
    // Quantiles 0 and 1 are data points: exact.
    QCOMPARE_NEAR(view.layerSliderThreshold(0, 0), double(layer1.front()), 0, 0);
    QCOMPARE_NEAR(view.layerSliderThreshold(0, EarlyExitView::kSliderSteps), double(layer1.back()), 0, 0);
    QVERIFY(view.timingLabel()->text().contains("per-layer"));
    QCOMPARE(mismatchOf(view.currentResult().params.layerThresholds, view.layerThresholds(), 0, 0), QString());
    screenshot(&view, "exit-per-layer.png");
    // Back to one threshold: the single policy again.
    view.setPolicy(EarlyExitView::Policy::Single);
    QVERIFY(sameOutcome(view.outcome(), direct.evaluate(common)));
    QVERIFY(view.currentResult().params.layerThresholds.empty());
}

void TestWidgetsLossSep::exitSignalAndLayers() {
    EarlyExitView view;
    view.setData(capture_, exit_);
    QSignalSpy ready(&view, &EarlyExitView::simulatorReady);
    // Signal: cos-sim. The threshold resets to the new signal's median.
    view.signalCombo()->setCurrentIndex(view.signalCombo()->findData("cossim"));
    QCOMPARE(ready.count(), 1);
    QCOMPARE(QString::fromStdString(view.simulator()->signal()), QString("cossim"));
    const ls::ExitSimulator cos(*capture_, "cossim", {1, 2, 3});
    const std::vector<double> median = cos.defaultThresholds(EarlyExitView::kSliderSteps + 1);
    QCOMPARE_NEAR(view.threshold(), median[EarlyExitView::kSliderSteps / 2], 0, 0);  // the same quantile grid
    QVERIFY(sameOutcome(view.outcome(), cos.evaluate(view.threshold())));
    // A sweep of its own: 41 quantiles, the Pareto front marked.
    QCOMPARE(int(view.sweep().size()), 41);
    const std::vector<ls::SweepPoint> want = cos.sweep([&] {
        std::vector<double> t;
        for (int i = 0; i <= EarlyExitView::kSliderSteps; i += EarlyExitView::kSliderSteps / 40)
            t.push_back(median[size_t(i)]);
        return t;
    }());
    for (size_t i = 0; i < want.size(); ++i) {
        QCOMPARE_NEAR(view.sweep()[i].threshold, want[i].threshold, 0, 0);
        QVERIFY(sameOutcome(view.sweep()[i].outcome, want[i].outcome));
        QCOMPARE(view.sweep()[i].pareto, want[i].pareto);
    }

    // Allowed layers: unchecking layer 1 rebuilds with {2, 3}; the threshold stays.
    const double t = view.threshold();
    view.layerChecks()[0]->setChecked(false);
    QCOMPARE(ready.count(), 2);
    QCOMPARE(view.simulator()->allowedLayers(), (std::vector<int>{2, 3}));
    QCOMPARE_NEAR(view.threshold(), t, 0, 0);  // kept as it was
    const ls::ExitSimulator two(*capture_, "cossim", {2, 3});
    QVERIFY(sameOutcome(view.outcome(), two.evaluate(t)));
    QCOMPARE(view.outcome().exits[0], int64_t(0));  // nobody exits where it is not allowed
    // None checked: nothing to simulate, a clear message.
    view.setAllowedLayers({});
    QVERIFY(!view.simulator());
    QVERIFY(view.messageLabel()->text().contains("at least one"));
    QVERIFY(!view.thresholdSlider()->isEnabled());
    view.setAllowedLayers({3});
    QVERIFY(view.simulator());
    QCOMPARE(view.simulator()->allowedLayers(), (std::vector<int>{3}));
    // Entropy exits when it is low: the direction flips.
    view.setSignal("entropy");
    QVERIFY(!view.simulator()->higherExits());
    const ls::ExitSimulator entropy(*capture_, "entropy", {3});
    view.thresholdSlider()->setValue(800);
    QVERIFY(sameOutcome(view.outcome(), entropy.evaluate(view.sliderThreshold(800))));
    view.thresholdSlider()->setValue(900);
    QVERIFY(view.outcome().exitFraction >= entropy.evaluate(view.sliderThreshold(800)).exitFraction);
}

void TestWidgetsLossSep::exitRebuildInWorker() {
    EarlyExitView view;
    view.setSynchronousLimit(0);  // every rebuild in a worker
    view.setData(capture_, exit_);
    QVERIFY(view.isRebuilding());
    QVERIFY(!view.thresholdSlider()->isEnabled());  // waits for the simulator
    QVERIFY(sameOutcome(view.outcome(), exit_->policy));  // the run's numbers meanwhile
    QTRY_VERIFY_WITH_TIMEOUT(!view.isRebuilding(), 20000);
    QVERIFY(view.simulator());
    QVERIFY(view.thresholdSlider()->isEnabled());
    // Several changes in a row while a build runs: the last one wins.
    view.setSignal("max_z");
    view.setAllowedLayers({1, 3});
    view.setAllowedLayers({2});
    QTRY_VERIFY_WITH_TIMEOUT(!view.isRebuilding(), 20000);
    QCOMPARE(QString::fromStdString(view.simulator()->signal()), QString("max_z"));
    QCOMPARE(view.simulator()->allowedLayers(), (std::vector<int>{2}));
    const ls::ExitSimulator direct(*capture_, "max_z", {2});
    QVERIFY(sameOutcome(view.outcome(), direct.evaluate(view.threshold())));
    view.thresholdSlider()->setValue(300);
    QVERIFY(sameOutcome(view.outcome(), direct.evaluate(view.sliderThreshold(300))));
}

void TestWidgetsLossSep::exitParetoAndPpl() {
    EarlyExitView view;
    view.setData(capture_, exit_);
    QVERIFY(showExposed(view));
    const std::vector<ls::SweepPoint>& sweep = view.sweep();
    QCOMPARE(view.sweepGraph()->data()->size(), int(sweep.size()));
    int front = 0;
    for (const ls::SweepPoint& p : sweep)
        front += p.pareto ? 1 : 0;
    QVERIFY(front >= 1);
    QCOMPARE(view.frontGraph()->data()->size(), front);
    for (const ls::SweepPoint& p : sweep) {
        bool found = false;
        for (auto it = view.sweepGraph()->data()->constBegin(); it != view.sweepGraph()->data()->constEnd(); ++it)
            found = found || (it->key == 100 * p.outcome.computeSaved && it->value == 100 * p.outcome.top1Agreement);
        QVERIFY(found);
    }
    QCOMPARE(view.pplSweepGraph()->data()->size(), int(sweep.size()));
    QVERIFY(view.sweepToolTip(0).contains("threshold"));
    // Clicking a sweep point takes its threshold.
    const int pick = int(sweep.size()) / 4;
    view.paretoPlot()->replot();
    const QPoint at(int(view.paretoPlot()->xAxis->coordToPixel(100 * sweep[size_t(pick)].outcome.computeSaved)),
                    int(view.paretoPlot()->yAxis->coordToPixel(100 * sweep[size_t(pick)].outcome.top1Agreement)));
    QTest::mouseClick(view.paretoPlot(), Qt::LeftButton, {}, at);
    // The nearest point to the click (neighbours may coincide on screen): its outcome is shown.
    bool matches = false;
    for (const ls::SweepPoint& p : sweep)
        matches = matches || (p.threshold == view.threshold() && sameOutcome(p.outcome, view.outcome()));
    QVERIFY(matches);
}

void TestWidgetsLossSep::exitExport() {
    EarlyExitView view;
    view.setData(capture_, exit_);
    QVERIFY(showExposed(view));
    // Untouched, the tables are the run's own.
    const std::vector<ls::Table> run = ls::exitTables(*exit_);
    const std::vector<ls::Table> shown = ls::exitTables(view.currentResult());
    QCOMPARE(shown.size(), run.size());
    for (size_t i = 0; i < run.size(); ++i)
        QCOMPARE(QString::fromStdString(ls::toCsv(shown[i])), QString::fromStdString(ls::toCsv(run[i])));
    // After a slider move the policy table follows.
    view.thresholdSlider()->setValue(200);
    const std::vector<ls::Table> moved = ls::exitTables(view.currentResult());
    const ls::Table* policy = ls::findTable(moved, "exit_policy");
    QVERIFY(policy);
    for (int l = 1; l <= kL; ++l)
        QCOMPARE(policy->column("tokens").numbers[size_t(l - 1)], double(view.outcome().exits[size_t(l - 1)]));
    QTemporaryDir dir;
    QStringList written;
    QString error;
    QVERIFY2(exportAll(dir.path(), view.charts(), moved, &written, &error), qPrintable(error));
    checkExport(dir.path(), {"exit_histogram", "exit_pareto", "exit_ppl"}, moved, written, 0);
}

// A large run: 250,000 tokens x 30 layers (29 allowed). A slider step must stay far below a
// frame; the simulator rebuild runs in a worker while the event loop keeps going.
void TestWidgetsLossSep::exitSliderSpeed() {
    constexpr int L = 30, N = 250000;
    QElapsedTimer make;
    make.start();
    auto capture = std::make_shared<const ls::CaptureResult>(syntheticCapture(L, N, 5, false, false));
    qInfo("synthetic capture %d tokens x %d layers built in %.0f ms", N, L, make.nsecsElapsed() / 1e6);
    EarlyExitView view;
    QVERIFY(showExposed(view));

    // The event loop while the simulator is built (the largest gap between timer ticks).
    QElapsedTimer gap;
    double maxGap = 0;
    QTimer ticker;
    ticker.setInterval(5);
    connect(&ticker, &QTimer::timeout, [&] {
        maxGap = std::max(maxGap, gap.nsecsElapsed() / 1e6);
        gap.restart();
    });
    QElapsedTimer setData;
    setData.start();
    view.setData(capture, nullptr);  // no run result: the median confidence policy
    const double setDataMs = setData.nsecsElapsed() / 1e6;
    QVERIFY(view.isRebuilding());
    gap.start();
    ticker.start();
    QTRY_VERIFY_WITH_TIMEOUT(!view.isRebuilding(), 120000);
    ticker.stop();
    QVERIFY(view.simulator());
    qInfo("setData returned in %.1f ms; simulator built in a worker in %.0f ms; largest event-loop gap %.1f ms",
          setDataMs, view.lastRebuildMs(), maxGap);

    // One threshold: slider steps across the range.
    const ls::ExitSimulator& sim = *view.simulator();
    double worstEval = 0, sumEval = 0, worstStep = 0;
    int steps = 0;
    for (int position = 0; position <= EarlyExitView::kSliderSteps; position += 50) {
        QElapsedTimer step;
        step.start();
        view.thresholdSlider()->setValue(position);
        const double stepMs = step.nsecsElapsed() / 1e6;
        worstStep = std::max(worstStep, stepMs);
        worstEval = std::max(worstEval, view.lastEvaluationMs());
        sumEval += view.lastEvaluationMs();
        ++steps;
        QVERIFY(sameOutcome(view.outcome(), sim.evaluate(view.sliderThreshold(position))));
    }
    QElapsedTimer replot;
    replot.start();
    for (QCustomPlot* plot : {view.histogramPlot(), view.paretoPlot(), view.pplPlot()})
        plot->replot();
    const double replotMs = replot.nsecsElapsed() / 1e6;
    qInfo("one threshold, %d tokens x %d allowed layers: evaluate mean %.3f ms, worst %.3f ms; whole slider step "
          "(evaluate + numbers + chart data) worst %.2f ms; redrawing the three charts %.1f ms",
          N, L - 1, sumEval / steps, worstEval, worstStep, replotMs);
    QVERIFY(view.timingLabel()->text().contains("ms"));

    // One threshold per layer: O(N L).
    view.setPolicy(EarlyExitView::Policy::PerLayer);
    double worstPerLayer = 0;
    for (int position : {100, 500, 900}) {
        QElapsedTimer step;
        step.start();
        view.layerSliders()[10]->setValue(position);
        worstPerLayer = std::max(worstPerLayer, step.nsecsElapsed() / 1e6);
    }
    qInfo("per-layer thresholds: evaluate %.2f ms, whole slider step worst %.2f ms", view.lastEvaluationMs(),
          worstPerLayer);
    view.setPolicy(EarlyExitView::Policy::Single);
    screenshot(&view, "exit-large.png");
}

QTEST_MAIN(TestWidgetsLossSep)
#include "test_widgets_losssep.moc"
