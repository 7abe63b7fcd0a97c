// core/io: HDF5 run files (H5Writer / H5Reader) round-tripped, read back by h5py
// (LAYERSCOPE_PYTHON, Debian's python3-h5py), fed files that h5py wrote, and fed broken
// files (missing, not HDF5, empty, truncated at many points); and the Table text forms.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "analysis/layer_run.h"
#include "common/error.h"
#include "io/hdf5_file.h"
#include "io/table.h"
#include "test_support.h"

Q_DECLARE_METATYPE(ls::Table)

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

fs::path partialOf(const fs::path& p) { return p.string() + ".partial"; }

std::string readBytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeBytes(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

// Same value: NaN matches NaN, and the sign of zero counts.
template <typename T>
bool same(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
        return a == b && std::signbit(a) == std::signbit(b);
    } else {
        return a == b;
    }
}

template <typename T>
QString firstDifference(const std::vector<T>& got, const std::vector<T>& expected) {
    if (got.size() != expected.size())
        return QString("%1 values, expected %2").arg(got.size()).arg(expected.size());
    for (size_t i = 0; i < got.size(); ++i)
        if (!same(got[i], expected[i]))
            return QString("value %1 is %2, expected %3").arg(i).arg(double(got[i]), 0, 'g', 17).arg(double(expected[i]), 0, 'g', 17);
    return {};
}

// Values with the awkward ones first: NaN, infinities, -0, denormals, extremes.
template <typename T>
std::vector<T> sample(size_t n) {
    std::vector<T> v(n);
    for (size_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<T>)
            v[i] = T(double(i) * 0.37 - 5.0);
        else
            v[i] = T(int64_t(i * 7919) % 100003 - 50000);
    }
    std::vector<T> special;
    if constexpr (std::is_floating_point_v<T>) {
        using L = std::numeric_limits<T>;
        special = {L::quiet_NaN(), L::infinity(), -L::infinity(), T(-0.0), L::denorm_min(), L::max(), L::lowest(), L::min()};
    } else {
        using L = std::numeric_limits<T>;
        special = {L::min(), L::max(), T(0), T(-1)};
    }
    for (size_t i = 0; i < n && i < special.size(); ++i) v[i] = special[i];
    return v;
}

// "2x3x4" -> {2, 3, 4}; "" -> {} (the writer's default: 1-D).
std::vector<int64_t> parseShape(const QString& text) {
    std::vector<int64_t> shape;
    if (text.isEmpty()) return shape;
    for (const QString& d : text.split('x')) shape.push_back(d.toLongLong());
    return shape;
}

QString differenceOf(const ls::Table& got, const ls::Table& expected) {
    if (got.name != expected.name) return QString("name '%1', expected '%2'").arg(got.name.c_str(), expected.name.c_str());
    if (got.title != expected.title) return QString("title '%1', expected '%2'").arg(got.title.c_str(), expected.title.c_str());
    if (got.columns.size() != expected.columns.size())
        return QString("%1 columns, expected %2").arg(got.columns.size()).arg(expected.columns.size());
    for (size_t c = 0; c < got.columns.size(); ++c) {
        const ls::Column &g = got.columns[c], &e = expected.columns[c];
        const QString where = QString("column %1 '%2': ").arg(c).arg(QString::fromStdString(e.name));
        if (g.name != e.name) return where + "name is '" + QString::fromStdString(g.name) + "'";
        if (g.kind != e.kind) return where + "kind differs";
        if (e.kind == ls::Column::Kind::Text) {
            if (g.texts.size() != e.texts.size()) return where + QString("%1 rows").arg(g.texts.size());
            for (size_t r = 0; r < g.texts.size(); ++r)
                if (g.texts[r] != e.texts[r])
                    return where + QString("row %1 is '%2', expected '%3'").arg(r).arg(g.texts[r].c_str(), e.texts[r].c_str());
            if (!g.numbers.empty()) return where + "a text column with numbers";
        } else {
            const QString d = firstDifference(g.numbers, e.numbers);
            if (!d.isEmpty()) return where + d;
            if (!g.texts.empty()) return where + "a number column with texts";
        }
    }
    return {};
}

struct PythonRun {
    bool ok = false;
    QByteArray out;
    QString error;
};

PythonRun runPython(const char* script, const QStringList& args) {
    QProcess python;
    python.start(LAYERSCOPE_PYTHON, QStringList{"-c", script} + args);
    python.closeWriteChannel();
    PythonRun run;
    if (!python.waitForFinished(300000) || python.exitStatus() != QProcess::NormalExit || python.exitCode() != 0) {
        run.error = QString("python (%1) failed: %2 (python3-h5py is installed by scripts/setup.sh)")
                        .arg(LAYERSCOPE_PYTHON, QString::fromUtf8(python.readAllStandardError()));
        return run;
    }
    run.ok = true;
    run.out = python.readAllStandardOutput();
    return run;
}

// JSON has no NaN nor infinity: the scripts print null, "inf" and "-inf" (and "-0": Qt
// would read -0.0 as 0).
double jsonNumber(const QJsonValue& v) {
    if (v.isNull()) return kNaN;
    if (v.toString() == "-0") return -0.0;
    if (v.isString()) return v.toString().startsWith('-') ? -kInf : kInf;
    return v.toDouble();
}

// Reads everything the "rich" file holds; throws ls::Error when anything is unreadable.
void readRichFile(const fs::path& path) {
    ls::H5Reader r(path);
    for (const std::string& name : r.children("")) (void)name;
    (void)r.stringAttribute("", "name");
    (void)r.integerAttribute("meta", "version");
    (void)r.floats("arrays/big");
    (void)r.doubles("arrays/small");
    (void)r.ints64("arrays/ids");
    (void)r.table("tables/long");
    (void)r.table("tables/short");
}

ls::Table tableAllKinds() {
    ls::Table t{"all_kinds", "All kinds, with commas: ∑ Grüße", {}};
    t.add("step", ls::Column::Kind::Integer).numbers = {0, -1, 9007199254740992.0, -9007199254740992.0, 42};
    t.add("value", ls::Column::Kind::Real).numbers = {0.1, kNaN, kInf, -kInf, -0.0};
    t.add("text", ls::Column::Kind::Text).texts = {"plain", "a, b, c", "quote \" and, comma", "Grüße 😀 ∑", ""};
    return t;
}

ls::Table tableLarge(int rows) {
    ls::Table t{"large", "Many rows", {}};
    ls::Column& n = t.add("n", ls::Column::Kind::Integer);
    for (int i = 0; i < rows; ++i) n.numbers.push_back(i * 3 - 7);
    ls::Column& x = t.add("x", ls::Column::Kind::Real);
    for (int i = 0; i < rows; ++i) x.numbers.push_back(std::sin(i * 0.001) * 1e3);
    ls::Column& s = t.add("label", ls::Column::Kind::Text);
    for (int i = 0; i < rows; ++i) s.texts.push_back("row " + std::to_string(i) + (i % 7 ? "" : ", seventh"));
    return t;
}

// Written to a file by the h5py read-back test; the Python script prints what h5py sees.
const char* kReadBackScript = R"PY(
import json, math, sys
import h5py, numpy as np

def num(v):
    v = float(v)
    if v == 0 and math.copysign(1, v) < 0:
        return '-0'
    return None if math.isnan(v) else (('inf' if v > 0 else '-inf') if math.isinf(v) else v)

def values(a):
    if a.dtype.kind == 'f':
        return [num(v) for v in a.ravel()]
    if a.dtype.kind in 'iu':
        return [str(int(v)) for v in a.ravel()]
    return [v.decode('utf-8') if isinstance(v, bytes) else str(v) for v in a.ravel()]

def attr(v):
    if isinstance(v, str):
        return ['str', v]
    if isinstance(v, bytes):
        return ['bytes', v.decode('utf-8', 'replace')]
    if isinstance(v, np.integer):
        return [type(v).__name__, str(int(v))]
    if isinstance(v, np.floating):
        return [type(v).__name__, num(v)]
    return [type(v).__name__, repr(v)]

out = {'arrays': {}, 'tables': {}}
with h5py.File(sys.argv[1], 'r') as f:
    for name, ds in f['arrays'].items():
        a = ds[()]
        out['arrays'][name] = {
            'dtype': a.dtype.str, 'shape': list(a.shape), 'values': values(a),
            'chunks': list(ds.chunks) if ds.chunks else None, 'compression': ds.compression,
            'shuffle': ds.shuffle, 'attrs': {k: attr(v) for k, v in ds.attrs.items()}}
    out['root'] = {k: attr(v) for k, v in f.attrs.items()}
    out['meta'] = {k: attr(v) for k, v in f['meta/run'].attrs.items()}
    for name, g in f['tables'].items():
        cols = {k: g[k][()] for k in g}  # what one hands pandas.DataFrame
        strings = {k: h5py.check_string_dtype(g[k].dtype) for k in g}
        out['tables'][name] = {
            'title': attr(g.attrs['title']), 'columns': attr(g.attrs['columns']),
            'dtypes': {k: v.dtype.str for k, v in cols.items()},
            'encodings': {k: (s.encoding if s else None) for k, s in strings.items()},
            'data': {k: values(v) for k, v in cols.items()}}
print(json.dumps(out))
)PY";

// Writes a file the way other people's tools do; H5Reader must read it.
const char* kWriteScript = R"PY(
import sys
import h5py, numpy as np
with h5py.File(sys.argv[1], 'w') as f:
    f['u8'] = np.array([1, 2, 255], dtype=np.uint8)
    f['be'] = np.array([1.5, -2.0, 1e300], dtype='>f8')
    f['i16'] = np.array([[-3, 4, 5], [6, -7, 8]], dtype=np.int16)
    f['scalar'] = np.float64(3.25)
    f['strings'] = np.array(['a', 'b'], dtype=h5py.string_dtype())
    f.create_dataset('gzip', data=np.arange(100000, dtype=np.float32) * 0.5, compression='gzip',
                     shuffle=True, chunks=(4096,))
    f.create_dataset('lzf', data=np.arange(10, dtype=np.float32), compression='lzf')
    f.create_dataset('huge', shape=(2**21, 2**21), dtype='f4', chunks=(1024, 1024))
    f.create_dataset('tib', shape=(2**20, 2**18), dtype='f4', chunks=(1024, 1024))
    f.attrs['fixed'] = np.bytes_(b'fixed text')
    f.attrs.create('fixed_utf8', 'Grüße'.encode(), dtype=h5py.string_dtype('utf-8', 20))
    f.attrs['vlen'] = 'ß, ∑'
    f.attrs['i32'] = np.int32(7)
    f.attrs['u64'] = np.uint64(2**62)
    f.attrs['f'] = 2.0
    f.attrs['half'] = 2.5
    f.attrs['array'] = np.array([1, 2, 3])
    g = f.create_group('tbl')
    g['n'] = np.array([1, 2], dtype=np.int32)
    g['x'] = np.array([0.5, np.nan])
    g['s'] = np.array([b'ab', b'cde'], dtype='S3')
    g['u'] = np.array(['é', 'x,y'], dtype=h5py.string_dtype())
    g.attrs['columns'] = 'n,x,s,u'
    g.attrs['title'] = 'From h5py'
    f.create_group('notable')['x'] = np.zeros(2)
)PY";

}  // namespace

class TestIo : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void contentHashCachedUntilAFileChanges();

    // H5Writer -> H5Reader
    void arrays_data();
    void arrays();
    void conversions();
    void attributes();
    void groupsAndChildren();
    void tables_data();
    void tables();
    void tableReplaced();
    void tableValidation_data();
    void tableValidation();
    void wrongShape_data();
    void wrongShape();
    void atomicity();

    // broken input
    void readerErrors_data();
    void readerErrors();
    void truncated_data();
    void truncated();
    void sealCatchesDamage();
    void missingObjects();

    // h5py
    void h5pyReadsOurFile();
    void weReadH5pyFile();

    // core/io/table.cpp
    void tableCell_data();
    void tableCell();
    void tableCsv();
    void tableText();
    void tableWriteCsv();
    void tableColumnLookup();

private:
    fs::path file(const QString& name) const { return fs::path(dir_.filePath(name).toStdString()); }

    QTemporaryDir dir_;
    fs::path rich_;  // a valid file with a bit of everything, for the truncation tests
};

// The inputs' hash (run files' model_hash) is FNV-1a 64 of the bytes; a second hash of the same
// files comes from the cache, and any change to a file (its size, time or inode) hashes again.
void TestIo::contentHashCachedUntilAFileChanges() {
    QTemporaryDir dir, cache;
    qputenv("XDG_CACHE_HOME", cache.path().toUtf8());
    const std::string a = (dir.path() + "/a.bin").toStdString(), b = (dir.path() + "/b.bin").toStdString();
    // Written an hour ago, as far as the files' times go: files changed in the last seconds are
    // not cached (the kernel's modification times are coarse).
    auto write = [](const std::string& path, const std::string& bytes) {
        std::ofstream(path, std::ios::binary) << bytes;
        std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
    };
    write(a, "hello ");
    write(b, "world");
    const auto firstTime = std::filesystem::last_write_time(b);
    // FNV-1a 64 of "hello world", computed by hand from the definition.
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : std::string("hello world")) h = (h ^ c) * 1099511628211ull;
    char expected[17];
    std::snprintf(expected, sizeof expected, "%016llx", static_cast<unsigned long long>(h));
    QCOMPARE(ls::contentHash({a, b}), std::string(expected));
    QCOMPARE(QDir(cache.path() + "/layerscope").entryList({"content-hash-*"}).size(), 1);
    QCOMPARE(ls::contentHash({a, b}), std::string(expected));  // from the cache
    std::ofstream(b, std::ios::binary) << "World";  // same size, written now: hashed, not cached
    QVERIFY(ls::contentHash({a, b}) != std::string(expected));
    QCOMPARE(QDir(cache.path() + "/layerscope").entryList({"content-hash-*"}).size(), 1);
    write(b, "World");  // now an hour old: cached under its own key
    QVERIFY(ls::contentHash({a, b}) != std::string(expected));
    // A damaged entry is not believed.
    QCOMPARE(QDir(cache.path() + "/layerscope").entryList({"content-hash-*"}).size(), 2);
    for (const QString& name : QDir(cache.path() + "/layerscope").entryList({"content-hash-*"})) {
        QFile f(cache.path() + "/layerscope/" + name);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write("not a hash\n");
    }
    // b as it was at first, to the nanosecond: the first entry's key, whose text is damaged now.
    std::ofstream(b, std::ios::binary) << "world";
    std::filesystem::last_write_time(b, firstTime);
    QCOMPARE(ls::contentHash({a, b}), std::string(expected));
    qunsetenv("XDG_CACHE_HOME");
}

void TestIo::initTestCase() {
    QVERIFY(dir_.isValid());
    rich_ = file("rich.h5");
    ls::H5Writer w(rich_);
    w.attribute("", "name", std::string("rich file"));
    w.attribute("meta", "version", int64_t(3));
    std::vector<float> big(300 * 300);
    for (size_t i = 0; i < big.size(); ++i) big[i] = std::sin(float(i)) * 100.f;  // compresses poorly: a big file
    w.array("arrays/big", big, {300, 300}, "nats");
    w.array("arrays/small", std::vector<double>{1, 2, 3});
    w.array("arrays/ids", std::vector<int64_t>{7, 8, 9, 10});
    w.table("tables/long", tableLarge(70000));
    w.table("tables/short", tableAllKinds());
    w.commit();
    readRichFile(rich_);
    QVERIFY(fs::file_size(rich_) > 200000);
}

// ---------------------------------------------------------------------------------------

void TestIo::arrays_data() {
    QTest::addColumn<QString>("type");
    QTest::addColumn<QString>("shape");  // "" = the writer's default (1-D)
    QTest::addColumn<int>("count");
    QTest::addColumn<QString>("units");
    for (const char* type : {"float", "double", "int32", "int64"}) {
        auto row = [&](const char* label) { return &QTest::newRow(qPrintable(QString("%1 %2").arg(type, label))); };
        *row("1-D default shape") << type << "" << 10 << "";
        *row("single value") << type << "1" << 1 << "";
        *row("2x3 with units") << type << "2x3" << 6 << "nats per token";
        *row("2x3x4") << type << "2x3x4" << 24 << "";
        *row("1x1x1x1x5") << type << "1x1x1x1x5" << 5 << "";
        *row("empty default shape") << type << "" << 0 << "";
        *row("empty 0") << type << "0" << 0 << "°C";
        *row("empty 0x5") << type << "0x5" << 0 << "";
        *row("empty 3x0x2") << type << "3x0x2" << 0 << "";
        *row("exactly 64K, contiguous") << type << "" << 65536 << "";
        *row("70000, chunked") << type << "" << 70000 << "";
        *row("300x300, chunked") << type << "300x300" << 90000 << "";
        *row("3x5x7000, chunked") << type << "3x5x7000" << 105000 << "bits";
        *row("1x70000, chunked") << type << "1x70000" << 70000 << "";
    }
}

namespace {

template <typename T>
std::vector<T> readAs(const ls::H5Reader& r, const std::string& path, std::vector<int64_t>* shape) {
    if constexpr (std::is_same_v<T, float>)
        return r.floats(path, shape);
    else if constexpr (std::is_same_v<T, double>)
        return r.doubles(path, shape);
    else if constexpr (std::is_same_v<T, int32_t>)
        return r.ints32(path, shape);
    else
        return r.ints64(path, shape);
}

template <typename T>
void roundTrip(const fs::path& path, const QString& shapeText, int count, const QString& units) {
    const std::vector<T> data = sample<T>(size_t(count));
    const std::vector<int64_t> shape = parseShape(shapeText);
    const std::vector<int64_t> expectedShape = shape.empty() ? std::vector<int64_t>{count} : shape;
    {
        ls::H5Writer w(path);
        w.array("deep/er/values", data, shape, units.toStdString());
        w.array("flat", data, shape);
        w.commit();
    }
    ls::H5Reader r(path);
    for (const std::string name : {"deep/er/values", "/flat"}) {
        std::vector<int64_t> gotShape = {-1};
        const std::vector<T> got = readAs<T>(r, name, &gotShape);
        const QString d = firstDifference(got, data);
        QVERIFY2(d.isEmpty(), qPrintable(QString::fromStdString(name) + ": " + d));
        QCOMPARE(gotShape, expectedShape);
        QVERIFY(readAs<T>(r, name, nullptr).size() == size_t(count));
    }
    QCOMPARE(r.hasAttribute("deep/er/values", "units"), !units.isEmpty());
    QVERIFY(!r.hasAttribute("flat", "units"));
    if (!units.isEmpty()) QCOMPARE(QString::fromStdString(r.stringAttribute("deep/er/values", "units")), units);
}

}  // namespace

void TestIo::arrays() {
    QFETCH(QString, type);
    QFETCH(QString, shape);
    QFETCH(int, count);
    QFETCH(QString, units);
    const fs::path path = file("arrays.h5");
    if (type == "float") roundTrip<float>(path, shape, count, units);
    if (type == "double") roundTrip<double>(path, shape, count, units);
    if (type == "int32") roundTrip<int32_t>(path, shape, count, units);
    if (type == "int64") roundTrip<int64_t>(path, shape, count, units);
}

void TestIo::conversions() {
    const fs::path path = file("conversions.h5");
    {
        ls::H5Writer w(path);
        w.array("d", std::vector<double>{1.5, -2.0, 3e9, 0.1});
        w.array("i32", std::vector<int32_t>{1, -2, 2147483647}, {3});
        w.array("i64", std::vector<int64_t>{int64_t(1) << 40, -5});
        w.array("whole", std::vector<double>{2.0, -3.0});
        w.array("f", std::vector<float>{0.25f, -1.5f}, {1, 2});
        w.commit();
    }
    ls::H5Reader r(path);
    // Conversions round like the C++ casts: exactly equal, not fuzzily (QCOMPARE on vectors is fuzzy).
    QCOMPARE(firstDifference(r.floats("d"), std::vector<float>{1.5f, -2.0f, 3e9f, 0.1f}), QString());
    QCOMPARE(firstDifference(r.doubles("i32"), std::vector<double>{1, -2, 2147483647}), QString());
    QCOMPARE(r.ints64("i32"), (std::vector<int64_t>{1, -2, 2147483647}));
    QCOMPARE(firstDifference(r.floats("i32"), std::vector<float>{1.f, -2.f, 2147483647.f}), QString());
    QCOMPARE(firstDifference(r.doubles("i64"), std::vector<double>{1099511627776.0, -5.0}), QString());
    QCOMPARE(r.ints32("whole"), (std::vector<int32_t>{2, -3}));
    std::vector<int64_t> shape;
    QCOMPARE(firstDifference(r.doubles("f", &shape), std::vector<double>{0.25, -1.5}), QString());
    QCOMPARE(shape, (std::vector<int64_t>{1, 2}));
}

void TestIo::attributes() {
    const fs::path path = file("attributes.h5");
    const std::string utf8 = "Größe ∑ 😀, with, commas and \"quotes\"";
    const std::string longText(200000, 'x');  // far beyond HDF5's 64 KiB compact attribute limit
    {
        ls::H5Writer w(path);
        w.attribute("", "text", utf8);
        w.attribute("/", "empty", std::string());
        w.attribute("", "long", longText);
        w.attribute("/", "pi", 3.141592653589793);
        w.attribute("", "nan", kNaN);
        w.attribute("", "inf", -kInf);
        w.attribute("", "negzero", -0.0);
        w.attribute("", "tiny", 1e-300);
        w.attribute("meta/run/info", "min", std::numeric_limits<int64_t>::min());  // groups made on demand
        w.attribute("meta/run/info", "max", std::numeric_limits<int64_t>::max());
        w.attribute("meta/run/info", "big", int64_t(1) << 60);
        w.attribute("meta/run/info", "three", 3.0);
        w.attribute("meta/run/info", "half", 2.5);
        w.array("values", std::vector<float>{1, 2}, {}, "bits");
        w.attribute("values", "note", std::string("on a dataset"));
        w.attribute("/values/", "scale", 0.5);
        w.attribute("", "changes", std::string("first a string"));
        w.attribute("", "changes", int64_t(7));  // replaced, kind and all
        w.commit();
    }
    ls::H5Reader r(path);
    QCOMPARE(r.path(), path);
    QCOMPARE(r.stringAttribute("", "text"), utf8);
    QCOMPARE(r.stringAttribute("/", "text"), utf8);
    QCOMPARE(r.stringAttribute("", "empty"), std::string());
    QCOMPARE(r.stringAttribute("", "long"), longText);
    QCOMPARE_NEAR(r.realAttribute("", "pi"), 3.141592653589793, 0, 0);  // real attributes read back bit for bit
    QVERIFY(std::isnan(r.realAttribute("", "nan")));
    QCOMPARE_NEAR(r.realAttribute("", "inf"), -kInf, 0, 0);
    QVERIFY(same(r.realAttribute("", "negzero"), -0.0));
    QCOMPARE_NEAR(r.realAttribute("", "tiny"), 1e-300, 0, 0);
    QCOMPARE(r.integerAttribute("meta/run/info", "min"), std::numeric_limits<int64_t>::min());
    QCOMPARE(r.integerAttribute("meta/run/info", "max"), std::numeric_limits<int64_t>::max());
    QCOMPARE(r.integerAttribute("meta/run/info", "big"), int64_t(1) << 60);
    QCOMPARE_NEAR(r.realAttribute("meta/run/info", "big"), std::ldexp(1.0, 60), 0, 0);  // integer -> real, exact
    QCOMPARE(r.integerAttribute("meta/run/info", "three"), int64_t(3));     // whole real -> integer
    QCOMPARE(r.stringAttribute("values", "units"), std::string("bits"));
    QCOMPARE(r.stringAttribute("values", "note"), std::string("on a dataset"));
    QCOMPARE_NEAR(r.realAttribute("values", "scale"), 0.5, 0, 0);
    QCOMPARE(r.integerAttribute("", "changes"), int64_t(7));
    QVERIFY(r.has("meta/run/info"));
    QVERIFY(r.hasAttribute("", "text"));
    QVERIFY(r.hasAttribute("meta/run/info", "min"));
    QVERIFY(!r.hasAttribute("meta/run/info", "text"));
    QVERIFY(!r.hasAttribute("no/such/group", "text"));

    const QString p = QString::fromStdString(path.string());
    QCOMPARE(errorOf([&] { r.integerAttribute("meta/run/info", "half"); }),
             p + ": attribute 'half' of 'meta/run/info' is 2.5, not an integer");
    QVERIFY(errorOf([&] { r.integerAttribute("", "nan"); }).contains("is nan, not an integer"));
    QCOMPARE(errorOf([&] { r.stringAttribute("", "pi"); }), p + ": attribute 'pi' of '/' is a real number, not a string");
    QCOMPARE(errorOf([&] { r.stringAttribute("", "changes"); }), p + ": attribute 'changes' of '/' is an integer, not a string");
    QCOMPARE(errorOf([&] { r.realAttribute("", "text"); }), p + ": attribute 'text' of '/' is a string, not a number");
    QCOMPARE(errorOf([&] { r.integerAttribute("", "text"); }), p + ": attribute 'text' of '/' is a string, not a number");
    QCOMPARE(errorOf([&] { r.stringAttribute("meta/run/info", "nope"); }),
             p + ": attribute 'nope' of 'meta/run/info' is missing");
    QCOMPARE(errorOf([&] { r.realAttribute("meta/nope", "x"); }),
             p + ": attribute 'x' of 'meta/nope' is missing: 'meta/nope' does not exist");
}

void TestIo::groupsAndChildren() {
    const fs::path path = file("groups.h5");
    const QString p = QString::fromStdString(path.string());
    {
        ls::H5Writer w(path);
        w.array("a/x", std::vector<float>{1});
        w.array("a/b/y", std::vector<double>{2});
        ls::Table t{"c", "", {}};
        t.add("beta", ls::Column::Kind::Real).numbers = {1};
        t.add("alpha", ls::Column::Kind::Integer).numbers = {2};
        w.table("a/c", t);
        w.array("z", std::vector<int32_t>{3});
        w.attribute("empty/group", "k", int64_t(1));
        w.array("r", std::vector<float>{1, 2});
        w.array("r", std::vector<int64_t>{5});  // replaced
        w.array("a/b/gone", std::vector<float>{1});
        w.array("a/b", std::vector<int32_t>{4, 4});  // a dataset replaces the group b
        QCOMPARE(errorOf([&] { w.array("z/q", std::vector<float>{1}); }),
                 p + ": cannot make group 'z': a dataset of that name exists");
        QVERIFY(errorOf([&] { w.attribute("z/q", "k", 1.0); }).contains("'z': a dataset of that name exists"));
        w.commit();
    }
    ls::H5Reader r(path);
    QCOMPARE(r.children(""), (std::vector<std::string>{"a", "empty", "r", "z"}));
    QCOMPARE(r.children("/"), r.children(""));
    QCOMPARE(r.children("a"), (std::vector<std::string>{"b", "c", "x"}));
    QCOMPARE(r.children("/a/"), r.children("a"));
    QCOMPARE(r.children("a/c"), (std::vector<std::string>{"alpha", "beta"}));
    QCOMPARE(r.children("empty/group"), std::vector<std::string>{});
    QCOMPARE(r.children("empty"), std::vector<std::string>{"group"});
    QCOMPARE(r.ints64("r"), std::vector<int64_t>{5});
    QCOMPARE(r.ints32("a/b"), (std::vector<int32_t>{4, 4}));
    QVERIFY(r.has(""));
    QVERIFY(r.has("/"));
    QVERIFY(r.has("a"));
    QVERIFY(r.has("a/b"));
    QVERIFY(r.has("/a/x"));
    QVERIFY(r.has("a//c/alpha"));
    QVERIFY(!r.has("a/b/y"));
    QVERIFY(!r.has("a/q"));
    QVERIFY(!r.has("z/q"));  // z is a dataset
    QVERIFY(!r.has("nothing/at/all"));
    QCOMPARE(errorOf([&] { r.children("missing"); }), p + ": group 'missing' is missing");
    QCOMPARE(errorOf([&] { r.children("z"); }), p + ": 'z' is a dataset, not a group");
    // the table keeps the order it was written in, not the sorted one
    QCOMPARE(r.table("a/c").columns.front().name, std::string("beta"));
}

// ---------------------------------------------------------------------------------------

void TestIo::tables_data() {
    QTest::addColumn<QString>("group");
    QTest::addColumn<ls::Table>("table");

    QTest::newRow("all kinds, NaN, UTF-8, commas") << "tables/all_kinds" << tableAllKinds();
    ls::Table none{"no_rows", "No rows", {}};
    none.add("i", ls::Column::Kind::Integer);
    none.add("r", ls::Column::Kind::Real);
    none.add("t", ls::Column::Kind::Text);
    QTest::newRow("no rows") << "tables/no_rows" << none;
    QTest::newRow("no columns") << "no_columns" << ls::Table{"no_columns", "Empty", {}};
    ls::Table untitled{"untitled", "", {}};
    untitled.add("x", ls::Column::Kind::Real).numbers = {1.0 / 3.0, 1e-310, -1e308};
    QTest::newRow("no title, denormal") << "deep/er/untitled" << untitled;
    ls::Table lines{"lines", "Texts with control characters", {}};
    lines.add("text", ls::Column::Kind::Text).texts = {"line1\nline2", "\t tab", "x\r\ny", " lead and trail "};
    QTest::newRow("texts only") << "/tables/lines/" << lines;
    ls::Table names{"名字", "Unicode names", {}};
    names.add("größe", ls::Column::Kind::Real).numbers = {1.5};
    names.add("hard ratio", ls::Column::Kind::Integer).numbers = {-3};
    names.add("\"quoted\"", ls::Column::Kind::Text).texts = {"q"};
    QTest::newRow("unicode and spaces in names") << "tables/名字" << names;
    QTest::newRow("70000 rows, chunked") << "tables/large" << tableLarge(70000);
}

void TestIo::tables() {
    QFETCH(QString, group);
    QFETCH(ls::Table, table);
    const fs::path path = file("tables.h5");
    {
        ls::H5Writer w(path);
        w.table(group.toStdString(), table);
        w.commit();
    }
    ls::H5Reader r(path);
    const ls::Table got = r.table(group.toStdString());
    const QString d = differenceOf(got, table);
    QVERIFY2(d.isEmpty(), qPrintable(d));
    QCOMPARE(r.stringAttribute(group.toStdString(), "title"), table.title);
    std::string columns;
    for (const ls::Column& c : table.columns) columns += (columns.empty() ? "" : ",") + c.name;
    QCOMPARE(r.stringAttribute(group.toStdString(), "columns"), columns);
    // the columns are plain datasets too
    for (const ls::Column& c : table.columns) {
        const std::string column = group.toStdString() + "/" + c.name;
        QVERIFY(r.has(column));
        if (c.kind == ls::Column::Kind::Integer) QCOMPARE(firstDifference(r.doubles(column), c.numbers), QString());  // bit for bit
        if (c.kind == ls::Column::Kind::Text)
            QVERIFY(errorOf([&] { r.doubles(column); }).endsWith("holds a string, not numbers"));
    }
}

void TestIo::tableReplaced() {
    const fs::path path = file("replaced.h5");
    ls::Table one{"t", "one column", {}};
    one.add("only", ls::Column::Kind::Real).numbers = {1, 2};
    {
        ls::H5Writer w(path);
        w.table("t", tableAllKinds());
        w.table("t", one);
        w.commit();
    }
    ls::H5Reader r(path);
    QCOMPARE(r.children("t"), std::vector<std::string>{"only"});
    const QString d = differenceOf(r.table("t"), one);
    QVERIFY2(d.isEmpty(), qPrintable(d));
}

void TestIo::tableValidation_data() {
    QTest::addColumn<ls::Table>("table");
    QTest::addColumn<QString>("error");  // the end of the message

    // The table "bad" of these columns.
    const auto bad = [](std::initializer_list<ls::Column> columns) { return ls::Table{"bad", "", columns}; };
    using K = ls::Column::Kind;
    QTest::newRow("NaN in an integer column") << bad({{"i", K::Integer, {1, kNaN}}})
                                              << "column 'i' of table 'tables/bad': row 2 holds nan, not an integer";
    QTest::newRow("fraction in an integer column") << bad({{"i", K::Integer, {2.5}}}) << "row 1 holds 2.5, not an integer";
    QTest::newRow("integer beyond int64") << bad({{"i", K::Integer, {1e19}}}) << "not an integer";
    const QString badName = "column names cannot contain ',' or '/' nor be '.' or '..'";
    QTest::newRow("comma in a name") << bad({{"a,b", K::Real, {1}}}) << badName;
    QTest::newRow("slash in a name") << bad({{"a/b", K::Real, {1}}}) << badName;
    QTest::newRow("empty name") << bad({{"x", K::Real, {1}}, {"", K::Real, {1}}}) << "column 2 has no name";
    QTest::newRow("duplicate names") << bad({{"x", K::Real, {1}}, {"x", K::Integer, {1}}}) << "two columns are named 'x'";
    QTest::newRow("ragged") << bad({{"x", K::Real, {1, 2, 3}}, {"y", K::Text, {}, {"a", "b"}}})
                            << "column 'y' has 2 rows but column 'x' has 3";
    QTest::newRow("NUL in a text")
        << bad({{"s", K::Text, {}, {std::string("a\0b", 3)}}})
        << "column 's' of table 'tables/bad': row 1 contains a NUL character, which HDF5 strings cannot hold";
}

void TestIo::tableValidation() {
    QFETCH(ls::Table, table);
    QFETCH(QString, error);
    const fs::path path = file("invalid.h5");
    {
        ls::H5Writer w(path);
        const QString message = errorOf([&] { w.table("tables/bad", table); });
        QVERIFY2(message.startsWith(QString::fromStdString(path.string()) + ": cannot write "), qPrintable(message));
        QVERIFY2(message.endsWith(error), qPrintable(message));
        QVERIFY(errorOf([&] { w.table("", tableAllKinds()); }).contains("needs a group path"));
        w.table("tables/good", tableAllKinds());  // the writer still works
        w.commit();
    }
    ls::H5Reader r(path);
    QVERIFY(!r.has("tables/bad"));  // checked before anything was written
    QVERIFY(r.has("tables/good"));
}

void TestIo::wrongShape_data() {
    QTest::addColumn<QString>("shape");
    QTest::addColumn<int>("count");
    QTest::addColumn<QString>("error");
    QTest::newRow("2x3 for 5") << "2x3" << 5 << "shape [2, 3] holds 6 values but the data has 5";
    QTest::newRow("0 for 1") << "0" << 1 << "shape [0] holds 0 values but the data has 1";
    QTest::newRow("4 for 0") << "4" << 0 << "shape [4] holds 4 values but the data has 0";
    QTest::newRow("negative") << "-2x-3" << 6 << "its shape has the negative dimension -2";
    QTest::newRow("overflow") << "4294967296x4294967296x4" << 4 << "shape [4294967296, 4294967296, 4] holds too many values but the data has 4";
    QTest::newRow("33 dimensions") << QString("1x").repeated(32) + "1" << 1 << "33 dimensions (HDF5 allows 32)";
}

void TestIo::wrongShape() {
    QFETCH(QString, shape);
    QFETCH(int, count);
    QFETCH(QString, error);
    const fs::path path = file("shape.h5");
    ls::H5Writer w(path);
    const QString message = errorOf([&] { w.array("a/b", std::vector<float>(size_t(count), 1.f), parseShape(shape)); });
    QCOMPARE(message, QString::fromStdString(path.string()) + ": cannot write dataset 'a/b': " + error);
    w.array("a/b", std::vector<float>{1, 2, 3, 4, 5, 6}, {3, 2});
    w.commit();
    ls::H5Reader r(path);
    std::vector<int64_t> got;
    QCOMPARE(r.floats("a/b", &got).size(), size_t(6));
    QCOMPARE(got, (std::vector<int64_t>{3, 2}));
}

void TestIo::atomicity() {
    const fs::path path = file("atomic/run.h5");  // the folder is created
    // uncommitted: nothing is left, not even the partial file
    {
        ls::H5Writer w(path);
        w.array("x", std::vector<float>{1, 2, 3});
        QVERIFY(fs::exists(partialOf(path)));
        QVERIFY(!fs::exists(path));
    }
    QVERIFY(!fs::exists(path));
    QVERIFY(!fs::exists(partialOf(path)));
    // an exception while writing: same
    try {
        ls::H5Writer w(path);
        w.array("x", std::vector<float>{1, 2, 3});
        throw std::runtime_error("analysis failed");
    } catch (const std::runtime_error&) {
    }
    QVERIFY(!fs::exists(path));
    QVERIFY(!fs::exists(partialOf(path)));

    // committed: replaces what was there, leaves no partial file
    writeBytes(path, "not HDF5 at all\n");
    for (int64_t version : {1, 2}) {
        ls::H5Writer w(path);
        w.attribute("", "version", version);
        w.commit();
        QVERIFY(!fs::exists(partialOf(path)));
        QCOMPARE(ls::H5Reader(path).integerAttribute("", "version"), version);
    }
    // an uncommitted writer leaves the committed file alone
    {
        ls::H5Writer w(path);
        w.attribute("", "version", int64_t(3));
    }
    QCOMPARE(ls::H5Reader(path).integerAttribute("", "version"), int64_t(2));
    QVERIFY(!fs::exists(partialOf(path)));

    // nothing after commit
    ls::H5Writer w(path);
    w.commit();
    const QString p = QString::fromStdString(path.string());
    QCOMPARE(errorOf([&] { w.commit(); }), p + ": the file was already committed; nothing more can be written");
    QCOMPARE(errorOf([&] { w.array("y", std::vector<double>{1}); }),
             p + ": the file was already committed; nothing more can be written");
    QCOMPARE(errorOf([&] { w.attribute("", "k", 1.0); }), p + ": the file was already committed; nothing more can be written");
    QVERIFY(fs::exists(path));
    QCOMPARE(ls::H5Reader(path).children(""), std::vector<std::string>{});

    // a writer that cannot create its file says so
    writeBytes(file("plainfile"), "x");
    QVERIFY(errorOf([&] { ls::H5Writer bad(file("plainfile/run.h5")); }).startsWith(
        QString::fromStdString(file("plainfile/run.h5").string()) + ": cannot create"));
}

// ---------------------------------------------------------------------------------------

void TestIo::readerErrors_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("bytes");  // file contents; "<missing>" or "<folder>"
    QTest::addColumn<QString>("error");
    QTest::newRow("missing") << "missing.h5" << QByteArray("<missing>") << "does not exist";
    QTest::newRow("folder") << "folder.h5" << QByteArray("<folder>") << "is a folder, not an HDF5 file";
    QTest::newRow("empty") << "empty.h5" << QByteArray() << "is empty, not an HDF5 file";
    QTest::newRow("text") << "text.h5" << QByteArray("step,loss\n1,0.5\n") << "is not an HDF5 file";
    QTest::newRow("signature only") << "signature.h5" << QByteArray("\x89HDF\r\n\x1a\n", 8)
                                    << "cannot open: the file is truncated or damaged";
    QTest::newRow("half a signature") << "halfsig.h5" << QByteArray("\x89HDF", 4) << "is not an HDF5 file";
    QByteArray junk(8192, '\0');
    for (int i = 0; i < junk.size(); ++i) junk[i] = char((i * 2654435761u) >> 13);
    QTest::newRow("binary junk") << "junk.h5" << junk << "is not an HDF5 file";
}

void TestIo::readerErrors() {
    QFETCH(QString, name);
    QFETCH(QByteArray, bytes);
    QFETCH(QString, error);
    const fs::path path = file("errors/" + name);
    fs::create_directories(path.parent_path());
    if (bytes == "<folder>")
        fs::create_directories(path);
    else if (bytes != "<missing>")
        writeBytes(path, bytes.toStdString());
    const QString message = errorOf([&] { ls::H5Reader r(path); });
    QVERIFY2(message.startsWith(QString::fromStdString(path.string()) + ": " + error), qPrintable(message));
}

void TestIo::truncated_data() {
    QTest::addColumn<double>("fraction");  // of the file kept; > 1: that many bytes
    for (double bytes : {9.0, 48.0, 96.0, 100.0, 512.0, 800.0, 2048.0, 4096.0})
        QTest::newRow(qPrintable(QString("%1 bytes").arg(bytes))) << bytes;
    for (double f : {0.01, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.99, 0.9999})
        QTest::newRow(qPrintable(QString("%1 of the file").arg(f))) << f;
    QTest::newRow("all but one byte") << -1.0;
}

void TestIo::truncated() {
    QFETCH(double, fraction);
    const std::string bytes = readBytes(rich_);
    const size_t keep = fraction < 0 ? bytes.size() - 1 : fraction > 1 ? size_t(fraction) : size_t(bytes.size() * fraction);
    QVERIFY(keep < bytes.size());
    const fs::path cut = file("cut.h5");
    writeBytes(cut, bytes.substr(0, keep));
    const QString message = errorOf([&] { readRichFile(cut); });
    QVERIFY2(message.startsWith(QString::fromStdString(cut.string()) + ": "), qPrintable(message));
    QVERIFY2(message.contains("is truncated: it has " + QString::number(keep) + " bytes"), qPrintable(message));
    // and the whole file still reads
    readRichFile(rich_);
}

void TestIo::sealCatchesDamage() {
    // H5Writer seals what it writes (size + CRC-32 in HDF5's user block): a flipped bit
    // anywhere, an appended byte or a header edited by hand is refused before libhdf5 sees it.
    const std::string bytes = readBytes(rich_);
    QCOMPARE(bytes.substr(0, 16), std::string("LayerScope HDF5\n"));
    const fs::path bad = file("damaged.h5");
    for (size_t at : {size_t(600), bytes.size() / 3, bytes.size() / 2, bytes.size() - 1}) {
        std::string flipped = bytes;
        flipped[at] = char(flipped[at] ^ 0x10);
        writeBytes(bad, flipped);
        const QString message = errorOf([&] { ls::H5Reader r(bad); });
        QVERIFY2(message.contains("is damaged: its checksum is"), qPrintable(message));
    }
    writeBytes(bad, bytes + "x");
    QVERIFY(errorOf([&] { ls::H5Reader r(bad); }).contains("is damaged: it has " + QString::number(bytes.size() + 1)));
    std::string edited = bytes;
    edited.replace(edited.find("format 1"), 8, "format 9");
    writeBytes(bad, edited);
    QVERIFY(errorOf([&] { ls::H5Reader r(bad); }).contains("was written by a newer LayerScope (file header format 9"));
    edited = bytes;
    edited.replace(edited.find("crc32 "), 6, "crc33 ");
    writeBytes(bad, edited);
    QVERIFY(errorOf([&] { ls::H5Reader r(bad); }).contains("is damaged: its LayerScope header is unreadable"));
    // An HDF5 file of another program opens when the seal is optional, never when required.
    const fs::path foreign = file("foreign.h5");
    const auto p = runPython("import sys, h5py\nwith h5py.File(sys.argv[1], 'w') as f: f['x'] = [1, 2, 3]\n",
                             {QString::fromStdString(foreign.string())});
    QVERIFY2(p.ok, qPrintable(p.error));
    {
        ls::H5Reader r(foreign);
        QVERIFY(r.has("x"));
    }
    QVERIFY(errorOf([&] { ls::H5Reader r(foreign, ls::H5Reader::Seal::Required); })
                .contains("is an HDF5 file but not a LayerScope run file"));
}

void TestIo::missingObjects() {
    const fs::path path = file("run.h5");
    {
        ls::H5Writer w(path);
        w.array("cossim/layers", std::vector<double>{1});
        w.table("tables/t", tableAllKinds());
        w.attribute("plain/group", "k", 1.0);
        w.commit();
    }
    const QString p = QString::fromStdString(path.string());
    ls::H5Reader r(path);
    QCOMPARE(errorOf([&] { r.doubles("cossim/values"); }), p + ": dataset 'cossim/values' is missing");
    QCOMPARE(errorOf([&] { r.floats("nothing/here"); }), p + ": dataset 'nothing/here' is missing");
    QCOMPARE(errorOf([&] { r.ints32("cossim/layers/deeper"); }), p + ": dataset 'cossim/layers/deeper' is missing");
    QCOMPARE(errorOf([&] { r.ints64("cossim"); }), p + ": 'cossim' is a group, not a dataset");
    QCOMPARE(errorOf([&] { r.floats("tables/t/text"); }), p + ": dataset 'tables/t/text' holds a string, not numbers");
    QCOMPARE(errorOf([&] { r.table("tables/nope"); }), p + ": table 'tables/nope' is missing");
    QCOMPARE(errorOf([&] { r.table("plain/group"); }), p + ": group 'plain/group' is not a table: it has no 'columns' attribute");
    QCOMPARE(errorOf([&] { r.table("cossim/layers"); }), p + ": 'cossim/layers' is a dataset, not a table");
    QCOMPARE(errorOf([&] { r.table(""); }), p + ": the root group is not a table");
    QCOMPARE(errorOf([&] { r.stringAttribute("tables/t", "nope"); }), p + ": attribute 'nope' of 'tables/t' is missing");
}

// ---------------------------------------------------------------------------------------

void TestIo::h5pyReadsOurFile() {
    const fs::path path = file("for_h5py.h5");
    std::vector<float> big(300 * 300);
    for (size_t i = 0; i < big.size(); ++i) big[i] = float(i) * 0.5f;
    {
        ls::H5Writer w(path);
        w.array("arrays/f32", std::vector<float>{0.5f, -1.25f, float(kNaN), float(kInf), 3e-39f, 1e30f}, {2, 3}, "nats");
        w.array("arrays/f64", std::vector<double>{0.1, -0.0, 1e300, kNaN, -kInf});
        w.array("arrays/i32", std::vector<int32_t>{std::numeric_limits<int32_t>::min(), -1, 0, std::numeric_limits<int32_t>::max()}, {2, 2});
        w.array("arrays/i64", std::vector<int64_t>{std::numeric_limits<int64_t>::min(), (int64_t(1) << 53) + 1, std::numeric_limits<int64_t>::max()});
        w.array("arrays/empty", std::vector<float>{});
        w.array("arrays/empty2d", std::vector<double>{}, {0, 4});
        w.array("arrays/big", big, {300, 300});
        w.attribute("", "name", std::string("Grüße, world ∑"));
        w.attribute("", "version", int64_t(3));
        w.attribute("", "lr", 0.001);
        w.attribute("meta/run", "note", std::string());
        w.attribute("meta/run", "big", std::numeric_limits<int64_t>::max());
        ls::Table mixed{"mixed", "Mixed, with commas", {}};
        mixed.add("step", ls::Column::Kind::Integer).numbers = {1, 2, 9007199254740992.0};
        mixed.add("loss", ls::Column::Kind::Real).numbers = {0.5, kNaN, -kInf};
        mixed.add("text", ls::Column::Kind::Text).texts = {"a,b", "Grüße 😀", ""};
        w.table("tables/mixed", mixed);
        ls::Table empty{"empty", "", {}};
        empty.add("n", ls::Column::Kind::Integer);
        empty.add("s", ls::Column::Kind::Text);
        w.table("tables/empty", empty);
        w.commit();
    }
    const PythonRun run = runPython(kReadBackScript, {QString::fromStdString(path.string())});
    QVERIFY2(run.ok, qPrintable(run.error));
    const QJsonObject out = QJsonDocument::fromJson(run.out).object();
    QVERIFY2(!out.isEmpty(), run.out.constData());
    const QJsonObject arrays = out["arrays"].toObject();

    auto numbers = [](const QJsonValue& v) {
        std::vector<double> x;
        for (const QJsonValue& e : v.toArray()) x.push_back(jsonNumber(e));
        return x;
    };
    auto strings = [](const QJsonValue& v) {
        QStringList x;
        for (const QJsonValue& e : v.toArray()) x << e.toString();
        return x;
    };
    auto shape = [](const QJsonValue& v) {
        QList<int> x;
        for (const QJsonValue& e : v.toArray()) x << e.toInt();
        return x;
    };

    const QJsonObject f32 = arrays["f32"].toObject();
    QCOMPARE(f32["dtype"].toString(), QString("<f4"));
    QCOMPARE(shape(f32["shape"]), (QList<int>{2, 3}));
    QCOMPARE(firstDifference(numbers(f32["values"]), std::vector<double>{0.5, -1.25, kNaN, kInf, double(3e-39f), double(1e30f)}), QString());
    QVERIFY(f32["chunks"].isNull());
    QCOMPARE(f32["attrs"].toObject()["units"].toArray(), (QJsonArray{"str", "nats"}));

    const QJsonObject f64 = arrays["f64"].toObject();
    QCOMPARE(f64["dtype"].toString(), QString("<f8"));
    QCOMPARE(firstDifference(numbers(f64["values"]), std::vector<double>{0.1, -0.0, 1e300, kNaN, -kInf}), QString());
    QCOMPARE(arrays["i32"].toObject()["dtype"].toString(), QString("<i4"));
    QCOMPARE(shape(arrays["i32"].toObject()["shape"]), (QList<int>{2, 2}));
    QCOMPARE(strings(arrays["i32"].toObject()["values"]), (QStringList{"-2147483648", "-1", "0", "2147483647"}));
    QCOMPARE(arrays["i64"].toObject()["dtype"].toString(), QString("<i8"));
    QCOMPARE(strings(arrays["i64"].toObject()["values"]),
             (QStringList{"-9223372036854775808", "9007199254740993", "9223372036854775807"}));
    QCOMPARE(shape(arrays["empty"].toObject()["shape"]), QList<int>{0});
    QCOMPARE(arrays["empty"].toObject()["dtype"].toString(), QString("<f4"));
    QCOMPARE(shape(arrays["empty2d"].toObject()["shape"]), (QList<int>{0, 4}));
    const QJsonObject bigOut = arrays["big"].toObject();
    QCOMPARE(shape(bigOut["shape"]), (QList<int>{300, 300}));
    QVERIFY(bigOut["chunks"].isArray());
    QCOMPARE(bigOut["compression"].toString(), QString("gzip"));
    QCOMPARE(bigOut["shuffle"].toBool(), true);
    const std::vector<double> bigValues = numbers(bigOut["values"]);
    QCOMPARE(bigValues.size(), big.size());
    for (size_t i = 0; i < big.size(); ++i)
        if (bigValues[i] != double(big[i])) QFAIL(qPrintable(QString("big[%1] = %2").arg(i).arg(bigValues[i])));

    const QJsonObject root = out["root"].toObject();
    QCOMPARE(root["name"].toArray(), (QJsonArray{"str", "Grüße, world ∑"}));
    QCOMPARE(root["version"].toArray(), (QJsonArray{"int64", "3"}));
    const QJsonArray lr = root["lr"].toArray();
    QCOMPARE(lr.size(), 2);
    QCOMPARE(lr[0].toString(), QString("float64"));
    QCOMPARE_NEAR(lr[1].toDouble(), 0.001, 0, 0);  // read back bit for bit: one writer, one reader
    const QJsonObject meta = out["meta"].toObject();
    QCOMPARE(meta["note"].toArray(), (QJsonArray{"str", ""}));
    QCOMPARE(meta["big"].toArray(), (QJsonArray{"int64", "9223372036854775807"}));

    const QJsonObject mixedOut = out["tables"].toObject()["mixed"].toObject();
    QCOMPARE(mixedOut["title"].toArray(), (QJsonArray{"str", "Mixed, with commas"}));
    QCOMPARE(mixedOut["columns"].toArray(), (QJsonArray{"str", "step,loss,text"}));
    QCOMPARE(mixedOut["dtypes"].toObject(), (QJsonObject{{"step", "<i8"}, {"loss", "<f8"}, {"text", "|O"}}));
    QCOMPARE(mixedOut["encodings"].toObject(), (QJsonObject{{"step", QJsonValue()}, {"loss", QJsonValue()}, {"text", "utf-8"}}));
    const QJsonObject data = mixedOut["data"].toObject();
    QCOMPARE(strings(data["step"]), (QStringList{"1", "2", "9007199254740992"}));
    QCOMPARE(firstDifference(numbers(data["loss"]), std::vector<double>{0.5, kNaN, -kInf}), QString());
    QCOMPARE(strings(data["text"]), (QStringList{"a,b", "Grüße 😀", ""}));
    const QJsonObject emptyOut = out["tables"].toObject()["empty"].toObject();
    QCOMPARE(emptyOut["columns"].toArray(), (QJsonArray{"str", "n,s"}));
    QCOMPARE(emptyOut["data"].toObject(), (QJsonObject{{"n", QJsonArray()}, {"s", QJsonArray()}}));
}

void TestIo::weReadH5pyFile() {
    const fs::path path = file("from_h5py.h5");
    const PythonRun run = runPython(kWriteScript, {QString::fromStdString(path.string())});
    QVERIFY2(run.ok, qPrintable(run.error));
    const QString p = QString::fromStdString(path.string());
    ls::H5Reader r(path);
    QCOMPARE(r.ints32("u8"), (std::vector<int32_t>{1, 2, 255}));
    QCOMPARE(firstDifference(r.doubles("be"), std::vector<double>{1.5, -2.0, 1e300}), QString());  // bit for bit
    std::vector<int64_t> shape;
    QCOMPARE(r.ints64("i16", &shape), (std::vector<int64_t>{-3, 4, 5, 6, -7, 8}));
    QCOMPARE(shape, (std::vector<int64_t>{2, 3}));
    QCOMPARE(firstDifference(r.doubles("scalar", &shape), std::vector<double>{3.25}), QString());
    QCOMPARE(shape, std::vector<int64_t>{});
    const std::vector<float> gzip = r.floats("gzip");
    QCOMPARE(gzip.size(), size_t(100000));
    for (size_t i = 0; i < gzip.size(); ++i)
        if (gzip[i] != float(i) * 0.5f) QFAIL(qPrintable(QString("gzip[%1] = %2").arg(i).arg(gzip[i])));
    QCOMPARE(errorOf([&] { r.floats("strings"); }), p + ": dataset 'strings' holds a string, not numbers");
    const QString lzf = errorOf([&] { r.floats("lzf"); });  // unless an HDF5 plugin provides LZF
    if (!lzf.isEmpty())
        QVERIFY2(lzf.startsWith(p + ": cannot read dataset 'lzf': it is compressed with filter 32000"), qPrintable(lzf));
    else
        QCOMPARE(r.floats("lzf").size(), size_t(10));
    const QString huge = errorOf([&] { r.floats("huge"); });
    QVERIFY2(huge.startsWith(p + ": dataset 'huge' claims [2097152, 2097152] elements, an absurd size"), qPrintable(huge));
    const QString tib = errorOf([&] { r.floats("tib"); });
    QVERIFY2(tib.startsWith(p + ": dataset 'tib' needs 1024.0 GiB but this machine has"), qPrintable(tib));
    QVERIFY2(tib.endsWith("of memory"), qPrintable(tib));

    QCOMPARE(r.stringAttribute("", "fixed"), std::string("fixed text"));
    QCOMPARE(r.stringAttribute("", "fixed_utf8"), std::string("Grüße"));
    QCOMPARE(r.stringAttribute("", "vlen"), std::string("ß, ∑"));
    QCOMPARE(r.integerAttribute("", "i32"), int64_t(7));
    QCOMPARE_NEAR(r.realAttribute("", "i32"), 7.0, 0, 0);  // an integer read as a real: exact
    QCOMPARE(r.integerAttribute("", "u64"), int64_t(1) << 62);
    QCOMPARE(r.integerAttribute("", "f"), int64_t(2));
    QCOMPARE(errorOf([&] { r.integerAttribute("", "half"); }), p + ": attribute 'half' of '/' is 2.5, not an integer");
    QCOMPARE(errorOf([&] { r.realAttribute("", "array"); }), p + ": attribute 'array' of '/' holds 3 values, not one");

    ls::Table expected{"tbl", "From h5py", {}};
    expected.add("n", ls::Column::Kind::Integer).numbers = {1, 2};
    expected.add("x", ls::Column::Kind::Real).numbers = {0.5, kNaN};
    expected.add("s", ls::Column::Kind::Text).texts = {"ab", "cde"};
    expected.add("u", ls::Column::Kind::Text).texts = {"é", "x,y"};
    const QString d = differenceOf(r.table("tbl"), expected);
    QVERIFY2(d.isEmpty(), qPrintable(d));
    QCOMPARE(errorOf([&] { r.table("notable"); }), p + ": group 'notable' is not a table: it has no 'columns' attribute");
    QCOMPARE(r.children(""), (std::vector<std::string>{"be", "gzip", "huge", "i16", "lzf", "notable", "scalar", "strings", "tbl", "tib", "u8"}));
}

// ---------------------------------------------------------------------------------------

void TestIo::tableCell_data() {
    QTest::addColumn<int>("kind");  // 0 Integer, 1 Real
    QTest::addColumn<double>("value");
    QTest::addColumn<bool>("full");
    QTest::addColumn<QString>("text");
    QTest::newRow("integer") << 0 << 3.0 << false << "3";
    QTest::newRow("negative integer") << 0 << -5.0 << false << "-5";
    QTest::newRow("integer 2^53") << 0 << 9007199254740992.0 << true << "9007199254740992";
    QTest::newRow("integer NaN") << 0 << kNaN << false << "nan";
    QTest::newRow("real 0.1") << 1 << 0.1 << false << "0.1";
    QTest::newRow("real 0.1 full") << 1 << 0.1 << true << "0.10000000000000001";
    QTest::newRow("real 1/3") << 1 << 1.0 / 3.0 << false << "0.333333333";
    QTest::newRow("real 1/3 full") << 1 << 1.0 / 3.0 << true << "0.33333333333333331";
    QTest::newRow("real whole") << 1 << 2.0 << false << "2";
    QTest::newRow("real large") << 1 << 123456789012.0 << false << "1.23456789e+11";
    QTest::newRow("real small") << 1 << 1e-10 << false << "1e-10";
    QTest::newRow("real NaN") << 1 << kNaN << false << "nan";
    QTest::newRow("real NaN full") << 1 << kNaN << true << "nan";
    QTest::newRow("real inf") << 1 << kInf << false << "inf";
    QTest::newRow("real -inf") << 1 << -kInf << true << "-inf";
}

void TestIo::tableCell() {
    QFETCH(int, kind);
    QFETCH(double, value);
    QFETCH(bool, full);
    QFETCH(QString, text);
    ls::Table t{"t", "", {}};
    t.add("s", ls::Column::Kind::Text).texts = {"hello, world"};
    t.add("x", kind == 0 ? ls::Column::Kind::Integer : ls::Column::Kind::Real).numbers = {value};
    QCOMPARE(QString::fromStdString(t.cell(1, 0, full)), text);
    QCOMPARE(t.cell(0, 0, full), std::string("hello, world"));
    QCOMPARE(t.rows(), size_t(1));
}

namespace {
ls::Table csvTable() {
    ls::Table t{"results", "Results", {}};
    t.add("n", ls::Column::Kind::Integer).numbers = {1, -2, 3};
    t.add("x,y", ls::Column::Kind::Real).numbers = {0.1, kNaN, 1.0 / 3.0};
    t.add("s", ls::Column::Kind::Text).texts = {"plain", "a,\"b\"", "l1\nl2"};
    return t;
}
}  // namespace

void TestIo::tableCsv() {
    QCOMPARE(ls::toCsv(csvTable()), std::string("n,\"x,y\",s\n"
                                                 "1,0.10000000000000001,plain\n"
                                                 "-2,nan,\"a,\"\"b\"\"\"\n"
                                                 "3,0.33333333333333331,\"l1\nl2\"\n"));
    QCOMPARE(ls::toCsv(ls::Table{"e", "", {}}), std::string("\n"));
    // full precision: every real parses back to the same double
    ls::Table t{"p", "", {}};
    t.add("x", ls::Column::Kind::Real).numbers = {0.1 + 0.2, 1e-300, 123456789.123456789, -2.5e-7};
    const QStringList lines = QString::fromStdString(ls::toCsv(t)).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 5);
    for (int i = 0; i < 4; ++i) QCOMPARE_NEAR(lines[i + 1].toDouble(), t.columns[0].numbers[size_t(i)], 0, 0);  // bit for bit
}

void TestIo::tableText() {
    ls::Table t{"t", "T", {}};
    t.add("n", ls::Column::Kind::Integer).numbers = {1, 100};
    t.add("value", ls::Column::Kind::Real).numbers = {0.5, kNaN};
    t.add("label", ls::Column::Kind::Text).texts = {"a", "long text"};
    QCOMPARE(ls::toText(t), std::string("T (t)\n"
                                        "  n  value  label    \n"
                                        "  1    0.5  a        \n"
                                        "100    nan  long text\n"));
    t.title.clear();
    QVERIFY(ls::toText(t).rfind("t\n", 0) == 0);  // the name when there is no title
}

void TestIo::tableWriteCsv() {
    const fs::path dir = file("csv/new/folder");
    QVERIFY(!fs::exists(dir));
    const ls::Table t = csvTable();
    const fs::path written = ls::writeCsv(t, dir);
    QCOMPARE(written, dir / "results.csv");
    QCOMPARE(readBytes(written), ls::toCsv(t));
    QCOMPARE(QDir(QString::fromStdString(dir.string())).entryList(QDir::Files), QStringList{"results.csv"});  // no .partial
    // writing again replaces
    ls::Table t2 = t;
    t2.columns[0].numbers = {7, 8, 9};
    ls::writeCsv(t2, dir);
    QCOMPARE(readBytes(written), ls::toCsv(t2));
    QCOMPARE(QDir(QString::fromStdString(dir.string())).entryList(QDir::Files), QStringList{"results.csv"});
    // a folder that cannot be created
    writeBytes(file("csv/afile"), "x");
    QVERIFY(errorOf([&] { ls::writeCsv(t, file("csv/afile/sub")); }).contains("cannot create the CSV folder"));
}

void TestIo::tableColumnLookup() {
    const ls::Table t = csvTable();
    QCOMPARE(t.column("s").texts.size(), size_t(3));
    QCOMPARE(t.column("x,y").kind, ls::Column::Kind::Real);
    QVERIFY(t.has("n"));
    QVERIFY(!t.has("N"));
    QCOMPARE(errorOf([&] { t.column("missing"); }), QString("table 'results' has no column 'missing'"));
    const std::vector<ls::Table> tables = {csvTable(), ls::Table{"other", "", {}}};
    QCOMPARE(ls::findTable(tables, "other"), &tables[1]);
    QCOMPARE(ls::findTable(tables, "results"), &tables[0]);
    QVERIFY(ls::findTable(tables, "nope") == nullptr);
    QCOMPARE(ls::Table{}.rows(), size_t(0));
}

QTEST_GUILESS_MAIN(TestIo)
#include "test_io.moc"
