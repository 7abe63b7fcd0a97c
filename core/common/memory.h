#pragma once
// How much memory this machine can give, so that loading a model or a dataset too large for
// it stops with a message and an estimate before work starts, not with an out-of-memory kill.
#include <cstdint>
#include <string>

namespace ls {

// MemAvailable from /proc/meminfo in bytes (-1 if unknown). The environment variable
// LAYERSCOPE_AVAILABLE_MEMORY (bytes) overrides it, for tests and for sharing a machine.
int64_t availableMemoryBytes();

// This process's resident memory now and at its peak since the start or the last
// resetPeakResidentBytes() (VmRSS and VmHWM of /proc/self/status; -1 if unknown).
int64_t residentBytes();
int64_t peakResidentBytes();
// Starts the peak over from the current resident size (/proc/self/clear_refs); false if the
// kernel does not allow it (the peak then stays the process's).
bool resetPeakResidentBytes();

// "843 MB", "1.27 GB": three significant digits, for messages.
std::string formatBytes(int64_t bytes);

}  // namespace ls
