#include "opened_files.h"

#include <QFileInfo>
#include <QSettings>

namespace {

const QString kRecentKey = QStringLiteral("recent/files");  // "model|/path", newest first

QString kindName(OpenedFile::Kind kind) {
    switch (kind) {
        case OpenedFile::Kind::Model: return QStringLiteral("model");
        case OpenedFile::Kind::Dataset: return QStringLiteral("dataset");
        case OpenedFile::Kind::Run: return QStringLiteral("run");
    }
    return {};
}

}  // namespace

OpenedFile::Kind kindOfPath(const QString& path) {
    const QFileInfo info(path);
    if (info.isDir()) return OpenedFile::Kind::Model;
    const QString suffix = info.suffix().toLower();
    if (suffix == QStringLiteral("h5") || suffix == QStringLiteral("hdf5")) return OpenedFile::Kind::Run;
    return OpenedFile::Kind::Dataset;
}

OpenPlan planOpening(const QStringList& paths) {
    OpenPlan plan;
    for (const QString& path : paths) switch (kindOfPath(path)) {
            case OpenedFile::Kind::Model: plan.model = path; break;
            case OpenedFile::Kind::Dataset: plan.dataset = path; break;
            case OpenedFile::Kind::Run: plan.runs << path; break;
        }
    return plan;
}

QList<OpenedFile> RecentFiles::list() {
    QList<OpenedFile> out;
    for (const QString& entry : QSettings().value(kRecentKey).toStringList()) {
        const QString kind = entry.section('|', 0, 0), path = entry.section('|', 1);
        for (OpenedFile::Kind k : {OpenedFile::Kind::Model, OpenedFile::Kind::Dataset, OpenedFile::Kind::Run})
            if (kind == kindName(k) && !path.isEmpty()) out.append({k, path});
    }
    return out;
}

void RecentFiles::add(OpenedFile::Kind kind, const QString& path) {
    const QString entry = kindName(kind) + '|' + QFileInfo(path).absoluteFilePath();
    QStringList entries = QSettings().value(kRecentKey).toStringList();
    entries.removeAll(entry);
    entries.prepend(entry);
    while (entries.size() > kMaximum) entries.removeLast();
    QSettings().setValue(kRecentKey, entries);
}

void RecentFiles::clear() { QSettings().remove(kRecentKey); }
