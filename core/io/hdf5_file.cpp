#include "io/hdf5_file.h"

#include <hdf5.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <new>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "common/error.h"

namespace ls {

namespace fs = std::filesystem;

namespace {

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
std::recursive_mutex& libraryMutex() {
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

herr_t innermostError(unsigned n, const H5E_error2_t* error, void* data) {
    if (n == 0 && error && error->desc) *static_cast<std::string*>(data) = error->desc;
    return 0;
}

// The most specific message on HDF5's error stack ("truncated file: eof = ..."), then clears it.
std::string hdf5Detail() {
    std::string detail;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermostError, &detail);
    H5Eclear2(H5E_DEFAULT);
    return detail;
}

[[noreturn]] void fail(const fs::path& file, const std::string& problem) { throw Error(file, problem); }

// problem + HDF5's own explanation in parentheses.
[[noreturn]] void failHdf5(const fs::path& file, const std::string& problem) {
    const std::string detail = hdf5Detail();
    fail(file, detail.empty() ? problem : problem + " (HDF5: " + detail + ")");
}

// ---------------------------------------------------------------------------------------
// The seal: HDF5's user block (the first kSealBytes of the file, which HDF5 and h5py skip)
// holds a short text header that LayerScope writes after the file is complete:
//   "LayerScope HDF5\nformat 1\nbytes <file size>\ncrc32 <8 hex digits>\n", NUL-padded,
// where crc32 (zlib's) covers every byte after the user block. A reader checks it before
// any byte reaches libhdf5, so a truncated, bit-flipped or edited file gets a plain error
// instead of whatever libhdf5 does with damaged metadata (1.10 can crash).

constexpr size_t kSealBytes = 512;
constexpr std::string_view kSealMagic = "LayerScope HDF5\n";
constexpr std::string_view kHdf5Signature = "\x89HDF\r\n\x1a\n";

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

// Writes the seal into the user block of a finished (closed) file.
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

// Checks the seal of a file whose first bytes are `head`; throws ls::Error on any mismatch.
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

void check(herr_t result, const fs::path& file, const std::string& problem) {
    if (result < 0) failHdf5(file, problem);
}

bool checkTri(htri_t result, const fs::path& file, const std::string& problem) {
    if (result < 0) failHdf5(file, problem);
    return result > 0;
}

Handle make(hid_t id, Handle::Closer closer, const fs::path& file, const std::string& problem) {
    if (id < 0) failHdf5(file, problem);
    return Handle(id, closer);
}

// ---------------------------------------------------------------------------------------
// Paths: "a/b/c", "/a/b/c" and "a//b/" all name the same object; "" and "/" the root group.

using Parts = std::vector<std::string>;

Parts split(const std::string& path, char separator = '/') {
    Parts parts;
    std::string part;
    for (char ch : path) {
        if (ch == separator) {
            if (!part.empty()) parts.push_back(std::move(part));
            part.clear();
        } else {
            part += ch;
        }
    }
    if (!part.empty()) parts.push_back(std::move(part));
    return parts;
}

std::string join(const Parts& parts, size_t count) {
    std::string out;
    for (size_t i = 0; i < count && i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
    return out;
}

// "'cossim/values'", or "'/'" for the root group.
std::string quoted(const Parts& parts, size_t count) {
    const std::string s = join(parts, count);
    return "'" + (s.empty() ? std::string("/") : s) + "'";
}
std::string quoted(const Parts& parts) { return quoted(parts, parts.size()); }
std::string quoted(const std::string& path) { return quoted(split(path)); }

std::string shapeText(const std::vector<hsize_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

// ---------------------------------------------------------------------------------------
// Types

template <typename T>
struct NumberType;
template <>
struct NumberType<float> {
    static hid_t memory() { return H5T_NATIVE_FLOAT; }
    static hid_t file() { return H5T_IEEE_F32LE; }
};
template <>
struct NumberType<double> {
    static hid_t memory() { return H5T_NATIVE_DOUBLE; }
    static hid_t file() { return H5T_IEEE_F64LE; }
};
template <>
struct NumberType<int32_t> {
    static hid_t memory() { return H5T_NATIVE_INT32; }
    static hid_t file() { return H5T_STD_I32LE; }
};
template <>
struct NumberType<int64_t> {
    static hid_t memory() { return H5T_NATIVE_INT64; }
    static hid_t file() { return H5T_STD_I64LE; }
};

// Variable-length string type (in memory: char*), UTF-8 unless told otherwise.
Handle variableString(const fs::path& file, H5T_cset_t cset = H5T_CSET_UTF8) {
    Handle type = make(H5Tcopy(H5T_C_S1), H5Tclose, file, "cannot make a string type");
    check(H5Tset_size(type.get(), H5T_VARIABLE), file, "cannot make a string type");
    check(H5Tset_cset(type.get(), cset), file, "cannot make a string type");
    return type;
}

std::string kindName(H5T_class_t kind) {
    switch (kind) {
    case H5T_INTEGER: return "an integer";
    case H5T_FLOAT: return "a real number";
    case H5T_STRING: return "a string";
    case H5T_COMPOUND: return "a compound (record)";
    case H5T_ENUM: return "an enum";
    case H5T_ARRAY: return "an array type";
    case H5T_VLEN: return "a variable-length sequence";
    case H5T_BITFIELD: return "a bit field";
    case H5T_OPAQUE: return "opaque bytes";
    case H5T_REFERENCE: return "a reference";
    default: return "of an unknown type";
    }
}

bool isNumeric(H5T_class_t kind) { return kind == H5T_INTEGER || kind == H5T_FLOAT; }

// HDF5 keeps variable-length strings NUL-terminated: an embedded NUL would cut the text.
// context: "cannot write attribute 'x' of '/': the text".
void checkNoNul(const std::string& text, const fs::path& file, const std::string& context) {
    if (text.find('\0') != std::string::npos)
        fail(file, context + " contains a NUL character, which HDF5 strings cannot hold");
}

std::string realText(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

// ---------------------------------------------------------------------------------------
// Sizes. A damaged or hostile file can claim any dimensions; check before allocating.

constexpr uint64_t kMaxElements = uint64_t(1) << 40;

struct Extent {
    std::vector<hsize_t> dims;  // empty for a scalar or null dataspace
    uint64_t count = 0;
};

Extent extentOf(hid_t space, const fs::path& file, const std::string& what) {
    Extent extent;
    const H5S_class_t kind = H5Sget_simple_extent_type(space);
    if (kind == H5S_NO_CLASS) failHdf5(file, "cannot read the dimensions of " + what + ": the file is truncated or damaged");
    if (kind == H5S_NULL) return extent;
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 0) failHdf5(file, "cannot read the dimensions of " + what + ": the file is truncated or damaged");
    extent.dims.resize(size_t(rank));
    if (rank > 0 && H5Sget_simple_extent_dims(space, extent.dims.data(), nullptr) < 0)
        failHdf5(file, "cannot read the dimensions of " + what + ": the file is truncated or damaged");
    extent.count = 1;
    if (std::find(extent.dims.begin(), extent.dims.end(), hsize_t(0)) != extent.dims.end()) {
        extent.count = 0;
        return extent;
    }
    for (hsize_t d : extent.dims) {
        if (extent.count > kMaxElements / d) {  // absurd, and no overflow below
            extent.count = kMaxElements + 1;
            break;
        }
        extent.count *= d;
    }
    if (extent.count > kMaxElements)
        fail(file, what + " claims " + shapeText(extent.dims) +
                       " elements, an absurd size (more than 2^40): the file is damaged or not a LayerScope file");
    return extent;
}

uint64_t physicalMemory() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
    if (pages > 0 && pageSize > 0) return uint64_t(pages) * uint64_t(pageSize);
#endif
    return std::numeric_limits<uint64_t>::max();
}

std::string gib(uint64_t bytes) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f GiB", double(bytes) / double(uint64_t(1) << 30));
    return buf;
}

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

// ---------------------------------------------------------------------------------------
// Strings (attributes and datasets alike): variable-length or fixed-length, any padding.

// read(memoryType, buffer) performs the H5Aread / H5Dread.
template <typename Read>
std::vector<std::string> readStrings(hid_t fileType, hid_t space, uint64_t count, Read read, const fs::path& file,
                                     const std::string& what) {
    std::vector<std::string> out;
    if (count == 0) return out;
    const htri_t variable = H5Tis_variable_str(fileType);
    if (variable < 0) failHdf5(file, "cannot read " + what + ": the file is truncated or damaged");
    const H5T_cset_t cset = H5Tget_cset(fileType);
    if (cset < 0) failHdf5(file, "cannot read " + what + ": the file is truncated or damaged");
    if (variable > 0) {
        Handle memoryType = variableString(file, cset);
        std::vector<char*> pointers = allocate<char*>(count, sizeof(char*), file, what);
        struct Reclaim {  // frees what HDF5 allocated, also when reading fails half way
            hid_t type, space;
            std::vector<char*>& pointers;
            ~Reclaim() {
#if H5_VERSION_GE(1, 12, 0)
                H5Treclaim(type, space, H5P_DEFAULT, pointers.data());
#else
                H5Dvlen_reclaim(type, space, H5P_DEFAULT, pointers.data());
#endif
            }
        } reclaim{memoryType.get(), space, pointers};
        if (read(memoryType.get(), pointers.data()) < 0)
            failHdf5(file, "cannot read " + what + ": the file is truncated or damaged");
        out.reserve(size_t(count));
        for (const char* p : pointers) out.emplace_back(p ? p : "");
        return out;
    }
    const size_t size = H5Tget_size(fileType);
    if (size == 0) failHdf5(file, "cannot read " + what + ": the file is truncated or damaged");
    const H5T_str_t pad = H5Tget_strpad(fileType);
    Handle memoryType = make(H5Tcopy(fileType), H5Tclose, file, "cannot read " + what);
    std::vector<char> bytes = allocate<char>(count * size, 1, file, what);
    if (read(memoryType.get(), bytes.data()) < 0)
        failHdf5(file, "cannot read " + what + ": the file is truncated or damaged");
    out.reserve(size_t(count));
    for (uint64_t i = 0; i < count; ++i) {
        const char* p = bytes.data() + i * size;
        size_t length = size_t(std::find(p, p + size, '\0') - p);
        if (pad == H5T_STR_SPACEPAD)
            while (length > 0 && p[length - 1] == ' ') --length;
        out.emplace_back(p, length);
    }
    return out;
}

// ---------------------------------------------------------------------------------------
// Walking the group tree (shared by reader and writer).

// The object at parts, or an empty handle when it (or a group on the way) does not exist.
// An intermediate object that is not a group counts as "does not exist".
Handle openIfExists(hid_t fileId, const Parts& parts, const fs::path& file) {
    Handle current = make(H5Oopen(fileId, "/", H5P_DEFAULT), H5Oclose, file, "cannot open the root group");
    for (size_t i = 0; i < parts.size(); ++i) {
        if (H5Iget_type(current.get()) != H5I_GROUP) return {};
        const std::string& name = parts[i];
        if (!checkTri(H5Lexists(current.get(), name.c_str(), H5P_DEFAULT), file,
                      "cannot look up " + quoted(parts, i + 1) + ": the file is truncated or damaged"))
            return {};
        if (!checkTri(H5Oexists_by_name(current.get(), name.c_str(), H5P_DEFAULT), file,
                      "cannot look up " + quoted(parts, i + 1) + ": the file is truncated or damaged"))
            return {};  // a dangling soft link
        current = make(H5Oopen(current.get(), name.c_str(), H5P_DEFAULT), H5Oclose, file,
                       "cannot open " + quoted(parts, i + 1) + ": the file is truncated or damaged");
    }
    return current;
}

}  // namespace

// =======================================================================================
// Writer

struct H5Writer::Impl {
    fs::path path, partial;
    Handle file;
    Handle linkCreation, attributeCreation;  // UTF-8 names
    bool committed = false;

    void requireOpen() const {
        if (!file) fail(path, committed ? "the file was already committed; nothing more can be written"
                                        : "the file is not open for writing");
    }

    // The group at parts (created with its parents when missing).
    Handle group(const Parts& parts, size_t count) {
        Handle current = make(H5Gopen2(file.get(), "/", H5P_DEFAULT), H5Gclose, path, "cannot open the root group");
        for (size_t i = 0; i < count; ++i) {
            const char* name = parts[i].c_str();
            if (checkTri(H5Lexists(current.get(), name, H5P_DEFAULT), path, "cannot look up " + quoted(parts, i + 1))) {
                Handle object = make(H5Oopen(current.get(), name, H5P_DEFAULT), H5Oclose, path,
                                     "cannot open " + quoted(parts, i + 1));
                if (H5Iget_type(object.get()) != H5I_GROUP)
                    fail(path, "cannot make group " + quoted(parts, i + 1) + ": a dataset of that name exists");
                current = make(H5Gopen2(current.get(), name, H5P_DEFAULT), H5Gclose, path,
                               "cannot open group " + quoted(parts, i + 1));
            } else {
                Handle gcpl = make(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, path, "cannot make a property list");
                check(H5Pset_obj_track_times(gcpl.get(), 0), path, "cannot make a property list");
                current = make(H5Gcreate2(current.get(), name, linkCreation.get(), gcpl.get(), H5P_DEFAULT), H5Gclose,
                               path, "cannot create group " + quoted(parts, i + 1));
            }
        }
        return current;
    }

    // The object that receives attributes: an existing group or dataset, else a new group.
    Handle attributeOwner(const std::string& objectPath) {
        const Parts parts = split(objectPath);
        if (Handle existing = openIfExists(file.get(), parts, path)) return existing;
        return group(parts, parts.size());
    }

    void removeLinkIfPresent(hid_t parent, const std::string& name, const std::string& what) {
        if (checkTri(H5Lexists(parent, name.c_str(), H5P_DEFAULT), path, "cannot look up " + what))
            check(H5Ldelete(parent, name.c_str(), H5P_DEFAULT), path, "cannot replace " + what);
    }

    void writeAttribute(hid_t owner, const std::string& name, hid_t fileType, hid_t memoryType, const void* value,
                        const std::string& what) {
        if (name.empty()) fail(path, "cannot write an attribute without a name on " + what);
        const std::string attribute = "attribute '" + name + "' of " + what;
        if (checkTri(H5Aexists(owner, name.c_str()), path, "cannot look up " + attribute))
            check(H5Adelete(owner, name.c_str()), path, "cannot replace " + attribute);
        Handle space = make(H5Screate(H5S_SCALAR), H5Sclose, path, "cannot write " + attribute);
        Handle a = make(H5Acreate2(owner, name.c_str(), fileType, space.get(), attributeCreation.get(), H5P_DEFAULT),
                        H5Aclose, path, "cannot create " + attribute);
        check(H5Awrite(a.get(), memoryType, value), path, "cannot write " + attribute);
    }

    void writeString(hid_t owner, const std::string& name, const std::string& value, const std::string& what) {
        checkNoNul(value, path, "cannot write attribute '" + name + "' of " + what + ": the text");
        Handle type = variableString(path);
        const char* pointer = value.c_str();
        writeAttribute(owner, name, type.get(), type.get(), &pointer, what);
    }

    // A dataset at parts with the given file type and dims, filled from buffer (memoryType).
    // Replaces whatever was at that path before.
    Handle dataset(const Parts& parts, hid_t fileType, hid_t memoryType, const std::vector<hsize_t>& dims,
                   const void* buffer) {
        const std::string what = "dataset " + quoted(parts);
        if (parts.empty()) fail(path, "cannot write a dataset without a name");
        Handle parent = group(parts, parts.size() - 1);
        removeLinkIfPresent(parent.get(), parts.back(), what);

        uint64_t count = 1;
        for (hsize_t d : dims) count *= d;
        Handle space = make(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose, path,
                            "cannot write " + what + " of shape " + shapeText(dims));
        Handle dcpl = make(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, path, "cannot make a property list");
        check(H5Pset_obj_track_times(dcpl.get(), 0), path, "cannot make a property list");  // same data, same bytes
        if (count > 65536) {
            // Chunks of about 1 MiB, whole trailing rows first (row-major reads touch few chunks).
            const size_t elementBytes = std::max<size_t>(1, H5Tget_size(fileType));
            const uint64_t target = std::max<uint64_t>(1, (uint64_t(1) << 20) / elementBytes);
            std::vector<hsize_t> chunk = dims;
            for (size_t i = 0; i < chunk.size(); ++i) {
                uint64_t rest = 1;
                for (size_t j = i + 1; j < chunk.size(); ++j) rest *= chunk[j];
                if (chunk[i] * rest > target) chunk[i] = std::max<uint64_t>(1, target / rest);
            }
            check(H5Pset_chunk(dcpl.get(), int(chunk.size()), chunk.data()), path, "cannot chunk " + what);
            unsigned deflateInfo = 0;
            const bool deflate = H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 &&
                                 H5Zget_filter_info(H5Z_FILTER_DEFLATE, &deflateInfo) >= 0 &&
                                 (deflateInfo & H5Z_FILTER_CONFIG_ENCODE_ENABLED);
            if (deflate) {
                if (H5Zfilter_avail(H5Z_FILTER_SHUFFLE) > 0)
                    check(H5Pset_shuffle(dcpl.get()), path, "cannot compress " + what);
                check(H5Pset_deflate(dcpl.get(), 4), path, "cannot compress " + what);
            }
            H5Eclear2(H5E_DEFAULT);
        }
        Handle d = make(H5Dcreate2(parent.get(), parts.back().c_str(), fileType, space.get(), linkCreation.get(),
                                   dcpl.get(), H5P_DEFAULT),
                        H5Dclose, path, "cannot create " + what);
        if (count > 0)
            check(H5Dwrite(d.get(), memoryType, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer), path, "cannot write " + what);
        return d;
    }

    template <typename T>
    void array(const std::string& arrayPath, const std::vector<T>& data, std::vector<int64_t> shape,
               const std::string& units) {
        requireOpen();
        const Parts parts = split(arrayPath);
        const std::string what = "dataset " + quoted(parts);
        if (shape.empty()) shape = {int64_t(data.size())};
        if (shape.size() > H5S_MAX_RANK)
            fail(path, "cannot write " + what + ": " + std::to_string(shape.size()) + " dimensions (HDF5 allows " +
                           std::to_string(H5S_MAX_RANK) + ")");
        std::vector<hsize_t> dims;
        uint64_t product = 1;
        bool overflow = false;
        for (int64_t d : shape) {
            if (d < 0) fail(path, "cannot write " + what + ": its shape has the negative dimension " + std::to_string(d));
            dims.push_back(hsize_t(d));
            if (d != 0 && product > std::numeric_limits<uint64_t>::max() / uint64_t(d)) overflow = true;
            product *= uint64_t(d);
        }
        if (overflow || product != data.size())
            fail(path, "cannot write " + what + ": shape " + shapeText(dims) + " holds " +
                           (overflow ? std::string("too many") : std::to_string(product)) + " values but the data has " +
                           std::to_string(data.size()));
        Handle d = dataset(parts, NumberType<T>::file(), NumberType<T>::memory(), dims, data.data());
        if (!units.empty()) writeString(d.get(), "units", units, what);
    }
};

H5Writer::H5Writer(const fs::path& path) : impl_(std::make_unique<Impl>()) {
    Lock lock;
    impl_->path = path;
    impl_->partial = path.string() + ".partial";
    if (path.has_parent_path()) {
        std::error_code ec;
        fs::create_directories(path.parent_path(), ec);
        if (ec) fail(path, "cannot create the folder " + path.parent_path().string() + ": " + ec.message());
    }
    Handle fapl = make(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path, "cannot make a property list");
    check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), path, "cannot make a property list");
#if H5_VERSION_GE(1, 10, 7)
    check(H5Pset_file_locking(fapl.get(), 1, 1), path, "cannot make a property list");
#endif
    Handle fcpl = make(H5Pcreate(H5P_FILE_CREATE), H5Pclose, path, "cannot make a property list");
    check(H5Pset_userblock(fcpl.get(), kSealBytes), path, "cannot make a property list");  // room for the seal
    impl_->file = make(H5Fcreate(impl_->partial.string().c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), H5Fclose,
                       path, "cannot create " + impl_->partial.string());
    try {
        impl_->linkCreation = make(H5Pcreate(H5P_LINK_CREATE), H5Pclose, path, "cannot make a property list");
        check(H5Pset_char_encoding(impl_->linkCreation.get(), H5T_CSET_UTF8), path, "cannot make a property list");
        impl_->attributeCreation = make(H5Pcreate(H5P_ATTRIBUTE_CREATE), H5Pclose, path, "cannot make a property list");
        check(H5Pset_char_encoding(impl_->attributeCreation.get(), H5T_CSET_UTF8), path, "cannot make a property list");
    } catch (...) {  // no destructor will run: leave no partial file behind
        impl_->file.reset();
        std::error_code ec;
        fs::remove(impl_->partial, ec);
        throw;
    }
}

H5Writer::~H5Writer() {
    Lock lock;
    if (!impl_->committed) {
        impl_->file.reset();
        std::error_code ec;
        fs::remove(impl_->partial, ec);
    }
    impl_.reset();  // the property lists are closed while locked
}

void H5Writer::attribute(const std::string& group, const std::string& name, const std::string& value) {
    Lock lock;
    impl_->requireOpen();
    Handle owner = impl_->attributeOwner(group);
    impl_->writeString(owner.get(), name, value, quoted(group));
}

void H5Writer::attribute(const std::string& group, const std::string& name, double value) {
    Lock lock;
    impl_->requireOpen();
    Handle owner = impl_->attributeOwner(group);
    impl_->writeAttribute(owner.get(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, quoted(group));
}

void H5Writer::attribute(const std::string& group, const std::string& name, int64_t value) {
    Lock lock;
    impl_->requireOpen();
    Handle owner = impl_->attributeOwner(group);
    impl_->writeAttribute(owner.get(), name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, quoted(group));
}

void H5Writer::array(const std::string& path, const std::vector<float>& data, std::vector<int64_t> shape,
                     const std::string& units) {
    Lock lock;
    impl_->array(path, data, std::move(shape), units);
}

void H5Writer::array(const std::string& path, const std::vector<double>& data, std::vector<int64_t> shape,
                     const std::string& units) {
    Lock lock;
    impl_->array(path, data, std::move(shape), units);
}

void H5Writer::array(const std::string& path, const std::vector<int32_t>& data, std::vector<int64_t> shape,
                     const std::string& units) {
    Lock lock;
    impl_->array(path, data, std::move(shape), units);
}

void H5Writer::array(const std::string& path, const std::vector<int64_t>& data, std::vector<int64_t> shape,
                     const std::string& units) {
    Lock lock;
    impl_->array(path, data, std::move(shape), units);
}

void H5Writer::table(const std::string& group, const Table& table) {
    Lock lock;
    impl_->requireOpen();
    const fs::path& path = impl_->path;
    const Parts parts = split(group);
    const std::string what = "table " + quoted(parts);
    if (parts.empty()) fail(path, "cannot write table '" + table.name + "': it needs a group path, not the root group");

    // Check everything before touching the file: a bad table leaves no half-written group.
    checkNoNul(table.title, path, "cannot write " + what + ": its title");
    std::string columnList;
    std::vector<std::vector<int64_t>> integers(table.columns.size());
    for (size_t c = 0; c < table.columns.size(); ++c) {
        const Column& column = table.columns[c];
        const std::string col = "column '" + column.name + "' of " + what;
        if (column.name.empty()) fail(path, "cannot write " + what + ": column " + std::to_string(c + 1) + " has no name");
        if (column.name.find_first_of(",/") != std::string::npos || column.name == "." || column.name == "..")
            fail(path, "cannot write " + col + ": column names cannot contain ',' or '/' nor be '.' or '..'");
        checkNoNul(column.name, path, "cannot write " + what + ": a column name");
        for (size_t k = 0; k < c; ++k)
            if (table.columns[k].name == column.name) fail(path, "cannot write " + what + ": two columns are named '" + column.name + "'");
        if (column.size() != table.columns.front().size())
            fail(path, "cannot write " + what + ": column '" + column.name + "' has " + std::to_string(column.size()) +
                           " rows but column '" + table.columns.front().name + "' has " +
                           std::to_string(table.columns.front().size()));
        if (column.kind == Column::Kind::Integer) {
            integers[c].reserve(column.numbers.size());
            for (size_t r = 0; r < column.numbers.size(); ++r) {
                const double v = column.numbers[r];
                if (!(std::isfinite(v) && v == std::floor(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0))
                    fail(path, "cannot write " + col + ": row " + std::to_string(r + 1) + " holds " + realText(v) +
                                   ", not an integer");
                integers[c].push_back(int64_t(v));
            }
        } else if (column.kind == Column::Kind::Text) {
            for (size_t r = 0; r < column.texts.size(); ++r)
                checkNoNul(column.texts[r], path, "cannot write " + col + ": row " + std::to_string(r + 1));
        }
        columnList += (c ? "," : "") + column.name;
    }

    Handle parent = impl_->group(parts, parts.size() - 1);
    impl_->removeLinkIfPresent(parent.get(), parts.back(), what);
    Handle g = impl_->group(parts, parts.size());
    Handle text = variableString(path);
    for (size_t c = 0; c < table.columns.size(); ++c) {
        const Column& column = table.columns[c];
        Parts columnParts = parts;
        columnParts.push_back(column.name);
        const std::vector<hsize_t> dims = {hsize_t(column.size())};
        switch (column.kind) {
        case Column::Kind::Integer:
            impl_->dataset(columnParts, H5T_STD_I64LE, H5T_NATIVE_INT64, dims, integers[c].data());
            break;
        case Column::Kind::Real:
            impl_->dataset(columnParts, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, dims, column.numbers.data());
            break;
        case Column::Kind::Text: {
            std::vector<const char*> pointers;
            pointers.reserve(column.texts.size());
            for (const std::string& s : column.texts) pointers.push_back(s.c_str());
            impl_->dataset(columnParts, text.get(), text.get(), dims, pointers.data());
            break;
        }
        }
    }
    impl_->writeString(g.get(), "title", table.title, what);
    impl_->writeString(g.get(), "columns", columnList, what);
}

void H5Writer::commit() {
    Lock lock;
    impl_->requireOpen();
    const fs::path& path = impl_->path;
    check(H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL), path, "cannot write " + impl_->partial.string());
    impl_->linkCreation.reset();
    impl_->attributeCreation.reset();
    if (H5Fclose(impl_->file.release()) < 0) failHdf5(path, "cannot finish writing " + impl_->partial.string());
    writeSeal(impl_->partial, path);
    std::error_code ec;
    fs::rename(impl_->partial, path, ec);
    if (ec) fail(path, "cannot move the finished file into place: " + ec.message());
    impl_->committed = true;
}

// =======================================================================================
// Reader

void rehearseInChildProcess(const fs::path& path, const std::function<void()>& read) {
    std::error_code ec;
    const auto bytes = fs::file_size(path, ec);
    const int64_t limitMs = 30000 + (ec ? 0 : static_cast<int64_t>(bytes / 100000));
    pid_t pid = -1;
    {
        // Fork while holding the library lock: no other thread is inside libhdf5, so the
        // child's copy of its state is consistent (and the lock is recursive: the child,
        // a copy of this thread, takes it again).
        Lock lock;
        pid = ::fork();
        if (pid == 0) {
            int status = 0;
            try {
                read();
            } catch (...) {
                status = 1;
            }
            ::_exit(status);
        }
    }
    if (pid < 0) return;  // no child: the caller's read goes ahead unguarded
    int status = 0;
    const auto start = std::chrono::steady_clock::now();
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() - start > std::chrono::milliseconds(limitMs)) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            fail(path, "libhdf5 had not finished reading it after " + std::to_string(limitMs / 1000) +
                           " s and was stopped: its contents are damaged or crafted, although its seal matches");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    // 0: read; 1: an error the caller's own read reports. Anything else (a signal, or the exit
    // code of a sanitizer's or libFuzzer's crash handler) is a crash the caller must not repeat.
    if (WIFSIGNALED(status))
        fail(path, "libhdf5 crashed reading it (signal " + std::to_string(WTERMSIG(status)) +
                       "): its contents are damaged or crafted, although its seal matches");
    if (WEXITSTATUS(status) > 1)
        fail(path, "libhdf5 failed reading it (exit " + std::to_string(WEXITSTATUS(status)) +
                       "): its contents are damaged or crafted, although its seal matches");
}

struct H5Reader::Impl {
    fs::path path;
    Handle file;

    // The object at objectPath, or ls::Error "<kind> '<path>' is missing".
    Handle open(const Parts& parts, const std::string& kind) const {
        Handle object = openIfExists(file.get(), parts, path);
        if (!object) fail(path, kind + " " + quoted(parts) + " is missing");
        return object;
    }

    Handle openGroup(const Parts& parts) const {
        Handle object = open(parts, "group");
        if (H5Iget_type(object.get()) != H5I_GROUP) fail(path, quoted(parts) + " is a dataset, not a group");
        return object;
    }

    Handle openDataset(const Parts& parts) const {
        Handle object = open(parts, "dataset");
        if (H5Iget_type(object.get()) != H5I_DATASET) fail(path, quoted(parts) + " is a group, not a dataset");
        return object;
    }

    // Attribute plus its file type class; "attribute 'x' of 'g' is missing" when absent.
    Handle openAttribute(const std::string& objectPath, const std::string& name) const {
        const Parts parts = split(objectPath);
        Handle object = openIfExists(file.get(), parts, path);
        if (!object) fail(path, "attribute '" + name + "' of " + quoted(parts) + " is missing: " + quoted(parts) + " does not exist");
        if (!checkTri(H5Aexists(object.get(), name.c_str()), path,
                      "cannot look up attribute '" + name + "' of " + quoted(parts) + ": the file is truncated or damaged"))
            fail(path, "attribute '" + name + "' of " + quoted(parts) + " is missing");
        return make(H5Aopen(object.get(), name.c_str(), H5P_DEFAULT), H5Aclose, path,
                    "cannot open attribute '" + name + "' of " + quoted(parts) + ": the file is truncated or damaged");
    }

    // Throws when a filter the dataset needs is not available in this HDF5 build.
    void checkFilters(hid_t dataset, const std::string& what) const {
        Handle dcpl = make(H5Dget_create_plist(dataset), H5Pclose, path, "cannot read " + what + ": the file is truncated or damaged");
        const int count = H5Pget_nfilters(dcpl.get());
        if (count < 0) failHdf5(path, "cannot read " + what + ": the file is truncated or damaged");
        for (int i = 0; i < count; ++i) {
            unsigned flags = 0, config = 0;
            size_t values = 0;
            char name[256] = {};
            const H5Z_filter_t filter = H5Pget_filter2(dcpl.get(), unsigned(i), &flags, &values, nullptr, sizeof name, name, &config);
            if (filter < 0) failHdf5(path, "cannot read " + what + ": the file is truncated or damaged");
            // "optional" only lets a writer skip the filter; a reader needs it all the same
            if (H5Zfilter_avail(filter) <= 0) {
                H5Eclear2(H5E_DEFAULT);
                fail(path, "cannot read " + what + ": it is compressed with filter " + std::to_string(filter) +
                               (name[0] ? " (" + std::string(name) + ")" : std::string()) +
                               ", which this HDF5 library does not have");
            }
        }
    }

    template <typename T>
    std::vector<T> numbers(const std::string& datasetPath, std::vector<int64_t>* shape) const {
        const Parts parts = split(datasetPath);
        const std::string what = "dataset " + quoted(parts);
        Handle d = openDataset(parts);
        Handle type = make(H5Dget_type(d.get()), H5Tclose, path, "cannot read " + what + ": the file is truncated or damaged");
        const H5T_class_t kind = H5Tget_class(type.get());
        if (kind == H5T_NO_CLASS) failHdf5(path, "cannot read " + what + ": the file is truncated or damaged");
        if (!isNumeric(kind)) fail(path, what + " holds " + kindName(kind) + ", not numbers");
        Handle space = make(H5Dget_space(d.get()), H5Sclose, path, "cannot read " + what + ": the file is truncated or damaged");
        const Extent extent = extentOf(space.get(), path, what);
        checkFilters(d.get(), what);
        std::vector<T> out = allocate<T>(extent.count, sizeof(T), path, what);
        if (extent.count > 0)
            check(H5Dread(d.get(), NumberType<T>::memory(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), path,
                  "cannot read " + what + ": the file is truncated or damaged");
        if (shape) shape->assign(extent.dims.begin(), extent.dims.end());
        return out;
    }

    std::vector<std::string> texts(hid_t dataset, hid_t fileType, const std::string& what) const {
        Handle space = make(H5Dget_space(dataset), H5Sclose, path, "cannot read " + what + ": the file is truncated or damaged");
        const Extent extent = extentOf(space.get(), path, what);
        checkFilters(dataset, what);
        return readStrings(
            fileType, space.get(), extent.count,
            [&](hid_t memoryType, void* buffer) { return H5Dread(dataset, memoryType, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer); },
            path, what);
    }

    // A single-valued attribute's class, after checking it holds exactly one value.
    H5T_class_t attributeKind(hid_t attribute, const Handle& type, const std::string& what) const {
        const H5T_class_t kind = H5Tget_class(type.get());
        if (kind == H5T_NO_CLASS) failHdf5(path, "cannot read " + what + ": the file is truncated or damaged");
        Handle space = make(H5Aget_space(attribute), H5Sclose, path, "cannot read " + what + ": the file is truncated or damaged");
        const Extent extent = extentOf(space.get(), path, what);
        if (extent.count != 1) fail(path, what + " holds " + std::to_string(extent.count) + " values, not one");
        return kind;
    }

    double real(const std::string& group, const std::string& name, H5T_class_t* kindOut) const {
        const std::string what = "attribute '" + name + "' of " + quoted(group);
        Handle a = openAttribute(group, name);
        Handle type = make(H5Aget_type(a.get()), H5Tclose, path, "cannot read " + what + ": the file is truncated or damaged");
        const H5T_class_t kind = attributeKind(a.get(), type, what);
        if (!isNumeric(kind)) fail(path, what + " is " + kindName(kind) + ", not a number");
        if (kindOut) *kindOut = kind;
        double value = 0;
        check(H5Aread(a.get(), H5T_NATIVE_DOUBLE, &value), path, "cannot read " + what + ": the file is truncated or damaged");
        return value;
    }
};

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

H5Reader::H5Reader(const fs::path& path, Seal seal) : impl_(std::make_unique<Impl>()) {
    Lock lock;
    impl_->path = path;
    if (seal != Seal::Checked) checkFileBeforeHdf5(path, seal);
    const htri_t isHdf5 = H5Fis_hdf5(path.string().c_str());
    if (isHdf5 < 0) failHdf5(path, "cannot be read");
    if (isHdf5 == 0) fail(path, "is not an HDF5 file");
    Handle fapl = make(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path, "cannot make a property list");
    check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), path, "cannot make a property list");
#if H5_VERSION_GE(1, 10, 7)
    check(H5Pset_file_locking(fapl.get(), 1, 1), path, "cannot make a property list");
#endif
    const hid_t file = H5Fopen(path.string().c_str(), H5F_ACC_RDONLY, fapl.get());
    if (file < 0) {
        // The usual case by far: a copy or download that stopped early. Say it plainly.
        const std::string detail = hdf5Detail();
        unsigned long long eof = 0, base = 0, stored = 0;
        if (std::sscanf(detail.c_str(), "truncated file: eof = %llu, sblock->base_addr = %llu, stored_eof = %llu", &eof,
                        &base, &stored) == 3)
            fail(path, "cannot open: the file is truncated or damaged: it has " + std::to_string(eof) +
                           " bytes but its header says " + std::to_string(stored - base));
        fail(path, "cannot open: the file is truncated or damaged" + (detail.empty() ? std::string() : " (HDF5: " + detail + ")"));
    }
    impl_->file = Handle(file, H5Fclose);
}

H5Reader::~H5Reader() {
    Lock lock;
    impl_.reset();
}

const fs::path& H5Reader::path() const { return impl_->path; }

bool H5Reader::has(const std::string& path) const {
    Lock lock;
    return bool(openIfExists(impl_->file.get(), split(path), impl_->path));
}

bool H5Reader::hasAttribute(const std::string& group, const std::string& name) const {
    Lock lock;
    Handle object = openIfExists(impl_->file.get(), split(group), impl_->path);
    if (!object) return false;
    return checkTri(H5Aexists(object.get(), name.c_str()), impl_->path,
                    "cannot look up attribute '" + name + "' of " + quoted(group) + ": the file is truncated or damaged");
}

std::vector<std::string> H5Reader::children(const std::string& group) const {
    Lock lock;
    const fs::path& file = impl_->path;
    const Parts parts = split(group);
    const std::string what = "group " + quoted(parts);
    Handle g = impl_->openGroup(parts);
    H5G_info_t info;
    check(H5Gget_info(g.get(), &info), file, "cannot list " + what + ": the file is truncated or damaged");
    if (info.nlinks > kMaxElements) fail(file, what + " claims " + std::to_string(info.nlinks) + " members: the file is damaged");
    std::vector<std::string> names;
    names.reserve(size_t(info.nlinks));
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        const ssize_t length = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        if (length < 0) failHdf5(file, "cannot list " + what + ": the file is truncated or damaged");
        std::vector<char> name(size_t(length) + 1, '\0');
        if (H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT) < 0)
            failHdf5(file, "cannot list " + what + ": the file is truncated or damaged");
        names.emplace_back(name.data(), size_t(length));
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::string H5Reader::stringAttribute(const std::string& group, const std::string& name) const {
    Lock lock;
    const fs::path& file = impl_->path;
    const std::string what = "attribute '" + name + "' of " + quoted(group);
    Handle a = impl_->openAttribute(group, name);
    Handle type = make(H5Aget_type(a.get()), H5Tclose, file, "cannot read " + what + ": the file is truncated or damaged");
    const H5T_class_t kind = impl_->attributeKind(a.get(), type, what);
    if (kind != H5T_STRING) fail(file, what + " is " + kindName(kind) + ", not a string");
    Handle space = make(H5Aget_space(a.get()), H5Sclose, file, "cannot read " + what + ": the file is truncated or damaged");
    const hid_t attribute = a.get();
    std::vector<std::string> values = readStrings(
        type.get(), space.get(), 1, [&](hid_t memoryType, void* buffer) { return H5Aread(attribute, memoryType, buffer); },
        file, what);
    return values.front();
}

double H5Reader::realAttribute(const std::string& group, const std::string& name) const {
    Lock lock;
    return impl_->real(group, name, nullptr);
}

int64_t H5Reader::integerAttribute(const std::string& group, const std::string& name) const {
    Lock lock;
    const fs::path& file = impl_->path;
    const std::string what = "attribute '" + name + "' of " + quoted(group);
    H5T_class_t kind = H5T_NO_CLASS;
    const double real = impl_->real(group, name, &kind);
    if (kind == H5T_INTEGER) {  // read again as int64: exact beyond 2^53
        Handle a = impl_->openAttribute(group, name);
        int64_t value = 0;
        check(H5Aread(a.get(), H5T_NATIVE_INT64, &value), file, "cannot read " + what + ": the file is truncated or damaged");
        return value;
    }
    if (!(std::isfinite(real) && real == std::floor(real) && real >= -9223372036854775808.0 && real < 9223372036854775808.0))
        fail(file, what + " is " + realText(real) + ", not an integer");
    return int64_t(real);
}

std::vector<float> H5Reader::floats(const std::string& path, std::vector<int64_t>* shape) const {
    Lock lock;
    return impl_->numbers<float>(path, shape);
}

std::vector<double> H5Reader::doubles(const std::string& path, std::vector<int64_t>* shape) const {
    Lock lock;
    return impl_->numbers<double>(path, shape);
}

std::vector<int32_t> H5Reader::ints32(const std::string& path, std::vector<int64_t>* shape) const {
    Lock lock;
    return impl_->numbers<int32_t>(path, shape);
}

std::vector<int64_t> H5Reader::ints64(const std::string& path, std::vector<int64_t>* shape) const {
    Lock lock;
    return impl_->numbers<int64_t>(path, shape);
}

Table H5Reader::table(const std::string& group) const {
    Lock lock;
    const fs::path& file = impl_->path;
    const Parts parts = split(group);
    const std::string what = "table " + quoted(parts);
    if (parts.empty()) fail(file, "the root group is not a table");
    Handle g = impl_->open(parts, "table");
    if (H5Iget_type(g.get()) != H5I_GROUP) fail(file, quoted(parts) + " is a dataset, not a table");
    if (!checkTri(H5Aexists(g.get(), "columns"), file, "cannot read " + what + ": the file is truncated or damaged"))
        fail(file, "group " + quoted(parts) + " is not a table: it has no 'columns' attribute");

    Table table;
    table.name = parts.back();
    if (hasAttribute(group, "title")) table.title = stringAttribute(group, "title");
    const std::string list = stringAttribute(group, "columns");
    const Parts names = split(list, ',');
    if (!list.empty() && (names.size() != size_t(std::count(list.begin(), list.end(), ',')) + 1))
        fail(file, what + " has an empty name in its 'columns' attribute \"" + list + "\"");
    for (const std::string& name : names) {
        Parts columnParts = parts;
        columnParts.push_back(name);
        const std::string col = "column '" + name + "' of " + what;
        Handle d = openIfExists(impl_->file.get(), columnParts, file);
        if (!d || H5Iget_type(d.get()) != H5I_DATASET)
            fail(file, what + " lists column '" + name + "' but has no dataset " + quoted(columnParts));
        Handle type = make(H5Dget_type(d.get()), H5Tclose, file, "cannot read " + col + ": the file is truncated or damaged");
        Handle space = make(H5Dget_space(d.get()), H5Sclose, file, "cannot read " + col + ": the file is truncated or damaged");
        const Extent extent = extentOf(space.get(), file, col);
        if (extent.dims.size() != 1) fail(file, col + " has shape " + shapeText(extent.dims) + ", not one dimension");
        const H5T_class_t kind = H5Tget_class(type.get());
        const std::string datasetPath = join(columnParts, columnParts.size());
        Column* column = nullptr;
        if (kind == H5T_INTEGER) {
            column = &table.add(name, Column::Kind::Integer);
            for (int64_t v : impl_->numbers<int64_t>(datasetPath, nullptr)) column->numbers.push_back(double(v));
        } else if (kind == H5T_FLOAT) {
            column = &table.add(name, Column::Kind::Real);
            column->numbers = impl_->numbers<double>(datasetPath, nullptr);
        } else if (kind == H5T_STRING) {
            column = &table.add(name, Column::Kind::Text);
            column->texts = impl_->texts(d.get(), type.get(), col);
        } else {
            fail(file, col + " holds " + kindName(kind) + ", not integers, reals or text");
        }
        if (column->size() != table.columns.front().size())
            fail(file, what + ": column '" + name + "' has " + std::to_string(column->size()) + " rows but column '" +
                           table.columns.front().name + "' has " + std::to_string(table.columns.front().size()));
    }
    return table;
}

}  // namespace ls
