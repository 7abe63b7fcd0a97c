// Run files past the seal: the input is sealed (size + CRC-32 written into its first 512
// bytes) before the reader sees it, so the bytes reach libhdf5 and LayerScope's checks of
// what a run file holds. Real users' damaged files stop at the seal (fuzz_run_file); this
// target is what a deliberately crafted, correctly sealed file meets.
#include <zlib.h>

#include <cstdio>

#include "fuzz_support.h"
#include "io/run_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    if (bytes.size() < 512) bytes.resize(512, '\0');
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()) + 512,
                            static_cast<uInt>(bytes.size() - 512));
    char head[96];
    const int n = std::snprintf(head, sizeof head, "LayerScope HDF5\nformat 1\nbytes %zu\ncrc32 %08lx\n", bytes.size(), crc);
    std::string seal(head, static_cast<size_t>(n));
    seal.resize(512, '\0');
    bytes.replace(0, 512, seal);
    auto path = ls::fuzz::writeScratch("run.h5", bytes);
    return ls::fuzz::expectOnlyLsErrors([&] { ls::readRunFile(path); });
}
