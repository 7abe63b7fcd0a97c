#pragma once
// The run library: the run files of a folder, listed with what they are (model, data,
// analyses, tokens, date, duration, status), read in a worker (readRunFile, the same checks
// as File > Open Run: a damaged file is listed with its error); a file already listed and not
// changed since (same size and time) is not read again. Double-click or Open shows a
// run; Compare the selected runs; Reveal the folder; Delete moves the selected files to the
// trash after asking. The folder is kept between sessions.
#include <QDateTime>
#include <QFutureWatcher>
#include <QList>
#include <QString>
#include <QStringList>
#include <QWidget>

class QLabel;
class QPushButton;
class QTableWidget;

struct RunListing {
    QString path;
    QString model, data, analyses, started, status;  // status: "complete", "partial" or the error
    qint64 tokens = 0;
    double seconds = -1;  // finished - started; -1 when unknown
    bool readable = false;
    QDateTime modified;  // of the file when it was read
    qint64 bytes = 0;
};

class RunLibrary : public QWidget {
    Q_OBJECT
public:
    explicit RunLibrary(QWidget* parent = nullptr);

    QString folder() const { return folder_; }
    void setFolder(const QString& folder);  // and scans it
    void rescan();
    bool isScanning() const { return watcher_.isRunning() || rescanPending_; }
    const QList<RunListing>& runs() const { return runs_; }
    QStringList selectedPaths() const;
    QTableWidget* table() const { return table_; }

signals:
    void openRequested(const QString& path);
    void compareRequested(const QStringList& paths);
    void scanned();  // the list is up to date

private:
    void showRuns();
    void deleteSelected();

    QString folder_;
    QList<RunListing> runs_;
    QFutureWatcher<QList<RunListing>> watcher_;
    bool rescanPending_ = false;  // asked for while a scan ran: once it is done
    QLabel* folderLabel_ = nullptr;
    QTableWidget* table_ = nullptr;
    QPushButton* open_ = nullptr;
    QPushButton* compare_ = nullptr;
    QPushButton* delete_ = nullptr;
};
