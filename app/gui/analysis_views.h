#pragma once
// The result views by analysis name: the GUI's half of the analysis registry
// (core/analysis/registry.h). Each line of analysis_views.cpp says which widgets/ view shows
// an analysis, under which tab title, and how the view takes its part of a run (and nothing
// else of it). LayerResults makes one view per entry and shows the tabs of the results a run
// holds, in this order.
#include <QList>
#include <QString>
#include <functional>
#include <memory>

class QWidget;

namespace ls {
struct LayerRun;
}

struct AnalysisView {
    QString name;   // the registry's name, and the command line's --tab: "cossim"
    QString title;  // the tab's title: "Cos-sim"
    std::function<QWidget*(QWidget* parent)> create;
    // Shows the run's result in view (a null run clears it); false when the run holds none.
    std::function<bool(QWidget* view, const std::shared_ptr<const ls::LayerRun>& run)> show;
};

const QList<AnalysisView>& analysisViews();
