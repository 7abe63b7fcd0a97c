#pragma once
// Prints a task's progress on stderr from a thread of its own while the caller computes:
// a live line on a terminal, a line every 10% otherwise (batch logs). The fraction is the
// whole task's (stages nest, common/progress.h) and the ETA is the one the GUI shows.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "common/progress.h"

namespace cli {

class ProgressPrinter {
public:
    // totalTokens: the dataset tokens the task covers (for tokens/s).
    ProgressPrinter(const ls::Progress& progress, int64_t totalTokens, bool enabled);
    ~ProgressPrinter() { stop(); }
    // The task is done: a last "100%" line with the time it took.
    void finish();
    // Stops printing (an error or a cancel: no 100% line).
    void stop();

private:
    void loop();
    std::string line(double fraction) const;

    const ls::Progress& progress_;
    int64_t total_;
    bool tty_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::mutex mutex_;
    std::condition_variable wake_;
    bool done_ = false;
    std::thread thread_;
};

}  // namespace cli
