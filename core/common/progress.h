#pragma once
// Progress token shared between the thread that owns a task (GUI or CLI) and the worker
// that runs it. The worker writes the fraction and the stage and polls isCanceled() between
// windows; the owner reads them from its own thread.
//
// Stages nest: a ProgressPart gives the work inside it a share of its parent's range, so a
// stage reports 0..1 of its own work and the task's fraction still runs once from 0 to 1
// (QGIS's QgsProcessingMultiStepFeedback does the same). secondsLeft() is the one ETA the CLI
// and the GUI both show.
#include <atomic>
#include <mutex>
#include <string>

namespace ls {

class Progress {
public:
    void setStage(const std::string& stage) {
        std::lock_guard<std::mutex> lock(mutex_);
        stage_ = stage;
    }
    std::string stage() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return stage_;
    }
    // f in [0, 1] of the current part (the whole task outside any ProgressPart). Worker thread.
    void setFraction(double f) {
        f = f < 0 ? 0 : (f > 1 ? 1 : f);
        fraction_.store(from_ + span_ * f);
    }
    // The whole task's fraction in [0, 1]. Any thread.
    double fraction() const { return fraction_.load(); }

    void cancel() { canceled_.store(true); }
    bool isCanceled() const { return canceled_.load(); }

private:
    friend class ProgressPart;
    mutable std::mutex mutex_;
    std::string stage_;
    std::atomic<double> fraction_{0.0};
    std::atomic<bool> canceled_{false};
    double from_ = 0, span_ = 1;  // the current part, in whole-task units (worker thread only)
};

// The work done while this object lives is [from, to] of the enclosing part: setFraction(f)
// inside it reports from + (to - from) f of the enclosing part. Parts nest; when one ends,
// the enclosing part stands at its `to`.
class ProgressPart {
public:
    ProgressPart(Progress& progress, double from, double to)
        : progress_(progress), savedFrom_(progress.from_), savedSpan_(progress.span_) {
        progress_.setFraction(from);
        progress_.from_ = savedFrom_ + savedSpan_ * from;
        progress_.span_ = savedSpan_ * (to - from);
    }
    ~ProgressPart() {
        progress_.setFraction(1.0);
        progress_.from_ = savedFrom_;
        progress_.span_ = savedSpan_;
    }
    ProgressPart(const ProgressPart&) = delete;
    ProgressPart& operator=(const ProgressPart&) = delete;

private:
    Progress& progress_;
    double savedFrom_, savedSpan_;
};

// Seconds left of a task that has run elapsedSeconds and done fraction of its work, assuming
// the rest goes at the same rate; negative while it cannot be told (under a second, or
// nothing done yet).
inline double secondsLeft(double elapsedSeconds, double fraction) {
    if (!(fraction > 0.0) || elapsedSeconds < 1.0) return -1.0;
    if (fraction >= 1.0) return 0.0;
    return elapsedSeconds * (1.0 - fraction) / fraction;
}

// "~1 h 05 min left", "~2 min 10 s left", "~40 s left"; "" while unknown.
std::string formatSecondsLeft(double seconds);

}  // namespace ls
