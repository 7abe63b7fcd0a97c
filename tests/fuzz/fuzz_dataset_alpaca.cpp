// Alpaca JSON (a list of records) and JSONL (a record per line). The first byte chooses.
#include "fuzz_dataset_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const bool jsonl = data[0] & 1;
    return ls::fuzz::loadDatasetBytes(jsonl ? "data.jsonl" : "data.json",
                                      {reinterpret_cast<const char*>(data) + 1, size - 1},
                                      jsonl ? ls::DataFormat::AlpacaJsonl : ls::DataFormat::AlpacaJson);
}
