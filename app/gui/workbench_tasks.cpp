#include "workbench_tasks.h"

#include "analysis/plan.h"

#include "analysis/perplexity.h"
#include "common/error.h"
#include "compare/compare_runs.h"
#include "file_paths.h"
#include "io/run_file.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

WorkbenchTasks::WorkbenchTasks(ls::widgets::TaskProgressBar* bar, QObject* parent)
    : QObject(parent), runner_(new TaskRunner(bar, this)) {
    connect(runner_, &TaskRunner::busyChanged, this, &WorkbenchTasks::busyChanged);
}

WorkbenchTasks::~WorkbenchTasks() {
    // Before this object goes: a worker's live callbacks post to it.
    runner_->cancelAndWait();
}

QString WorkbenchTasks::missingInputs() const {
    if (!model_)
        return tr("open a model folder first (File > Open Model Folder…)");
    if (!dataset_)
        return tr("open a dataset first (File > Open Dataset…)");
    return {};
}

QString WorkbenchTasks::busyText() { return tr("another task is running; try again when it is done"); }

void WorkbenchTasks::reportError(const QString& what, const QString& message) {
    lastError_ = tr("%1 failed: %2").arg(what, message);
    emit failed(what, message);
}

bool WorkbenchTasks::refuse(const QString& what, const QString& problem, const Then& then) {
    if (problem.isEmpty())
        return false;
    reportError(what, problem);
    if (then) then(false);
    return true;
}

bool WorkbenchTasks::refuseIfBusy(const QString& what, const Then& then) {
    return refuse(what, isBusy() ? busyText() : QString(), then);
}

bool WorkbenchTasks::handleOutcome(const QString& what, const TaskOutcome& outcome) {
    switch (outcome.status) {
    case TaskOutcome::Finished:
        return true;
    case TaskOutcome::Canceled:
        lastError_ = tr("%1: canceled").arg(what);
        emit statusMessage(tr("Canceled"));
        return false;
    case TaskOutcome::Failed:
        reportError(what, outcome.message);
        return false;
    }
    return false;
}

bool WorkbenchTasks::start(Task task, Then then) {
    if (refuseIfBusy(task.what, then))
        return false;
    emit statusMessage(task.status);
    runner_->start(task.title, std::move(task.work),
                   [this, what = task.what, succeeded = std::move(task.succeeded), ended = std::move(task.ended),
                    then = std::move(then)](const TaskOutcome& outcome) {
                       if (ended)
                           ended();
                       const bool ok = handleOutcome(what, outcome);
                       if (ok)
                           succeeded();
                       if (then) then(ok);
                   });
    return true;
}

void WorkbenchTasks::openModel(const QString& dir, Then then) {
    struct Loaded {
        std::shared_ptr<const ls::Model> model;
        std::shared_ptr<const ls::Tokenizer> tokenizer;
        QString tokenizerNote;
    };
    auto loaded = std::make_shared<Loaded>();
    const std::filesystem::path path = toPath(dir);
    Task task{tr("Loading model"), tr("Loading the model"), tr("Loading model from %1…").arg(dir),
              [loaded, path](ls::Progress& progress) {
                  progress.setStage("Reading weights");
                  loaded->model = std::make_shared<const ls::Model>(ls::Model::load(path));
                  progress.setStage("Reading tokenizer");
                  progress.setFraction(0.9);
                  // A model without tokenizer files still evaluates .npy token ids.
                  try {
                      loaded->tokenizer = std::make_shared<const ls::Tokenizer>(ls::Tokenizer::fromModelDir(path));
                  } catch (const ls::Error& e) {
                      loaded->tokenizerNote = QString::fromStdString(e.what());
                  }
                  progress.setFraction(1.0);
              },
              [this, loaded, dir] {
                  model_ = loaded->model;
                  tokenizer_ = loaded->tokenizer;
                  tokenizerNote_ = loaded->tokenizerNote;
                  lastResult_.reset();
                  emit modelOpened(dir);
              }};
    start(std::move(task), [this, then](bool ok) {
        // A dataset read for the previous model is re-read with this model's tokenizer and
        // vocabulary.
        if (ok && dataset_)
            openDataset(fromPath(dataset_->path), datasetOptions_, then);
        else if (then)
            then(ok);
    });
}

void WorkbenchTasks::openDataset(const QString& path, const ls::DatasetOptions& options, Then then) {
    auto loaded = std::make_shared<ls::Dataset>();
    auto tokenizer = tokenizer_;  // may be null: fine for .npy token ids
    const int32_t vocab = model_ ? model_->config().vocabSize : 0;
    const std::filesystem::path file = toPath(path);
    Task task{tr("Loading dataset"), tr("Loading the dataset"), tr("Reading %1…").arg(path),
              [loaded, tokenizer, vocab, file, options](ls::Progress& progress) {
                  progress.setStage("Reading and tokenizing");
                  *loaded = ls::loadDataset(file, tokenizer.get(), vocab, options);
                  progress.setFraction(1.0);
              },
              [this, loaded, path, options, tokenizer] {
                  dataset_ = loaded;
                  datasetTokenizer_ = tokenizer;
                  datasetOptions_ = options;
                  lastResult_.reset();  // it was computed on other tokens
                  emit datasetOpened(path);
              }};
    start(std::move(task), std::move(then));
}

void WorkbenchTasks::evaluate(const ls::WindowParams& windows, Then then) {
    const QString what = tr("Evaluation");
    if (refuse(what, missingInputs(), then))
        return;
    ls::PerplexityParams params;
    params.windows = windows;
    auto model = model_;
    auto dataset = dataset_;
    auto result = std::make_shared<ls::PerplexityResult>();
    Task task{tr("Evaluating"), what, tr("Evaluating…"),
              [model, dataset, params, result](ls::Progress& progress) {
                  *result = ls::runPerplexity(*model, *dataset, params, progress);
              },
              [this, result, windows] {
                  lastResultWindows_ = windows;
                  lastResult_ = result;
                  emit evaluated();
              }};
    start(std::move(task), std::move(then));
}

void WorkbenchTasks::runLayerAnalyses(const ls::LayerRunParams& params, Then then) {
    const QString what = tr("Layer analyses");
    if (refuse(what, missingInputs(), then))
        return;
    auto model = model_;
    auto dataset = dataset_;
    auto tokenizer = tokenizer_;  // token texts for the inspector; may be null
    auto run = std::make_shared<ls::LayerRun>();
    // Live reports come from the worker; a queued call hands them to the GUI thread (the
    // runner waits for the worker before this object goes).
    ls::LayerRunCallbacks callbacks;
    callbacks.onLiveReport = [this](const std::string& analysis, std::shared_ptr<const ls::LiveReport> report) {
        QMetaObject::invokeMethod(
            this, [this, name = QString::fromStdString(analysis), report] { emit liveReport(name, report); },
            Qt::QueuedConnection);
    };
    Task task{what, what, tr("Running the layer analyses…"),
              [model, dataset, tokenizer, params, run, callbacks](ls::Progress& progress) {
                  *run = ls::runLayerAnalyses(*model, *dataset, tokenizer.get(), params, progress, callbacks);
              },
              [this, run] { emit layerRunFinished(run); },  // a canceled or failed run brings nothing
              [this] { emit layerRunEnded(); }};
    // Its live reports are queued, so the window is ready for them before the first comes.
    if (start(std::move(task), std::move(then)))
        emit layerRunStarted(params);
}

void WorkbenchTasks::planLayerRun(const ls::LayerRunParams& params, Then then) {
    const QString what = tr("Plan");
    if (refuse(what, missingInputs(), then))
        return;
    auto model = model_;
    auto dataset = dataset_;
    auto text = std::make_shared<std::string>();
    Task task{tr("Planning"), what, tr("Timing the analyses on the first window batches…"),
              [model, dataset, params, text](ls::Progress& progress) {
                  *text = ls::planText(ls::planLayerRun(*model, *dataset, params, 0, progress));
              },
              [this, text] { emit planned(QString::fromStdString(*text).trimmed()); }};
    start(std::move(task), std::move(then));
}

void WorkbenchTasks::generate(const QString& promptsText, const ls::GenerationParams& params,
                              std::shared_ptr<const ls::LayerRun> source, const ls::WindowParams& windows, Then then) {
    const QString what = tr("Generation");
    if (refuse(what, model_ ? QString() : tr("open a model first"), then))
        return;
    auto model = model_;
    auto tokenizer = tokenizer_;
    auto dataset = dataset_;
    const std::string text = promptsText.toStdString();
    const auto onContinuation = [this](const ls::GenerationProgress& report) {
        auto live = std::make_shared<const ls::GenerationProgress>(report);
        QMetaObject::invokeMethod(
            this, [this, live] { emit liveReport(QStringLiteral("generate"), live); }, Qt::QueuedConnection);
    };
    ls::LayerRunParams started;
    started.analyses = {"generate"};
    started.generation = params;
    startOwnCommandRun(what, tr("Generating…"),
              [model, tokenizer, dataset, source, params, windows, text, onContinuation](ls::Progress& progress) {
                  const ls::ModelConfig& c = model->config();
                  const std::vector<ls::Prompt> prompts = ls::promptsFromLines(text, tokenizer.get(), c.vocabSize);
                  const auto lin = source ? source->result<ls::LinearizeResult>("linearize") : nullptr;
                  // relu:N: the first N heads of the shown run's linearisation order
                  const std::vector<ls::GenerationCondition> conditions =
                      ls::parseConditions(params.conditions, c, lin ? ls::linearisationOrder(*lin) : std::vector<ls::HeadId>{});
                  const bool meanAblation = ls::needsHeadMeans(conditions);
                  std::vector<float> means;
                  bool computedMeans = false;
                  const auto ablation = source ? source->result<ls::AblationResult>("ablation") : nullptr;
                  if (meanAblation && ablation && ablation->headMeans.size() == size_t(c.numLayers) * c.numHeads * c.headDim) {
                      means = ablation->headMeans;
                  } else if (meanAblation && dataset) {
                      ls::ProgressPart part(progress, 0.0, 0.1);
                      means = ls::meanHeadOutputs(*model, *dataset, windows, progress);
                      computedMeans = true;
                  } else if (meanAblation) {
                      throw ls::Error("mean ablation needs the heads' mean outputs: open a dataset, or show a run of the "
                                      "ablation analysis");
                  }
                  ls::RunInfo info = ls::runInfoFor(*model, {}, "prompts");
                  ls::ProgressPart part(progress, computedMeans ? 0.1 : 0.0, 1.0);
                  ls::GenerationResult result =
                      ls::runGeneration(*model, tokenizer.get(), prompts, conditions, params, means, progress, onContinuation);
                  if (!result.complete) throw ls::Canceled();  // the GUI keeps nothing of a canceled generation
                  return ls::generationRun(*model, std::move(info), params, std::move(result));
              },
              started, std::move(then));
}

void WorkbenchTasks::inspectPrompt(const QString& promptText, int window, const ls::WindowParams& windows, const QString& tokenText,
                                   const ls::PromptParams& params, Then then) {
    const QString what = tr("Prompt");
    if (refuse(what, !model_ ? tr("open a model first") : window >= 0 && !dataset_ ? tr("open a dataset for its window") : QString(), then))
        return;
    auto model = model_;
    auto tokenizer = tokenizer_;
    auto dataset = dataset_;
    const std::string text = promptText.toStdString(), token = tokenText.trimmed().toStdString();
    ls::LayerRunParams started;
    started.analyses = {"prompt"};
    started.prompt = params;
    startOwnCommandRun(what, tr("Running the prompt…"),
              [model, tokenizer, dataset, window, windows, params, text, token](ls::Progress&) {
                  const ls::ModelConfig& c = model->config();
                  const ls::Prompt prompt = window >= 0 ? ls::windowPrompt(*dataset, windows, window)
                                                        : ls::promptsFromLines(text, tokenizer.get(), c.vocabSize).front();
                  ls::PromptParams p = params;
                  if (!token.empty() && token[0] == '#') {
                      try {
                          p.token = static_cast<int32_t>(std::stol(token.substr(1)));
                      } catch (const std::exception&) {
                          throw ls::ParamError("token", "'" + token + "' is not #ID");
                      }
                  } else if (!token.empty()) {
                      if (!tokenizer) throw ls::ParamError("token", "the model has no tokenizer: write #ID");
                      const std::vector<int32_t> ids = tokenizer->encode(token);
                      if (ids.size() != 1)
                          throw ls::ParamError("token", "'" + token + "' is " + std::to_string(ids.size()) + " tokens, not one: write #ID");
                      p.token = ids.front();
                  }
                  ls::RunInfo info = ls::runInfoFor(*model, {}, "prompt");
                  return ls::promptRun(*model, std::move(info), p, ls::runPrompt(*model, tokenizer.get(), prompt, p));
              },
              started, std::move(then));
}

void WorkbenchTasks::patch(const QString& pairsPath, const ls::PatchParams& params, Then then) {
    const QString what = tr("Patching");
    if (refuse(what, model_ ? QString() : tr("open a model first"), then))
        return;
    auto model = model_;
    auto tokenizer = tokenizer_;
    const std::filesystem::path path = toPath(pairsPath);
    ls::LayerRunParams started;
    started.analyses = {"patch"};
    started.patch = params;
    startOwnCommandRun(what, tr("Patching…"),
              [model, tokenizer, params, path](ls::Progress& progress) {
                  const std::vector<ls::PromptPair> pairs = ls::loadPromptPairs(path, tokenizer.get(), model->config().vocabSize);
                  ls::RunInfo info = ls::runInfoFor(*model, path, "prompt pairs");
                  ls::PatchResult result = ls::runPatching(*model, tokenizer.get(), pairs, params, progress);
                  if (!result.complete) throw ls::Canceled();  // the GUI keeps nothing of a canceled scan
                  return ls::patchRun(*model, std::move(info), params, std::move(result));
              },
              started, std::move(then));
}

void WorkbenchTasks::startOwnCommandRun(const QString& what, const QString& status, std::function<ls::LayerRun(ls::Progress&)> work,
                                        const ls::LayerRunParams& started, Then then) {
    auto run = std::make_shared<ls::LayerRun>();
    Task task{what, what, status, [work = std::move(work), run](ls::Progress& progress) { *run = work(progress); },
              [this, run] { emit layerRunFinished(run); }, [this] { emit layerRunEnded(); }};
    if (start(std::move(task), std::move(then)))
        emit layerRunStarted(started);
}

void WorkbenchTasks::closeInputs() {
    model_.reset();
    tokenizer_.reset();
    tokenizerNote_.clear();
    dataset_.reset();
    lastResult_.reset();
}

void WorkbenchTasks::openRunFile(const QString& path, Then then) {
    auto run = std::make_shared<ls::LayerRun>();
    const std::filesystem::path file = toPath(path);
    Task task{tr("Opening run"), tr("Opening the run"), tr("Reading %1…").arg(path),
              [run, file](ls::Progress& progress) {
                  progress.setStage("Reading the run file");
                  *run = ls::readRunFile(file);
                  progress.setFraction(1.0);
              },
              [this, run, path] { emit runFileOpened(run, path); }};
    start(std::move(task), std::move(then));
}

void WorkbenchTasks::compareRunFiles(const QStringList& paths, Then then) {
    const QString what = tr("Comparing runs");
    if (refuse(what, paths.size() < 2 ? tr("choose two or more run files") : QString(), then))
        return;
    auto comparison = std::make_shared<ls::RunComparison>();
    Task task{tr("Comparing runs"), what, tr("Reading %1 run files…").arg(paths.size()),
              [comparison, paths](ls::Progress& progress) {
                  std::vector<ls::LayerRun> runs;
                  for (int i = 0; i < paths.size(); ++i) {
                      progress.setStage("Reading " + paths[i].toStdString());
                      runs.push_back(ls::readRunFile(toPath(paths[i])));
                      progress.setFraction(double(i + 1) / paths.size());
                  }
                  std::vector<ls::ComparedRun> compared;
                  for (int i = 0; i < paths.size(); ++i) compared.push_back({paths[i].toStdString(), &runs[size_t(i)]});
                  *comparison = ls::compareRuns(compared);
              },
              [this, comparison, paths] { emit runsCompared(comparison, paths); }};
    start(std::move(task), std::move(then));
}

void WorkbenchTasks::trainLens(const ls::LensTrainParams& params, const QString& outDir, bool overwrite, Then then) {
    const QString what = tr("Training the tuned lens");
    if (refuse(what, missingInputs(), then))
        return;
    auto model = model_;
    auto dataset = dataset_;
    auto result = std::make_shared<ls::LensTrainResult>();
    const std::filesystem::path dir = toPath(outDir);
    const auto onPoint = [this](const ls::TrainPoint& point) {
        QMetaObject::invokeMethod(this, [this, point] { emit lensTrainPoint(point); }, Qt::QueuedConnection);
    };
    Task task{tr("Training lens"), what, tr("Training a tuned lens into %1…").arg(outDir),
              [model, dataset, params, dir, overwrite, result, onPoint](ls::Progress& progress) {
                  progress.setStage("Hashing the inputs");
                  const ls::RunInfo hashes = ls::runInfoFor(*model, dataset->path, ls::dataFormatName(dataset->format));
                  *result = ls::trainTunedLens(*model, *dataset, hashes.modelHash, hashes.datasetHash, params, dir,
                                               overwrite, progress, onPoint);
                  if (result->canceled && !result->saved) throw ls::Canceled();
              },
              [this, result] { emit lensTrained(result); }};
    start(std::move(task), std::move(then));
}

void WorkbenchTasks::compareLenses(const ls::LayerRunParams& params, Then then) {
    const QString what = tr("Comparing lenses");
    const QString noLens = tr("choose a tuned lens in the Lens field first (Analysis > Train Tuned Lens…)");
    if (refuse(what, missingInputs(), then) || refuse(what, params.lensChoice.tuned() ? QString() : noLens, then))
        return;
    auto model = model_;
    auto dataset = dataset_;
    auto tokenizer = tokenizer_;
    auto tunedRun = std::make_shared<ls::LayerRun>();
    auto comparison = std::make_shared<ls::RunComparison>();
    const QStringList labels{QStringLiteral("logit lens"), QStringLiteral("tuned lens")};  // the folder: in the differences
    Task task{what, what, tr("Running the analyses through both lenses…"),
              [model, dataset, tokenizer, params, tunedRun, comparison, labels](ls::Progress& progress) {
                  ls::LayerRunParams logit = params;
                  logit.lensChoice = {};
                  ls::LayerRun logitRun;
                  {
                      const ls::ProgressPart part(progress, 0.0, 0.5);
                      logitRun = ls::runLayerAnalyses(*model, *dataset, tokenizer.get(), logit, progress);
                  }
                  {
                      const ls::ProgressPart part(progress, 0.5, 1.0);
                      *tunedRun = ls::runLayerAnalyses(*model, *dataset, tokenizer.get(), params, progress);
                  }
                  *comparison = ls::compareRuns({{labels[0].toStdString(), &logitRun}, {labels[1].toStdString(), tunedRun.get()}});
              },
              [this, tunedRun, comparison, labels] {
                  emit layerRunFinished(tunedRun);
                  emit runsCompared(comparison, labels);
              },
              [this] { emit layerRunEnded(); }};
    if (start(std::move(task), std::move(then)))
        emit layerRunStarted(params);
}

void WorkbenchTasks::saveRunFile(std::shared_ptr<const ls::LayerRun> run, const QString& path, Then then) {
    const QString what = tr("Saving the run");
    const QString noRun = tr("there is no run to save: run the layer analyses first (Analysis > Layer Analyses)");
    if (refuse(what, run ? QString() : noRun, then))
        return;
    const std::filesystem::path file = toPath(path);
    Task task{tr("Saving run"), what, tr("Writing %1…").arg(path),
              [run, file](ls::Progress& progress) {
                  progress.setStage("Writing the run file");
                  ls::writeRunFile(file, *run);  // atomic: a temporary file, then rename
                  progress.setFraction(1.0);
              },
              [this, run, path] { emit runFileSaved(run, path); }};
    start(std::move(task), std::move(then));
}
