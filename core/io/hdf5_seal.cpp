// The seal of LayerScope's HDF5 files (hdf5_internal.h): written after a file is complete,
// checked before libhdf5 reads a byte of it.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <zlib.h>

#include "io/hdf5_file.h"
#include "io/hdf5_internal.h"

namespace ls {

namespace hdf5 {

namespace {

// CRC-32 of the file's bytes from `from` to the end, streamed (run files can be large).
uint32_t crc32From(std::fstream& file, uint64_t from, const fs::path& path) {
    file.clear();
    file.seekg(static_cast<std::streamoff>(from));
    std::vector<char> buffer(1 << 20);
    uLong crc = crc32(0L, Z_NULL, 0);
    while (file) {
        file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const std::streamsize got = file.gcount();
        if (got <= 0) break;
        crc = crc32(crc, reinterpret_cast<const Bytef*>(buffer.data()), static_cast<uInt>(got));
    }
    if (file.bad()) fail(path, std::string("cannot be read: ") + std::strerror(errno));
    return static_cast<uint32_t>(crc);
}

}  // namespace

void writeSeal(const fs::path& file, const fs::path& reportAs) {
    std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
    if (!f) fail(reportAs, "cannot reopen " + file.string() + " to seal it: " + std::strerror(errno));
    const uint64_t size = fs::file_size(file);
    const uint32_t crc = crc32From(f, kSealBytes, reportAs);
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", crc);
    std::string header = std::string(kSealMagic) + "format 1\nbytes " + std::to_string(size) + "\ncrc32 " + hex + "\n";
    header.resize(kSealBytes, '\0');
    f.clear();
    f.seekp(0);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    f.flush();
    if (!f) fail(reportAs, "cannot seal " + file.string() + ": " + std::strerror(errno));
}

void checkSeal(const fs::path& path, const std::string& head, uint64_t size) {
    if (size < kSealBytes)
        fail(path, "is truncated: it has " + std::to_string(size) + " bytes, less than its own LayerScope header");
    unsigned format = 0;
    unsigned long long bytes = 0;
    char hex[9] = {};
    if (std::sscanf(head.c_str() + kSealMagic.size(), "format %u\nbytes %llu\ncrc32 %8[0-9a-f]\n", &format, &bytes, hex) != 3)
        fail(path, "is damaged: its LayerScope header is unreadable");
    if (format != 1)
        fail(path, "was written by a newer LayerScope (file header format " + std::to_string(format) +
                       "; this version reads format 1): update LayerScope to open it");
    if (size < bytes)
        fail(path, "is truncated: it has " + std::to_string(size) + " bytes but LayerScope wrote " + std::to_string(bytes) +
                       " (an interrupted copy or download?)");
    if (size > bytes)
        fail(path, "is damaged: it has " + std::to_string(size) + " bytes but LayerScope wrote " + std::to_string(bytes));
    std::fstream f(path, std::ios::binary | std::ios::in);
    char actual[9];
    std::snprintf(actual, sizeof actual, "%08x", crc32From(f, kSealBytes, path));
    if (std::string_view(actual) != hex)
        fail(path, std::string("is damaged: its checksum is ") + actual + " but LayerScope wrote " + hex +
                       " (the file was changed or corrupted after it was written)");
}

}  // namespace hdf5

using namespace hdf5;

void checkFileBeforeHdf5(const fs::path& path, H5Reader::Seal seal) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) fail(path, "does not exist");
    if (fs::is_directory(status)) fail(path, "is a folder, not an HDF5 file");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, std::string("cannot be read: ") + std::strerror(errno));
    const auto size = fs::file_size(path, ec);
    if (!ec && size == 0) fail(path, "is empty, not an HDF5 file");
    std::string head(kSealBytes, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
    if (head.size() < kSealMagic.size() && kSealMagic.compare(0, head.size(), head) == 0)
        fail(path, "is truncated: it has " + std::to_string(size) + " bytes, less than its own LayerScope header");
    if (head.compare(0, kSealMagic.size(), kSealMagic) == 0) {
        checkSeal(path, head, size);
    } else if (seal == H5Reader::Seal::Required) {
        if (head.compare(0, kHdf5Signature.size(), kHdf5Signature) != 0) fail(path, "is not an HDF5 file");
        fail(path, "is an HDF5 file but not a LayerScope run file (it has no LayerScope seal; run files saved "
                   "before LayerScope sealed them cannot be reopened: run the analysis again)");
    }
}

}  // namespace ls
