// Raw text and WikiText files (any bytes, invalid UTF-8 included), tokenised by a small
// byte-level BPE tokenizer. The first byte chooses the format.
#include "fuzz_dataset_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const ls::DataFormat format = data[0] & 1 ? ls::DataFormat::WikiText : ls::DataFormat::Text;
    return ls::fuzz::loadDatasetBytes("data.txt", {reinterpret_cast<const char*>(data) + 1, size - 1}, format);
}
