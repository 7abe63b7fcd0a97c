#pragma once
// The LayerScope main window: open a model folder and a dataset (read and windowed as the
// Dataset panel says, its first windows shown token by token), evaluate perplexity in a
// worker, show the per-token loss histogram and export it; train small models.
// Layer analyses (cos-sim, saturation, low-rank head, token inspector) run from the
// "Layer analyses" panel into result tabs (layer_results.h); runs are saved to and opened
// from HDF5 run files.
// Every analysis follows the same path: core function -> WorkbenchTasks (a TaskRunner worker)
// -> view -> export.
// The tasks and what they load live in WorkbenchTasks (workbench_tasks.h): the window asks it
// to start them and shows what they bring, and holds only the window's own things.
#include <QMainWindow>
#include <QString>
#include <QStringList>
#include <memory>

#include "data/dataset.h"
#include "data/windows.h"
#include "startup.h"
#include "workbench_tasks.h"

namespace ls {
struct RunComparison;
namespace widgets {
class CompareView;
class LossHistogramView;
class ModelSummaryView;
class TaskProgressBar;
class TokenPreviewView;
}  // namespace widgets
}  // namespace ls

class GenerationPanel;
class MicroscopePanel;
class AnalysisPanel;
class DatasetPanel;
class LayerResults;
class RunLibrary;
class QAction;
class QDockWidget;
class QLabel;
class QMenu;
class QStackedWidget;
class QTabWidget;
class TrainDialog;
class TrainLensDialog;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // Continuation after a step: ok == false if it failed or was canceled.
    using Then = WorkbenchTasks::Then;

    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    void setWindowParams(const ls::WindowParams& params);
    ls::WindowParams windowParams() const;
    DatasetPanel* datasetPanel() const { return datasetPanel_; }
    ls::widgets::TokenPreviewView* preview() const { return preview_; }
    ls::widgets::LossHistogramView* histogram() const { return histogram_; }
    ls::widgets::ModelSummaryView* summaryView() const { return summary_; }
    AnalysisPanel* analysisPanel() const { return analysisPanel_; }
    GenerationPanel* generationPanel() const { return generationPanel_; }
    MicroscopePanel* microscopePanel() const { return microscopePanel_; }
    LayerResults* layerResults() const { return layerResults_; }
    QTabWidget* tabs() const { return tabs_; }
    WorkbenchTasks* tasks() const { return tasks_; }
    TaskRunner* runner() const { return tasks_->runner(); }
    QAction* layerAnalysesAction() const { return layerAnalysesAction_; }
    // The last failure or cancel, as reported in the status bar (and on stderr in batch mode).
    QString lastError() const { return tasks_->lastError(); }

    // File > Open Model Folder… / Open Dataset… without the dialogs (a dataset with the
    // Dataset panel's options, or these); Analysis > Evaluate Perplexity.
    void openModel(const QString& dir, Then then = {});
    void openDataset(const QString& path, Then then = {});
    void openDataset(const QString& path, const ls::DatasetOptions& options, Then then = {});
    void evaluate(Then then = {});
    // Layer analyses with the Analysis panel's parameters over the Dataset panel's windows
    // (Analysis > Layer Analyses, Ctrl+L). Bad parameters are reported and start nothing; a
    // canceled or failed run leaves the previous results in place. The plan (the panel's Plan
    // button, run --plan) shows what that run would cost, in the panel.
    void planLayerAnalyses(Then then = {});
    void runLayerAnalyses(Then then = {});
    // The Generation panel's prompts under its conditions (a Generation tab shows them).
    void runGeneration(Then then = {});
    // The Microscope panel's prompt (a Prompt tab) or its patching over prompt pairs (a Patching tab).
    void runPrompt(Then then = {});
    void runPatching(Then then = {});
    // File > Open Run… / Save Run As… without the file dialogs.
    void openRunFile(const QString& path, Then then = {});
    void saveRunFile(const QString& path, Then then = {});
    // Opens what the paths hold, as File > Open Recent and dropped files do: a model folder,
    // then a dataset, then one run file (opened) or several (compared).
    void openPaths(const QStringList& paths, Then then = {});
    // File > Compare Runs… without the dialog: the Compare tab shows them.
    void compareRunFiles(const QStringList& paths, Then then = {});
    ls::widgets::CompareView* compareView() const { return compareView_; }
    RunLibrary* runLibrary() const { return runLibrary_; }
    // Every chart of the shown run's tabs and every table of the run (the CSVs of
    // layerscope-cli run --csv) into dir, with manifest.json; false (reported) on a failure.
    bool exportRun(const QString& dir);

    // Names of the tabs for --tab: preview, loss, then LayerResults::tabNames().
    static QStringList tabNames();
    // Makes that tab current; false if unknown or not shown.
    bool selectTab(const QString& name);
    // Opens (creating once) the training dialog, filled from the current model and data.
    TrainDialog* showTrainDialog();
    // Opens (creating once) Analysis > Train Tuned Lens… for the open model and dataset.
    TrainLensDialog* showTrainLensDialog();
    // Analysis > Compare Lenses: the checked analyses through the logit lens and through the
    // Lens field's tuned lens, side by side in the Compare tab.
    void compareLenses(Then then = {});
    // A tuned lens folder joins the Lens field's list (kept between sessions) and is chosen.
    void useTunedLens(const QString& dir);

    // Loads what the options name, one step after the other, then runs/screenshots/quits
    // (startup.h).
    void startWith(const StartupOptions& options) { StartupSequence::start(this, options); }
    // Unattended (a batch start-up): failures go to lastError() and the status bar, no dialog.
    void setUnattended(bool unattended) { unattended_ = unattended; }

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;  // model folders, datasets, run files
    void dropEvent(QDropEvent* event) override;

private:
    // Why the layer analyses cannot run now (empty: they can), and their parameters.
    QString layerRunProblem() const;
    ls::LayerRunParams layerRunParams() const;
    void createActions();
    void createToolBar();
    void createThreadsMenu(QMenu* analysis);
    void exportHistogram(const QString& suffix);

    void connectTasks();
    void reportError(const QString& what, const QString& message);  // via the tasks' lastError()
    void showFailure(const QString& what, const QString& message);  // status bar and dialog
    void showModel(const QString& dir);
    void showDataset(const QString& path);
    void showResult();
    void showLayerRun(std::shared_ptr<const ls::LayerRun> run, const QString& source);
    QString runDirectory() const;
    // A run read from path: it replaces the loaded model and dataset (File > Open Run).
    void showOpenedRun(std::shared_ptr<const ls::LayerRun> run, const QString& path);
    void showComparison(std::shared_ptr<const ls::RunComparison> comparison, const QStringList& paths);  // where the run file dialogs start
    void updateSummary();
    void updatePreview();
    void updateActions();
    void updateHint();
    // The Lens field's list: the logit lens and the known tuned lenses made for the open model.
    void updateLensChoices();

    bool unattended_ = false;

    ls::widgets::LossHistogramView* histogram_ = nullptr;
    ls::widgets::TokenPreviewView* preview_ = nullptr;
    ls::widgets::ModelSummaryView* summary_ = nullptr;
    ls::widgets::TaskProgressBar* taskBar_ = nullptr;
    DatasetPanel* datasetPanel_ = nullptr;
    AnalysisPanel* analysisPanel_ = nullptr;
    GenerationPanel* generationPanel_ = nullptr;
    QDockWidget* generationDock_ = nullptr;
    MicroscopePanel* microscopePanel_ = nullptr;
    QDockWidget* microscopeDock_ = nullptr;
    QDockWidget* summaryDock_ = nullptr;
    QDockWidget* datasetDock_ = nullptr;
    QDockWidget* analysisDock_ = nullptr;
    LayerResults* layerResults_ = nullptr;
    TrainDialog* trainDialog_ = nullptr;
    TrainLensDialog* trainLensDialog_ = nullptr;
    WorkbenchTasks* tasks_ = nullptr;
    QStackedWidget* central_ = nullptr;  // the hint, or the tabs once there is something to show
    QTabWidget* tabs_ = nullptr;
    QLabel* hint_ = nullptr;

    QAction* openModelAction_ = nullptr;
    QAction* openDatasetAction_ = nullptr;
    QAction* evaluateAction_ = nullptr;
    QAction* trainAction_ = nullptr;
    QAction* trainLensAction_ = nullptr;
    QAction* compareLensesAction_ = nullptr;
    QAction* layerAnalysesAction_ = nullptr;
    QAction* openRunAction_ = nullptr;
    QAction* saveRunAction_ = nullptr;
    QAction* exportRunAction_ = nullptr;
    QAction* compareAction_ = nullptr;
    QMenu* recentMenu_ = nullptr;
    QMenu* threadsMenu_ = nullptr;  // Analysis > Compute Threads
    RunLibrary* runLibrary_ = nullptr;
    QDockWidget* libraryDock_ = nullptr;
    ls::widgets::CompareView* compareView_ = nullptr;
    bool showingOpenedRun_ = false;  // the results shown came from File > Open Run
    QList<QAction*> exportActions_;
};
