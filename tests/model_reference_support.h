#pragma once
// Helpers shared by test_model.cpp and test_cli.cpp: running the independent Python
// reference (tests/reference/make_model.py), reading the .npy / .json it writes, and
// taking safetensors files apart / putting them back together to make broken inputs.
// Header-only, Qt only (no LibTorch), independent of the code under test.
#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QString>
#include <QStringList>
#include <QtEndian>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace reftest {

inline QString sourceDir() { return QStringLiteral(LAYERSCOPE_SOURCE_DIR); }
inline QString python() { return QStringLiteral(LAYERSCOPE_PYTHON); }
inline QString makeModelScript() { return sourceDir() + "/tests/reference/make_model.py"; }

struct ProcResult {
    bool started = false;
    bool finished = false;
    bool crashed = false;
    int exitCode = -1;
    QByteArray out, err;
    QString describe(const QString& what) const {
        return QString("%1: started=%2 finished=%3 crashed=%4 exit=%5\nstdout:\n%6\nstderr:\n%7")
            .arg(what).arg(started).arg(finished).arg(crashed).arg(exitCode)
            .arg(QString::fromUtf8(out.left(4000)), QString::fromUtf8(err.left(4000)));
    }
};

inline ProcResult runProcess(const QString& program, const QStringList& args, int timeoutMs = 180000,
                             const QString& workDir = QString()) {
    ProcResult r;
    QProcess p;
    if (!workDir.isEmpty()) p.setWorkingDirectory(workDir);
    p.start(program, args);
    r.started = p.waitForStarted(30000);
    if (!r.started) return r;
    p.closeWriteChannel();
    r.finished = p.waitForFinished(timeoutMs);
    if (!r.finished) {
        p.kill();
        p.waitForFinished(5000);
    }
    r.crashed = p.exitStatus() == QProcess::CrashExit;
    r.exitCode = p.exitCode();
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

// Runs make_model.py --out dir <args>; returns an empty string on success, else the reason.
inline QString makeModel(const QString& dir, const QStringList& args) {
    QStringList full{makeModelScript(), "--out", dir};
    full += args;
    ProcResult r = runProcess(python(), full, 300000);
    if (!r.started || !r.finished || r.crashed || r.exitCode != 0)
        return r.describe("make_model.py " + args.join(' '));
    return {};
}

inline QJsonObject readJsonObject(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

inline bool writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    return f.write(bytes) == bytes.size();
}

inline QByteArray readFile(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

inline bool copyDir(const QString& from, const QString& to) {
    QDir().mkpath(to);
    const auto entries = QDir(from).entryInfoList(QDir::Files);
    for (const QFileInfo& fi : entries)
        if (!QFile::copy(fi.absoluteFilePath(), to + "/" + fi.fileName())) return false;
    return true;
}

// ---------------------------------------------------------------------------------------
// .npy (version 1/2, little-endian, C order): float32/float64/int32/int64/uint16
// ---------------------------------------------------------------------------------------
struct Npy {
    QString descr;
    std::vector<int64_t> shape;
    std::vector<double> values;  // every element converted to double
    QString error;
    int64_t numel() const {
        int64_t n = 1;
        for (auto s : shape) n *= s;
        return n;
    }
};

inline Npy readNpy(const QString& path) {
    Npy r;
    QByteArray b = readFile(path);
    if (b.size() < 10 || !b.startsWith("\x93NUMPY")) {
        r.error = path + ": not a .npy file";
        return r;
    }
    const int major = static_cast<unsigned char>(b[6]);
    int64_t hlen = 0, start = 0;
    if (major == 1) {
        hlen = qFromLittleEndian<quint16>(reinterpret_cast<const uchar*>(b.constData() + 8));
        start = 10;
    } else {
        hlen = qFromLittleEndian<quint32>(reinterpret_cast<const uchar*>(b.constData() + 8));
        start = 12;
    }
    const QString header = QString::fromLatin1(b.mid(start, hlen));
    QRegularExpression reDescr("'descr':\\s*'([^']+)'");
    QRegularExpression reFortran("'fortran_order':\\s*(True|False)");
    QRegularExpression reShape("'shape':\\s*\\(([^)]*)\\)");
    auto md = reDescr.match(header), mf = reFortran.match(header), ms = reShape.match(header);
    if (!md.hasMatch() || !mf.hasMatch() || !ms.hasMatch() || mf.captured(1) == "True") {
        r.error = path + ": unsupported .npy header " + header;
        return r;
    }
    r.descr = md.captured(1);
    for (const QString& s : ms.captured(1).split(',', Qt::SkipEmptyParts))
        if (!s.trimmed().isEmpty()) r.shape.push_back(s.trimmed().toLongLong());
    const int64_t n = r.numel();
    const char* data = b.constData() + start + hlen;
    const int64_t avail = b.size() - start - hlen;
    int esize = 0;
    if (r.descr == "<f4" || r.descr == "<i4") esize = 4;
    else if (r.descr == "<f8" || r.descr == "<i8") esize = 8;
    else if (r.descr == "<u2") esize = 2;
    else {
        r.error = path + ": unsupported dtype " + r.descr;
        return r;
    }
    if (avail < n * esize) {
        r.error = path + ": truncated";
        return r;
    }
    r.values.resize(n);
    for (int64_t i = 0; i < n; ++i) {
        const char* p = data + i * esize;
        if (r.descr == "<f4") { float v; std::memcpy(&v, p, 4); r.values[i] = v; }
        else if (r.descr == "<f8") { double v; std::memcpy(&v, p, 8); r.values[i] = v; }
        else if (r.descr == "<i4") { int32_t v; std::memcpy(&v, p, 4); r.values[i] = v; }
        else if (r.descr == "<i8") { int64_t v; std::memcpy(&v, p, 8); r.values[i] = double(v); }
        else { uint16_t v; std::memcpy(&v, p, 2); r.values[i] = v; }
    }
    return r;
}

// Writes a .npy v1 file with the given descr ('<i4', '<f4', ...), shape and raw data.
inline bool writeNpyRaw(const QString& path, const QString& descr, const QList<qint64>& shape,
                        const QByteArray& data) {
    QString shapeStr;
    for (qint64 s : shape) shapeStr += QString::number(s) + ",";
    if (shape.size() > 1) shapeStr.chop(1);
    QByteArray header = QString("{'descr': '%1', 'fortran_order': False, 'shape': (%2), }")
                            .arg(descr, shapeStr).toLatin1();
    const int total = 10 + header.size() + 1;
    header += QByteArray((64 - total % 64) % 64, ' ');
    header += '\n';
    QByteArray out("\x93NUMPY\x01\x00", 8);
    const quint16 hl = static_cast<quint16>(header.size());
    out += char(hl & 0xff);
    out += char(hl >> 8);
    out += header;
    out += data;
    return writeFile(path, out);
}

inline bool writeNpyInt32(const QString& path, const std::vector<int32_t>& v) {
    QByteArray data(reinterpret_cast<const char*>(v.data()), int(v.size() * 4));
    return writeNpyRaw(path, "<i4", {qint64(v.size())}, data);
}

// ---------------------------------------------------------------------------------------
// Comparing a float32 buffer from the runtime with a slice of a reference .npy
// ---------------------------------------------------------------------------------------
struct SliceDiff {
    bool sizeOk = false;
    double maxErr = 0;      // max |got - ref|; +inf if any difference is NaN
    double maxRef = 0;      // max |ref| over the slice
    int64_t worst = 0;      // flat index (within the slice) of maxErr
    double gotAtWorst = 0, refAtWorst = 0;
};

// got (n values) against ref.values[offset, offset + n).
inline SliceDiff compareSlice(const std::vector<float>& got, const Npy& ref, int64_t offset, int64_t n) {
    SliceDiff d;
    d.sizeOk = int64_t(got.size()) == n && offset >= 0 && offset + n <= int64_t(ref.values.size());
    if (!d.sizeOk) return d;
    const double* r = ref.values.data() + offset;
    for (int64_t i = 0; i < n; ++i) {
        d.maxRef = std::max(d.maxRef, std::abs(r[i]));
        const double e = std::abs(double(got[size_t(i)]) - r[i]);
        if (!(e <= d.maxErr)) {  // also catches NaN
            d.maxErr = std::isnan(e) ? INFINITY : e;
            d.worst = i;
        }
    }
    if (n > 0) {
        d.gotAtWorst = got[size_t(d.worst)];
        d.refAtWorst = r[d.worst];
    }
    return d;
}

// max |a[i] - b[i]| of two slices of reference data (how different two capture points are).
inline double maxAbsDiff(const double* a, const double* b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return m;
}

// ---------------------------------------------------------------------------------------
// safetensors surgery
// ---------------------------------------------------------------------------------------
struct StEntry {
    QString name;
    QString dtype;
    QJsonArray shape;
    QByteArray data;
};

struct StFile {
    QList<StEntry> entries;  // in data order
    QJsonObject metadata;
    bool ok = false;
};

inline StFile readSafetensors(const QString& path) {
    StFile f;
    QByteArray b = readFile(path);
    if (b.size() < 8) return f;
    const quint64 n = qFromLittleEndian<quint64>(reinterpret_cast<const uchar*>(b.constData()));
    if (8 + n > quint64(b.size())) return f;
    QJsonObject h = QJsonDocument::fromJson(b.mid(8, int(n))).object();
    const QByteArray data = b.mid(8 + int(n));
    QList<QPair<qint64, StEntry>> list;
    for (auto it = h.begin(); it != h.end(); ++it) {
        if (it.key() == "__metadata__") {
            f.metadata = it.value().toObject();
            continue;
        }
        QJsonObject e = it.value().toObject();
        StEntry s;
        s.name = it.key();
        s.dtype = e["dtype"].toString();
        s.shape = e["shape"].toArray();
        const qint64 b0 = e["data_offsets"].toArray()[0].toInteger();
        const qint64 b1 = e["data_offsets"].toArray()[1].toInteger();
        s.data = data.mid(int(b0), int(b1 - b0));
        list.append({b0, s});
    }
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& c) { return a.first < c.first; });
    for (auto& p : list) f.entries.append(p.second);
    f.ok = true;
    return f;
}

// Serialises entries in order. offsetOverride(name) may replace the data_offsets written
// for a tensor (the data itself is still laid out normally).
inline QByteArray headerJson(const StFile& f, const QMap<QString, QPair<qint64, qint64>>& offsetOverride = {}) {
    QJsonObject h;
    qint64 off = 0;
    for (const StEntry& e : f.entries) {
        QJsonObject o;
        o["dtype"] = e.dtype;
        o["shape"] = e.shape;
        qint64 b0 = off, b1 = off + e.data.size();
        if (offsetOverride.contains(e.name)) {
            b0 = offsetOverride[e.name].first;
            b1 = offsetOverride[e.name].second;
        }
        o["data_offsets"] = QJsonArray{b0, b1};
        h[e.name] = o;
        off += e.data.size();
    }
    if (!f.metadata.isEmpty()) h["__metadata__"] = f.metadata;
    return QJsonDocument(h).toJson(QJsonDocument::Compact);
}

inline QByteArray assembleSafetensors(QByteArray header, const QByteArray& data,
                                      qint64 headerLenOverride = -1) {
    header += QByteArray((8 - header.size() % 8) % 8, ' ');
    QByteArray out(8, '\0');
    qToLittleEndian<quint64>(quint64(headerLenOverride >= 0 ? headerLenOverride : header.size()),
                             reinterpret_cast<uchar*>(out.data()));
    return out + header + data;
}

inline QByteArray dataOf(const StFile& f) {
    QByteArray d;
    for (const StEntry& e : f.entries) d += e.data;
    return d;
}

inline bool writeSafetensors(const QString& path, const StFile& f,
                             const QMap<QString, QPair<qint64, qint64>>& offsetOverride = {}) {
    return writeFile(path, assembleSafetensors(headerJson(f, offsetOverride), dataOf(f)));
}

inline int indexOf(const StFile& f, const QString& name) {
    for (int i = 0; i < f.entries.size(); ++i)
        if (f.entries[i].name == name) return i;
    return -1;
}

// Offsets [begin, end) of a tensor as written by writeSafetensors (no override).
inline QPair<qint64, qint64> naturalOffsets(const StFile& f, const QString& name) {
    qint64 off = 0;
    for (const StEntry& e : f.entries) {
        if (e.name == name) return {off, off + e.data.size()};
        off += e.data.size();
    }
    return {-1, -1};
}

// True if text contains at least one of the words (case-insensitive).
inline bool mentionsAny(const QString& text, const QStringList& words) {
    for (const QString& w : words)
        if (text.contains(w, Qt::CaseInsensitive)) return true;
    return false;
}

}  // namespace reftest
