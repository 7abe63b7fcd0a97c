#pragma once
// Prints a task's progress on stderr from a thread of its own while the caller computes:
// a live line on a terminal, a line every 10% otherwise (batch logs).
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/progress.h"

namespace cli {

class ProgressPrinter {
public:
    ProgressPrinter(const ls::Progress& progress, int64_t totalTokens, bool enabled);
    ~ProgressPrinter() { stop(); }
    void stop();

private:
    void loop();

    const ls::Progress& progress_;
    int64_t total_;
    bool tty_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool done_ = false;
    std::thread thread_;
};

}  // namespace cli
