// H5Writer (io/hdf5_file.h): a run file written to path.partial, sealed and renamed on commit.
#include <cmath>
#include <cstdio>
#include <limits>

#include "io/hdf5_file.h"
#include "io/hdf5_internal.h"

namespace ls {

using namespace hdf5;

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

template <typename T>
void H5Writer::array(const std::string& path, const std::vector<T>& data, std::vector<int64_t> shape,
                     const std::string& units) {
    Lock lock;
    impl_->array(path, data, std::move(shape), units);
}
template void H5Writer::array(const std::string&, const std::vector<float>&, std::vector<int64_t>, const std::string&);
template void H5Writer::array(const std::string&, const std::vector<double>&, std::vector<int64_t>, const std::string&);
template void H5Writer::array(const std::string&, const std::vector<int32_t>&, std::vector<int64_t>, const std::string&);
template void H5Writer::array(const std::string&, const std::vector<int64_t>&, std::vector<int64_t>, const std::string&);

void H5Writer::tables(const std::string& group, const std::vector<Table>& tables) {
    for (const Table& t : tables) table(group + "/" + t.name, t);
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


// Reader

}  // namespace ls
