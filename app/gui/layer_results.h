#pragma once
// The result tabs of a layer run (ls::LayerRun, fresh or read from a run file): one view per
// entry of analysisViews() (analysis_views.h), each taking its part of the run and nothing
// else. Only the tabs of analyses the run holds are in the tab widget; they follow the tabs
// already there. Also the Summary dock's "Run" section, and what views show while a run goes:
// the live reports of an analysis's pass (probe epochs, ablation snapshots) arrive from the
// worker through a queued call (WorkbenchTasks) and go to that analysis's view, its tab shown
// for the time being if the shown run has none.
#include <QList>
#include <QPair>
#include <QObject>
#include <QString>
#include <QStringList>
#include <functional>
#include <memory>

#include "model_summary_view.h"

namespace ls {
struct LayerRun;
struct LayerRunParams;
struct LiveReport;
}  // namespace ls

class QCustomPlot;
class QTabWidget;
class QWidget;

class LayerResults : public QObject {
    Q_OBJECT
public:
    // The views are created here and live in tabs (shown only while they hold a result).
    explicit LayerResults(QTabWidget* tabs, QObject* parent = nullptr);

    // Shows run (null: clears) in the views; adds the tabs of the analyses it holds, removes
    // the others, and makes the first of them current. source: the run file it came from
    // (empty for a fresh run).
    void show(std::shared_ptr<const ls::LayerRun> run, const QString& source = {});
    void clear() { show(nullptr); }
    const std::shared_ptr<const ls::LayerRun>& run() const { return run_; }
    QString source() const { return source_; }
    void setSource(const QString& source) { source_ = source; }  // after Save Run As

    // Tab names for the command line's --tab: the analysis views' names, in tab order.
    static QStringList tabNames();
    // The view of an analysis by its name ("cossim"), or null; as View (null if it is not one).
    QWidget* viewOf(const QString& name) const;
    template <class View>
    View* view(const QString& name) const {
        return qobject_cast<View*>(viewOf(name));
    }
    // The view for a tab name (also accepts the tab titles, case-insensitively), or null.
    QWidget* viewFor(const QString& name) const;
    // Makes that tab current; false if the name is unknown or the run has no such result.
    bool selectTab(const QString& name);
    // Names of the tabs now shown, in order.
    QStringList shownTabs() const;

    // The Summary dock's "Run" section: model, data, tokens, windows, status, timestamps,
    // parameters.
    ls::widgets::SummarySection summarySection() const;
    // Every chart of the tabs shown, (file stem, plot) in tab order: what Export All writes
    // with the run's tables.
    QList<QPair<QString, QCustomPlot*>> charts() const;
    // A file name for Save Run As: "<model>-<data>-run.h5".
    QString suggestedFileName() const;

    // A run goes (GUI thread). begin: it starts, with these parameters; each live report of
    // an analysis's pass goes to its view (the first one shows its tab and makes it current,
    // added for the time being if the shown run has none); end: the run is over (finished,
    // failed or canceled): the views show the shown run again and a tab added for reports
    // goes, unless a finished run was shown meanwhile.
    void beginRun(const ls::LayerRunParams& params);
    void addLiveReport(const QString& analysis, std::shared_ptr<const ls::LiveReport> report);
    void endRun();

signals:
    // A view's Export… wrote a file, or could not (the message names the file).
    void exported(const QString& path);
    void exportFailed(const QString& message);

private:
    struct Tab {
        QString name;   // "cossim"
        QString title;  // "Cos-sim"
        QWidget* view;
        std::function<bool(QWidget*, const std::shared_ptr<const ls::LayerRun>&)> show;
        std::function<void(QWidget*, const ls::LayerRunParams&)> begin;
        std::function<void(QWidget*, const std::shared_ptr<const ls::LiveReport>&)> live;
        std::function<void(QWidget*)> end;
        bool reporting = false;      // live reports came in since the run began
        bool addedForLive = false;   // its tab is shown for them (the shown run has none)
    };

    QTabWidget* tabs_;
    std::shared_ptr<const ls::LayerRun> run_;
    QString source_;
    QList<Tab> tabList_;
};
