// LayerScope run files (.h5): the reader that reopens a saved analysis.
#include "fuzz_support.h"
#include "io/run_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto path = ls::fuzz::writeScratch("run.h5", {reinterpret_cast<const char*>(data), size});
    return ls::fuzz::expectOnlyLsErrors([&] { ls::readRunFile(path); });
}
