#pragma once
// Runs one background task at a time: the work function runs on a QtConcurrent worker
// with an ls::Progress token; a 10 Hz timer copies fraction/stage to the progress bar;
// the done callback runs on the GUI thread with how the task ended. Exceptions stop at
// the worker boundary and come back as a message. Destroying the runner cancels the task
// and waits for it (the worker must not outlive the objects it reads).
#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <QTimer>
#include <functional>
#include <memory>

#include "common/progress.h"

namespace ls::widgets {
class TaskProgressBar;
}

struct TaskOutcome {
    enum Status { Finished, Canceled, Failed };
    Status status = Finished;
    QString message;  // error text for Failed
};

class TaskRunner : public QObject {
    Q_OBJECT
public:
    using Work = std::function<void(ls::Progress&)>;        // worker thread
    using Done = std::function<void(const TaskOutcome&)>;   // GUI thread

    TaskRunner(ls::widgets::TaskProgressBar* bar, QObject* parent = nullptr);
    ~TaskRunner() override;

    bool isBusy() const { return busy_; }
    // Starts work unless a task is already running (then returns false).
    bool start(const QString& title, Work work, Done done);
    void cancel();
    // Cancels and blocks until the worker returned; its done callback is dropped.
    void cancelAndWait();

signals:
    void busyChanged(bool busy);

private:
    void poll();
    void finished();

    ls::widgets::TaskProgressBar* bar_;
    std::unique_ptr<ls::Progress> progress_;  // one fresh token per task
    QFutureWatcher<TaskOutcome> watcher_;
    QTimer pollTimer_;
    Done done_;
    bool busy_ = false;
};
