#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace ls {

namespace {

StDtype parseDtype(const std::string& s) {
    static const std::map<std::string, StDtype> names = {
        {"F64", StDtype::F64}, {"F32", StDtype::F32}, {"F16", StDtype::F16},
        {"BF16", StDtype::BF16}, {"I64", StDtype::I64}, {"I32", StDtype::I32},
        {"I16", StDtype::I16}, {"I8", StDtype::I8}, {"U8", StDtype::U8},
        {"BOOL", StDtype::BOOL}};
    auto it = names.find(s);
    return it == names.end() ? StDtype::Other : it->second;
}

// Largest header we accept; real ones are a few hundred KB even for 400-tensor models.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

}  // namespace

void SafetensorsFile::prefetch() const {
    if (map_ && mapSize_ > 0) ::madvise(map_, mapSize_, MADV_WILLNEED);  // a hint: failure changes nothing
}

void releaseMappedPages(const StTensor& t) {
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(t.data) + page - 1) / page * page;  // whole pages inside
    const uintptr_t end = (reinterpret_cast<uintptr_t>(t.data) + t.bytes) / page * page;
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

size_t dtypeSize(StDtype dtype) {
    switch (dtype) {
        case StDtype::F64: case StDtype::I64: return 8;
        case StDtype::F32: case StDtype::I32: return 4;
        case StDtype::F16: case StDtype::BF16: case StDtype::I16: return 2;
        case StDtype::I8: case StDtype::U8: case StDtype::BOOL: return 1;
        case StDtype::Other: return 0;
    }
    return 0;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : path_(path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path, "not a regular file");
    }
    mapSize_ = static_cast<size_t>(st.st_size);
    if (mapSize_ < 8) {
        ::close(fd);
        throw Error(path, "truncated safetensors file (" + std::to_string(mapSize_) +
                              " bytes, shorter than the 8-byte header length)");
    }
    map_ = ::mmap(nullptr, mapSize_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map_ == MAP_FAILED) {
        map_ = nullptr;
        throw Error(path, std::string("cannot map file: ") + std::strerror(errno));
    }
    try {
        const auto* bytes = static_cast<const unsigned char*>(map_);
        uint64_t headerLen = 0;
        for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | bytes[i];
        if (headerLen > mapSize_ - 8 || headerLen > kMaxHeaderBytes)
            throw Error(path, "header length " + std::to_string(headerLen) +
                                  " exceeds the file size (" + std::to_string(mapSize_) +
                                  " bytes): truncated or not a safetensors file");
        const char* headerBegin = reinterpret_cast<const char*>(bytes + 8);
        nlohmann::json header;
        try {
            header = nlohmann::json::parse(headerBegin, headerBegin + headerLen);
        } catch (const nlohmann::json::exception& e) {
            throw Error(path, std::string("header is not valid JSON: ") + e.what());
        }
        if (!header.is_object()) throw Error(path, "header is not a JSON object");

        const unsigned char* dataStart = bytes + 8 + headerLen;
        const uint64_t dataSize = mapSize_ - 8 - headerLen;
        for (auto it = header.begin(); it != header.end(); ++it) {
            if (it.key() == "__metadata__") continue;
            const std::string& name = it.key();
            const auto& entry = it.value();
            auto bad = [&](const std::string& what) {
                return Error(path, "tensor '" + name + "': " + what);
            };
            if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
                !entry.contains("data_offsets"))
                throw bad("header entry lacks dtype, shape or data_offsets");
            StTensor t;
            t.name = name;
            if (!entry["dtype"].is_string()) throw bad("dtype is not a string");
            t.dtypeName = entry["dtype"].get<std::string>();
            t.dtype = parseDtype(t.dtypeName);
            const auto& shape = entry["shape"];
            const auto& offsets = entry["data_offsets"];
            if (!shape.is_array()) throw bad("shape is not an array");
            // The element count must not overflow: a wrapped product could match the stored size.
            uint64_t numel = 1;
            for (const auto& d : shape) {
                if (!d.is_number_integer() || d.get<int64_t>() < 0)
                    throw bad("shape has a negative or non-integer dimension");
                const auto dim = static_cast<uint64_t>(d.get<int64_t>());
                if (dim != 0 && numel > (uint64_t(1) << 60) / dim) throw bad("shape " + shape.dump() + " is impossibly large");
                t.shape.push_back(d.get<int64_t>());
                numel *= dim;
            }
            if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
                !offsets[1].is_number_unsigned())
                throw bad("data_offsets is not a pair of non-negative integers");
            const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
            if (begin > end) throw bad("data_offsets begin > end");
            if (end > dataSize)
                throw bad("data ends at byte " + std::to_string(end) + " of the data section but the file has only " +
                          std::to_string(dataSize) + " data bytes (truncated file or a header that lies)");
            t.bytes = end - begin;
            const size_t elem = dtypeSize(t.dtype);
            if (elem != 0 && t.bytes != numel * elem)
                throw bad("has " + std::to_string(t.bytes) + " bytes but shape x " + t.dtypeName +
                          " needs " + std::to_string(numel * elem));
            t.data = dataStart + begin;
            tensors_.emplace(name, std::move(t));
        }
        // As the reference (Rust safetensors) requires, the tensors tile the data section
        // exactly: an overlap means two tensors share bytes, a gap or trailing bytes mean the
        // file is not what its header describes.
        std::vector<const StTensor*> byOffset;
        for (const auto& [name, t] : tensors_) byOffset.push_back(&t);
        std::sort(byOffset.begin(), byOffset.end(),
                  [](const StTensor* a, const StTensor* b) { return a->data != b->data ? a->data < b->data : a->bytes < b->bytes; });
        uint64_t covered = 0;
        const StTensor* previous = nullptr;
        for (const StTensor* t : byOffset) {
            const uint64_t begin = static_cast<uint64_t>(t->data - dataStart);
            if (begin < covered)
                throw Error(path, "tensors '" + previous->name + "' and '" + t->name + "' overlap (bytes " +
                                      std::to_string(begin) + " to " + std::to_string(covered) + " of the data section)");
            if (begin > covered)
                throw Error(path, "bytes " + std::to_string(covered) + " to " + std::to_string(begin) +
                                      " of the data section belong to no tensor (the header does not describe this file)");
            covered = begin + t->bytes;
            previous = t;
        }
        if (covered != dataSize)
            throw Error(path, "has " + std::to_string(dataSize - covered) + " bytes after its last tensor (the header describes " +
                                  std::to_string(covered) + " data bytes, the file holds " + std::to_string(dataSize) + ")");
    } catch (...) {
        ::munmap(map_, mapSize_);
        map_ = nullptr;
        throw;
    }
}

SafetensorsFile::~SafetensorsFile() {
    if (map_) ::munmap(map_, mapSize_);
}

void writeSafetensors(const std::filesystem::path& path, const std::vector<StTensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        uint64_t numel = 1;
        for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
        const size_t elem = dtypeSize(parseDtype(t.dtypeName));
        if (elem == 0 || numel * elem != t.bytes)
            throw Error(path, "tensor '" + t.name + "': byte count does not match shape and dtype " + t.dtypeName);
        header[t.name] = {{"dtype", t.dtypeName}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes}}};
        offset += t.bytes;
    }
    std::string headerText = header.dump();
    headerText.append((8 - headerText.size() % 8) % 8, ' ');  // data section starts 8-byte aligned

    const std::filesystem::path partial = path.string() + ".partial";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(path, "cannot write");
        unsigned char len[8];
        uint64_t n = headerText.size();
        for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
        out.write(reinterpret_cast<const char*>(len), 8);
        out.write(headerText.data(), static_cast<std::streamsize>(headerText.size()));
        for (const auto& t : tensors) out.write(static_cast<const char*>(t.data), static_cast<std::streamsize>(t.bytes));
        out.close();
        if (!out) {
            std::error_code ec;
            std::filesystem::remove(partial, ec);
            throw Error(path, "writing failed (disk full?)");
        }
    }
    std::filesystem::rename(partial, path);
}

}  // namespace ls
