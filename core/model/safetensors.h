#pragma once
// Reader for the safetensors format: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the data section (offsets are relative to its start). The file is memory-mapped;
// every claim of the header is checked against the file before any byte is read.
// Plain C++ (no LibTorch): tensors come back as typed byte views.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ls {

enum class StDtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, Other };

struct StTensor {
    std::string name;
    StDtype dtype = StDtype::Other;
    std::string dtypeName;        // as written in the header, e.g. "BF16"
    std::vector<int64_t> shape;
    const unsigned char* data = nullptr;  // inside the mapping; not necessarily aligned
    uint64_t bytes = 0;
};

class SafetensorsFile {
public:
    // Maps and validates the file. Throws ls::Error(path, problem).
    explicit SafetensorsFile(const std::filesystem::path& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // Asks the kernel to read the whole file ahead (Model::load: the weights are read next, in
    // parallel; without it each thread waits on its own small reads). Describing never calls it.
    void prefetch() const;
    const std::map<std::string, StTensor>& tensors() const { return tensors_; }

private:
    std::filesystem::path path_;
    void* map_ = nullptr;
    size_t mapSize_ = 0;
    std::map<std::string, StTensor> tensors_;
};

size_t dtypeSize(StDtype dtype);  // bytes per element; 0 for Other

// Drops this process's mapping of a tensor's pages once it has been read (they stay in the page
// cache): the resident size then counts the loaded weights, not the checkpoint's pages too. A
// hint: failure changes nothing.
void releaseMappedPages(const StTensor& tensor);

// One tensor to write: `bytes` little-endian bytes of dtype `dtypeName` ("F32", "F16", "BF16").
struct StTensorToWrite {
    std::string name;
    std::string dtypeName;
    std::vector<int64_t> shape;
    const void* data = nullptr;
    uint64_t bytes = 0;
};

// Writes a safetensors file (header padded to 8 bytes, tensors in the given order) to
// path + ".partial" and renames it into place, so a failure never leaves half a file.
void writeSafetensors(const std::filesystem::path& path, const std::vector<StTensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace ls
