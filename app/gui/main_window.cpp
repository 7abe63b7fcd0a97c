#include "main_window.h"

#include <QAction>
#include <QActionGroup>
#include <QSettings>
#include <QThread>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QUrl>
#include <QMimeData>
#include <QDropEvent>
#include <QDragEnterEvent>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QScrollArea>
#include <QScrollBar>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>
#include <iostream>

#include "analysis/layer_run.h"
#include "analysis/perplexity.h"
#include "analysis/tuned_lens.h"
#include "common/error.h"
#include "generation_panel.h"
#include "microscope_panel.h"
#include "analysis_panel.h"
#include "dataset_panel.h"
#include "dataset_preview.h"
#include "default_inputs.h"
#include "file_paths.h"
#include "kit/format.h"
#include "compare_view.h"
#include "export_menu.h"
#include "layer_results.h"
#include "opened_files.h"
#include "run_library.h"
#include "train_lens_dialog.h"
#include "loss_histogram_view.h"
#include "model/model.h"
#include "model/system_info.h"
#include "model_summary_view.h"
#include "task_progress_bar.h"
#include "theme.h"
#include "token_preview_view.h"
#include "tokenizer/tokenizer.h"
#include "train_dialog.h"

using ls::widgets::formatCount;

namespace {


// Status-bar form of an error: its first line (c10 errors append a C++ backtrace).
QString firstLine(const QString& message) { return message.section('\n', 0, 0); }

// A panel in a vertical scroll area; fitWidth: never narrower than the panel itself.
QScrollArea* scrolling(QWidget* panel, bool fitWidth) {
    auto* scroll = new QScrollArea(panel->parentWidget());
    scroll->setWidget(panel);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    if (fitWidth)
        scroll->setMinimumWidth(panel->minimumSizeHint().width() + scroll->verticalScrollBar()->sizeHint().width());
    return scroll;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setAcceptDrops(true);  // model folders, datasets and run files dropped on the window open
    setWindowTitle(tr("LayerScope"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/layerscope.svg")));
    // First: every panel reads what the tasks have loaded.
    taskBar_ = new ls::widgets::TaskProgressBar(this);
    taskBar_->setMinimumWidth(520);
    statusBar()->addPermanentWidget(taskBar_);
    tasks_ = new WorkbenchTasks(taskBar_, this);

    histogram_ = new ls::widgets::LossHistogramView(this);
    preview_ = new ls::widgets::TokenPreviewView(this);
    preview_->setLegend(tr("One box per token · faded: context only, not scored · hover for id and "
                           "vocabulary entry"));
    tabs_ = new QTabWidget(this);
    tabs_->setDocumentMode(true);
    tabs_->addTab(preview_, tr("Dataset preview"));
    tabs_->addTab(histogram_, tr("Per-token loss"));
    layerResults_ = new LayerResults(tabs_, this);
    compareView_ = new ls::widgets::CompareView(tabs_);  // its tab is shown with a comparison
    compareView_->setObjectName(QStringLiteral("compareView"));
    compareView_->hide();
    // What an export wrote, where (an "Everything" export reports each file: the last stays).
    connect(layerResults_, &LayerResults::exported, this,
            [this](const QString& path) { statusBar()->showMessage(tr("Wrote %1").arg(QDir::toNativeSeparators(path)), 15000); });
    connect(layerResults_, &LayerResults::exportFailed, this,
            [this](const QString& message) { showFailure(tr("Export"), message); });
    hint_ = new QLabel(this);
    hint_->setAlignment(Qt::AlignCenter);
    hint_->setWordWrap(true);
    hint_->setMargin(40);
    central_ = new QStackedWidget(this);
    central_->addWidget(hint_);
    central_->addWidget(tabs_);
    setCentralWidget(central_);

    summary_ = new ls::widgets::ModelSummaryView(this);
    // The side panels: they move and float, but do not close.
    auto makeDock = [this](const QString& title, const char* name, QWidget* content) {
        auto* dock = new QDockWidget(title, this);
        dock->setObjectName(QString::fromLatin1(name));
        dock->setWidget(content);
        dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
        return dock;
    };
    summaryDock_ = makeDock(tr("Summary"), "summaryDock", summary_);
    datasetPanel_ = new DatasetPanel(this);
    datasetDock_ = makeDock(tr("Dataset"), "datasetDock", scrolling(datasetPanel_, true));
    analysisPanel_ = new AnalysisPanel(this);
    analysisDock_ = makeDock(tr("Layer analyses"), "analysisDock", analysisPanel_);  // scrolls its own fields
    generationPanel_ = new GenerationPanel(this);
    generationDock_ = makeDock(tr("Generation"), "generationDock", generationPanel_);  // scrolls its own fields
    microscopePanel_ = new MicroscopePanel(this);
    microscopeDock_ = makeDock(tr("Microscope"), "microscopeDock", scrolling(microscopePanel_, true));
    // One column of tabbed docks on the right leaves the analysis views the width their
    // charts and tables need; any dock can be dragged out to see two at once.
    runLibrary_ = new RunLibrary(this);
    libraryDock_ = makeDock(tr("Runs"), "libraryDock", runLibrary_);
    addDockWidget(Qt::RightDockWidgetArea, summaryDock_);
    tabifyDockWidget(summaryDock_, datasetDock_);
    tabifyDockWidget(datasetDock_, analysisDock_);
    tabifyDockWidget(analysisDock_, generationDock_);
    tabifyDockWidget(generationDock_, microscopeDock_);
    tabifyDockWidget(microscopeDock_, libraryDock_);
    connect(runLibrary_, &RunLibrary::openRequested, this, [this](const QString& path) { openRunFile(path); });
    connect(runLibrary_, &RunLibrary::compareRequested, this, [this](const QStringList& paths) { compareRunFiles(paths); });
    // The library lists what was saved there since.
    connect(libraryDock_, &QDockWidget::visibilityChanged, this, [this](bool visible) {
        if (visible) runLibrary_->rescan();
    });
    datasetDock_->raise();
    connect(analysisPanel_, &AnalysisPanel::runRequested, this, [this] { runLayerAnalyses(); });
    connect(analysisPanel_, &AnalysisPanel::planRequested, this, [this] { planLayerAnalyses(); });
    connect(tasks_, &WorkbenchTasks::planned, this, [this](const QString& text) {
        analysisPanel_->setPlanText(text);
        analysisDock_->raise();  // the plan shows there
        statusBar()->showMessage(tr("Plan ready: see the Layer analyses panel"));
    });
    connect(generationPanel_, &GenerationPanel::runRequested, this, [this] { runGeneration(); });
    connect(microscopePanel_, &MicroscopePanel::promptRequested, this, [this] { runPrompt(); });
    connect(microscopePanel_, &MicroscopePanel::patchRequested, this, [this] { runPatching(); });
    connect(datasetPanel_, &DatasetPanel::openRequested, this, [this] { openDatasetAction_->trigger(); });
    connect(datasetPanel_, &DatasetPanel::rereadRequested, this, [this] {
        if (tasks_->dataset())
            openDataset(fromPath(tasks_->dataset()->path));
    });
    connect(datasetPanel_, &DatasetPanel::windowsChanged, this, [this] {
        updatePreview();
        analysisPanel_->setWindowCount(int64_t(datasetPanel_->windows().size()));
    });

    connectTasks();

    createActions();
    createToolBar();
    updateSummary();
    updateHint();
    updateActions();
    resize(1440, 900);
    resizeDocks({datasetDock_}, {380}, Qt::Horizontal);
}

MainWindow::~MainWindow() {
    // Workers hold shared_ptr copies of their inputs, but their callbacks touch this window.
    tasks_->cancelAndWait();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (trainDialog_)
        trainDialog_->close();  // cancels a training run; it keeps its best checkpoint
    tasks_->cancelAndWait();
    event->accept();
}

void MainWindow::createActions() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    openModelAction_ = file->addAction(tr("Open &Model Folder…"), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(
            this, tr("Open Model Folder (config.json + model.safetensors)"),
            tasks_->model() ? fromPath(tasks_->model()->directory()) : QString());
        if (!dir.isEmpty())
            openModel(dir);
    });
    openModelAction_->setShortcut(QKeySequence::Open);
    openDatasetAction_ = file->addAction(tr("Open &Dataset…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(
            this, tr("Open Dataset"), tasks_->dataset() ? fromPath(tasks_->dataset()->path) : QString(),
            tr("Datasets (*.txt *.raw *.tokens *.json *.jsonl *.npy *.bin);;Text and WikiText (*.txt *.raw *.tokens);;"
               "Alpaca (*.json *.jsonl);;Token ids (*.npy *.bin);;All files (*)"));
        if (path.isEmpty())
            return;
        // A new file: detect its format again; templates and document count stay.
        ls::DatasetOptions options = datasetPanel_->datasetOptions();
        options.format = ls::DataFormat::Auto;
        datasetPanel_->setDatasetOptions(options);
        openDataset(path, options);
    });
    openDatasetAction_->setShortcut(Qt::CTRL | Qt::Key_D);
    QMenu* exportMenu = file->addMenu(tr("&Export Histogram"));
    for (const QString& suffix : {QStringLiteral("png"), QStringLiteral("pdf"),
                                  QStringLiteral("svg"), QStringLiteral("csv")}) {
        exportActions_ << exportMenu->addAction(tr("As %1…").arg(suffix.toUpper()), this,
                                                [this, suffix] { exportHistogram(suffix); });
    }
    file->addSeparator();
    openRunAction_ = file->addAction(tr("Open &Run…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open Run"), runDirectory(),
                                                          tr("LayerScope runs (*.h5 *.hdf5);;All files (*)"));
        if (!path.isEmpty())
            openRunFile(path);
    });
    openRunAction_->setShortcut(Qt::CTRL | Qt::SHIFT | Qt::Key_O);
    openRunAction_->setToolTip(tr("Open a run file of layer analyses (no model or dataset needed)"));
    compareAction_ = file->addAction(tr("&Compare Runs…"), this, [this] {
        const QStringList paths = QFileDialog::getOpenFileNames(this, tr("Compare Runs (two or more)"), runDirectory(),
                                                                tr("LayerScope runs (*.h5 *.hdf5);;All files (*)"));
        if (!paths.isEmpty())
            compareRunFiles(paths);
    });
    compareAction_->setToolTip(tr("Two or more run files side by side: per-layer quantities, head scores and "
                                  "rankings (as layerscope-cli compare)"));
    recentMenu_ = file->addMenu(tr("Open Rece&nt"));
    connect(recentMenu_, &QMenu::aboutToShow, this, [this] {
        recentMenu_->clear();
        for (const OpenedFile& f : RecentFiles::list()) {
            const QString kind = f.kind == OpenedFile::Kind::Model     ? tr("Model")
                                 : f.kind == OpenedFile::Kind::Dataset ? tr("Dataset")
                                                                       : tr("Run");
            QAction* action = recentMenu_->addAction(tr("%1: %2").arg(kind, QFileInfo(f.path).fileName()), this,
                                                     [this, path = f.path] { openPaths({path}); });
            action->setToolTip(f.path);
            action->setEnabled(QFileInfo::exists(f.path));
        }
        if (recentMenu_->isEmpty())
            recentMenu_->addAction(tr("(nothing opened yet)"))->setEnabled(false);
        else
            recentMenu_->addAction(tr("Clear the List"), this, [] { RecentFiles::clear(); });
    });
    saveRunAction_ = file->addAction(tr("&Save Run As…"), this, [this] {
        QString path = QFileDialog::getSaveFileName(
            this, tr("Save Run As"), QDir(runDirectory()).filePath(layerResults_->suggestedFileName()),
            tr("LayerScope runs (*.h5)"));
        if (path.isEmpty())
            return;
        if (QFileInfo(path).suffix().isEmpty())
            path += QStringLiteral(".h5");
        saveRunFile(path);
    });
    saveRunAction_->setShortcut(QKeySequence::SaveAs);
    saveRunAction_->setToolTip(tr("Save the layer analyses' run as an HDF5 file (readable with h5py)"));
    exportRunAction_ = file->addAction(tr("&Export All Figures and Tables…"), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Export All Figures and Tables"),
                                                              ls::widgets::lastExportFolder());
        if (!dir.isEmpty()) exportRun(dir);
    });
    exportRunAction_->setToolTip(tr("Every chart of the run's tabs (PNG, PDF, SVG at the figure size of Export…) "
                                    "and every CSV the command line writes, into one folder with manifest.json"));
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* analysis = menuBar()->addMenu(tr("&Analysis"));
    evaluateAction_ = analysis->addAction(tr("&Evaluate Perplexity"), this, [this] { evaluate(); });
    evaluateAction_->setShortcut(Qt::CTRL | Qt::Key_R);
    evaluateAction_->setToolTip(tr("Perplexity and per-token loss of the model on the dataset (Ctrl+R)"));
    layerAnalysesAction_ = analysis->addAction(tr("&Layer Analyses"), this, [this] { runLayerAnalyses(); });
    layerAnalysesAction_->setShortcut(Qt::CTRL | Qt::Key_L);
    layerAnalysesAction_->setToolTip(tr("The analyses checked in the Layer analyses panel, with its parameters (Ctrl+L)"));
    analysis->addSeparator();
    trainAction_ = analysis->addAction(tr("&Train Small Model…"), this, [this] { showTrainDialog(); });
    trainAction_->setToolTip(tr("Train a small transformer on a text file and save it as a model folder"));
    trainLensAction_ = analysis->addAction(tr("Train Tuned &Lens…"), this, [this] { showTrainLensDialog(); });
    trainLensAction_->setToolTip(tr("Train a tuned lens (an affine translator per layer) for the open model on the open "
                                    "dataset's windows"));
    analysis->addAction(tr("Open Tuned Lens…"), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Tuned Lens (a folder made by Train Tuned Lens)"));
        if (!dir.isEmpty()) useTunedLens(dir);
    });
    compareLensesAction_ = analysis->addAction(tr("&Compare Lenses"), this, [this] { compareLenses(); });
    compareLensesAction_->setToolTip(tr("The checked analyses through the logit lens and through the chosen tuned lens, "
                                        "side by side: KL to final, saturation rates, early-exit Pareto fronts"));
    analysis->addSeparator();
    createThreadsMenu(analysis);

    // The theme is set before any window is built (main.cpp): a new choice applies from the next start.
    QMenu* theme = menuBar()->addMenu(tr("&View"))->addMenu(tr("&Theme"));
    auto* themes = new QActionGroup(theme);
    const ThemeChoice saved = savedThemeChoice();
    for (auto [choice, label] : {std::pair{ThemeChoice::Desktop, tr("Follow the &Desktop")},
                                 std::pair{ThemeChoice::Light, tr("&Light")}, std::pair{ThemeChoice::Dark, tr("D&ark")}}) {
        QAction* action = theme->addAction(label, this, [this, choice = choice, label = label] {
            saveThemeChoice(choice);
            statusBar()->showMessage(tr("Theme: %1 from the next start").arg(QString(label).remove('&')), 15000);
        });
        action->setCheckable(true);
        action->setChecked(choice == saved);
        themes->addAction(action);
    }

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About LayerScope"), this, [this] {
        // What this machine computes with, as `layerscope-cli info --system` prints it.
        QString rows;
        for (const auto& [label, value] : ls::systemInfoRows(ls::systemInfo()))
            rows += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>")
                        .arg(QString::fromStdString(label).toHtmlEscaped(), QString::fromStdString(value).toHtmlEscaped());
        QMessageBox::about(this, tr("About LayerScope"),
                           tr("<b>LayerScope %1</b><p>A workbench for looking inside transformer language "
                              "models: where predictions settle, which layers and heads matter.</p>"
                              "<table cellspacing=4>%2</table>")
                               .arg(QStringLiteral(LAYERSCOPE_VERSION), rows));
    });
}

void MainWindow::createToolBar() {
    QToolBar* bar = addToolBar(tr("Main"));
    bar->setObjectName("mainToolBar");
    bar->setMovable(false);
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    bar->addAction(openModelAction_);
    bar->addAction(openDatasetAction_);
    bar->addSeparator();
    bar->addAction(evaluateAction_);
    bar->addAction(layerAnalysesAction_);
    bar->addAction(trainAction_);
}

void MainWindow::setWindowParams(const ls::WindowParams& params) { datasetPanel_->setWindowParams(params); }

ls::WindowParams MainWindow::windowParams() const { return datasetPanel_->windowParams(); }

// ---- tasks: started by WorkbenchTasks, shown here -------------------------------------

void MainWindow::connectTasks() {
    connect(tasks_, &WorkbenchTasks::busyChanged, this, &MainWindow::updateActions);
    connect(tasks_, &WorkbenchTasks::statusMessage, this,
            [this](const QString& text) { statusBar()->showMessage(text); });
    connect(tasks_, &WorkbenchTasks::failed, this, &MainWindow::showFailure);
    connect(tasks_, &WorkbenchTasks::modelOpened, this, &MainWindow::showModel);
    connect(tasks_, &WorkbenchTasks::datasetOpened, this, &MainWindow::showDataset);
    // What was opened goes to File > Open Recent.
    connect(tasks_, &WorkbenchTasks::modelOpened, this, [](const QString& dir) { RecentFiles::add(OpenedFile::Kind::Model, dir); });
    connect(tasks_, &WorkbenchTasks::datasetOpened, this,
            [](const QString& path) { RecentFiles::add(OpenedFile::Kind::Dataset, path); });
    connect(tasks_, &WorkbenchTasks::runFileOpened, this,
            [](std::shared_ptr<const ls::LayerRun>, const QString& path) { RecentFiles::add(OpenedFile::Kind::Run, path); });
    connect(tasks_, &WorkbenchTasks::evaluated, this, &MainWindow::showResult);
    connect(tasks_, &WorkbenchTasks::layerRunStarted, this, [this](const ls::LayerRunParams& params) {
        // the parameters next to the progress and then the results
        // (the panels of the analyses with a command of their own: generate, prompt, patch)
        (params.wants("generate")                         ? generationDock_
         : params.wants("prompt") || params.wants("patch") ? microscopeDock_
                                                           : analysisDock_)
            ->raise();
        layerResults_->beginRun(params);
    });
    connect(tasks_, &WorkbenchTasks::liveReport, layerResults_, &LayerResults::addLiveReport);
    connect(tasks_, &WorkbenchTasks::layerRunEnded, layerResults_, &LayerResults::endRun);
    connect(tasks_, &WorkbenchTasks::layerRunFinished, this, [this](std::shared_ptr<const ls::LayerRun> run) {
        showLayerRun(run, {});
        if (const auto generation = run->result<ls::GenerationResult>("generate"))
            statusBar()->showMessage(tr("Generation: %1 continuations of %2 prompts")
                                         .arg(generation->continuations.size())
                                         .arg(generation->prompts.size()));
        else if (const auto prompt = run->result<ls::PromptResult>("prompt"))
            statusBar()->showMessage(tr("Prompt: %1 tokens, attention patterns and logit attribution").arg(prompt->prompt.ids.size()));
        else if (const auto patching = run->result<ls::PatchResult>("patch"))
            statusBar()->showMessage(tr("Patching: %1 pairs of %2 tokens").arg(patching->pairs.size()).arg(patching->tokens));
        else
            statusBar()->showMessage(tr("Layer analyses: %1 scored tokens, %2")
                                         .arg(formatCount(run->scoredTokens()),
                                              QString::fromStdString(run->info.complete ? "complete" : "PARTIAL")));
    });
    connect(tasks_, &WorkbenchTasks::runsCompared, this, &MainWindow::showComparison);
    connect(tasks_, &WorkbenchTasks::runFileOpened, this,
            [this](std::shared_ptr<const ls::LayerRun> run, const QString& path) {
                showOpenedRun(run, path);
                summaryDock_->raise();  // what the run is: model, data, parameters
                const QString size = run->params.wants("generate") ? tr("generation")
                                                                   : tr("%1 tokens").arg(formatCount(run->scoredTokens()));
                statusBar()->showMessage(tr("Opened %1: %2, %3")
                                             .arg(path, size, run->info.complete ? tr("complete") : tr("partial run")));
            });
    connect(tasks_, &WorkbenchTasks::runFileSaved, this,
            [this](std::shared_ptr<const ls::LayerRun> run, const QString& path) {
                if (layerResults_->run() == run)
                    layerResults_->setSource(path);
                updateSummary();
                statusBar()->showMessage(tr("Saved %1").arg(path));
            });
}

void MainWindow::reportError(const QString& what, const QString& message) { tasks_->reportError(what, message); }

void MainWindow::showFailure(const QString& what, const QString& message) {
    statusBar()->showMessage(tr("%1 failed: %2").arg(what, firstLine(message)));
    if (unattended_)
        return;  // the start-up sequence prints it; a dialog would block
    auto* box = new QMessageBox(QMessageBox::Warning, tr("%1 failed").arg(what), message,
                                QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();  // window-modal without a nested event loop
}

bool MainWindow::exportRun(const QString& dir) {
    const auto run = layerResults_->run();
    if (!run)
        return false;
    QStringList written;
    QString error;
    // Every CSV of `layerscope-cli run --csv --per-token-saturation`, the per-token table included.
    if (!ls::widgets::exportAll(dir, layerResults_->charts(), run->tables(/*perTokenSaturation=*/true), &written, &error)) {
        showFailure(tr("Export"), error);
        return false;
    }
    ls::widgets::setLastExportFolder(dir);
    statusBar()->showMessage(tr("Wrote %1 files to %2").arg(written.size()).arg(QDir::toNativeSeparators(dir)), 15000);
    return true;
}

void MainWindow::openModel(const QString& dir, Then then) { tasks_->openModel(dir, std::move(then)); }

void MainWindow::showModel(const QString& dir) {
    const ls::Model& model = *tasks_->model();
    histogram_->clear();
    setWindowTitle(tr("%1 — LayerScope").arg(QFileInfo(dir).fileName()));

    QStringList notes{tr("Loaded %1 (%2)").arg(QString::fromStdString(model.architectureName()), dir)};
    const int context = model.config().maxPositions;
    const int seqLenBefore = datasetPanel_->windowParams().seqLen;
    datasetPanel_->setContextLimit(context);
    analysisPanel_->setModelConfig(model.config());
    updateLensChoices();
    if (datasetPanel_->windowParams().seqLen < seqLenBefore)
        notes << tr("seq len lowered to the model's context (%1)").arg(context);
    if (!tasks_->tokenizer())
        notes << tr("no tokenizer, so only token-id .npy datasets: %1").arg(firstLine(tasks_->tokenizerNote()));
    statusBar()->showMessage(notes.join(" · "));
    updateSummary();
    updateHint();
    updateActions();
}

void MainWindow::openDataset(const QString& path, Then then) {
    openDataset(path, datasetPanel_->datasetOptions(), std::move(then));
}

void MainWindow::openDataset(const QString& path, const ls::DatasetOptions& options, Then then) {
    tasks_->openDataset(path, options, std::move(then));
}

void MainWindow::showDataset(const QString& path) {
    const std::shared_ptr<const ls::Dataset>& dataset = tasks_->dataset();
    histogram_->clear();  // the last evaluation was computed on other tokens
    datasetPanel_->setDataset(dataset, tasks_->datasetOptions());  // updates the windows and the preview
    tabs_->setCurrentWidget(preview_);
    statusBar()->showMessage(tr("Loaded %1: %2 documents, %3 tokens")
                                 .arg(path, formatCount(dataset->documents()), formatCount(qint64(dataset->tokens.size()))));
    updateSummary();
    updateHint();
    updateActions();
}

void MainWindow::evaluate(Then then) { tasks_->evaluate(windowParams(), std::move(then)); }

void MainWindow::showResult() {
    const ls::PerplexityResult& result = *tasks_->lastResult();
    histogram_->setLosses(result.losses);
    histogram_->setTitle(tr("Per-token loss — %1 on %2")
                             .arg(QFileInfo(fromPath(tasks_->model()->directory())).fileName(),
                                  QFileInfo(fromPath(tasks_->dataset()->path)).fileName()));
    central_->setCurrentWidget(tabs_);
    tabs_->setCurrentWidget(histogram_);
    statusBar()->showMessage(tr("Perplexity %1 over %2 tokens in %3 s (%4 tokens/s)")
                                 .arg(result.ppl, 0, 'f', 3)
                                 .arg(formatCount(result.tokens))
                                 .arg(result.seconds, 0, 'f', 1)
                                 .arg(result.tokensPerSecond, 0, 'f', 0));
    updateSummary();
    updateActions();
}

// ---- layer analyses and run files ------------------------------------------------------

QString MainWindow::layerRunProblem() const {
    // The panels' parameters are checked here; the tasks check that no other task runs.
    QString problem = tasks_->missingInputs();
    if (problem.isEmpty() && !datasetPanel_->windowError().isEmpty())
        problem = tr("the Dataset panel's window options: %1").arg(datasetPanel_->windowError());
    if (problem.isEmpty())
        problem = analysisPanel_->problemText();
    return problem;
}

ls::LayerRunParams MainWindow::layerRunParams() const {
    ls::LayerRunParams params = analysisPanel_->params();
    params.windows = windowParams();
    params.dataset = tasks_->datasetOptions();
    return params;
}

void MainWindow::planLayerAnalyses(Then then) {
    if (tasks_->refuse(tr("Plan"), layerRunProblem(), then))
        return;
    tasks_->planLayerRun(layerRunParams(), std::move(then));
}

void MainWindow::runLayerAnalyses(Then then) {
    if (tasks_->refuse(tr("Layer analyses"), layerRunProblem(), then))
        return;
    // A new run replaces the results shown: not those of a run file without asking (the file
    // keeps them either way).
    const QString opened = layerResults_->source();
    if (showingOpenedRun_ && layerResults_->run() && !unattended_ &&
        QMessageBox::question(this, tr("Layer Analyses"),
                              tr("The results shown are those of %1. Replace them with a new run? (The file keeps "
                                 "them.)")
                                  .arg(QFileInfo(opened).fileName())) != QMessageBox::Yes) {
        if (then) then(false);
        return;
    }
    tasks_->runLayerAnalyses(layerRunParams(), std::move(then));
}

void MainWindow::runGeneration(Then then) {
    if (tasks_->refuse(tr("Generation"), generationPanel_->problemText(), then))
        return;
    tasks_->generate(generationPanel_->promptsText(), generationPanel_->params(), layerResults_->run(), windowParams(),
                     std::move(then));
}

void MainWindow::runPrompt(Then then) {
    if (tasks_->refuse(tr("Prompt"), microscopePanel_->promptProblem(), then))
        return;
    tasks_->inspectPrompt(microscopePanel_->promptText(), microscopePanel_->window(), windowParams(), microscopePanel_->tokenText(),
                          microscopePanel_->promptParams(), std::move(then));
}

void MainWindow::runPatching(Then then) {
    if (tasks_->refuse(tr("Patching"), microscopePanel_->patchProblem(), then))
        return;
    tasks_->patch(microscopePanel_->pairsPath(), microscopePanel_->patchParams(), std::move(then));
}

void MainWindow::openRunFile(const QString& path, Then then) { tasks_->openRunFile(path, std::move(then)); }

void MainWindow::openPaths(const QStringList& paths, Then then) {
    const OpenPlan plan = planOpening(paths);
    // The model first (a dataset is read with its tokenizer), then the dataset, then the runs.
    const Then runs = [this, plan, then](bool ok) {
        if (!ok || plan.runs.isEmpty()) {
            if (then) then(ok);
        } else if (plan.runs.size() == 1) {
            openRunFile(plan.runs.front(), then);
        } else {
            compareRunFiles(plan.runs, then);
        }
    };
    const Then dataset = [this, plan, runs](bool ok) {
        if (ok && !plan.dataset.isEmpty())
            openDataset(plan.dataset, runs);
        else
            runs(ok);
    };
    if (!plan.model.isEmpty())
        openModel(plan.model, dataset);
    else
        dataset(true);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile()) {
            event->acceptProposedAction();
            return;
        }
}

void MainWindow::dropEvent(QDropEvent* event) {
    QStringList paths;
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile()) paths << url.toLocalFile();
    if (paths.isEmpty())
        return;
    event->acceptProposedAction();
    openPaths(paths);
}

void MainWindow::compareRunFiles(const QStringList& paths, Then then) {
    tasks_->compareRunFiles(paths, std::move(then));
}

void MainWindow::showComparison(std::shared_ptr<const ls::RunComparison> comparison, const QStringList& paths) {
    compareView_->setResult(std::move(comparison));
    if (tabs_->indexOf(compareView_) < 0)
        tabs_->addTab(compareView_, tr("Compare"));
    central_->setCurrentWidget(tabs_);
    tabs_->setCurrentWidget(compareView_);
    statusBar()->showMessage(tr("Compared %1 runs").arg(paths.size()));
}

void MainWindow::saveRunFile(const QString& path, Then then) {
    tasks_->saveRunFile(layerResults_->run(), path, std::move(then));
}

void MainWindow::showLayerRun(std::shared_ptr<const ls::LayerRun> run, const QString& source) {
    // A generation run keeps the run its heads came from as the panel's source.
    if (!run->params.wants("generate")) generationPanel_->setSourceRun(run);
    layerResults_->show(std::move(run), source);
    showingOpenedRun_ = false;
    central_->setCurrentWidget(tabs_);
    updateSummary();
    updateActions();
}

void MainWindow::showOpenedRun(std::shared_ptr<const ls::LayerRun> run, const QString& path) {
    // One state: the run and what it was made from. The model and dataset loaded before are
    // not the run's (it names its own in the Summary), so they go; the run needs neither.
    tasks_->closeInputs();
    datasetPanel_->setDataset(nullptr, {});
    datasetPanel_->setContextLimit(0);
    analysisPanel_->setModelConfig(std::nullopt);
    setWindowTitle(tr("%1 — LayerScope").arg(QFileInfo(path).fileName()));
    // The run's per-token losses, as an evaluation of its windows would show them.
    histogram_->setLosses(run->capture.loss);
    histogram_->setTitle(tr("Per-token loss — %1 (%2 scored tokens of the run)")
                             .arg(QFileInfo(path).fileName(), formatCount(qint64(run->capture.loss.size()))));
    showLayerRun(std::move(run), path);
    showingOpenedRun_ = true;
    updateHint();
}

QString MainWindow::runDirectory() const {
    const QString source = layerResults_->source();
    return source.isEmpty() ? QDir::currentPath() : QFileInfo(source).absolutePath();
}

QStringList MainWindow::tabNames() { return QStringList{"preview", "loss"} + LayerResults::tabNames() + QStringList{"compare"}; }

bool MainWindow::selectTab(const QString& name) {
    QWidget* view = nullptr;
    if (name.compare("preview", Qt::CaseInsensitive) == 0)
        view = preview_;
    else if (name.compare("loss", Qt::CaseInsensitive) == 0)
        view = histogram_;
    else if (name.compare("compare", Qt::CaseInsensitive) == 0)
        view = compareView_;
    else
        return layerResults_->selectTab(name);
    if (tabs_->indexOf(view) < 0)
        return false;
    tabs_->setCurrentWidget(view);
    return true;
}

// ---- views -----------------------------------------------------------------------------

void MainWindow::updateSummary() {
    const std::shared_ptr<const ls::Model>& model = tasks_->model();
    const std::shared_ptr<const ls::Tokenizer>& tokenizer = tasks_->tokenizer();
    const std::shared_ptr<const ls::Dataset>& dataset = tasks_->dataset();
    QList<ls::widgets::SummarySection> sections;
    if (model) {
        ls::widgets::SummarySection section{tr("Model"), {}};
        for (const auto& [key, value] : ls::modelSummary(*model))
            section.rows.append({QString::fromStdString(key), QString::fromStdString(value)});
        section.rows.append({tr("Tokenizer"), tokenizer ? fromPath(tokenizer->source())
                                                         : tr("none (.npy token ids only)")});
        sections << section;
    } else {
        sections << ls::widgets::SummarySection{tr("Model"), {{tr("Folder"), tr("none loaded")}}};
    }
    if (dataset) {
        sections << ls::widgets::SummarySection{
            tr("Dataset"),
            {{tr("File"), fromPath(dataset->path)},
             {tr("Format"), QString::fromLatin1(ls::dataFormatName(dataset->format))},
             {tr("Documents"), formatCount(dataset->documents())},
             {tr("Tokens"), formatCount(qint64(dataset->tokens.size()))}}};
    }
    if (tasks_->lastResult()) {
        const ls::PerplexityResult& r = *tasks_->lastResult();
        const ls::WindowParams& w = tasks_->lastResultWindows();
        sections << ls::widgets::SummarySection{
            tr("Last run"),
            {{tr("Seq len / stride"), tr("%1 / %2").arg(w.seqLen).arg(w.stride > 0 ? w.stride : w.seqLen)},
             {tr("Documents"), w.respectDocuments ? tr("respected") : tr("packed")},
             {tr("Windows"), formatCount(r.windows)},
             {tr("Scored tokens"), formatCount(r.tokens)},
             {tr("Mean loss"), tr("%1 nats").arg(r.meanLoss, 0, 'f', 4)},
             {tr("Perplexity"), QString::number(r.ppl, 'f', 3)},
             {tr("Time"), tr("%1 s (%2 tokens/s)").arg(r.seconds, 0, 'f', 2).arg(r.tokensPerSecond, 0, 'f', 0)}}};
    }
    if (layerResults_->run())
        sections << layerResults_->summarySection();
    summary_->setSections(sections);
}

void MainWindow::updatePreview() {
    const std::shared_ptr<const ls::Dataset>& dataset = tasks_->dataset();
    if (!dataset) {
        preview_->clear();
        return;
    }
    preview_->setPlaceholderText(datasetPanel_->windowError().isEmpty()
                                     ? tr("No windows: the dataset is shorter than two tokens")
                                     : datasetPanel_->windowError());
    preview_->setWindows(previewWindows(*dataset, tasks_->datasetTokenizer().get(), datasetPanel_->windows()));
}

void MainWindow::updateHint() {
    if (tasks_->dataset() || layerResults_->run()) {
        central_->setCurrentWidget(tabs_);
        return;
    }
    if (!tasks_->model())
        hint_->setText(tr("<h2>No model loaded</h2>"
                          "<p>Open a Hugging Face model folder (config.json + model.safetensors) with "
                          "<b>File › Open Model Folder…</b>,<br>then a dataset (text, WikiText, Alpaca "
                          "JSON or token ids) with <b>File › Open Dataset…</b>, and press <b>Evaluate</b>.</p>"
                          "<p>Looking inside the layers: <b>Analysis › Layer Analyses</b> (Ctrl+L) runs the "
                          "analyses checked in the Layer analyses panel; <b>File › Open Run…</b> shows a saved run "
                          "without its model.</p>"
                          "<p>No model yet? <b>Analysis › Train Small Model…</b> makes one from a text file.</p>"
                          "<p>From a terminal: <tt>layerscope --model DIR --data FILE --run</tt></p>"));
    else
        hint_->setText(tr("<h2>Model loaded</h2><p>Open a dataset with <b>File › Open Dataset…</b>, "
                          "then press <b>Evaluate</b> or <b>Layer Analyses</b>.</p>"));
    central_->setCurrentWidget(hint_);
}

// Analysis > Compute Threads, as --threads: LibTorch's threads for every forward pass. Set
// only while nothing runs (a pass keeps the count it started with), kept between sessions.
void MainWindow::createThreadsMenu(QMenu* analysis) {
    static const QString kThreadsKey = QStringLiteral("compute/threads");
    threadsMenu_ = analysis->addMenu(tr("Compute &Threads"));
    auto* group = new QActionGroup(threadsMenu_);
    const int cores = std::max(1, QThread::idealThreadCount());
    const int saved = QSettings().value(kThreadsKey, 0).toInt();
    QList<int> counts{0};
    for (int n = 1; n < cores; n *= 2) counts << n;
    if (cores > 1) counts << cores;
    for (int n : counts) {
        QAction* action = threadsMenu_->addAction(n == 0 ? tr("One per Core (%1)").arg(cores) : QString::number(n));
        action->setCheckable(true);
        action->setChecked(n == saved);
        group->addAction(action);
        connect(action, &QAction::triggered, this, [this, n] {
            QSettings().setValue(kThreadsKey, n);
            statusBar()->showMessage(tr("Compute threads: %1").arg(ls::setComputeThreads(n)), 10000);
        });
    }
    ls::setComputeThreads(saved);  // a count saved on a machine with more cores still applies
}

void MainWindow::updateActions() {
    const bool idle = !tasks_->isBusy();
    if (threadsMenu_) threadsMenu_->setEnabled(idle);
    const bool inputs = tasks_->model() && tasks_->dataset();
    openModelAction_->setEnabled(idle);
    openDatasetAction_->setEnabled(idle);
    evaluateAction_->setEnabled(idle && inputs);
    layerAnalysesAction_->setEnabled(idle && inputs);
    trainLensAction_->setEnabled(inputs);
    compareLensesAction_->setEnabled(idle && inputs);
    analysisPanel_->setRunAvailable(idle && inputs);
    generationPanel_->setRunAvailable(idle && tasks_->model());
    microscopePanel_->setRunAvailable(idle && tasks_->model());
    openRunAction_->setEnabled(idle);
    compareAction_->setEnabled(idle);
    saveRunAction_->setEnabled(idle && layerResults_->run());
    exportRunAction_->setEnabled(idle && layerResults_->run());
    for (QAction* action : exportActions_)
        action->setEnabled(idle && histogram_->hasData());
    datasetPanel_->setEnabled(idle);  // its changes re-read or re-window the data
}

TrainDialog* MainWindow::showTrainDialog() {
    if (!trainDialog_) {
        trainDialog_ = new TrainDialog(this);
        const std::shared_ptr<const ls::Dataset>& dataset = tasks_->dataset();
        if (dataset && ls::formatNeedsTokenizer(dataset->format))
            trainDialog_->setDataPath(fromPath(dataset->path));
        else
            trainDialog_->setDataPath(resolveDefaultInputs().dataPath);  // the demo corpus
        connect(trainDialog_, &TrainDialog::openModelRequested, this, [this](const QString& dir) {
            if (tasks_->refuseIfBusy(tr("Opening the trained model"), {}))
                return;
            raise();
            activateWindow();
            openModel(dir);
        });
    }
    const std::shared_ptr<const ls::Model>& model = tasks_->model();
    trainDialog_->setCurrentModel(model && tasks_->tokenizer() ? fromPath(model->directory()) : QString());
    trainDialog_->show();
    trainDialog_->raise();
    trainDialog_->activateWindow();
    return trainDialog_;
}

namespace {

constexpr const char* kTunedLensesKey = "tunedLenses";  // QSettings: the lens folders known

}  // namespace

TrainLensDialog* MainWindow::showTrainLensDialog() {
    if (!trainLensDialog_) {
        trainLensDialog_ = new TrainLensDialog(tasks_, this);
        connect(trainLensDialog_, &TrainLensDialog::lensChosen, this, &MainWindow::useTunedLens);
    }
    trainLensDialog_->setWindows(windowParams());
    if (const auto& model = tasks_->model(); model && trainLensDialog_->outputFolder().isEmpty())
        trainLensDialog_->setOutputFolder(fromPath(model->directory()) + QStringLiteral("-tuned-lens"));
    trainLensDialog_->show();
    trainLensDialog_->raise();
    trainLensDialog_->activateWindow();
    return trainLensDialog_;
}

void MainWindow::useTunedLens(const QString& dir) {
    const QString clean = QDir::cleanPath(QDir(dir).absolutePath());
    QSettings settings;
    QStringList known = settings.value(kTunedLensesKey).toStringList();
    known.removeAll(clean);
    known.prepend(clean);
    settings.setValue(kTunedLensesKey, known.mid(0, 50));
    updateLensChoices();
    analysisPanel_->setFieldText(QStringLiteral("lens"), QStringLiteral("tuned:") + clean);
    analysisDock_->raise();
    statusBar()->showMessage(tr("Lens: the tuned lens in %1").arg(clean));
}

void MainWindow::updateLensChoices() {
    QStringList choices{QStringLiteral("logit")};
    const auto& model = tasks_->model();
    const QString modelDir = model ? QDir::cleanPath(QDir(fromPath(model->directory())).absolutePath()) : QString();
    for (const QString& dir : QSettings().value(kTunedLensesKey).toStringList()) {
        // Offered for the model it was trained for (its own check of the model's hash runs with the analyses).
        QString lensModel;
        try {
            lensModel = fromPath(ls::readTunedLensInfo(toPath(dir)).modelPath);
        } catch (const ls::Error&) {
            continue;  // gone or damaged: not offered
        }
        if (!model || QDir::cleanPath(QDir(lensModel).absolutePath()) == modelDir) choices << QStringLiteral("tuned:") + dir;
    }
    analysisPanel_->setChoices(QStringLiteral("lens"), choices);
}

void MainWindow::compareLenses(Then then) {
    if (tasks_->refuse(tr("Comparing lenses"), layerRunProblem(), then))
        return;
    tasks_->compareLenses(layerRunParams(), std::move(then));
}

void MainWindow::exportHistogram(const QString& suffix) {
    const QString filter = suffix == "csv" ? tr("CSV (*.csv)") : tr("%1 (*.%2)").arg(suffix.toUpper(), suffix);
    QString path = QFileDialog::getSaveFileName(this, tr("Export Histogram"),
                                                QStringLiteral("loss-histogram.%1").arg(suffix), filter);
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += '.' + suffix;
    QString error;
    if (histogram_->exportTo(path, {}, &error))
        statusBar()->showMessage(tr("Saved %1").arg(path));
    else
        reportError(tr("Export"), error);
}
