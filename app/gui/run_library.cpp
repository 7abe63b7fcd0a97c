#include "run_library.h"

#include <QDateTime>
#include <QDesktopServices>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QTableWidget>
#include <QUrl>
#include <QVBoxLayout>
#include <QtConcurrent>
#include <algorithm>
#include <exception>

#include "file_paths.h"
#include "io/run_file.h"
#include "kit/format.h"
#include "kit/tables.h"

namespace {

const QString kFolderKey = QStringLiteral("library/folder");

// One run file, as the library lists it (on a worker thread).
RunListing listing(const QFileInfo& file) {
    RunListing r;
    const QString path = file.absoluteFilePath();
    r.path = path;
    r.modified = file.lastModified();
    r.bytes = file.size();
    try {
        const ls::LayerRun run = ls::readRunFile(toPath(path));
        r.readable = true;
        r.model = QString::fromStdString(run.info.modelSummary);
        r.data = QFileInfo(QString::fromStdString(run.info.datasetPath)).fileName();
        QStringList analyses;
        for (const std::string& a : run.params.analyses) analyses << QString::fromStdString(a);
        r.analyses = analyses.join(QStringLiteral(", "));
        r.tokens = run.scoredTokens();
        const QDateTime started = QDateTime::fromString(QString::fromStdString(run.info.startedAt), Qt::ISODate);
        const QDateTime finished = QDateTime::fromString(QString::fromStdString(run.info.finishedAt), Qt::ISODate);
        r.started = started.isValid() ? started.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"))
                                      : QString::fromStdString(run.info.startedAt);
        if (started.isValid() && finished.isValid()) r.seconds = started.secsTo(finished);
        r.status = run.info.complete ? QObject::tr("complete") : QObject::tr("partial");
    } catch (const std::exception& e) {
        r.status = QObject::tr("unreadable: %1").arg(QString::fromStdString(e.what()));
    }
    return r;
}

// The folder's run files, newest first; those in known and unchanged since are not read again.
QList<RunListing> scan(const QString& folder, const QList<RunListing>& known) {
    QList<RunListing> out;
    const QFileInfoList files =
        QDir(folder).entryInfoList({QStringLiteral("*.h5"), QStringLiteral("*.hdf5")}, QDir::Files, QDir::Time);
    for (const QFileInfo& file : files) {
        const auto same = std::find_if(known.begin(), known.end(), [&](const RunListing& r) {
            return r.path == file.absoluteFilePath() && r.modified == file.lastModified() && r.bytes == file.size();
        });
        out << (same != known.end() ? *same : listing(file));
    }
    return out;
}

}  // namespace

RunLibrary::RunLibrary(QWidget* parent) : QWidget(parent) {
    folderLabel_ = ls::widgets::makeNote(this);
    auto* choose = new QPushButton(tr("Folder…"), this);
    auto* reveal = new QPushButton(tr("Reveal"), this);
    reveal->setToolTip(tr("Show the folder in the file manager"));
    table_ = ls::widgets::makeTable(this, {tr("File"), tr("Model"), tr("Data"), tr("Analyses"), tr("Tokens"),
                                           tr("Started"), tr("Duration"), tr("Status")});
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    open_ = new QPushButton(tr("Open"), this);
    compare_ = new QPushButton(tr("Compare"), this);
    compare_->setToolTip(tr("Compare the selected runs (two or more)"));
    delete_ = new QPushButton(tr("Delete…"), this);
    delete_->setToolTip(tr("Move the selected run files to the trash"));

    auto* top = new QHBoxLayout;
    top->addWidget(folderLabel_, 1);
    top->addWidget(choose);
    top->addWidget(reveal);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(open_);
    buttons->addWidget(compare_);
    buttons->addStretch(1);
    buttons->addWidget(delete_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    layout->addWidget(table_, 1);
    layout->addLayout(buttons);

    connect(choose, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Run Library Folder"), folder_);
        if (!dir.isEmpty()) setFolder(dir);
    });
    connect(reveal, &QPushButton::clicked, this, [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(folder_)); });
    connect(open_, &QPushButton::clicked, this, [this] {
        if (const QStringList paths = selectedPaths(); !paths.isEmpty()) emit openRequested(paths.front());
    });
    connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
        if (row >= 0 && row < runs_.size() && runs_[row].readable) emit openRequested(runs_[row].path);
    });
    connect(compare_, &QPushButton::clicked, this, [this] {
        if (const QStringList paths = selectedPaths(); paths.size() >= 2) emit compareRequested(paths);
    });
    connect(delete_, &QPushButton::clicked, this, &RunLibrary::deleteSelected);
    connect(table_, &QTableWidget::itemSelectionChanged, this, [this] {
        const int n = int(selectedPaths().size());
        open_->setEnabled(n == 1);
        compare_->setEnabled(n >= 2);
        delete_->setEnabled(n >= 1);
    });
    connect(&watcher_, &QFutureWatcher<QList<RunListing>>::finished, this, [this] {
        runs_ = watcher_.result();
        if (rescanPending_) {  // the folder or its files changed meanwhile
            rescanPending_ = false;
            rescan();
            return;
        }
        showRuns();
        emit scanned();
    });
    const QString kept = QSettings().value(kFolderKey).toString();
    folder_ = !kept.isEmpty() && QDir(kept).exists() ? kept : QDir::currentPath();
    showRuns();
}

void RunLibrary::setFolder(const QString& folder) {
    folder_ = folder;
    QSettings().setValue(kFolderKey, folder);
    rescan();
}

void RunLibrary::rescan() {
    if (watcher_.isRunning()) {  // the GUI does not wait for it: the next scan follows it
        rescanPending_ = true;
        return;
    }
    folderLabel_->setText(tr("<b>%1</b> · reading…").arg(QDir::toNativeSeparators(folder_).toHtmlEscaped()));
    watcher_.setFuture(QtConcurrent::run(scan, folder_, runs_));
}

QStringList RunLibrary::selectedPaths() const {
    QStringList paths;
    for (const QModelIndex& index : table_->selectionModel()->selectedRows())
        if (index.row() < runs_.size() && runs_[index.row()].readable) paths << runs_[index.row()].path;
    return paths;
}

void RunLibrary::showRuns() {
    using namespace ls::widgets;
    folderLabel_->setText(tr("<b>%1</b> · %2 run files")
                              .arg(QDir::toNativeSeparators(folder_).toHtmlEscaped())
                              .arg(runs_.size()));
    table_->setRowCount(int(runs_.size()));
    for (int row = 0; row < runs_.size(); ++row) {
        const RunListing& r = runs_[row];
        setCell(table_, row, 0, QFileInfo(r.path).fileName(), kTextAlign, r.path);
        setCell(table_, row, 1, r.model, kTextAlign);
        setCell(table_, row, 2, r.data, kTextAlign);
        setCell(table_, row, 3, r.analyses, kTextAlign, r.analyses);
        setCell(table_, row, 4, r.readable ? formatCount(r.tokens) : QString());
        setCell(table_, row, 5, r.started, kTextAlign);
        setCell(table_, row, 6, r.seconds >= 0 ? formatDuration(r.seconds) : QString());
        setCell(table_, row, 7, r.status, kTextAlign, r.status);
    }
    fitColumns(table_);
    open_->setEnabled(false);
    compare_->setEnabled(false);
    delete_->setEnabled(false);
}

void RunLibrary::deleteSelected() {
    const QStringList paths = selectedPaths();
    if (paths.isEmpty()) return;
    QStringList names;
    for (const QString& p : paths) names << QFileInfo(p).fileName();
    if (QMessageBox::question(this, tr("Delete Runs"), tr("Move %1 to the trash?").arg(names.join(QStringLiteral(", ")))) !=
        QMessageBox::Yes)
        return;
    QStringList failed;
    for (const QString& p : paths)
        if (!QFile::moveToTrash(p) && !QFile::remove(p)) failed << QFileInfo(p).fileName();
    if (!failed.isEmpty())
        QMessageBox::warning(this, tr("Delete Runs"), tr("Could not delete %1.").arg(failed.join(QStringLiteral(", "))));
    rescan();
}
