// H5Reader (io/hdf5_file.h): reads what H5Writer wrote (and other HDF5 files), checking
// sizes before allocating.
#include <cmath>
#include <cstdio>
#include <limits>

#include "io/hdf5_file.h"
#include "io/hdf5_internal.h"

namespace ls {

using namespace hdf5;

namespace {

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

}  // namespace

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

template <typename T>
std::vector<T> H5Reader::numbers(const std::string& path, std::vector<int64_t>* shape) const {
    Lock lock;
    return impl_->numbers<T>(path, shape);
}
template std::vector<float> H5Reader::numbers(const std::string&, std::vector<int64_t>*) const;
template std::vector<double> H5Reader::numbers(const std::string&, std::vector<int64_t>*) const;
template std::vector<int32_t> H5Reader::numbers(const std::string&, std::vector<int64_t>*) const;
template std::vector<int64_t> H5Reader::numbers(const std::string&, std::vector<int64_t>*) const;

std::vector<Table> H5Reader::tables(const std::string& group) const {
    std::vector<Table> out;
    for (const std::string& name : children(group)) out.push_back(table(group + "/" + name));
    return out;
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
