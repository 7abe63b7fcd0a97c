#pragma once
// Where a command's time went, in seconds: `run` and `eval` print it (--json "phases"), run
// files keep it, the GUI's run summary shows it. A phase that did not happen stays 0.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace ls {

struct PhaseTimes {
    double startup = 0;    // process start to the command's start: the program, its module, LibTorch
    double load = 0;       // reading the model, its tokenizer and the dataset
    double setup = 0;      // one-off work before the passes: hashing the inputs, the certified lens, the head's SVD
    double capture = 0;    // the passes over the data (capture pass, probes, head scans)
    double summaries = 0;  // the analyses' summaries of the per-token values
    double writing = 0;    // the run file, CSVs and tables (not in the run file itself: it is being written)

    // (name, seconds) in the order above; names as in JSON and run files.
    std::vector<std::pair<std::string, double>> named() const;
    double* find(const std::string& name);  // null for an unknown name
    std::string text() const;               // "startup 0.05 s, load 0.91 s, ..." (the phases that took time)
};

// Seconds since this process started (the kernel's start time, in its 10 ms ticks).
double secondsSinceProcessStart();

// Seconds since a start point, for filling a phase.
class Stopwatch {
public:
    double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace ls
