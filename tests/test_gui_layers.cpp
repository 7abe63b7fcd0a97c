// The layer analyses in the real main window, offscreen, on the built-in demo (model and
// corpus from resources/demo): Analysis > Layer Analyses runs through the task runner into
// the Cos-sim, Saturation, Low-rank head and Token inspector tabs, whose views must hold the
// numbers of an ls::LayerRun computed directly with ls::runLayerAnalyses on the same
// inputs; Save Run As and Open Run (without a model) give the same numbers; a canceled run
// leaves the window responsive and the previous results in place; a bad parameter is
// shown in the Layer analyses panel, named as the form names it, and starts nothing.
// Loss separation and early exit: the probes' training curve shows live in the Loss
// separation tab while the run trains them, then the Loss separation and Early exit tabs
// hold the numbers of a direct run, and the exit slider gives what ls::ExitSimulator gives.
// Set LAYERSCOPE_SCREENSHOT_DIR to also save what the window showed.
#include <QAction>
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStatusBar>
#include <QLineEdit>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QComboBox>
#include <QDockWidget>
#include <QSignalSpy>
#include <QDropEvent>
#include <QUrl>
#include <QMimeData>
#include <QtTest>
#include <cmath>
#include <memory>
#include <qcustomplot.h>

#include "analysis/layer_run.h"
#include "analysis_panel.h"
#include "train_lens_dialog.h"
#include "common/progress.h"
#include "ablation_view.h"
#include "cossim_view.h"
#include "data/dataset.h"
#include "dataset_panel.h"
#include "compare/compare_runs.h"
#include "compare_view.h"
#include "early_exit_view.h"
#include "generation_panel.h"
#include "kit/grid_heatmap.h"
#include "microscope_panel.h"
#include "patching_view.h"
#include "plot_export.h"
#include "prompt_view.h"
#include "generation_view.h"
#include "export_menu.h"
#include "layer_results.h"
#include "loss_histogram_view.h"
#include "losssep_page.h"
#include "losssep_view.h"
#include "lowrank_view.h"
#include "main_window.h"
#include "opened_files.h"
#include "run_library.h"
#include "model/model.h"
#include "model_summary_view.h"
#include "probe_training_panel.h"
#include "saturation_view.h"
#include "task_progress_bar.h"
#include "task_runner.h"
#include "token_inspector_view.h"
#include "io/run_file.h"
#include "tokenizer/tokenizer.h"
#include "test_support.h"
#include "training_curve_view.h"

namespace fs = std::filesystem;

namespace {

constexpr int kRunTimeout = 300000;  // ms: the machine is shared and slow under load
constexpr int kSmallWindows = 24;    // the compared runs use the first windows only
// The four analyses the first runs compare (loss separation and early exit have their own).
const std::vector<std::string> kLayerTabs{"cossim", "saturation", "lowrank", "inspect"};

const QString kDemo = QStringLiteral(LAYERSCOPE_SOURCE_DIR "/resources/demo");

fs::path toPath(const QString& path) { return fs::path(path.toStdString()); }

void screenshot(QWidget* widget, const QString& name) {
    const QString dir = qEnvironmentVariable("LAYERSCOPE_SCREENSHOT_DIR");
    if (dir.isEmpty())
        return;
    QTest::qWait(30);  // queued replots (the early-exit view redraws after a slider step)
    QVERIFY(widget->grab().save(QDir(dir).filePath(name)));
}

// A copy of an exported file among the screenshots, to look at.
void screenshotFile(const QString& path, const QString& name) {
    const QString dir = qEnvironmentVariable("LAYERSCOPE_SCREENSHOT_DIR");
    if (!dir.isEmpty()) {
        QFile::remove(QDir(dir).filePath(name));
        QVERIFY(QFile::copy(path, QDir(dir).filePath(name)));
    }
}

QByteArray readAll(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// A number as a table shows it: "0.2879", "★ 1", "46.39 %", "6,803", "1.13×".
double cellNumber(const QTableWidget* table, int row, int column) {
    const QTableWidgetItem* item = table->item(row, column);
    if (!item)
        return std::nan("");
    QString text = item->text();
    text.remove(QChar(0x2605)).remove('%').remove(QChar(0x00d7)).remove(QLocale().groupSeparator());
    bool ok = false;
    const double value = QLocale().toDouble(text.trimmed(), &ok);
    return ok ? value : std::nan("");
}

int columnNamed(const QTableWidget* table, const QString& name) {
    for (int c = 0; c < table->columnCount(); ++c)
        if (table->horizontalHeaderItem(c) && table->horizontalHeaderItem(c)->text() == name)
            return c;
    return -1;
}

// y of the point at x in a graph or bars container.
template <typename Container>
double valueAt(const Container& data, double key) {
    for (auto it = data->constBegin(); it != data->constEnd(); ++it)
        if (std::abs(it->mainKey() - key) < 1e-9)
            return it->mainValue();
    return std::nan("");
}

QStringList tabTitles(const QTabWidget* tabs) {
    QStringList titles;
    for (int i = 0; i < tabs->count(); ++i)
        titles << tabs->tabText(i);
    return titles;
}

// What the window shows: its layer run and its tabs. A canceled run leaves both as they were.
struct Shown {
    std::shared_ptr<const ls::LayerRun> run;
    QStringList tabs;
};

Shown shownBy(MainWindow& window) { return {window.layerResults()->run(), tabTitles(window.tabs())}; }

// Sets the window to every window of the demo corpus at stride 8 (about 2,500 windows: no run
// ends before it is canceled, even on a fast machine); returns the windows it had.
ls::WindowParams widenToTheWholeCorpus(MainWindow& window) {
    const ls::WindowParams small = window.windowParams();
    ls::WindowParams all = small;
    all.maxWindows = 0;
    all.stride = 8;
    window.setWindowParams(all);
    return small;
}

// Window-modal error boxes from reportError stay open offscreen: close them.
void closeMessageBoxes(QWidget* window) {
    for (QMessageBox* box : window->findChildren<QMessageBox*>())
        box->close();
}

}  // namespace

class TestGuiLayers : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void cleanupTestCase();

    void runShowsTheDirectNumbers();
    void saveAndOpenRun();
    void compareShowsTheRunsOwnNumbers();
    void droppedFilesOpenAndAreRecent();
    void runLibraryListsOpensComparesDeletes();
    void exportRunWritesEveryFigureAndTable();
    void cancelKeepsPreviousResults();
    void ablationFillsWhileScanning();
    void cancelStress();
    void badParameterStartsNothing_data();
    void badParameterStartsNothing();
    void lossSepAndExitShowTheDirectNumbers();
    void planButtonShowsThePlanAndRunsNothing();
    void generationPanelRunsSavesAndReopens();
    void tunedLensTrainedChosenAndCompared();
    void microscopePromptAndPatching();

private:
    // Checks every tab against the reference run computed directly, the first result tab current.
    void checkViews(MainWindow& window);
    bool waitIdle(MainWindow& window) {
        return QTest::qWaitFor([&] { return !window.runner()->isBusy(); }, kRunTimeout);
    }

    QTemporaryDir dir_;
    std::unique_ptr<MainWindow> window_;  // demo model and corpus loaded
    std::unique_ptr<ls::LayerRun> reference_;
    QString runFile_;                     // saved by saveAndOpenRun()
    int demoLayers_ = 0;                  // L of the demo model (it may be regenerated)
};

void TestGuiLayers::initTestCase() {
    QVERIFY(dir_.isValid());
    QVERIFY2(QFile::exists(kDemo + "/model/config.json"), qPrintable(kDemo));
    demoLayers_ = ls::Model::load(toPath(kDemo + "/model")).config().numLayers;
    QVERIFY(demoLayers_ >= 2);
    window_ = std::make_unique<MainWindow>();
    window_->resize(1440, 900);
    ls::WindowParams windows;
    windows.seqLen = 1024;  // lowered to the demo model's context of 128
    windows.maxWindows = kSmallWindows;
    window_->setWindowParams(windows);
    window_->show();
    StartupOptions options;
    options.modelDir = kDemo + "/model";
    options.dataPath = kDemo + "/eval.txt";
    window_->startWith(options);
    QTRY_VERIFY_WITH_TIMEOUT(window_->datasetPanel()->summary().windows > 0 && !window_->runner()->isBusy(),
                             kRunTimeout);
    QCOMPARE(window_->windowParams().seqLen, 128);
    QCOMPARE(window_->datasetPanel()->summary().windows, int64_t(kSmallWindows));
}

void TestGuiLayers::cleanupTestCase() { window_.reset(); }

// ---- a run in the window against the same run done directly ---------------------------

void TestGuiLayers::runShowsTheDirectNumbers() {
    MainWindow& window = *window_;
    AnalysisPanel* panel = window.analysisPanel();
    // Defaults: the four layer analyses checked (probes, head scans and linearisation are
    // opted into: they run many passes), layer L-1, automatic ranks.
    QCOMPARE(panel->params().analyses, (std::vector<std::string>{"cossim", "saturation", "lowrank", "inspect"}));
    panel->setAnalyses(kLayerTabs);
    QVERIFY2(panel->problemText().isEmpty(), qPrintable(panel->problemText()));
    QVERIFY(panel->canRun());
    QVERIFY(panel->runButton()->isEnabled());
    // The layer: L-1, chosen from the model when the run resolves it (the Summary below says
    // which); its field shows that, and its range is the model's layers.
    auto* layer = panel->findChild<QSpinBox*>("field_layer");
    QVERIFY(layer);
    QCOMPARE(layer->text(), QString("L-1 (default)"));
    QCOMPARE(layer->maximum(), demoLayers_);
    QCOMPARE(panel->params().layer, 0);
    QVERIFY(panel->params().lowRank.ranks.empty());
    QVERIFY(window.layerAnalysesAction()->isEnabled());
    QCOMPARE(window.layerAnalysesAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_L));

    // Run it as a user would: through the action (Ctrl+L).
    window.layerAnalysesAction()->trigger();
    QVERIFY(window.runner()->isBusy());
    QVERIFY(waitIdle(window));
    QVERIFY2(window.layerResults()->run(), qPrintable(window.lastError()));

    // The same inputs, directly: the demo model, its tokenizer, the corpus read with the
    // default options, the window's windows, the core's default parameters.
    const ls::Model model = ls::Model::load(toPath(kDemo + "/model"));
    const ls::Tokenizer tokenizer = ls::Tokenizer::fromModelDir(toPath(kDemo + "/model"));
    const ls::Dataset data = ls::loadDataset(toPath(kDemo + "/eval.txt"), &tokenizer, model.config().vocabSize, {});
    ls::LayerRunParams params;
    params.analyses = kLayerTabs;
    params.windows = window.windowParams();
    ls::Progress progress;
    reference_ = std::make_unique<ls::LayerRun>(ls::runLayerAnalyses(model, data, &tokenizer, params, progress));
    QCOMPARE(reference_->capture.windows, int64_t(kSmallWindows));

    checkViews(window);
    if (QTest::currentTestFailed())
        return;

    // The Summary's Run section.
    const QString summary = window.summaryView()->toText();
    QVERIFY2(summary.contains("\nRun\n"), qPrintable(summary));
    QVERIFY2(summary.contains(QString("Tokens: %1 scored").arg(QLocale().toString(qint64(reference_->capture.tokens())))),
             qPrintable(summary));
    QVERIFY2(summary.contains(QString("Windows: %1").arg(kSmallWindows)), qPrintable(summary));
    QVERIFY2(summary.contains("Status: complete"), qPrintable(summary));
    const int L = demoLayers_;
    QVERIFY2(summary.contains(QString("Layer: %1 of %2").arg(L - 1).arg(L)), qPrintable(summary));
    QStringList ranks;
    for (int r : reference_->params.lowRank.ranks)
        ranks << QString::number(r);
    QVERIFY(ranks.size() >= 2);  // 8, 16, ..., dim
    QVERIFY2(summary.contains("Ranks: " + ranks.join(", ")), qPrintable(summary));
    QVERIFY2(summary.contains("Hard ratios: 0.3, 0.5, 0.7"), qPrintable(summary));
    QVERIFY2(summary.contains("Source: this session (not saved)"), qPrintable(summary));

    for (const std::string& tab : kLayerTabs) {
        QVERIFY(window.selectTab(QString::fromStdString(tab)));
        screenshot(&window, QString("layers-%1.png").arg(QString::fromStdString(tab)));
    }
}

void TestGuiLayers::checkViews(MainWindow& window) {
    QVERIFY(reference_);
    const ls::LayerRun& ref = *reference_;
    const auto refCossim = ref.result<ls::CossimResult>("cossim");
    const auto refSaturation = ref.result<ls::SaturationResult>("saturation");
    const auto refLowRank = ref.result<ls::LowRankResult>("lowrank");
    QVERIFY(refCossim && refSaturation && refLowRank);
    const int L = ref.capture.numLayers;
    QCOMPARE(L, demoLayers_);
    QCOMPARE(ref.params.layer, L - 1);
    LayerResults* results = window.layerResults();
    QCOMPARE(tabTitles(window.tabs()), (QStringList{"Dataset preview", "Per-token loss", "Cos-sim", "Saturation",
                                                    "Low-rank head", "Token inspector"}));
    QStringList names;
    for (const std::string& name : kLayerTabs)
        names << QString::fromStdString(name);
    QCOMPARE(results->shownTabs(), names);

    // Cos-sim: the per-layer table's means and fractions, the mean bars.
    const ls::widgets::CossimView* cossim = results->view<ls::widgets::CossimView>("cossim");
    QVERIFY(cossim->hasData());
    QCOMPARE(cossim->result()->numLayers(), L);
    const QTableWidget* stats = cossim->statsTable();
    QCOMPARE(stats->rowCount(), L);
    const int meanColumn = columnNamed(stats, "mean");
    QVERIFY(meanColumn > 0);
    for (int l = 1; l <= L; ++l) {
        const ls::CossimLayer& want = refCossim->layers[size_t(l - 1)];
        const ls::CossimLayer& got = cossim->result()->layers[size_t(l - 1)];
        QCOMPARE(got.layer, l);
        // The GUI's run vs a direct one: float32 cos-sims, summed in other orders.
        QCOMPARE_NEAR(got.summary.mean, want.summary.mean, 1e-6, 0);
        QCOMPARE_NEAR(got.summary.p50, want.summary.p50, 1e-6, 0);
        QCOMPARE_NEAR(got.fracNegative, want.fracNegative, 1e-9, 0);  // a fraction of counts
        QCOMPARE(got.special, want.special);
        const double shown = cellNumber(stats, l - 1, meanColumn);
        QVERIFY2(std::abs(shown - want.summary.mean) <= 5e-5 + 1e-9,
                 qPrintable(QString("layer %1: table %2, reference %3").arg(l).arg(shown).arg(want.summary.mean)));
        const double bar = want.special ? valueAt(cossim->specialBars()->data(), l) : valueAt(cossim->meanBars()->data(), l);
        QCOMPARE_NEAR(bar, want.summary.mean, 1e-6, 0);
    }
    QCOMPARE(cossim->result()->thresholds.size(), refCossim->thresholds.size());
    for (size_t i = 0; i < refCossim->thresholds.size(); ++i)
        QCOMPARE_NEAR(cossim->result()->thresholds[i].threshold, refCossim->thresholds[i].threshold, 1e-6, 0);
    QCOMPARE(cossim->thresholdsTable()->rowCount(), int(refCossim->thresholds.size()));

    // Saturation: the rate per layer (chart and table), the saturation-layer histogram.
    const ls::widgets::SaturationView* saturation = results->view<ls::widgets::SaturationView>("saturation");
    QVERIFY(saturation->hasData());
    QCOMPARE(saturation->result()->tokens, refSaturation->tokens);
    QCOMPARE(saturation->result()->histogram, refSaturation->histogram);
    const QTableWidget* satTable = saturation->table();
    QCOMPARE(satTable->rowCount(), L + 1);
    const int saturatedColumn = columnNamed(satTable, "saturated");
    QVERIFY(saturatedColumn > 0);
    for (int l = 0; l <= L; ++l) {
        const ls::SaturationLayer& want = refSaturation->layers[size_t(l)];
        QCOMPARE(saturation->result()->layers[size_t(l)].saturated, want.saturated);
        QCOMPARE_NEAR(valueAt(saturation->rateGraph()->data(), l), 100.0 * want.rate, 1e-9, 0);  // % of counts
        QCOMPARE_NEAR(cellNumber(satTable, l, saturatedColumn), double(want.saturated), 0, 0);  // a count
    }
    for (int l = 1; l <= L; ++l)  // counts: exact
        QCOMPARE_NEAR(valueAt(saturation->histogramBars()->data(), l), double(refSaturation->histogram[size_t(l - 1)]), 0, 0);

    // Low-rank head: one table row per requested rank, same numbers.
    const ls::widgets::LowRankView* lowRank = results->view<ls::widgets::LowRankView>("lowrank");
    QVERIFY(lowRank->hasData());
    const std::vector<ls::LowRankRow>& rows = refLowRank->rows;
    QCOMPARE(lowRank->result()->rows.size(), rows.size());
    QCOMPARE(lowRank->rowsTable()->rowCount(), int(rows.size()));
    QCOMPARE(lowRank->result()->singularValues.size(), refLowRank->singularValues.size());
    for (size_t i = 0; i < rows.size(); ++i) {
        const ls::LowRankRow& got = lowRank->result()->rows[i];
        QCOMPARE(got.rank, rows[i].rank);
        QCOMPARE_NEAR(got.coverage, rows[i].coverage, 1e-9, 0);  // float64 sums of singular values
        QCOMPARE_NEAR(got.agreementFinal, rows[i].agreementFinal, 1e-9, 0);  // fractions of counts
        QCOMPARE_NEAR(got.agreementLayer, rows[i].agreementLayer, 1e-9, 0);
        if (std::isfinite(rows[i].f1))
            QCOMPARE_NEAR(got.f1, rows[i].f1, 1e-9, 0);
        QCOMPARE_NEAR(cellNumber(lowRank->rowsTable(), int(i), 0), double(rows[i].rank), 0, 0);  // a rank
        QCOMPARE_NEAR(cellNumber(lowRank->rowsTable(), int(i), 3), 100 * rows[i].agreementFinal, 0.005 + 1e-9, 0);  // 2 decimals
        QCOMPARE_NEAR(valueAt(lowRank->agreementFinalGraph()->data(), rows[i].rank), 100 * rows[i].agreementFinal, 1e-6, 0);
    }

    // Token inspector: the grid of window 0, positions x (emb + L layers), same top-1s.
    const ls::widgets::TokenInspectorView* inspector = results->view<ls::widgets::TokenInspectorView>("inspect");
    const ls::InspectGrid& grid = ref.capture.inspect;
    QVERIFY(inspector->hasData());
    QCOMPARE(inspector->positions(), grid.positions);
    QCOMPARE(inspector->positions(), 128);
    QCOMPARE(inspector->layers(), L + 1);
    for (int p : {0, 5, grid.positions - 1}) {
        for (int l = 0; l <= L; ++l) {
            QCOMPARE(inspector->cellText(p, l), inspector->tokenLabel(grid.topIds[grid.index(p, l)]));
            QCOMPARE_NEAR(inspector->cellProbability(p, l), grid.topProbs[grid.index(p, l)], 1e-6, 0);  // float32 softmax
        }
    }
    QCOMPARE(inspector->tokenLabel(grid.inputIds[0]), QString::fromStdString(grid.tokenText.at(grid.inputIds[0])));

    // The first result tab is the current one.
    QCOMPARE(window.tabs()->currentWidget(), static_cast<QWidget*>(results->view<ls::widgets::CossimView>("cossim")));
}

// ---- export ----------------------------------------------------------------------------

// File > Export All Figures and Tables: every chart of the shown tabs at the chosen figure size,
// every CSV exactly as the command line writes it, and manifest.json listing them.
void TestGuiLayers::exportRunWritesEveryFigureAndTable() {
    QVERIFY2(reference_, "runShowsTheDirectNumbers() runs first");
    MainWindow& window = *window_;
    const ls::widgets::FigureSize figure{85, 60, 300};
    ls::widgets::setExportFigureSize(figure);
    const QString out = dir_.filePath("export-all");
    QVERIFY(window.exportRun(out));
    QVERIFY2(window.statusBar()->currentMessage().startsWith("Wrote "), qPrintable(window.statusBar()->currentMessage()));
    QCOMPARE(ls::widgets::lastExportFolder(), out);
    const auto run = window.layerResults()->run();
    const std::vector<ls::Table> tables = run->tables(/*perTokenSaturation=*/true);
    QVERIFY(ls::findTable(tables, "saturation_tokens"));  // as --per-token-saturation writes it
    for (const ls::Table& table : tables)
        QCOMPARE(readAll(QDir(out).filePath(QString::fromStdString(table.name) + ".csv")),
                 QByteArray::fromStdString(ls::toCsv(table)));
    const auto charts = window.layerResults()->charts();
    QVERIFY(charts.size() >= 8);  // cos-sim, saturation, low-rank: three or so each
    for (const auto& [stem, plot] : charts) {
        const QImage png(QDir(out).filePath(stem + ".png"));
        QVERIFY2(!png.isNull(), qPrintable(stem));
        QCOMPARE_NEAR(png.width(), 85 / 25.4 * 300, 0, 0.005);  // 85 mm at 300 dpi, whole layout pixels
        QVERIFY(QFile::exists(QDir(out).filePath(stem + ".pdf")) && QFile::exists(QDir(out).filePath(stem + ".svg")));
    }
    const QJsonObject manifest = QJsonDocument::fromJson(readAll(QDir(out).filePath("manifest.json"))).object();
    QCOMPARE(manifest["files"].toArray().size(), charts.size() * 3 + int(tables.size()));
    QCOMPARE(manifest["figure_size"].toObject()["png_dpi"].toInt(), 300);
    screenshotFile(QDir(out).filePath(charts.front().first + ".png"), "export-figure.png");
    ls::widgets::setExportFigureSize({});
}

// ---- run files -------------------------------------------------------------------------

void TestGuiLayers::saveAndOpenRun() {
    QVERIFY2(reference_, "runShowsTheDirectNumbers() runs first");
    MainWindow& window = *window_;
    QVERIFY(window.layerResults()->suggestedFileName().endsWith(".h5"));
    runFile_ = dir_.filePath("demo-run.h5");
    bool saved = false;
    window.saveRunFile(runFile_, [&](bool ok) { saved = ok; });
    QVERIFY(waitIdle(window));
    QVERIFY2(saved, qPrintable(window.lastError()));
    QVERIFY(QFile::exists(runFile_));
    QVERIFY(window.summaryView()->toText().contains("Source: " + runFile_));

    // Another window, with the demo model loaded, opens it: the run replaces the model (one
    // coherent state: the Summary names the run's model only).
    MainWindow reopened;
    reopened.resize(1440, 900);
    reopened.show();
    bool loaded = false;
    reopened.openModel(kDemo + "/model", [&](bool ok) { loaded = ok; });
    QVERIFY(waitIdle(reopened));
    QVERIFY2(loaded, qPrintable(reopened.lastError()));
    bool opened = false;
    reopened.openRunFile(runFile_, [&](bool ok) { opened = ok; });
    QVERIFY(reopened.runner()->isBusy());  // read in the worker
    QVERIFY(waitIdle(reopened));
    QVERIFY2(opened, qPrintable(reopened.lastError()));
    checkViews(reopened);
    if (QTest::currentTestFailed())
        return;
    const QString summary = reopened.summaryView()->toText();
    QVERIFY2(summary.contains("Folder: none loaded"), qPrintable(summary));
    QVERIFY2(summary.contains("Source: " + runFile_), qPrintable(summary));
    QVERIFY2(summary.contains("Status: complete"), qPrintable(summary));
    QVERIFY(!reopened.layerAnalysesAction()->isEnabled());  // nothing to run on
    QVERIFY(reopened.selectTab("inspect"));
    screenshot(&reopened, "layers-reopened-inspect.png");
    // The Per-token loss tab shows the run's losses.
    QCOMPARE(reopened.histogram()->summary().count, int64_t(reopened.layerResults()->run()->capture.loss.size()));
    QVERIFY(reopened.histogram()->summary().count > 0);

    // With a model and data again, Ctrl+L asks before replacing the opened run; "No" keeps it.
    bool ready = false;
    reopened.openModel(kDemo + "/model", [&](bool ok) {
        if (ok) reopened.openDataset(kDemo + "/eval.txt", [&](bool ok2) { ready = ok2; });
    });
    QTRY_VERIFY_WITH_TIMEOUT(ready, kRunTimeout);
    QVERIFY(waitIdle(reopened));
    QString asked;
    QTimer::singleShot(0, [&] {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
            asked = box->text();
            box->button(QMessageBox::No)->click();
        }
    });
    const auto shown = reopened.layerResults()->run();
    reopened.layerAnalysesAction()->trigger();
    QVERIFY2(asked.contains("demo-run.h5") && asked.contains("Replace them with a new run?"), qPrintable(asked));
    QVERIFY(!reopened.runner()->isBusy());
    QVERIFY(reopened.layerResults()->run() == shown);

    // A file that is not a run: a clear error, and the results stay.
    const QString bogus = dir_.filePath("not-a-run.h5");
    QFile file(bogus);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("not hdf5");
    file.close();
    const auto before = reopened.layerResults()->run();
    bool ok = true;
    reopened.openRunFile(bogus, [&](bool result) { ok = result; });
    QVERIFY(waitIdle(reopened));
    closeMessageBoxes(&reopened);
    QVERIFY(!ok);
    QVERIFY2(reopened.lastError().contains("not-a-run.h5"), qPrintable(reopened.lastError()));
    QVERIFY(reopened.layerResults()->run() == before);
}

// File > Compare Runs: the Compare tab overlays each run's per-layer numbers and sets the
// heads of two runs against each other, all from core's comparison (what the CLI writes).
void TestGuiLayers::compareShowsTheRunsOwnNumbers() {
    QVERIFY2(!runFile_.isEmpty(), "saveAndOpenRun() runs first");
    // A second run: the demo on its first 8 windows of 64 tokens, with the head scan.
    const ls::Model model = ls::Model::load(toPath(kDemo + "/model"));
    const ls::Tokenizer tokenizer = ls::Tokenizer::fromModelDir(toPath(kDemo + "/model"));
    const ls::Dataset data = ls::loadDataset(toPath(kDemo + "/eval.txt"), &tokenizer, model.config().vocabSize, {});
    ls::LayerRunParams params;
    params.analyses = {"cossim", "saturation", "ablation"};
    params.windows.seqLen = 64;
    params.windows.maxWindows = 8;
    ls::Progress progress;
    const QString second = dir_.filePath("second-run.h5"), third = dir_.filePath("third-run.h5");
    ls::writeRunFile(toPath(second), ls::runLayerAnalyses(model, data, &tokenizer, params, progress));
    params.windows.seqLen = 128;
    params.windows.maxWindows = 4;
    ls::writeRunFile(toPath(third), ls::runLayerAnalyses(model, data, &tokenizer, params, progress));

    MainWindow window;
    window.resize(1440, 900);
    window.show();
    bool compared = false;
    window.compareRunFiles({runFile_, second, third}, [&](bool ok) { compared = ok; });
    QVERIFY(waitIdle(window));
    QVERIFY2(compared, qPrintable(window.lastError()));
    QCOMPARE(window.tabs()->currentWidget(), static_cast<QWidget*>(window.compareView()));
    const ls::widgets::CompareView* view = window.compareView();

    // The same comparison directly.
    const ls::LayerRun a = ls::readRunFile(toPath(runFile_)), b = ls::readRunFile(toPath(second)),
                       c = ls::readRunFile(toPath(third));
    const ls::RunComparison direct =
        ls::compareRuns({{runFile_.toStdString(), &a}, {second.toStdString(), &b}, {third.toStdString(), &c}});
    QVERIFY(view->differencesLabel()->text().contains("seq_len"));
    QVERIFY(view->quantities().contains("cossim_mean") && view->quantities().contains("saturation_rate"));
    const ls::Table& layers = ls::requireTable(direct.tables, "compare_layers");
    for (const QString& quantity : {QString("cossim_mean"), QString("saturation_rate")}) {
        const_cast<ls::widgets::CompareView*>(view)->showQuantity(quantity);
        QCOMPARE(view->runGraphs().size(), 3);
        int points = 0;
        for (size_t i = 0; i < layers.rows(); ++i) {
            if (QString::fromStdString(layers.column("metric").texts[i]) != quantity) continue;
            const QCPGraph* g = view->runGraphs()[int(layers.column("run").numbers[i])];
            const auto it = g->data()->findBegin(layers.column("layer").numbers[i], false);
            QVERIFY(it != g->data()->constEnd());
            // The table's double, drawn as it is (read from the same files): no rounding to allow for.
            QCOMPARE_NEAR(it->value, layers.column("value").numbers[i], 0, 1e-15);
            ++points;
        }
        QVERIFY(points >= 3 * 4);
    }
    // Runs 1 and 2 scanned heads (run 0 did not): the heatmap is run 2 − run 1, head by head.
    const ls::AblationResult& h1 = *b.result<ls::AblationResult>("ablation");
    const ls::AblationResult& h2 = *c.result<ls::AblationResult>("ablation");
    QCOMPARE(h1.heads.size(), h2.heads.size());
    for (size_t i = 0; i < h1.heads.size(); ++i) {
        const ls::HeadAblation& x = h1.heads[i];
        // One subtraction of the same two doubles on both sides (absolute: the difference may be near 0).
        QCOMPARE_NEAR(view->headDiffMap()->data()->cell(x.head, x.layer - 1), h2.heads[i].zeroDppl - x.zeroDppl, 1e-15, 0);
    }
    QCOMPARE(view->rankGraph()->data()->size(), int(h1.heads.size()));
    QCOMPARE(view->rankingsTable()->rowCount(), 2);  // runs 1 and 2: zero and mean
    QCOMPARE(int(ls::requireTable(direct.tables, "compare_rankings").rows()), 2);
    screenshot(&window, "compare.png");
}

// Files dropped on the window open in order (model, dataset, then the run) and go to File >
// Open Recent, newest first; two run files dropped are compared.
void TestGuiLayers::droppedFilesOpenAndAreRecent() {
    QVERIFY2(!runFile_.isEmpty(), "saveAndOpenRun() runs first");
    RecentFiles::clear();
    MainWindow window;
    window.resize(1440, 900);
    window.show();
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(runFile_), QUrl::fromLocalFile(kDemo + "/eval.txt"),
                  QUrl::fromLocalFile(kDemo + "/model")});  // any order
    QDragEnterEvent enter(QPoint(200, 200), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(200, 200), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &drop);
    QVERIFY(waitIdle(window));
    QTRY_VERIFY_WITH_TIMEOUT(window.runner()->isBusy() || window.layerResults()->run() != nullptr, 5000);
    QVERIFY(waitIdle(window));
    QVERIFY2(window.layerResults()->run() != nullptr, qPrintable(window.lastError()));
    QCOMPARE(window.layerResults()->source(), runFile_);
    const QList<OpenedFile> recent = RecentFiles::list();
    QCOMPARE(recent.size(), 3);
    QVERIFY(recent[0].kind == OpenedFile::Kind::Run && recent[0].path == QFileInfo(runFile_).absoluteFilePath());
    QVERIFY(recent[1].kind == OpenedFile::Kind::Dataset);
    QVERIFY(recent[2].kind == OpenedFile::Kind::Model);

    // Two runs dropped: compared.
    QVERIFY2(QFile::exists(dir_.filePath("second-run.h5")), "compareShowsTheRunsOwnNumbers() runs first");
    QMimeData runs;
    runs.setUrls({QUrl::fromLocalFile(runFile_), QUrl::fromLocalFile(dir_.filePath("second-run.h5"))});
    QDragEnterEvent enterRuns(QPoint(200, 200), Qt::CopyAction, &runs, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &enterRuns);
    QDropEvent dropRuns(QPointF(200, 200), Qt::CopyAction, &runs, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &dropRuns);
    QVERIFY(waitIdle(window));
    QCOMPARE(window.tabs()->currentWidget(), static_cast<QWidget*>(window.compareView()));
    QVERIFY(window.compareView()->hasData());
}

// The run library lists a folder's run files as the files say (a damaged one with its error),
// opens one, compares the selected ones, and deletes after asking.
void TestGuiLayers::runLibraryListsOpensComparesDeletes() {
    QVERIFY2(QFile::exists(dir_.filePath("second-run.h5")), "compareShowsTheRunsOwnNumbers() runs first");
    QTemporaryDir folder;
    for (const QString& name : {"demo-run.h5", "second-run.h5", "not-a-run.h5"})
        QVERIFY(QFile::copy(dir_.filePath(name), folder.filePath(name)));
    MainWindow window;
    window.resize(1440, 900);
    window.show();
    RunLibrary* library = window.runLibrary();
    QSignalSpy scanned(library, &RunLibrary::scanned);
    library->setFolder(folder.path());
    QTRY_VERIFY_WITH_TIMEOUT(!scanned.isEmpty() && !library->isScanning(), kRunTimeout);
    QCOMPARE(library->runs().size(), 3);
    QCOMPARE(library->table()->rowCount(), 3);
    const ls::LayerRun second = ls::readRunFile(toPath(folder.filePath("second-run.h5")));
    int readable = 0;
    for (const RunListing& r : library->runs()) {
        if (QFileInfo(r.path).fileName() == "not-a-run.h5") {
            QVERIFY(!r.readable);
            QVERIFY2(r.status.startsWith("unreadable") && r.status.contains("not-a-run.h5"), qPrintable(r.status));
            continue;
        }
        ++readable;
        QVERIFY(r.readable && r.status == "complete");
        if (QFileInfo(r.path).fileName() == "second-run.h5") {
            QCOMPARE(r.tokens, second.scoredTokens());
            QCOMPARE(r.analyses, QString("cossim, saturation, ablation"));
        }
    }
    QCOMPARE(readable, 2);

    // Select the two runs: Compare shows them side by side.
    library->table()->clearSelection();
    for (int row = 0; row < library->runs().size(); ++row)
        if (library->runs()[row].readable)
            library->table()->selectionModel()->select(library->table()->model()->index(row, 0),
                                                       QItemSelectionModel::Select | QItemSelectionModel::Rows);
    QCOMPARE(library->selectedPaths().size(), 2);
    QList<QPushButton*> buttons = library->findChildren<QPushButton*>();
    auto button = [&](const QString& text) {
        for (QPushButton* b : buttons)
            if (b->text() == text) return b;
        return static_cast<QPushButton*>(nullptr);
    };
    button("Compare")->click();
    QVERIFY(waitIdle(window));
    QCOMPARE(window.tabs()->currentWidget(), static_cast<QWidget*>(window.compareView()));

    // Delete one after saying yes: it goes, the list follows.
    library->table()->clearSelection();
    for (int row = 0; row < library->runs().size(); ++row)
        if (QFileInfo(library->runs()[row].path).fileName() == "second-run.h5") library->table()->selectRow(row);
    QTimer::singleShot(0, [] {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) box->button(QMessageBox::Yes)->click();
    });
    scanned.clear();
    button("Delete…")->click();
    QTRY_VERIFY_WITH_TIMEOUT(!scanned.isEmpty() && !library->isScanning(), kRunTimeout);
    QVERIFY(!QFile::exists(folder.filePath("second-run.h5")));
    QCOMPARE(library->runs().size(), 2);
    if (auto* dock = qobject_cast<QDockWidget*>(library->parentWidget())) dock->raise();
    screenshot(&window, "run-library.png");
}

// ---- cancel ----------------------------------------------------------------------------

void TestGuiLayers::cancelKeepsPreviousResults() {
    MainWindow& window = *window_;
    const Shown before = shownBy(window);
    QVERIFY2(before.run, "runShowsTheDirectNumbers() runs first");
    const ls::WindowParams small = widenToTheWholeCorpus(window);
    QVERIFY(window.datasetPanel()->summary().windows > 1000);
    window.layerAnalysesAction()->trigger();
    QVERIFY(window.runner()->isBusy());
    QVERIFY(!window.layerAnalysesAction()->isEnabled());
    QVERIFY(!window.analysisPanel()->runButton()->isEnabled());

    // The event loop runs while the worker computes: timers fire, progress arrives.
    bool ticked = false;
    QTimer::singleShot(10, &window, [&] { ticked = true; });
    auto* bar = window.findChild<ls::widgets::TaskProgressBar*>();
    QVERIFY(bar);
    QTRY_VERIFY_WITH_TIMEOUT(bar->fraction() > 0.02, kRunTimeout);
    QVERIFY(ticked);
    QVERIFY2(window.runner()->isBusy(), "the run ended before it could be canceled");
    QVERIFY(bar->isActive());
    screenshot(&window, "layers-running.png");

    window.runner()->cancel();
    QVERIFY(waitIdle(window));
    QCOMPARE(window.lastError(), QString("Layer analyses: canceled"));
    // The previous results, untouched.
    QVERIFY(window.layerResults()->run() == before.run);
    QCOMPARE(tabTitles(window.tabs()), before.tabs);
    QCOMPARE(window.layerResults()->view<ls::widgets::CossimView>("cossim")->result(), before.run->result<ls::CossimResult>("cossim").get());
    QVERIFY(window.summaryView()->toText().contains(QString("Windows: %1").arg(kSmallWindows)));
    // Ready for the next task.
    QVERIFY(!bar->isActive());
    QVERIFY(window.layerAnalysesAction()->isEnabled());
    QVERIFY(window.analysisPanel()->runButton()->isEnabled());

    window.setWindowParams(small);
    QCOMPARE(window.datasetPanel()->summary().windows, int64_t(kSmallWindows));
}

// A head-ablation scan fills the Ablation tab while it runs; canceling it takes the tab away
// again and leaves the previous results.
void TestGuiLayers::ablationFillsWhileScanning() {
    MainWindow& window = *window_;
    const Shown before = shownBy(window);
    QVERIFY2(before.run, "runShowsTheDirectNumbers() runs first");
    const ls::WindowParams small = widenToTheWholeCorpus(window);
    window.analysisPanel()->setAnalyses({"ablation"});
    // The Heads field takes TransformerLens names: L1H2 and all of block 1's heads.
    auto* headsEdit = window.analysisPanel()->findChild<QLineEdit*>("field_heads");
    headsEdit->setText("L1H2, L0");
    QCOMPARE(window.analysisPanel()->params().heads.size(), size_t(5));
    QCOMPARE(window.analysisPanel()->params().heads.back().layer, 2);
    headsEdit->clear();
    window.layerAnalysesAction()->trigger();
    QVERIFY(window.runner()->isBusy());
    ls::widgets::AblationView* view = window.layerResults()->view<ls::widgets::AblationView>("ablation");
    QTRY_VERIFY_WITH_TIMEOUT(view->hasData(), kRunTimeout);
    QVERIFY2(window.runner()->isBusy(), "the scan ended before a snapshot arrived");
    QVERIFY(view->isPartial());
    QVERIFY(view->result()->tokens > 0);
    QCOMPARE(view->result()->heads.size(), size_t(demoLayers_) * 4);
    QVERIFY(tabTitles(window.tabs()).contains("Ablation"));
    window.runner()->cancel();
    QVERIFY(waitIdle(window));
    QCOMPARE(tabTitles(window.tabs()), before.tabs);
    QVERIFY(window.layerResults()->run() == before.run);
    window.setWindowParams(small);
    window.analysisPanel()->setAnalyses(kLayerTabs);
}

// Start and cancel every kind of analysis 100 times, at random moments: each cancel ends
// the worker (the runner is idle again within the timeout), the window keeps the results
// it had, and the process's memory does not grow from round to round.
void TestGuiLayers::cancelStress() {
    MainWindow& window = *window_;
    const std::shared_ptr<const ls::LayerRun> before = window.layerResults()->run();
    QVERIFY2(before, "runShowsTheDirectNumbers() runs first");
    const ls::WindowParams small = widenToTheWholeCorpus(window);
    const std::vector<std::vector<std::string>> kinds = {
        kLayerTabs, {"losssep"}, {"exit"}, {"ablation"}, {"linearize"}, {"linearize", "context"}};
    auto residentMb = [] {
        QFile statm("/proc/self/statm");
        if (!statm.open(QIODevice::ReadOnly)) return 0.0;
        return statm.readAll().split(' ').value(1).toDouble() * 4096.0 / (1 << 20);
    };
    QRandomGenerator rng(20261202);
    QElapsedTimer total;
    total.start();
    double rssAt10 = 0;
    qint64 slowestCancelMs = 0;
    for (int i = 0; i < 100; ++i) {
        window.analysisPanel()->setAnalyses(kinds[i % kinds.size()]);
        window.layerAnalysesAction()->trigger();
        QVERIFY(window.runner()->isBusy());
        QTest::qWait(rng.bounded(400));  // the event loop runs meanwhile
        QElapsedTimer cancelTime;
        cancelTime.start();
        window.runner()->cancel();
        QVERIFY2(waitIdle(window), qPrintable(QString("round %1: the worker did not stop").arg(i)));
        slowestCancelMs = std::max(slowestCancelMs, cancelTime.elapsed());
        QVERIFY2(window.layerResults()->run() == before, qPrintable(QString("round %1: results replaced").arg(i)));
        if (i == 9) rssAt10 = residentMb();
    }
    const double rssAt100 = residentMb();
    qInfo("100 canceled runs in %.0f s; slowest cancel %lld ms; resident memory %.0f MB after 10, %.0f MB after 100",
          total.elapsed() / 1000.0, slowestCancelMs, rssAt10, rssAt100);
    QVERIFY2(rssAt100 < rssAt10 + 100, "memory grows with every canceled run");
    QVERIFY(window.layerAnalysesAction()->isEnabled());
    window.setWindowParams(small);
    window.analysisPanel()->setAnalyses(kLayerTabs);
}

// ---- bad parameters --------------------------------------------------------------------

void TestGuiLayers::badParameterStartsNothing_data() {
    addColumns<QString>({"ranks", "ratios", "analyses", "message", "metricRanks", "exitLayers", "heads"});
    QTest::newRow("hard ratio 1.5") << "" << "0.3, 1.5" << "cossim,saturation,lowrank,inspect"
                                   << "Hard ratios: 1.5 is outside (0, 1)" << "" << "" << "";
    QTest::newRow("hard ratio text") << "" << "0.3, half" << "cossim"
                                     << "Hard ratios: needs comma-separated numbers, got '0.3,half'" << "" << "" << "";
    QTest::newRow("rank above dim") << "8, 100" << "0.5" << "lowrank" << "Ranks: rank 100 is outside 1.." << ""
                                    << "" << "";
    QTest::newRow("rank not whole") << "8, 2.5" << "0.5" << "lowrank" << "Ranks: needs whole numbers, got '8,2.5'" << ""
                                    << "" << "";
    QTest::newRow("no analysis") << "" << "0.5" << "" << "Check at least one analysis" << "" << "" << "";
    QTest::newRow("metric rank not whole") << "" << "0.5" << "losssep" << "Metric ranks: needs whole numbers, got '8,2.5'"
                                           << "8, 2.5" << "" << "";
    QTest::newRow("metric rank above dim") << "" << "0.5" << "losssep" << "Metric ranks: rank 1000 is outside 1.."
                                           << "8, 1000" << "" << "";
    QTest::newRow("exit layer beyond L") << "" << "0.5" << "exit" << "Exit layers: layer 99 is outside 1.." << ""
                                         << "1, 99" << "";
    QTest::newRow("exit layer text") << "" << "0.5" << "exit" << "Exit layers: needs comma-separated numbers, got '1,last'" << ""
                                     << "1, last" << "";
    QTest::newRow("head beyond the model") << "" << "0.5" << "ablation" << "Heads: L9H0 is out of range (the model has layers L0.."
                                           << "" << "" << "L0H1, L9H0";
    QTest::newRow("head name malformed") << "" << "0.5" << "linearize" << "Heads: 'block2' is not a head name like L0H3"
                                         << "" << "" << "block2";
}

void TestGuiLayers::badParameterStartsNothing() {
    QFETCH(QString, ranks);
    QFETCH(QString, ratios);
    QFETCH(QString, analyses);
    QFETCH(QString, message);
    QFETCH(QString, metricRanks);
    QFETCH(QString, exitLayers);
    MainWindow& window = *window_;
    AnalysisPanel* panel = window.analysisPanel();
    const std::shared_ptr<const ls::LayerRun> before = window.layerResults()->run();

    std::vector<std::string> names;
    for (const QString& name : analyses.split(',', Qt::SkipEmptyParts))
        names.push_back(name.toStdString());
    panel->setAnalyses(names);
    panel->setFieldText("ranks", ranks);
    panel->setFieldText("hard-ratios", ratios);
    panel->setFieldText("metric-ranks", metricRanks);
    panel->setFieldText("layers", exitLayers);
    QFETCH(QString, heads);
    panel->findChild<QLineEdit*>("field_heads")->setText(heads);
    // Shown in the panel at once, and Run is off.
    QVERIFY2(panel->problemText().startsWith(message), qPrintable(panel->problemText()));
    QVERIFY(!panel->canRun());
    QVERIFY(!panel->runButton()->isEnabled());
    auto* label = panel->findChild<QLabel*>("problemLabel");
    QVERIFY(label && !label->isHidden());
    QCOMPARE(label->text(), panel->problemText());
    if (QByteArray(QTest::currentDataTag()) == "hard ratio 1.5")
        screenshot(&window, "layers-bad-parameter.png");

    // Ctrl+L anyway: the same message, and nothing starts.
    window.layerAnalysesAction()->trigger();
    QVERIFY(!window.runner()->isBusy());
    QVERIFY2(window.lastError().contains(message), qPrintable(window.lastError()));
    QVERIFY(!window.findChildren<QMessageBox*>().isEmpty());  // told, not only in the status bar
    closeMessageBoxes(&window);
    QVERIFY(window.layerResults()->run() == before);

    // Back to the defaults: nothing wrong.
    ls::LayerRunParams defaults;
    defaults.analyses = kLayerTabs;
    panel->setParams(defaults);
    QVERIFY2(panel->problemText().isEmpty(), qPrintable(panel->problemText()));
    QVERIFY(label->isHidden());
    QVERIFY(panel->canRun());
    QCOMPARE(panel->fieldText("hard-ratios"), QString("0.3,0.5,0.7"));
    // An empty field is not given: the analysis keeps its default (the command line refuses
    // an empty --hard-ratios; the form has no such option to leave out).
    panel->setFieldText("hard-ratios", "");
    QVERIFY2(panel->problemText().isEmpty(), qPrintable(panel->problemText()));
    QCOMPARE(panel->params().cossim.hardRatios, defaults.cossim.hardRatios);
    // A window index (ParamSpec::datasetWindow) past the windows the Dataset panel gives.
    panel->setWindowCount(3);
    panel->setFieldText("inspect-window", "3");
    QVERIFY2(panel->problemText().startsWith("Inspector window: 3 does not exist: the Dataset panel's options give windows 0..2"),
             qPrintable(panel->problemText()));
    panel->setFieldText("inspect-window", "2");
    QVERIFY2(panel->problemText().isEmpty(), qPrintable(panel->problemText()));
    panel->setWindowCount(int64_t(window.datasetPanel()->windows().size()));
    panel->setParams(defaults);
}

// ---- loss separation and early exit ------------------------------------------------------

void TestGuiLayers::lossSepAndExitShowTheDirectNumbers() {
    MainWindow& window = *window_;
    AnalysisPanel* panel = window.analysisPanel();
    LayerResults* results = window.layerResults();
    // The panel's defaults for these two: probes on the last block, no metric ranks, exit on
    // confidence at every layer 1..L-1.
    panel->setAnalyses({"losssep", "exit"});
    QVERIFY2(panel->problemText().isEmpty(), qPrintable(panel->problemText()));
    const ls::LayerRunParams asked = panel->params();
    QVERIFY(asked.lossSep.probes);
    QCOMPARE(asked.lossSep.probeLayer, -1);
    QVERIFY(asked.lossSep.metricRanks.empty());
    QCOMPARE(asked.exit.signal, std::string("confidence"));
    QVERIFY(asked.exit.layers.empty());

    const std::shared_ptr<const ls::LayerRun> before = results->run();
    const ls::widgets::ProbeTrainingPanel* training = results->view<ls::widgets::LossSepPage>("losssep")->training();
    window.layerAnalysesAction()->trigger();
    QVERIFY(window.runner()->isBusy());
    QVERIFY(training->isTraining());
    // Live: the first probe epoch shows the training panel in the Loss separation tab (added
    // for the time being: the shown run has none) while the run still goes on.
    QTRY_VERIFY_WITH_TIMEOUT(!training->curve()->points().isEmpty(), kRunTimeout);
    QVERIFY2(window.runner()->isBusy(), "epochs must arrive before the run's end");
    QVERIFY(!training->isHidden());
    QCOMPARE(window.tabs()->currentWidget(), results->viewFor("losssep"));
    QVERIFY2(training->headingText().contains("Training probes"), qPrintable(training->headingText()));
    const ls::widgets::LossCurvePoint first = training->curve()->points().front();
    QCOMPARE_NEAR(first.step, 1.0, 0, 0);  // epoch 1, a whole number
    QVERIFY(std::isfinite(first.trainLoss) && std::isfinite(first.valLoss));
    // More epochs and probes follow; a finished probe gets a row.
    QTRY_VERIFY_WITH_TIMEOUT(training->table()->rowCount() >= 1 || !window.runner()->isBusy(), kRunTimeout);
    screenshot(&window, "layers-probes-training.png");
    QVERIFY(waitIdle(window));
    QVERIFY2(results->run() != before, qPrintable(window.lastError()));
    QVERIFY(!training->isTraining());
    QVERIFY(training->isHidden());
    QVERIFY(results->run());
    QVERIFY(results->run()->result<ls::LossSepResult>("losssep") && results->run()->result<ls::ExitResult>("exit"));
    QCOMPARE(results->shownTabs(), (QStringList{"losssep", "exit"}));
    QCOMPARE(tabTitles(window.tabs()), (QStringList{"Dataset preview", "Per-token loss", "Loss separation", "Early exit"}));

    // The same directly.
    const ls::Model model = ls::Model::load(toPath(kDemo + "/model"));
    const ls::Tokenizer tokenizer = ls::Tokenizer::fromModelDir(toPath(kDemo + "/model"));
    const ls::Dataset data = ls::loadDataset(toPath(kDemo + "/eval.txt"), &tokenizer, model.config().vocabSize, {});
    ls::LayerRunParams params;
    params.analyses = {"losssep", "exit"};
    params.windows = window.windowParams();
    ls::Progress progress;
    const ls::LayerRun ref = ls::runLayerAnalyses(model, data, &tokenizer, params, progress);
    const auto refLossSep = ref.result<ls::LossSepResult>("losssep");
    const auto refExit = ref.result<ls::ExitResult>("exit");
    QVERIFY(refLossSep && refExit && refLossSep->probes);
    const ls::ProbeResult* refProbes = &*refLossSep->probes;
    const int L = ref.capture.numLayers;
    QCOMPARE(results->run()->capture.tokens(), ref.capture.tokens());

    // Loss separation: the distribution, every predictor (bars and grid), the tables.
    const ls::widgets::LossSepView* lossSep = results->view<ls::widgets::LossSepPage>("losssep")->view();
    QVERIFY(lossSep->hasData());
    const ls::LossSepResult& got = *lossSep->result();
    QCOMPARE(got.numLayers, L);
    // The GUI's run vs a direct one: float32 losses, summed in other orders.
    QCOMPARE_NEAR(got.distribution.summary.mean, refLossSep->distribution.summary.mean, 1e-6, 0);
    QCOMPARE_NEAR(got.distribution.oracle.lossDiff, refLossSep->distribution.oracle.lossDiff, 1e-6, 0);
    QCOMPARE(got.distribution.histogram.counts.size(), refLossSep->distribution.histogram.counts.size());
    const std::vector<ls::MetricInfo>& metrics = ls::separationMetrics();
    for (const ls::PredictorRow& want : refLossSep->predictors) {
        int m = -1;
        for (int i = 0; i < int(metrics.size()); ++i)
            if (want.method == metrics[size_t(i)].name)
                m = i;
        if (m < 0)
            continue;  // the Oracle and the probes (trained: compared below by shape)
        QVERIFY2(std::abs(lossSep->gridMap()->data()->cell(want.layer - 1, m) - 100 * want.split.oracleRatio) < 1e-4,
                 qPrintable(QString("%1 at layer %2").arg(QString::fromStdString(want.method)).arg(want.layer)));
    }
    // The bars: the metrics at L as the direct run has them, the probes and the Oracle as drawn.
    const std::vector<ls::PredictorRow>& bars = lossSep->barRows();
    QVERIFY(bars.size() >= 7);
    for (int i = 0; i < int(bars.size()); ++i) {
        QCOMPARE_NEAR(lossSep->drawnRatio(i), 100 * bars[size_t(i)].split.oracleRatio, 1e-9, 0);
        for (const ls::PredictorRow& want : refLossSep->predictors)
            if (want.method == bars[size_t(i)].method && want.layer == L && want.method.rfind("probe", 0) != 0)
                QCOMPARE_NEAR(bars[size_t(i)].split.oracleRatio, want.split.oracleRatio, 1e-6, 0);
    }
    QCOMPARE(bars.back().method, std::string("oracle"));
    QCOMPARE(lossSep->thresholdTable()->rowCount(), int(refLossSep->thresholds.size()));
    for (int r = 0; r < lossSep->thresholdTable()->rowCount(); ++r) {
        const double want = refLossSep->thresholds[size_t(r)].split.lossDiff;  // NaN when a side is empty
        const double shown = cellNumber(lossSep->thresholdTable(), r, 6);
        QVERIFY2(std::isfinite(want) ? std::abs(shown - want) <= 0.005 + 1e-6 : std::isnan(shown),
                 qPrintable(QString("row %1: shown %2, direct %3").arg(r).arg(shown).arg(want)));
    }
    QCOMPARE(lossSep->subsetTable()->rowCount(), int(refLossSep->subsets.size()));
    for (int r = 0; r < lossSep->subsetTable()->rowCount(); ++r)
        QCOMPARE_NEAR(cellNumber(lossSep->subsetTable(), r, 1), double(refLossSep->subsets[size_t(r)].tokens), 0, 0);  // counts
    // Probes: the same probes (trained again here; their numbers are the run's own).
    QVERIFY(got.probes);
    QCOMPARE(got.probes->rows.size(), refProbes->rows.size());
    QCOMPARE(got.probes->layer, L);
    int regression = 0, classification = 0;
    for (size_t i = 0; i < refProbes->rows.size(); ++i) {
        QCOMPARE(got.probes->rows[i].architecture, refProbes->rows[i].architecture);
        QCOMPARE(got.probes->rows[i].task, refProbes->rows[i].task);
        regression += refProbes->rows[i].task == "regression";
        classification += refProbes->rows[i].task == "classification";
    }
    QCOMPARE(lossSep->probeRegressionTable()->rowCount(), regression);
    QCOMPARE(lossSep->probeClassificationTable()->rowCount(), classification);
    QTabWidget* tableTabs = lossSep->tableTabs();
    QVERIFY(tableTabs->isTabVisible(tableTabs->indexOf(lossSep->probesPage())));

    // Early exit: the run's policy and sweep, then a slider step = the simulator's answer.
    ls::widgets::EarlyExitView* exit = results->view<ls::widgets::EarlyExitView>("exit");
    QVERIFY(exit->hasData());
    QTRY_VERIFY_WITH_TIMEOUT(!exit->isRebuilding(), kRunTimeout);
    QVERIFY(exit->simulator());
    QCOMPARE(exit->signalName(), QString("confidence"));
    std::vector<int> all;
    for (int l = 1; l < L; ++l)
        all.push_back(l);
    QCOMPARE(exit->allowedLayers(), all);
    QCOMPARE(exit->outcome().exits, refExit->policy.exits);
    // The GUI's run vs a direct one: the same counts, float32 losses summed in other orders.
    QCOMPARE_NEAR(exit->outcome().computeSaved, refExit->policy.computeSaved, 1e-9, 0);
    QCOMPARE_NEAR(exit->outcome().top1Agreement, refExit->policy.top1Agreement, 1e-9, 0);
    QCOMPARE_NEAR(exit->outcome().ppl, refExit->policy.ppl, 0, 1e-6);
    QCOMPARE(exit->sweep().size(), refExit->sweep.size());
    for (size_t i = 0; i < refExit->sweep.size(); ++i)
        QCOMPARE_NEAR(exit->sweep()[i].outcome.computeSaved, refExit->sweep[i].outcome.computeSaved, 1e-9, 0);
    QVERIFY(window.selectTab("exit"));
    exit->thresholdSlider()->setValue(300);
    const ls::ExitSimulator direct(results->run()->capture, "confidence", all);
    const ls::ExitOutcome moved = direct.evaluate(exit->threshold());
    QCOMPARE(exit->outcome().exits, moved.exits);
    // The view's simulator on the same capture and threshold: the same code path, exact.
    QCOMPARE_NEAR(exit->outcome().computeSaved, moved.computeSaved, 0, 0);
    QCOMPARE_NEAR(exit->outcome().top1Agreement, moved.top1Agreement, 0, 0);
    QCOMPARE_NEAR(exit->outcome().ppl, moved.ppl, 0, 0);
    QCOMPARE(exit->computeSavedLabel()->text(), QString("%1%").arg(100 * moved.computeSaved, 0, 'f', 1));
    // The reference capture gives the same outcome (the same tokens, the same lens).
    const ls::ExitOutcome onRef = ls::ExitSimulator(ref.capture, "confidence", all).evaluate(exit->threshold());
    QCOMPARE(onRef.exits, moved.exits);
    screenshot(&window, "layers-exit.png");
    QVERIFY(window.selectTab("losssep"));
    screenshot(&window, "layers-losssep.png");

    // The Summary names the probes and the exit policy.
    const QString summary = window.summaryView()->toText();
    QVERIFY2(summary.contains(QString("Probes: on h_%1").arg(L)), qPrintable(summary));
    QVERIFY2(summary.contains("Exit signal: confidence"), qPrintable(summary));
}

// ---- generation ---------------------------------------------------------------------------

// The Generation panel on the demo: the tab's columns are the continuations layerscope-cli
// generate makes with the same settings (token for token), the demo's copy is there, and the
// run saved and reopened shows the same.
void TestGuiLayers::generationPanelRunsSavesAndReopens() {
    MainWindow& window = *window_;
    GenerationPanel* panel = window.generationPanel();
    const QString prompts = QStringLiteral("copy lonu sasa loka mito again\ncount one two\n");
    panel->setPromptsText(prompts);
    panel->setConditionsText(QStringLiteral("baseline\nablate:L0H1,L1H2\nrelu:L1"));
    QVERIFY2(panel->problemText().isEmpty(), qPrintable(panel->problemText()));
    QTRY_VERIFY(panel->runButton()->isEnabled());
    panel->runButton()->click();
    QVERIFY(waitIdle(window));
    const auto run = window.layerResults()->run();
    QVERIFY(run);
    const auto result = run->result<ls::GenerationResult>("generate");
    QVERIFY2(result, qPrintable(window.lastError()));
    QCOMPARE(result->conditions.size(), size_t(3));
    QCOMPARE(result->continuations.size(), size_t(3 * 2));
    QVERIFY(window.selectTab("generate"));
    auto* view = window.findChild<ls::widgets::GenerationView*>();
    QVERIFY(view);
    QVERIFY2(view->columnText(0).startsWith("lonu sasa loka mito ."), qPrintable(view->columnText(0)));
    QCOMPARE(view->summaryTable()->rowCount(), 3);

    // The same settings through the CLI: the same tokens.
    const QString promptsFile = dir_.filePath("gen_prompts.txt"), jsonl = dir_.filePath("gen.jsonl");
    {
        QFile f(promptsFile);
        QVERIFY(f.open(QIODevice::WriteOnly) && f.write(prompts.toUtf8()) == prompts.toUtf8().size());
    }
    QProcess cli;
    cli.start(QStringLiteral(LAYERSCOPE_CLI),
              {"generate", "--model", kDemo + "/model", "--prompts", promptsFile, "--max-new-tokens", "32", "--condition",
               "baseline", "--condition", "ablate:L0H1,L1H2", "--condition", "relu:L1", "--jsonl", jsonl, "--quiet"});
    QVERIFY(cli.waitForFinished(120000));
    QCOMPARE(cli.exitCode(), 0);
    QFile records(jsonl);
    QVERIFY(records.open(QIODevice::ReadOnly));
    size_t i = 0;
    for (const QByteArray& line : records.readAll().split('\n')) {
        if (line.trimmed().isEmpty()) continue;
        QVERIFY(i < result->continuations.size());
        std::vector<int32_t> ids;
        for (const auto& id : QJsonDocument::fromJson(line).object()["ids"].toArray()) ids.push_back(id.toInt());
        QCOMPARE(ids, result->continuations[i++].ids);
    }
    QCOMPARE(i, result->continuations.size());
    screenshot(&window, "generation.png");

    // Saved and reopened: the same continuations in the tab.
    const QString file = dir_.filePath("generation.h5");
    bool saved = false;
    window.saveRunFile(file, [&](bool ok) { saved = ok; });
    QVERIFY(waitIdle(window) && saved);
    bool opened = false;
    window.openRunFile(file, [&](bool ok) { opened = ok; });
    QVERIFY(waitIdle(window) && opened);
    const auto reopened = window.layerResults()->run()->result<ls::GenerationResult>("generate");
    QVERIFY(reopened);
    QCOMPARE(reopened->continuations.size(), result->continuations.size());
    for (size_t c = 0; c < reopened->continuations.size(); ++c)
        QCOMPARE(reopened->continuations[c].ids, result->continuations[c].ids);
    QVERIFY(window.selectTab("generate"));
    QVERIFY(view->columnText(0).startsWith("lonu sasa loka mito ."));
}

void TestGuiLayers::microscopePromptAndPatching() {
    // The Microscope panel on the demo: one prompt (attention, logit attribution), then the
    // copy pairs patched; the views draw exactly what the run holds, and a saved run reopens so.
    MainWindow& window = *window_;
    bool ready = false;
    window.openModel(kDemo + "/model", [&](bool ok) { ready = ok; });
    QTRY_VERIFY_WITH_TIMEOUT(ready, kRunTimeout);
    QVERIFY(waitIdle(window));
    MicroscopePanel* panel = window.microscopePanel();
    panel->setPromptText("copy sami sape tope runu again sami sape");
    QTRY_VERIFY(panel->promptButton()->isEnabled());
    panel->promptButton()->click();
    QVERIFY(waitIdle(window));
    auto* prompt = window.layerResults()->view<ls::widgets::PromptView>("prompt");
    QVERIFY(prompt && prompt->hasData());
    QCOMPARE(window.tabs()->currentWidget(), window.layerResults()->viewFor("prompt"));
    const ls::PromptResult& r = *prompt->result();
    const int L = r.attention.numLayers, H = r.attention.numHeads, T = r.attention.tokens;
    QCOMPARE(T, 8);
    QCOMPARE(QString::fromStdString(r.chosenTokenText), QString("tope"));  // the copy
    // The picked pattern is the head with the highest induction score (block 3 copies), drawn T x T.
    ls::widgets::GridHeatmap* pattern = prompt->patternChart();
    QCOMPARE(pattern->rows(), T);
    QCOMPARE(pattern->columns(), T);
    QVERIFY(prompt->headSummaryChart()->valueAt(2, 2) > 0.9 || prompt->headSummaryChart()->valueAt(2, 3) > 0.9);
    QVERIFY(std::isnan(pattern->valueAt(0, 1)));  // masked: a later key
    prompt->showPattern(2, 1);
    QCOMPARE_NEAR(pattern->valueAt(5, 3), double(r.attention.weight(2, 1, 5, 3)), 1e-7, 0);
    screenshot(&window, "microscope_attention.png");
    // The attribution heatmap: L blocks x (H heads, the bias, the MLP), each cell its component.
    ls::widgets::GridHeatmap* dla = prompt->attributionChart();
    QCOMPARE(dla->rows(), L);
    QCOMPARE(dla->columns(), H + 2);  // GPT-2 has attention output biases
    for (const ls::LogitComponent& c : r.attribution.components) {
        const int column = c.kind == ls::LogitComponent::Kind::Head ? c.head
                           : c.kind == ls::LogitComponent::Kind::AttentionBias ? H
                                                                               : H + 1;
        if (c.kind != ls::LogitComponent::Kind::Embeddings) QCOMPARE(dla->valueAt(c.layer - 1, column), c.value);
    }
    // Export… offers the three heatmaps; a journal-column PNG of the attribution has its cells.
    QCOMPARE(prompt->charts().size(), 3);
    const QString figure = dir_.path() + "/logit_attribution.png";
    QVERIFY(ls::widgets::savePlotImage(dla, figure, ls::widgets::FigureSize{85, 70, 300}));
    const QImage exported(figure);
    QVERIFY(exported.width() > 900 && exported.height() > 700);
    int reddish = 0;  // block 1's MLP promotes the answer most: a deep red cell
    for (int y = 0; y < exported.height(); y += 4)
        for (int x = 0; x < exported.width(); x += 4) {
            const QColor c = exported.pixelColor(x, y);
            reddish += c.red() > 90 && c.red() < 200 && c.green() < 40 && c.blue() < 60;
        }
    QVERIFY2(reddish > 200, qPrintable(QString::number(reddish)));
    screenshotFile(figure, "microscope_attribution_export.png");
    prompt->pages()->setCurrentIndex(1);
    QVERIFY(prompt->tokenTable()->rowCount() == 10);
    QVERIFY(prompt->componentTable()->rowCount() > 0);
    screenshot(&window, "microscope_attribution.png");

    panel->setPairsPath(kDemo + "/copy_pairs.jsonl");
    QTRY_VERIFY(panel->patchButton()->isEnabled());
    panel->patchButton()->click();
    QVERIFY(waitIdle(window));
    auto* patching = window.layerResults()->view<ls::widgets::PatchingView>("patch");
    QVERIFY(patching && patching->hasData());
    const ls::PatchResult& p = *patching->result();
    QCOMPARE(p.pairs.size(), size_t(8));
    QCOMPARE(patching->residChart()->rows(), L + 1);
    QCOMPARE(patching->residChart()->columns(), T);
    QCOMPARE(patching->headsChart()->rows(), L);
    QCOMPARE(patching->headPositionsChart()->rows(), L * H);
    QCOMPARE(patching->residChart()->valueAt(L, T - 1), p.resid[ls::kDenoise][size_t(L * T + T - 1)]);
    QCOMPARE_NEAR(patching->residChart()->valueAt(L, T - 1), 1.0, 1e-5, 0);  // the whole final state restores the answer
    patching->directionChoice()->setCurrentIndex(1);
    QCOMPARE(patching->headsChart()->valueAt(2, 2), p.heads[ls::kNoise][size_t(2 * H + 2)]);
    patching->directionChoice()->setCurrentIndex(0);
    screenshot(&window, "microscope_patching.png");
    // Saved and reopened: the same values drawn.
    const QString file = dir_.path() + "/patching.h5";
    bool saved = false;
    window.saveRunFile(file, [&](bool ok) { saved = ok; });
    QTRY_VERIFY_WITH_TIMEOUT(saved, kRunTimeout);
    const double before = patching->headsChart()->valueAt(2, 2);
    bool opened = false;
    window.openRunFile(file, [&](bool ok) { opened = ok; });
    QTRY_VERIFY_WITH_TIMEOUT(opened, kRunTimeout);
    QVERIFY(patching->hasData() && patching->result() != &p);
    QCOMPARE(patching->headsChart()->valueAt(2, 2), before);
}

QTEST_MAIN(TestGuiLayers)
#include "test_gui_layers.moc"

// The Plan button: the run's plan in the panel (the demo's windows and tokens, as the CLI's
// --plan counts them), computed off the GUI thread; the results shown stay; a changed
// parameter clears it.
void TestGuiLayers::planButtonShowsThePlanAndRunsNothing() {
    MainWindow& window = *window_;
    AnalysisPanel* panel = window.analysisPanel();
    panel->setAnalyses({"cossim", "saturation", "ablation"});
    QTRY_VERIFY(panel->planButton()->isEnabled());
    const auto shownBefore = window.layerResults()->run();
    panel->planButton()->click();
    QVERIFY(window.runner()->isBusy());  // on the worker thread
    QVERIFY(waitIdle(window));
    const QString plan = panel->planText();
    QVERIFY2(plan.startsWith("plan of cossim,saturation,ablation"), qPrintable(plan + window.lastError()));
    const ls::WindowParams windows = window.windowParams();
    const ls::Tokenizer tokenizer = ls::Tokenizer::fromModelDir(toPath(kDemo + "/model"));
    const ls::Dataset data = ls::loadDataset(toPath(kDemo + "/eval.txt"), &tokenizer, tokenizer.vocabSize(), {});
    const ls::WindowSummary summary =
        ls::summarizeWindows(ls::makeWindows(int64_t(data.tokens.size()), data.documentStarts, windows), data.documentStarts);
    QVERIFY2(plan.contains(QString("%1 windows, %2 scored tokens").arg(summary.windows).arg(summary.scoredTokens)), qPrintable(plan));
    QVERIFY2(plan.contains("peak memory") && plan.contains("in N shards"), qPrintable(plan));
    QCOMPARE(window.layerResults()->run(), shownBefore);  // planning runs nothing that is shown
    panel->setAnalyses({"cossim"});
    QVERIFY(panel->planText().isEmpty());
}

// Train Tuned Lens on the demo, "Use This Lens" fills the Lens field, and Compare Lenses runs the
// analyses through both lenses into the Compare tab: KL to final per layer and the early-exit
// Pareto fronts, one curve per lens; the run shown is the tuned lens's and says so.
void TestGuiLayers::tunedLensTrainedChosenAndCompared() {
    MainWindow& window = *window_;
    bool ready = false;  // the demo again (an opened run before let the inputs go)
    window.openModel(kDemo + "/model", [&](bool ok) {
        if (ok) window.openDataset(kDemo + "/eval.txt", [&](bool ok2) { ready = ok2; });
    });
    QTRY_VERIFY_WITH_TIMEOUT(ready, kRunTimeout);
    QVERIFY(waitIdle(window));
    TrainLensDialog* dialog = window.showTrainLensDialog();
    const QString lens = dir_.path() + "/demo-lens";
    dialog->setOutputFolder(lens);
    ls::LensTrainParams params;
    params.steps = 6;
    params.batchTokens = 512;
    dialog->setTrainParams(params);
    QTRY_VERIFY2(dialog->problemText().isEmpty(), qPrintable(dialog->problemText()));
    dialog->start();
    QVERIFY(window.runner()->isBusy());  // on the worker thread
    QVERIFY(waitIdle(window));
    QVERIFY2(QFile::exists(lens + "/tuned_lens.json"), qPrintable(window.lastError() + dialog->resultText()));
    QCOMPARE(dialog->klTable()->rowCount(), demoLayers_);
    QVERIFY(dialog->curveView()->points().size() >= 2);  // before training, and after
    for (int row = 0; row < demoLayers_; ++row)  // each layer kept its best state: never above the logit lens
        QVERIFY(dialog->klTable()->item(row, 3)->text().toDouble() <= dialog->klTable()->item(row, 2)->text().toDouble());
    screenshot(dialog, "train_lens_dialog.png");
    const QString chosen = "tuned:" + QDir::cleanPath(lens);
    emit dialog->lensChosen(lens);  // as "Use This Lens" does
    AnalysisPanel* panel = window.analysisPanel();
    QCOMPARE(panel->fieldText("lens"), chosen);
    dialog->close();

    panel->setAnalyses({"saturation", "lensdiv", "exit"});
    QTRY_VERIFY2(panel->canRun(), qPrintable(panel->problemText()));
    const QString errorBefore = window.lastError();  // an earlier test's
    window.compareLenses();
    QVERIFY(waitIdle(window));
    QVERIFY2(window.lastError() == errorBefore, qPrintable(window.lastError()));
    ls::widgets::CompareView* compare = window.compareView();
    QCOMPARE(window.tabs()->currentWidget(), compare);
    QCOMPARE(compare->frontGraphs().size(), 2);  // one Pareto front per lens
    QVERIFY(compare->quantities().contains(QStringLiteral("kl_to_final")));
    QCOMPARE(compare->runGraphs().size(), 2);
    screenshot(&window, "compare_lenses.png");
    const auto shown = window.layerResults()->run();
    QVERIFY(shown);
    QCOMPARE(QString::fromStdString(shown->params.lensChoice.text()), chosen);
    QCOMPARE(shown->params.lensChoice.hash.size(), size_t(16));
    panel->setFieldText("lens", "logit");
}
