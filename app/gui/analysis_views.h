#pragma once
// The result views by analysis name: the GUI's half of the analysis registry
// (core/analysis/registry.h). Each line of analysis_views.cpp says which widgets/ view shows
// an analysis, under which tab title, and how the view takes its part of a run (and nothing
// else of it), and what it shows while a run goes. LayerResults makes one view per entry and
// shows the tabs of the results a run holds, in this order.
#include <QList>
#include <QString>
#include <functional>
#include <memory>

class QWidget;

namespace ls {
struct LayerRun;
struct LayerRunParams;
struct LiveReport;
}  // namespace ls

struct AnalysisView {
    QString name;   // the registry's name, and the command line's --tab: "cossim"
    QString title;  // the tab's title: "Cos-sim"
    std::function<QWidget*(QWidget* parent)> create;
    // Shows the run's result in view (a null run clears it); false when the run holds none.
    std::function<bool(QWidget* view, const std::shared_ptr<const ls::LayerRun>& run)> show;
    // While a run that asks for the analysis goes (GUI thread; each may be null): begin as it
    // starts, live for each report its pass sends (core/analysis/layer_run.h,
    // LayerRunCallbacks), end when it is over (finished, failed or canceled).
    std::function<void(QWidget* view, const ls::LayerRunParams& params)> begin{};
    std::function<void(QWidget* view, const std::shared_ptr<const ls::LiveReport>& report)> live{};
    std::function<void(QWidget* view)> end{};
};

const QList<AnalysisView>& analysisViews();
