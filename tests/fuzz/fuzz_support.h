#pragma once
// Shared by every fuzz target (tests/fuzz/fuzz_<target>.cpp).
//
// A target feeds one input to a real loader through a real file, exactly as a user's file
// reaches it, and accepts one outcome besides success: ls::Error, the clear message a
// hostile file must get. Anything else (a crash, a sanitizer report, another exception
// type, a hang or a huge allocation) is a finding: libFuzzer stops on it and saves the input.
//
// Each target is built twice (tests/fuzz/CMakeLists.txt):
//  - with clang's libFuzzer and ASan + UBSan (LAYERSCOPE_FUZZ=ON, scripts/fuzz.sh);
//  - in the normal build with fuzz_replay.cpp as main, which runs the seed corpus and every
//    saved finding (tests/fuzz/regressions/<target>/) as the CTest test fuzz_regressions.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "common/error.h"

namespace ls::fuzz {

// One private folder per process (fuzzers run several processes side by side); files in
// it are rewritten for every input.
inline const std::filesystem::path& scratchDir() {
    static const std::filesystem::path dir = [] {
        std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
        std::filesystem::path d = base / ("layerscope-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

// Writes bytes to scratchDir()/name and returns the path.
inline std::filesystem::path writeScratch(const std::string& name, std::string_view bytes) {
    std::filesystem::path p = scratchDir() / name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
}

// Runs body; ls::Error is the expected way to refuse an input. Any other exception escapes
// to libFuzzer, which reports it as a finding (an uncaught exception aborts).
template <typename Body>
int expectOnlyLsErrors(Body&& body) {
    try {
        body();
    } catch (const ls::Error&) {
    }
    return 0;
}

// Splits an input in two at the first "\n@@@@\n" (for targets that read two files).
inline std::pair<std::string_view, std::string_view> splitTwo(std::string_view data) {
    constexpr std::string_view sep = "\n@@@@\n";
    size_t at = data.find(sep);
    if (at == std::string_view::npos) return {data, {}};
    return {data.substr(0, at), data.substr(at + sep.size())};
}

}  // namespace ls::fuzz
