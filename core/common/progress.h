#pragma once
// Progress token shared between the thread that owns a task (GUI or CLI) and the worker
// that runs it. The worker writes fraction/stage and polls isCanceled() between windows;
// the owner reads them from its own thread. All members are thread-safe.
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
    // fraction in [0, 1] of the whole task
    void setFraction(double f) { fraction_.store(f < 0 ? 0 : (f > 1 ? 1 : f)); }
    double fraction() const { return fraction_.load(); }

    void cancel() { canceled_.store(true); }
    bool isCanceled() const { return canceled_.load(); }

private:
    mutable std::mutex mutex_;
    std::string stage_;
    std::atomic<double> fraction_{0.0};
    std::atomic<bool> canceled_{false};
};

}  // namespace ls
