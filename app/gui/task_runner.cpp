#include "task_runner.h"

#include <QtConcurrent/QtConcurrentRun>
#include <exception>

#include "common/error.h"
#include "task_progress_bar.h"

namespace {

// Runs work and turns every way it can end into a TaskOutcome. c10::Error and HDF5
// errors derive from std::exception, so nothing escapes the worker thread.
TaskOutcome runGuarded(const TaskRunner::Work& work, ls::Progress& progress) {
    try {
        work(progress);
        if (progress.isCanceled())
            return {TaskOutcome::Canceled, {}};
        return {TaskOutcome::Finished, {}};
    } catch (const ls::Canceled&) {
        return {TaskOutcome::Canceled, {}};
    } catch (const std::exception& e) {
        return {TaskOutcome::Failed, QString::fromStdString(e.what())};
    } catch (...) {
        return {TaskOutcome::Failed, QStringLiteral("unknown error")};
    }
}

}  // namespace

TaskRunner::TaskRunner(ls::widgets::TaskProgressBar* bar, QObject* parent)
    : QObject(parent), bar_(bar) {
    pollTimer_.setInterval(100);  // 10 Hz is smooth enough and costs nothing
    connect(&pollTimer_, &QTimer::timeout, this, &TaskRunner::poll);
    connect(&watcher_, &QFutureWatcher<TaskOutcome>::finished, this, &TaskRunner::finished);
    connect(bar_, &ls::widgets::TaskProgressBar::cancelRequested, this, &TaskRunner::cancel);
}

TaskRunner::~TaskRunner() { cancelAndWait(); }

bool TaskRunner::start(const QString& title, Work work, Done done) {
    if (busy_)
        return false;
    busy_ = true;
    progress_ = std::make_unique<ls::Progress>();
    done_ = std::move(done);
    bar_->start(title);
    ls::Progress* progress = progress_.get();  // lives until finished() or cancelAndWait()
    watcher_.setFuture(QtConcurrent::run(
        [work = std::move(work), progress] { return runGuarded(work, *progress); }));
    pollTimer_.start();
    emit busyChanged(true);
    return true;
}

void TaskRunner::cancel() {
    if (busy_)
        progress_->cancel();
}

void TaskRunner::cancelAndWait() {
    if (!busy_)
        return;
    progress_->cancel();
    watcher_.waitForFinished();
    done_ = nullptr;  // the owner is going away: do not call back into it
    finished();
}

void TaskRunner::poll() {
    if (busy_)
        bar_->setProgress(progress_->fraction(), QString::fromStdString(progress_->stage()));
}

void TaskRunner::finished() {
    if (!busy_)  // already handled by cancelAndWait()
        return;
    pollTimer_.stop();
    const TaskOutcome outcome = watcher_.future().result();
    busy_ = false;
    bar_->finish();
    Done done = std::move(done_);
    done_ = nullptr;
    emit busyChanged(false);
    // The callback may start the next task (e.g. load the dataset after the model).
    if (done)
        done(outcome);
}
