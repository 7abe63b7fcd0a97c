#include "layer_results.h"

#include <QDateTime>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>
#include <qcustomplot.h>

#include "ablation_view.h"
#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "analysis_views.h"
#include "cossim_view.h"
#include "early_exit_view.h"
#include "kit/format.h"
#include "losssep_view.h"
#include "lowrank_view.h"
#include "saturation_view.h"
#include "token_inspector_view.h"
#include "training_curve_view.h"

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
        tabList_.append({entry.name, entry.title, view, view, entry.show});
    }
    cossim_ = static_cast<ls::widgets::CossimView*>(viewOf("cossim"));
    saturation_ = static_cast<ls::widgets::SaturationView*>(viewOf("saturation"));
    lowRank_ = static_cast<ls::widgets::LowRankView*>(viewOf("lowrank"));
    inspector_ = static_cast<ls::widgets::TokenInspectorView*>(viewOf("inspect"));
    lossSep_ = static_cast<ls::widgets::LossSepView*>(viewOf("losssep"));
    exit_ = static_cast<ls::widgets::EarlyExitView*>(viewOf("exit"));
    ablation_ = static_cast<ls::widgets::AblationView*>(viewOf("ablation"));

    // Loss separation: the live probe-training panel (while a run trains probes) over the view.
    lossSepPage_ = new QWidget(tabs_);
    lossSep_->setParent(lossSepPage_);
    probePanel_ = new QFrame(lossSepPage_);
    probePanel_->setObjectName(QStringLiteral("probeTrainingPanel"));
    static_cast<QFrame*>(probePanel_)->setFrameShape(QFrame::StyledPanel);
    probeHeading_ = new QLabel(probePanel_);
    probeHeading_->setWordWrap(true);
    probeCurve_ = new ls::widgets::TrainingCurveView(probePanel_);
    probeCurve_->plot()->xAxis->setLabel(tr("epoch"));
    probeCurve_->plot()->yAxis->setLabel(tr("loss (MSE, or BCE for classification)"));
    probeCurve_->setMinimumHeight(230);
    probeTable_ = new QTableWidget(0, 3, probePanel_);
    probeTable_->setHorizontalHeaderLabels({tr("Probe"), tr("Epochs"), tr("Best validation loss")});
    probeTable_->verticalHeader()->hide();
    probeTable_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    probeTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    probeTable_->horizontalHeader()->setStretchLastSection(true);
    auto* probeBody = new QHBoxLayout;
    probeBody->addWidget(probeCurve_, 3);
    probeBody->addWidget(probeTable_, 2);
    auto* probeLayout = new QVBoxLayout(probePanel_);
    probeLayout->setContentsMargins(6, 4, 6, 4);
    probeLayout->addWidget(probeHeading_);
    probeLayout->addLayout(probeBody, 1);
    probePanel_->hide();
    auto* pageLayout = new QVBoxLayout(lossSepPage_);
    pageLayout->setContentsMargins(0, 0, 0, 0);
    pageLayout->addWidget(probePanel_);
    pageLayout->addWidget(lossSep_, 1);

    for (Tab& tab : tabList_)
        if (tab.view == lossSep_) tab.page = lossSepPage_;
    lossSepPage_->setObjectName(QStringLiteral("losssepPage"));
    lossSepPage_->hide();
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
    for (const Tab& tab : tabList_) present.push_back(tab.show(tab.view, run_));
    lossSep_->setVisible(lossSep_->hasData() || !training_);
    tabAddedForTraining_ = false;

    // Ours go after the tabs that are not (preview, loss), in analysis order.
    for (const Tab& tab : tabList_) {
        const int index = tabs_->indexOf(tab.page);
        if (index >= 0)
            tabs_->removeTab(index);
        tab.page->hide();
    }
    QWidget* first = nullptr;
    for (int i = 0; i < tabList_.size(); ++i) {
        if (!present[static_cast<size_t>(i)])
            continue;
        const Tab& tab = tabList_[i];
        const int index = tabs_->addTab(tab.page, tab.title);
        if (const ls::AnalysisSpec* info = ls::findAnalysis(tab.name.toStdString()))
            tabs_->setTabToolTip(index, QString::fromStdString(info->description));
        if (!first)
            first = tab.page;
    }
    if (first)
        tabs_->setCurrentWidget(first);
}

QWidget* LayerResults::viewFor(const QString& name) const {
    for (const Tab& tab : tabList_)
        if (name.compare(tab.name, Qt::CaseInsensitive) == 0 || name.compare(tab.title, Qt::CaseInsensitive) == 0)
            return tab.page;
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
        if (tabs_->indexOf(tab.page) >= 0)
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
    row(tr("Data"), tr("%1 (%2)").arg(fromStd(r.info.datasetPath), fromStd(r.info.datasetFormat)));
    row(tr("Tokens"), tr("%1 scored").arg(formatCount(r.scoredTokens())));
    row(tr("Windows"), formatCount(r.windowCount()));
    row(tr("Seq len / stride"),
        tr("%1 / %2").arg(p.windows.seqLen).arg(p.windows.stride > 0 ? p.windows.stride : p.windows.seqLen));
    row(tr("Documents"), p.windows.respectDocuments ? tr("respected") : tr("packed"));
    row(tr("Status"), r.info.complete ? tr("complete") : tr("partial"));
    row(tr("Started"), timestamp(r.info.startedAt));
    row(tr("Finished"), timestamp(r.info.finishedAt));
    if (r.capture.tokens() > 0)  // head scans alone run no capture pass
        row(tr("Capture time"), tr("%1 s").arg(r.capture.seconds, 0, 'f', 2));

    QStringList analyses;
    for (const ls::AnalysisSpec& info : ls::analysisRegistry())
        if (p.wants(info.name))
            analyses << QString::fromStdString(info.title);
    row(tr("Analyses"), analyses.join(", "));
    row(tr("Layer"), tr("%1 of %2").arg(p.layer).arg(r.capture.numLayers));
    for (const ls::AnalysisSpec& info : ls::analysisRegistry())
        if (info.settings && p.wants(info.name))
            for (const auto& [label, value] : info.settings(r))
                row(tr(label.c_str()), fromStd(value));
    row(tr("Model hash"), fromStd(r.info.modelHash));
    row(tr("Data hash"), fromStd(r.info.datasetHash));
    return section;
}

// ---- live probe training ------------------------------------------------------------------

void LayerResults::beginProbeTraining(int probes) {
    training_ = true;
    probesExpected_ = std::max(0, probes);
    probesSeen_ = 0;
    currentProbe_.clear();
    currentEpochs_ = 0;
    currentBest_ = 0;
    probeTable_->setRowCount(0);
    probeCurve_->clear();
    probeCurve_->setTitle(tr("Probe training"));
    probeHeading_->setText(probeTrainingText());
}

QString LayerResults::probeTrainingText() const {
    if (!training_)
        return {};
    if (currentProbe_.isEmpty())
        return tr("<b>Training probes</b> once the capture pass is done…");
    return tr("<b>Training probes</b>: probe %1 of %2, <b>%3</b>, epoch %4 (early stopping on the validation "
              "loss). The results appear when the run is done.")
        .arg(probesSeen_)
        .arg(std::max(probesExpected_, probesSeen_))
        .arg(currentProbe_.toHtmlEscaped())
        .arg(currentEpochs_);
}

void LayerResults::finishCurrentProbe() {
    if (currentProbe_.isEmpty())
        return;
    const int row = probeTable_->rowCount();
    probeTable_->insertRow(row);
    probeTable_->setItem(row, 0, new QTableWidgetItem(currentProbe_));
    auto* epochs = new QTableWidgetItem(QString::number(currentEpochs_));
    epochs->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    probeTable_->setItem(row, 1, epochs);
    auto* best = new QTableWidgetItem(QString::number(currentBest_, 'f', 4));
    best->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    probeTable_->setItem(row, 2, best);
    probeTable_->scrollToBottom();
}

void LayerResults::addProbeEpoch(const ls::ProbeEpoch& epoch) {
    if (!training_)
        return;  // late: the run is over
    const QString name = fromStd(epoch.probe);
    if (name != currentProbe_) {
        finishCurrentProbe();
        currentProbe_ = name;
        currentEpochs_ = 0;
        currentBest_ = INFINITY;
        ++probesSeen_;
        probeCurve_->clear();
        probeCurve_->setTitle(tr("%1: loss per epoch").arg(name));
    }
    currentEpochs_ = epoch.epoch;
    if (std::isfinite(epoch.validationLoss))
        currentBest_ = std::min(currentBest_, epoch.validationLoss);
    probeCurve_->addPoint({double(epoch.epoch), epoch.trainLoss, epoch.validationLoss});
    probeHeading_->setText(probeTrainingText());
    if (probePanel_->isHidden()) {
        // The first epoch: show the panel in the Loss separation tab (added while it trains).
        if (tabs_->indexOf(lossSepPage_) < 0) {
            const int index = tabs_->addTab(lossSepPage_, tr("Loss separation"));
            tabs_->setTabToolTip(index, tr("Training probes…"));
            tabAddedForTraining_ = true;
        }
        lossSep_->setVisible(lossSep_->hasData());
        probePanel_->show();
        tabs_->setCurrentWidget(lossSepPage_);
    }
}

void LayerResults::endProbeTraining() {
    if (!training_)
        return;
    training_ = false;
    probePanel_->hide();
    lossSep_->show();
    if (tabAddedForTraining_) {
        const int index = tabs_->indexOf(lossSepPage_);
        if (index >= 0)
            tabs_->removeTab(index);
        tabAddedForTraining_ = false;
    }
}

void LayerResults::addAblationSnapshot(std::shared_ptr<const ls::AblationResult> snapshot) {
    if (tabs_->indexOf(ablation_) < 0) {
        tabs_->addTab(ablation_, tr("Ablation"));
        tabAddedForScan_ = true;
    }
    if (tabs_->currentWidget() != ablation_ && tabAddedForScan_) tabs_->setCurrentWidget(ablation_);
    ablation_->updateResult(std::move(snapshot));
}

void LayerResults::endAblationScan() {
    if (!tabAddedForScan_)
        return;
    tabAddedForScan_ = false;
    // A finished run is shown by showRun (which rebuilds the tabs); a canceled or failed one
    // leaves the previous results: take the scan's tab away again.
    auto ablation = run_ ? run_->result<ls::AblationResult>("ablation") : nullptr;
    if (!ablation && !(run_ && run_->result<ls::LinearizeResult>("linearize"))) {
        const int index = tabs_->indexOf(ablation_);
        if (index >= 0) tabs_->removeTab(index);
    }
    ablation_->setResult(std::move(ablation));
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
