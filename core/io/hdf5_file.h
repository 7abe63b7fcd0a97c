#pragma once
// Thin HDF5 layer for LayerScope's run files (plain C++, HDF5 C API inside the .cpp only).
// Objects are addressed by slash paths ("cossim/values"); groups are created on demand.
// Arrays are stored as plain, contiguous (chunked + compressed when large) datasets with
// their natural type, so h5py and pandas read them without a manual. A Table becomes a
// group with one 1-D dataset per column (int64, float64 or variable-length UTF-8 string)
// and attributes "title" and "columns" (the column names in order, comma-separated).
// HDF5's own error printing is switched off; every failure throws ls::Error naming the file.
// Paths: "a/b", "/a/b" and "a//b/" are the same object; "" and "/" are the root group.
// Strings (attributes, text columns) are variable-length UTF-8, so h5py reads attributes as
// str and text columns as bytes (dataset.asstr() gives str).
// commit() seals the file: its first 512 bytes (HDF5's user block, which h5py skips) hold
// "LayerScope HDF5", the file's size and a CRC-32 of the rest; H5Reader checks the seal.
// Reading checks what a file claims before allocating: more than 2^40 elements, or more
// bytes than the machine's memory, throws. A truncated file is refused when it is opened
// (HDF5 compares the file's size with the end address its superblock records); note that
// libhdf5 1.10 itself can crash on some deliberately corrupted string heaps, which no
// check through its C API can prevent: the seal keeps such bytes away from it (Seal::Required).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/table.h"

namespace ls {

// Writes to path + ".partial"; commit() closes and renames it into place. Destroying a
// writer that was not committed removes the partial file: a reader never sees half a file.
// The constructor creates path's parent folder when needed. Writing to a path again replaces
// what was there (dataset, group or table). After commit() every call throws.
class H5Writer {
public:
    explicit H5Writer(const std::filesystem::path& path);
    ~H5Writer();
    H5Writer(const H5Writer&) = delete;
    H5Writer& operator=(const H5Writer&) = delete;

    // Attributes on a group ("" or "/" = the file's root group; created if needed), or on an
    // existing dataset. Writing an attribute again replaces it (its kind too).
    void attribute(const std::string& group, const std::string& name, const std::string& value);
    void attribute(const std::string& group, const std::string& name, double value);
    void attribute(const std::string& group, const std::string& name, int64_t value);

    // Row-major array with the given shape (product of shape == data.size()); an empty
    // shape means 1-D of data.size(). An optional "units" attribute is written when given.
    // T: float, double, int32_t or int64_t.
    template <typename T>
    void array(const std::string& path, const std::vector<T>& data, std::vector<int64_t> shape = {},
               const std::string& units = {});

    // group path (e.g. "tables/cossim_layers"): one dataset per column, see above. The table
    // is checked before anything is written: column names must be non-empty, unique and free
    // of ',' and '/'; columns must have equal lengths; Integer columns must hold whole
    // numbers within int64 (NaN is not allowed there; use a Real column).
    void table(const std::string& group, const Table& table);
    // Each table as group/<its name>.
    void tables(const std::string& group, const std::vector<Table>& tables);

    void commit();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// libhdf5 1.10 can crash or loop forever on some crafted metadata even when the file's seal
// matches (fuzzing found a loop in its global-heap reader). rehearseInChildProcess runs
// `read` (which opens and reads path through H5Reader) in a forked child first: if libhdf5
// dies there, or has not finished after 30 s (+1 s per 100 MB), it throws ls::Error(path, ...)
// and this process never runs that code. Errors `read` throws in the child are left for the
// caller's own read to report. Costs one extra read of the file.
void rehearseInChildProcess(const std::filesystem::path& path, const std::function<void()>& read);

class H5Reader {
public:
    // Files H5Writer wrote carry a seal (size and CRC-32 in HDF5's user block), checked
    // before libhdf5 reads a byte. Optional: any HDF5 file opens, and a sealed one is checked.
    // Required: only sealed files open (run files), so damaged bytes never reach libhdf5.
    // Checked: the caller has just run checkFileBeforeHdf5(path, Required); not read again.
    enum class Seal { Optional, Required, Checked };

    // Throws ls::Error(path, ...) when the file is missing, unreadable, truncated, damaged
    // (its seal does not match) or not HDF5. The checks before libhdf5 opens the file are
    // checkFileBeforeHdf5's.
    explicit H5Reader(const std::filesystem::path& path, Seal seal = Seal::Optional);
    ~H5Reader();
    H5Reader(const H5Reader&) = delete;
    H5Reader& operator=(const H5Reader&) = delete;

    const std::filesystem::path& path() const;
    bool has(const std::string& path) const;           // group or dataset exists
    bool hasAttribute(const std::string& group, const std::string& name) const;
    std::vector<std::string> children(const std::string& group) const;  // names, sorted

    // Attributes (of a group or a dataset); throw ls::Error naming the file, object and
    // attribute when missing or of another kind (numbers convert between integer and real;
    // a real converts to an integer only when it is a whole number). Strings may be
    // variable- or fixed-length.
    std::string stringAttribute(const std::string& group, const std::string& name) const;
    double realAttribute(const std::string& group, const std::string& name) const;
    int64_t integerAttribute(const std::string& group, const std::string& name) const;

    // A dataset converted to the requested type (HDF5 converts numeric types); shape gets
    // its dimensions when given. Throws ls::Error when missing or not numeric.
    // T: float, double, int32_t or int64_t.
    template <typename T>
    std::vector<T> numbers(const std::string& path, std::vector<int64_t>* shape = nullptr) const;
    std::vector<float> floats(const std::string& path, std::vector<int64_t>* shape = nullptr) const {
        return numbers<float>(path, shape);
    }
    std::vector<double> doubles(const std::string& path, std::vector<int64_t>* shape = nullptr) const {
        return numbers<double>(path, shape);
    }
    std::vector<int32_t> ints32(const std::string& path, std::vector<int64_t>* shape = nullptr) const {
        return numbers<int32_t>(path, shape);
    }
    std::vector<int64_t> ints64(const std::string& path, std::vector<int64_t>* shape = nullptr) const {
        return numbers<int64_t>(path, shape);
    }

    // The inverse of H5Writer::table (name = the group's last path component). Needs the
    // "columns" attribute; "title" is optional. Integer datasets become Integer columns,
    // floating-point ones Real, strings Text.
    Table table(const std::string& group) const;
    // Every table under group (its children, by name).
    std::vector<Table> tables(const std::string& group) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// What H5Reader checks before libhdf5 reads a byte: the file exists and is readable, is not
// empty, and its seal matches (or, with Seal::Optional, it has none). Throws ls::Error.
void checkFileBeforeHdf5(const std::filesystem::path& path, H5Reader::Seal seal);

}  // namespace ls
