#pragma once
// The workbench's tasks and what they load: the model (with its tokenizer), the dataset, the
// last evaluation. Each task runs on a worker thread through one TaskRunner (progress, ETA and
// cancel on the window's progress bar), one at a time; the GUI thread never waits for one.
// When a task ends it is reported: a cancel or failure goes to lastError() and failed() /
// statusMessage(), a success updates the state here and emits what it brought, for the
// window to show. Knows no widget but the progress bar it hands to the runner.
#include <QObject>
#include <QString>
#include <functional>
#include <memory>

#include "analysis/layer_run.h"
#include "data/dataset.h"
#include "data/windows.h"
#include "task_runner.h"
#include "train/tuned_lens_trainer.h"

namespace ls {
class Model;
class Tokenizer;
struct PerplexityResult;
struct RunComparison;
namespace widgets {
class TaskProgressBar;
}
}  // namespace ls

class WorkbenchTasks : public QObject {
    Q_OBJECT
public:
    // Continuation after a task: ok == false if it failed, was canceled or could not start.
    // It runs after the task's signals, so the window shows the result first.
    using Then = std::function<void(bool ok)>;

    WorkbenchTasks(ls::widgets::TaskProgressBar* bar, QObject* parent = nullptr);
    ~WorkbenchTasks() override;  // cancels a running task and waits for it

    TaskRunner* runner() const { return runner_; }
    bool isBusy() const { return runner_->isBusy(); }
    // Cancels and blocks until the worker returned; the task's continuation is dropped.
    void cancelAndWait() { runner_->cancelAndWait(); }

    // What the tasks loaded, on the GUI thread. Workers get shared_ptr copies, so a reload
    // cannot pull an object out from under a running task.
    const std::shared_ptr<const ls::Model>& model() const { return model_; }
    const std::shared_ptr<const ls::Tokenizer>& tokenizer() const { return tokenizer_; }
    QString tokenizerNote() const { return tokenizerNote_; }  // why there is no tokenizer, if none
    const std::shared_ptr<const ls::Dataset>& dataset() const { return dataset_; }
    // What dataset() was tokenized with, and read with.
    const std::shared_ptr<const ls::Tokenizer>& datasetTokenizer() const { return datasetTokenizer_; }
    const ls::DatasetOptions& datasetOptions() const { return datasetOptions_; }
    // The last evaluation (null once the model or dataset changed) and its windows.
    const std::shared_ptr<const ls::PerplexityResult>& lastResult() const { return lastResult_; }
    // Lets go of the model, its tokenizer, the dataset and the last evaluation (a run file
    // opened instead: the workbench shows that run, not inputs it was not made from).
    void closeInputs();
    const ls::WindowParams& lastResultWindows() const { return lastResultWindows_; }

    // Why evaluation and layer analyses cannot run yet (no model or no dataset), or empty.
    QString missingInputs() const;

    // The last failure or cancel: "<what> failed: <message>" or "<what>: canceled".
    QString lastError() const { return lastError_; }
    // Reports a failure of `what` (a task, or an action that could not start): lastError()
    // and failed().
    void reportError(const QString& what, const QString& message);
    // If there is a problem: reports it as the failure of `what`, calls then(false) and
    // returns true (the task is not started).
    bool refuse(const QString& what, const QString& problem, const Then& then);
    bool refuseIfBusy(const QString& what, const Then& then);  // refuse() while a task runs

    // Loads the model folder's weights and tokenizer; a dataset already open is then read
    // again with them (and then runs after that).
    void openModel(const QString& dir, Then then = {});
    void openDataset(const QString& path, const ls::DatasetOptions& options, Then then = {});
    // Perplexity of the model on the dataset's windows.
    void evaluate(const ls::WindowParams& windows, Then then = {});
    // Layer analyses of the model on the dataset (the caller checked the parameters);
    // snapshots of an ablation scan and probe epochs come while it runs.
    void runLayerAnalyses(const ls::LayerRunParams& params, Then then = {});
    // What that run would cost (run --plan): planned(text) with ls::planText's.
    void planLayerRun(const ls::LayerRunParams& params, Then then = {});
    // Continuations of the prompts (one per line) under the conditions of params (the caller
    // checked the form). relu:N takes its order, and mean-ablate its means, from `source` (the
    // run shown; may be null), the means otherwise from the open dataset's windows. Reports
    // like a layer run: layerRunStarted, a GenerationProgress per continuation, layerRunFinished.
    void generate(const QString& prompts, const ls::GenerationParams& params, std::shared_ptr<const ls::LayerRun> source,
                  const ls::WindowParams& windows, Then then = {});
    // One prompt (the first line of text; without a tokenizer, token ids separated by spaces):
    // its attention patterns and the direct logit attribution of token (its text, "#ID", or ""
    // for the default) at params.position. Activation patching over a file of prompt pairs.
    // Both report like a layer run (layerRunStarted, layerRunFinished).
    // window >= 0: that window of the open dataset (windowed by windows) instead of the text.
    void inspectPrompt(const QString& prompt, int window, const ls::WindowParams& windows, const QString& token,
                       const ls::PromptParams& params, Then then = {});
    void patch(const QString& pairsPath, const ls::PatchParams& params, Then then = {});
    void openRunFile(const QString& path, Then then = {});
    void saveRunFile(std::shared_ptr<const ls::LayerRun> run, const QString& path, Then then = {});
    // Reads the run files (two or more) and compares them (compare/compare_runs.h).
    void compareRunFiles(const QStringList& paths, Then then = {});
    // A tuned lens for the model, trained on the dataset's windows (train/tuned_lens_trainer.h):
    // lensTrainPoint after each held-out scoring, lensTrained when it ended with a lens in
    // outDir (a cancel keeps the best so far).
    void trainLens(const ls::LensTrainParams& params, const QString& outDir, bool overwrite, Then then = {});
    // params' analyses through the logit lens and through its tuned lens, compared side by side
    // (runsCompared with the labels "logit lens" and "tuned lens"); the tuned run is shown too
    // (layerRunFinished).
    void compareLenses(const ls::LayerRunParams& params, Then then = {});

signals:
    void busyChanged(bool busy);
    void statusMessage(const QString& text);  // a task starts, or was canceled
    void failed(const QString& what, const QString& message);

    void modelOpened(const QString& dir);
    void datasetOpened(const QString& path);
    void evaluated();  // lastResult()
    // A layer-analysis run started, and ended however it ended (before what it brought).
    void layerRunStarted(const ls::LayerRunParams& params);
    void layerRunEnded();
    // A live report of an analysis's pass (LayerRunCallbacks), on the GUI thread.
    void liveReport(const QString& analysis, std::shared_ptr<const ls::LiveReport> report);
    void layerRunFinished(std::shared_ptr<const ls::LayerRun> run);
    void planned(const QString& text);
    void runFileOpened(std::shared_ptr<const ls::LayerRun> run, const QString& path);
    void runsCompared(std::shared_ptr<const ls::RunComparison> comparison, const QStringList& paths);
    void runFileSaved(std::shared_ptr<const ls::LayerRun> run, const QString& path);
    void lensTrainPoint(const ls::TrainPoint& point);
    void lensTrained(std::shared_ptr<const ls::LensTrainResult> result);

private:
    static QString busyText();  // why a task cannot start while another runs

    struct Task {
        QString title;   // on the progress bar
        QString what;    // in the reports of a cancel or failure
        QString status;  // in the status bar as it starts
        TaskRunner::Work work;                // worker thread
        std::function<void()> succeeded;      // GUI thread, once work finished
        std::function<void()> ended = {};     // GUI thread, however it ended, first
    };
    // Starts task unless another is running (that is reported, and then(false) called);
    // then(ok) follows its end. True if it started.
    bool start(Task task, Then then);
    // A task making the run of an analysis with a command of its own (generate, prompt, patch),
    // reported like a layer run: layerRunStarted(started), layerRunFinished with what work made.
    void startOwnCommandRun(const QString& what, const QString& status, std::function<ls::LayerRun(ls::Progress&)> work,
                            const ls::LayerRunParams& started, Then then);
    // True if the task finished; otherwise reports the cancel/failure for `what`.
    bool handleOutcome(const QString& what, const TaskOutcome& outcome);

    TaskRunner* runner_;
    std::shared_ptr<const ls::Model> model_;
    std::shared_ptr<const ls::Tokenizer> tokenizer_;
    QString tokenizerNote_;
    std::shared_ptr<const ls::Dataset> dataset_;
    std::shared_ptr<const ls::Tokenizer> datasetTokenizer_;
    ls::DatasetOptions datasetOptions_;
    std::shared_ptr<const ls::PerplexityResult> lastResult_;
    ls::WindowParams lastResultWindows_;
    QString lastError_;
};
