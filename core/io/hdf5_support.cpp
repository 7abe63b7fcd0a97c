// The shared parts of the HDF5 layer (hdf5_internal.h).
#include <unistd.h>

#include <cstdio>

#include "io/hdf5_internal.h"

namespace ls::hdf5 {

// ---------------------------------------------------------------------------------------
// Errors

static herr_t innermostError(unsigned n, const H5E_error2_t* error, void* data) {
    if (n == 0 && error && error->desc) *static_cast<std::string*>(data) = error->desc;
    return 0;
}

std::string hdf5Detail() {
    std::string detail;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermostError, &detail);
    H5Eclear2(H5E_DEFAULT);
    return detail;
}

[[noreturn]] void fail(const fs::path& file, const std::string& problem) { throw Error(file, problem); }

[[noreturn]] void failHdf5(const fs::path& file, const std::string& problem) {
    const std::string detail = hdf5Detail();
    fail(file, detail.empty() ? problem : problem + " (HDF5: " + detail + ")");
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


Parts split(const std::string& path, char separator) {
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

// Variable-length string type (in memory: char*), UTF-8 unless told otherwise.
Handle variableString(const fs::path& file, H5T_cset_t cset) {
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

}  // namespace ls::hdf5
