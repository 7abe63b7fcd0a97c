#include "layer_results.h"

#include <QDateTime>
#include <QFileInfo>
#include <QTabWidget>

#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "analysis_views.h"
#include "export_menu.h"
#include "file_paths.h"
#include "kit/result_view.h"
#include "kit/format.h"

using ls::widgets::formatCount;

namespace {


QString fromStd(const std::string& s) { return QString::fromStdString(s); }

// ISO 8601 UTC from the run file -> local time, or the text as it is.
QString timestamp(const std::string& iso) {
    const QDateTime t = QDateTime::fromString(fromStd(iso), Qt::ISODate);
    return t.isValid() ? t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")) : fromStd(iso);
}

QString stem(const std::string& path) {
    const QFileInfo info(fromStd(path));
    return info.isDir() || info.suffix().isEmpty() ? info.fileName() : info.completeBaseName();
}

}  // namespace

LayerResults::LayerResults(QTabWidget* tabs, QObject* parent) : QObject(parent), tabs_(tabs) {
    for (const AnalysisView& entry : analysisViews()) {
        QWidget* view = entry.create(tabs_);
        view->setObjectName(entry.name + QStringLiteral("View"));
        view->hide();
        tabList_.append({entry.name, entry.title, view, entry.show, entry.begin, entry.live, entry.end});
        for (auto* button : view->findChildren<ls::widgets::ExportButton*>()) {
            connect(button, &ls::widgets::ExportButton::exported, this, &LayerResults::exported);
            connect(button, &ls::widgets::ExportButton::failed, this, &LayerResults::exportFailed);
        }
    }
}

QWidget* LayerResults::viewOf(const QString& name) const {
    for (const Tab& tab : tabList_)
        if (tab.name == name) return tab.view;
    return nullptr;
}

QStringList LayerResults::tabNames() {
    QStringList names;
    for (const AnalysisView& entry : analysisViews()) names << entry.name;
    return names;
}

void LayerResults::show(std::shared_ptr<const ls::LayerRun> run, const QString& source) {
    run_ = std::move(run);
    source_ = run_ ? source : QString();
    // Each view takes its part of the run (sharing it: no copies of the results).
    std::vector<bool> present;
    for (Tab& tab : tabList_) {
        present.push_back(tab.show(tab.view, run_));
        tab.addedForLive = false;  // the run's tabs from now on
    }

    // Ours go after the tabs that are not (preview, loss), in analysis order.
    for (const Tab& tab : tabList_) {
        const int index = tabs_->indexOf(tab.view);
        if (index >= 0)
            tabs_->removeTab(index);
        tab.view->hide();
    }
    QWidget* first = nullptr;
    for (int i = 0; i < tabList_.size(); ++i) {
        if (!present[static_cast<size_t>(i)])
            continue;
        const Tab& tab = tabList_[i];
        const int index = tabs_->addTab(tab.view, tab.title);
        if (const ls::AnalysisSpec* info = ls::findAnalysis(tab.name.toStdString()))
            tabs_->setTabToolTip(index, QString::fromStdString(info->description));
        if (!first)
            first = tab.view;
    }
    if (first)
        tabs_->setCurrentWidget(first);
}

QWidget* LayerResults::viewFor(const QString& name) const {
    for (const Tab& tab : tabList_)
        if (name.compare(tab.name, Qt::CaseInsensitive) == 0 || name.compare(tab.title, Qt::CaseInsensitive) == 0)
            return tab.view;
    return nullptr;
}

bool LayerResults::selectTab(const QString& name) {
    QWidget* view = viewFor(name);
    if (!view || tabs_->indexOf(view) < 0)
        return false;
    tabs_->setCurrentWidget(view);
    return true;
}

QStringList LayerResults::shownTabs() const {
    QStringList names;
    for (const Tab& tab : tabList_)
        if (tabs_->indexOf(tab.view) >= 0)
            names << tab.name;
    return names;
}

ls::widgets::SummarySection LayerResults::summarySection() const {
    ls::widgets::SummarySection section{tr("Run"), {}};
    if (!run_)
        return section;
    const ls::LayerRun& r = *run_;
    const ls::LayerRunParams& p = r.params;
    auto row = [&](const QString& key, const QString& value) { section.rows.append({key, value}); };

    row(tr("Source"), source_.isEmpty() ? tr("this session (not saved)") : source_);
    row(tr("Model"), fromStd(r.info.modelSummary));
    row(tr("Model folder"), fromStd(r.info.modelPath));
    const bool windows = !p.wants("generate");  // generation continues prompts: no windows
    row(windows ? tr("Data") : tr("Prompts"),
        r.info.datasetPath.empty() ? tr("typed in") : tr("%1 (%2)").arg(fromStd(r.info.datasetPath), fromStd(r.info.datasetFormat)));
    if (windows) {
        row(tr("Tokens"), tr("%1 scored").arg(formatCount(r.scoredTokens())));
        row(tr("Windows"), formatCount(r.windowCount()));
        row(tr("Seq len / stride"),
            tr("%1 / %2").arg(p.windows.seqLen).arg(p.windows.stride > 0 ? p.windows.stride : p.windows.seqLen));
        row(tr("Documents"), p.windows.respectDocuments ? tr("respected") : tr("packed"));
    }
    row(tr("Status"), r.info.complete ? tr("complete") : tr("partial"));
    row(tr("Started"), timestamp(r.info.startedAt));
    row(tr("Finished"), timestamp(r.info.finishedAt));
    if (r.capture.tokens() > 0)  // head scans alone run no capture pass
        row(tr("Capture time"), tr("%1 s").arg(r.capture.seconds, 0, 'f', 2));
    if (const std::string phases = r.info.times.text(); !phases.empty()) row(tr("Time by phase"), fromStd(phases));

    QStringList analyses;
    for (const ls::AnalysisSpec& info : ls::analysisRegistry())
        if (p.wants(info.name))
            analyses << QString::fromStdString(info.title);
    row(tr("Analyses"), analyses.join(", "));
    if (windows) row(tr("Layer"), tr("%1 of %2").arg(p.layer).arg(r.capture.numLayers));
    if (windows)
        row(tr("Lens"), p.lensChoice.tuned() ? tr("tuned: %1 (hash %2)").arg(fromPath(p.lensChoice.tunedDir), fromStd(p.lensChoice.hash))
                                             : tr("logit"));
    for (const ls::AnalysisSpec& info : ls::analysisRegistry())
        if (info.settings && p.wants(info.name))
            for (const auto& [label, value] : info.settings(r))
                row(tr(label.c_str()), fromStd(value));
    row(tr("Model hash"), fromStd(r.info.modelHash));
    row(tr("Data hash"), fromStd(r.info.datasetHash));
    return section;
}

// ---- while a run goes ---------------------------------------------------------------------

void LayerResults::beginRun(const ls::LayerRunParams& params) {
    for (Tab& tab : tabList_) {
        tab.reporting = false;
        if (tab.begin && params.wants(tab.name.toStdString())) tab.begin(tab.view, params);
    }
}

void LayerResults::addLiveReport(const QString& analysis, std::shared_ptr<const ls::LiveReport> report) {
    for (Tab& tab : tabList_) {
        if (tab.name != analysis || !tab.live)
            continue;
        if (!tab.reporting) {  // its first report: show its tab (for the time being, if the run has none)
            tab.reporting = true;
            if (tabs_->indexOf(tab.view) < 0) {
                tabs_->addTab(tab.view, tab.title);
                tab.addedForLive = true;
            }
            tabs_->setCurrentWidget(tab.view);
        }
        tab.live(tab.view, report);
    }
}

void LayerResults::endRun() {
    for (Tab& tab : tabList_) {
        if (tab.end) tab.end(tab.view);
        if (!tab.reporting)
            continue;
        tab.reporting = false;
        // A finished run was shown by show(), which rebuilt the tabs; a canceled or failed
        // one leaves the shown run: its result goes back into the view, and a tab added for
        // the reports goes again.
        const bool present = tab.show(tab.view, run_);
        if (tab.addedForLive && !present) {
            const int index = tabs_->indexOf(tab.view);
            if (index >= 0) tabs_->removeTab(index);
        }
        tab.addedForLive = false;
    }
}

QList<QPair<QString, QCustomPlot*>> LayerResults::charts() const {
    using ls::widgets::ResultView;
    QList<QPair<QString, QCustomPlot*>> all;
    for (const Tab& tab : tabList_) {
        if (tabs_->indexOf(tab.view) < 0)
            continue;
        // The tab's view, or the result view of a page around it (loss separation).
        const auto* view = qobject_cast<const ResultView*>(tab.view);
        if (!view) view = tab.view->findChild<ResultView*>(QString(), Qt::FindDirectChildrenOnly);
        if (view) all += view->charts();
    }
    return all;
}

QString LayerResults::suggestedFileName() const {
    if (!run_)
        return QStringLiteral("run.h5");
    QString model = stem(run_->info.modelPath);
    const QString data = stem(run_->info.datasetPath);
    if (model.isEmpty())
        model = QStringLiteral("model");
    return data.isEmpty() ? QStringLiteral("%1-run.h5").arg(model) : QStringLiteral("%1-%2-run.h5").arg(model, data);
}
