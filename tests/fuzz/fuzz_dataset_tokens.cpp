// Pre-tokenised token ids: .npy (any header, dtype and shape) and raw .bin (uint16), checked
// against a 50,257-token vocabulary. The first byte chooses; format Auto is tried too.
#include "fuzz_dataset_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0: return ls::fuzz::loadDatasetBytes("ids.npy", bytes, ls::DataFormat::Npy);
        case 1: return ls::fuzz::loadDatasetBytes("ids.bin", bytes, ls::DataFormat::Bin);
        default: return ls::fuzz::loadDatasetBytes("ids.npy", bytes, ls::DataFormat::Auto);
    }
}
