// config.json of a Hugging Face model folder (GPT-2 and Llama families).
#include "fuzz_support.h"
#include "model/config_internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto path = ls::fuzz::writeScratch("config.json", {reinterpret_cast<const char*>(data), size});
    return ls::fuzz::expectOnlyLsErrors([&] { ls::parseModelConfig(path); });
}
