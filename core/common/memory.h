#pragma once
// How much memory this machine can give, so that loading a model or a dataset too large for
// it stops with a message and an estimate before work starts, not with an out-of-memory kill.
#include <cstdint>
#include <string>

namespace ls {

// MemAvailable from /proc/meminfo in bytes (-1 if unknown). The environment variable
// LAYERSCOPE_AVAILABLE_MEMORY (bytes) overrides it, for tests and for sharing a machine.
int64_t availableMemoryBytes();

// "843 MB", "1.27 GB": three significant digits, for messages.
std::string formatBytes(int64_t bytes);

}  // namespace ls
