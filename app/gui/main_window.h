#pragma once
// The LayerScope main window: open a model folder and a dataset (read and windowed as the
// Dataset panel says, its first windows shown token by token), evaluate perplexity in a
// worker, show the per-token loss histogram and export it; train small models.
// Layer analyses (cos-sim, saturation, low-rank head, token inspector) run from the
// "Layer analyses" panel into result tabs (layer_results.h); runs are saved to and opened
// from HDF5 run files.
// Every analysis follows the same path: core function -> TaskRunner -> view -> export.
#include <QMainWindow>
#include <QString>
#include <QStringList>
#include <functional>
#include <memory>

#include "data/dataset.h"
#include "data/windows.h"
#include "startup.h"

namespace ls {
class Model;
class Tokenizer;
struct LayerRun;
struct PerplexityResult;
namespace widgets {
class LossHistogramView;
class ModelSummaryView;
class TaskProgressBar;
class TokenPreviewView;
}  // namespace widgets
}  // namespace ls

class AnalysisPanel;
class DatasetPanel;
class LayerResults;
class QAction;
class QDockWidget;
class QLabel;
class QStackedWidget;
class QTabWidget;
class TaskRunner;
class TrainDialog;
struct TaskOutcome;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // Continuation after a step: ok == false if it failed or was canceled.
    using Then = std::function<void(bool ok)>;

    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    void setWindowParams(const ls::WindowParams& params);
    ls::WindowParams windowParams() const;
    DatasetPanel* datasetPanel() const { return datasetPanel_; }
    ls::widgets::TokenPreviewView* preview() const { return preview_; }
    ls::widgets::LossHistogramView* histogram() const { return histogram_; }
    ls::widgets::ModelSummaryView* summaryView() const { return summary_; }
    AnalysisPanel* analysisPanel() const { return analysisPanel_; }
    LayerResults* layerResults() const { return layerResults_; }
    QTabWidget* tabs() const { return tabs_; }
    TaskRunner* runner() const { return runner_; }
    QAction* layerAnalysesAction() const { return layerAnalysesAction_; }
    // The last failure or cancel, as reported in the status bar (and on stderr in batch mode).
    QString lastError() const { return lastError_; }

    // File > Open Model Folder… / Open Dataset… without the dialogs (a dataset with the
    // Dataset panel's options, or these); Analysis > Evaluate Perplexity.
    void openModel(const QString& dir, Then then = {});
    void openDataset(const QString& path, Then then = {});
    void openDataset(const QString& path, const ls::DatasetOptions& options, Then then = {});
    void evaluate(Then then = {});
    // Layer analyses with the Analysis panel's parameters over the Dataset panel's windows
    // (Analysis > Layer Analyses, Ctrl+L). Bad parameters are reported and start nothing; a
    // canceled or failed run leaves the previous results in place.
    void runLayerAnalyses(Then then = {});
    // File > Open Run… / Save Run As… without the file dialogs.
    void openRunFile(const QString& path, Then then = {});
    void saveRunFile(const QString& path, Then then = {});

    // Names of the tabs for --tab: preview, loss, then LayerResults::tabNames().
    static QStringList tabNames();
    // Makes that tab current; false if unknown or not shown.
    bool selectTab(const QString& name);
    // Opens (creating once) the training dialog, filled from the current model and data.
    TrainDialog* showTrainDialog();

    // Loads what the options name, one step after the other, then runs/screenshots/quits
    // (startup.h).
    void startWith(const StartupOptions& options) { StartupSequence::start(this, options); }
    // Unattended (a batch start-up): failures go to lastError() and the status bar, no dialog.
    void setUnattended(bool unattended) { unattended_ = unattended; }

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void createActions();
    void createToolBar();
    void exportHistogram(const QString& suffix);

    // True if the task finished; otherwise reports the cancel/failure for `what`.
    bool handleOutcome(const QString& what, const TaskOutcome& outcome);
    void reportError(const QString& what, const QString& message);
    void showResult(const ls::PerplexityResult& result);
    void showLayerRun(std::shared_ptr<const ls::LayerRun> run, const QString& source);
    QString runDirectory() const;  // where the run file dialogs start
    void updateSummary();
    void updatePreview();
    void updateActions();
    void updateHint();

    // State on the GUI thread; workers get shared_ptr copies, so a reload cannot pull
    // an object out from under a running task.
    std::shared_ptr<const ls::Model> model_;
    std::shared_ptr<const ls::Tokenizer> tokenizer_;
    QString tokenizerNote_;  // why there is no tokenizer, if there is none
    std::shared_ptr<const ls::Dataset> dataset_;
    std::shared_ptr<const ls::Tokenizer> datasetTokenizer_;  // what dataset_ was tokenized with
    ls::DatasetOptions datasetOptions_;  // what dataset_ was read with
    std::shared_ptr<const ls::PerplexityResult> lastResult_;
    ls::WindowParams lastRunParams_;

    bool unattended_ = false;
    QString lastError_;

    ls::widgets::LossHistogramView* histogram_ = nullptr;
    ls::widgets::TokenPreviewView* preview_ = nullptr;
    ls::widgets::ModelSummaryView* summary_ = nullptr;
    ls::widgets::TaskProgressBar* taskBar_ = nullptr;
    DatasetPanel* datasetPanel_ = nullptr;
    AnalysisPanel* analysisPanel_ = nullptr;
    QDockWidget* summaryDock_ = nullptr;
    QDockWidget* datasetDock_ = nullptr;
    QDockWidget* analysisDock_ = nullptr;
    LayerResults* layerResults_ = nullptr;
    TrainDialog* trainDialog_ = nullptr;
    TaskRunner* runner_ = nullptr;
    QStackedWidget* central_ = nullptr;  // the hint, or the tabs once there is something to show
    QTabWidget* tabs_ = nullptr;
    QLabel* hint_ = nullptr;

    QAction* openModelAction_ = nullptr;
    QAction* openDatasetAction_ = nullptr;
    QAction* evaluateAction_ = nullptr;
    QAction* trainAction_ = nullptr;
    QAction* layerAnalysesAction_ = nullptr;
    QAction* openRunAction_ = nullptr;
    QAction* saveRunAction_ = nullptr;
    QList<QAction*> exportActions_;
};
