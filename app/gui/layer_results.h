#pragma once
// The result tabs of a layer run (ls::LayerRun, fresh or read from a run file): "Cos-sim",
// "Saturation", "Low-rank head", "Token inspector", "Loss separation", "Early exit" and "Ablation"
// (head ablation and ReLU linearisation), each a
// view from widgets/ that takes its part of the run and nothing else. Only the tabs of
// analyses the run holds are in the tab widget; they follow the tabs already there. Also the
// Summary dock's "Run" section, and the live probe-training curve: while a run trains its
// probes, the "Loss separation" tab shows train / validation loss per epoch of the probe
// being trained (epochs arrive from the worker through a queued call, see MainWindow).
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <functional>
#include <memory>

#include "model_summary_view.h"

namespace ls {
struct LayerRun;
struct ProbeEpoch;
struct AblationResult;
namespace widgets {
class AblationView;
class CossimView;
class EarlyExitView;
class LossSepView;
class LowRankView;
class SaturationView;
class TokenInspectorView;
class TrainingCurveView;
}  // namespace widgets
}  // namespace ls

class QLabel;
class QTabWidget;
class QTableWidget;
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

    // Tab names for the command line's --tab: cossim, saturation, lowrank, inspect, losssep, exit,
    // ablation (head ablation and ReLU linearisation).
    static QStringList tabNames();
    // The view for a tab name (also accepts the tab titles, case-insensitively), or null.
    QWidget* viewFor(const QString& name) const;
    // Makes that tab current; false if the name is unknown or the run has no such result.
    bool selectTab(const QString& name);
    // Names of the tabs now shown, in order.
    QStringList shownTabs() const;

    // The Summary dock's "Run" section: model, data, tokens, windows, status, timestamps,
    // parameters.
    ls::widgets::SummarySection summarySection() const;
    // A file name for Save Run As: "<model>-<data>-run.h5".
    QString suggestedFileName() const;

    ls::widgets::CossimView* cossimView() const { return cossim_; }
    ls::widgets::SaturationView* saturationView() const { return saturation_; }
    ls::widgets::LowRankView* lowRankView() const { return lowRank_; }
    ls::widgets::TokenInspectorView* inspectorView() const { return inspector_; }
    ls::widgets::LossSepView* lossSepView() const { return lossSep_; }
    ls::widgets::EarlyExitView* earlyExitView() const { return exit_; }
    ls::widgets::AblationView* ablationView() const { return ablation_; }  // ablation and linearisation

    // Live probe training (GUI thread). begin: a run that trains `probes` probes starts;
    // each epoch: the curve of the probe being trained (the first one shows the "Loss
    // separation" tab, added for the time being if the shown run has none); end: the run is
    // over (finished, failed or canceled): the live part goes, the tabs are the shown run's.
    void beginProbeTraining(int probes);
    void addProbeEpoch(const ls::ProbeEpoch& epoch);
    void endProbeTraining();
    // A head-ablation scan in progress: the Ablation tab shows each snapshot (GUI thread);
    // endAblationScan() takes a tab added for it away again unless a run replaced it.
    void addAblationSnapshot(std::shared_ptr<const ls::AblationResult> snapshot);
    void endAblationScan();
    bool isTrainingProbes() const { return training_; }
    ls::widgets::TrainingCurveView* probeCurveView() const { return probeCurve_; }
    QWidget* probeTrainingPanel() const { return probePanel_; }
    QTableWidget* probeTrainingTable() const { return probeTable_; }  // probes trained so far
    QString probeTrainingText() const;  // the live panel's heading

private:
    struct Tab {
        QString name;   // "cossim"
        QString title;  // "Cos-sim"
        QWidget* view;  // the analysis's view
        QWidget* page;  // what the tab shows: the view, or a page around it (loss separation)
        std::function<bool(QWidget*, const std::shared_ptr<const ls::LayerRun>&)> show;
    };
    QWidget* viewOf(const QString& name) const;

    QTabWidget* tabs_;
    std::shared_ptr<const ls::LayerRun> run_;
    QString source_;
    ls::widgets::CossimView* cossim_ = nullptr;
    ls::widgets::SaturationView* saturation_ = nullptr;
    ls::widgets::LowRankView* lowRank_ = nullptr;
    ls::widgets::TokenInspectorView* inspector_ = nullptr;
    ls::widgets::LossSepView* lossSep_ = nullptr;
    ls::widgets::EarlyExitView* exit_ = nullptr;
    ls::widgets::AblationView* ablation_ = nullptr;
    QWidget* lossSepPage_ = nullptr;  // the live probe panel over the view
    QList<Tab> tabList_;

    // Live probe training.
    bool training_ = false;
    bool tabAddedForTraining_ = false;
    bool tabAddedForScan_ = false;  // the Ablation tab shown for a scan in progress
    int probesExpected_ = 0;
    int probesSeen_ = 0;
    QString currentProbe_;
    int currentEpochs_ = 0;
    double currentBest_ = 0;
    QWidget* probePanel_ = nullptr;
    QLabel* probeHeading_ = nullptr;
    ls::widgets::TrainingCurveView* probeCurve_ = nullptr;
    QTableWidget* probeTable_ = nullptr;
    void finishCurrentProbe();  // its row in the table
};
