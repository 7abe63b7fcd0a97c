#pragma once
// What the workbench opens from a path, whichever way it came: File > Open Recent and files
// dropped on the window. A folder is a model (config.json), a .h5 / .hdf5 file a run, anything
// else a dataset. The recent list is kept between sessions (QSettings), newest first.
#include <QList>
#include <QString>
#include <QStringList>

struct OpenedFile {
    enum class Kind { Model, Dataset, Run };
    Kind kind;
    QString path;
};

// The kind of what path holds (the path need not exist).
OpenedFile::Kind kindOfPath(const QString& path);

// Dropped or recent paths in the order the workbench opens them: the model, then the
// dataset, then the runs (several runs: compared).
struct OpenPlan {
    QString model, dataset;
    QStringList runs;
};
OpenPlan planOpening(const QStringList& paths);

class RecentFiles {
public:
    static constexpr int kMaximum = 10;
    static QList<OpenedFile> list();
    static void add(OpenedFile::Kind kind, const QString& path);  // moves it to the front
    static void clear();
};
