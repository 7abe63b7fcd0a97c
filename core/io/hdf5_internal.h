#pragma once
// What the HDF5 files' parts share (core/io only; HDF5's C API): handles that close
// themselves, the library lock, errors that name the file, slash paths, number types, size
// checks before allocating, and walking the group tree. The public API is io/hdf5_file.h;
// hdf5_seal.cpp, hdf5_writer.cpp, hdf5_reader.cpp and hdf5_rehearsal.cpp implement it.
#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/error.h"

namespace ls::hdf5 {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------
// Handles: every hid_t lives in one of these and is closed with the right H5*close.

class Handle {
public:
    using Closer = herr_t (*)(hid_t);
    Handle() = default;
    Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
    Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, H5I_INVALID_HID);
            closer_ = other.closer_;
        }
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { reset(); }

    hid_t get() const { return id_; }
    explicit operator bool() const { return id_ >= 0; }
    void reset() {
        if (id_ >= 0 && closer_) closer_(id_);  // a failing close has nowhere to report to
        id_ = H5I_INVALID_HID;
    }
    // Gives up ownership (for H5Fclose in commit(), whose result matters).
    hid_t release() { return std::exchange(id_, H5I_INVALID_HID); }

private:
    hid_t id_ = H5I_INVALID_HID;
    Closer closer_ = nullptr;
};

// ---------------------------------------------------------------------------------------
// Library access. HDF5's error printing is per thread in thread-safe builds, so every entry
// point switches it off again; builds without thread safety are serialized here.

#ifdef H5_HAVE_THREADSAFE
struct Lock {
    Lock() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
#else
inline std::recursive_mutex& libraryMutex() {
    static std::recursive_mutex mutex;
    return mutex;
}
struct Lock {
    std::lock_guard<std::recursive_mutex> guard{libraryMutex()};
    Lock() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
#endif

// ---------------------------------------------------------------------------------------
// Errors

// The most specific message on HDF5's error stack ("truncated file: eof = ..."), then clears it.
std::string hdf5Detail();
[[noreturn]] void fail(const fs::path& file, const std::string& problem);
// problem + HDF5's own explanation in parentheses.
[[noreturn]] void failHdf5(const fs::path& file, const std::string& problem);
// Throw (failHdf5) when an HDF5 call failed; make() wraps a new id in a Handle.
void check(herr_t result, const fs::path& file, const std::string& problem);
bool checkTri(htri_t result, const fs::path& file, const std::string& problem);
Handle make(hid_t id, Handle::Closer closer, const fs::path& file, const std::string& problem);

// ---------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------
// The seal: HDF5's user block (the first kSealBytes of the file, which HDF5 and h5py skip)
// holds a short text header that LayerScope writes after the file is complete:
//   "LayerScope HDF5\nformat 1\nbytes <file size>\ncrc32 <8 hex digits>\n", NUL-padded,
// where crc32 (zlib's) covers every byte after the user block. A reader checks it before
// any byte reaches libhdf5, so a truncated, bit-flipped or edited file gets a plain error
// instead of whatever libhdf5 does with damaged metadata (1.10 can crash).

inline constexpr size_t kSealBytes = 512;
inline constexpr std::string_view kSealMagic = "LayerScope HDF5\n";
inline constexpr std::string_view kHdf5Signature = "\x89HDF\r\n\x1a\n";

// Writes the seal into the user block of a finished (closed) file.
void writeSeal(const fs::path& file, const fs::path& reportAs);
// Checks the seal of a file whose first bytes are `head`; throws ls::Error on any mismatch.
void checkSeal(const fs::path& path, const std::string& head, uint64_t size);

// ---------------------------------------------------------------------------------------
// Paths: "a/b/c", "/a/b/c" and "a//b/" all name the same object; "" and "/" the root group.

using Parts = std::vector<std::string>;
Parts split(const std::string& path, char separator = '/');
std::string join(const Parts& parts, size_t count);
// "'cossim/values'", or "'/'" for the root group.
std::string quoted(const Parts& parts, size_t count);
std::string quoted(const Parts& parts);
std::string quoted(const std::string& path);
std::string shapeText(const std::vector<hsize_t>& dims);

// ---------------------------------------------------------------------------------------
// Types

template <typename T>
struct NumberType {
    // In memory, and in files (little-endian whatever the machine).
    static hid_t memory() { return types().first; }
    static hid_t file() { return types().second; }
    static std::pair<hid_t, hid_t> types() {
        if constexpr (std::is_same_v<T, float>) return {H5T_NATIVE_FLOAT, H5T_IEEE_F32LE};
        else if constexpr (std::is_same_v<T, double>) return {H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE};
        else if constexpr (std::is_same_v<T, int32_t>) return {H5T_NATIVE_INT32, H5T_STD_I32LE};
        else {
            static_assert(std::is_same_v<T, int64_t>, "HDF5 numbers are float, double, int32_t or int64_t");
            return {H5T_NATIVE_INT64, H5T_STD_I64LE};
        }
    }
};

// Variable-length string type (in memory: char*), UTF-8 unless told otherwise.
Handle variableString(const fs::path& file, H5T_cset_t cset = H5T_CSET_UTF8);
std::string kindName(H5T_class_t kind);
inline bool isNumeric(H5T_class_t kind) { return kind == H5T_INTEGER || kind == H5T_FLOAT; }
// HDF5 keeps variable-length strings NUL-terminated: an embedded NUL would cut the text.
// context: "cannot write attribute 'x' of '/': the text".
void checkNoNul(const std::string& text, const fs::path& file, const std::string& context);
std::string realText(double v);  // "%.17g"

// ---------------------------------------------------------------------------------------
// Sizes. A damaged or hostile file can claim any dimensions; check before allocating.

inline constexpr uint64_t kMaxElements = uint64_t(1) << 40;

struct Extent {
    std::vector<hsize_t> dims;  // empty for a scalar or null dataspace
    uint64_t count = 0;
};

Extent extentOf(hid_t space, const fs::path& file, const std::string& what);
uint64_t physicalMemory();
std::string gib(uint64_t bytes);

// A vector of count elements, or ls::Error when that cannot fit in this machine's memory.
template <typename T>
std::vector<T> allocate(uint64_t count, size_t elementBytes, const fs::path& file, const std::string& what) {
    const uint64_t bytes = count * std::max<uint64_t>(elementBytes, sizeof(T));  // count <= 2^40: no overflow
    const uint64_t memory = physicalMemory();
    if (bytes > memory)
        fail(file, what + " needs " + gib(bytes) + " but this machine has " + gib(memory) + " of memory");
    try {
        return std::vector<T>(size_t(count));
    } catch (const std::bad_alloc&) {
    } catch (const std::length_error&) {
    }
    fail(file, what + " needs " + gib(bytes) + ", which does not fit in memory");
}


// The object at parts, or an empty handle when it (or a group on the way) does not exist.
// An intermediate object that is not a group counts as "does not exist".
Handle openIfExists(hid_t fileId, const Parts& parts, const fs::path& file);

}  // namespace ls::hdf5
