#include "analysis_views.h"

#include "ablation_view.h"
#include "analysis/layer_run.h"
#include "cossim_view.h"
#include "early_exit_view.h"
#include "lensdiv_view.h"
#include "losssep_view.h"
#include "lowrank_view.h"
#include "saturation_view.h"
#include "token_inspector_view.h"

namespace {

using Run = std::shared_ptr<const ls::LayerRun>;

// An entry whose view is a View made for its tab; show gives it its part of a run.
template <typename View, typename Show>
AnalysisView viewEntry(const QString& name, const QString& title, Show show) {
    return {name, title, [](QWidget* parent) -> QWidget* { return new View(parent); },
            [show](QWidget* view, const Run& run) { return show(static_cast<View*>(view), run); }};
}

// A view of a result in a LayerRun field; the view shares the run (an aliasing shared_ptr).
template <typename View, typename Result>
AnalysisView fieldView(const QString& name, const QString& title, std::optional<Result> ls::LayerRun::*field) {
    return viewEntry<View>(name, title, [field](View* view, const Run& run) {
        const bool has = run && ((*run).*field).has_value();
        view->setResult(has ? std::shared_ptr<const Result>(run, &*((*run).*field)) : nullptr);
        return has;
    });
}

// A view of a result the run keeps by the analysis's name (LayerRun::results).
template <typename View, typename Result>
AnalysisView namedView(const QString& name, const QString& title) {
    return viewEntry<View>(name, title, [name](View* view, const Run& run) {
        std::shared_ptr<const Result> result = run ? run->result<Result>(name.toStdString()) : nullptr;
        const bool has = result != nullptr;
        view->setResult(std::move(result));
        return has;
    });
}

AnalysisView inspectView() {
    return viewEntry<ls::widgets::TokenInspectorView>(
        QStringLiteral("inspect"), QObject::tr("Token inspector"), [](auto* view, const Run& run) {
            const bool has = run && run->hasInspect();
            view->setGrid(has ? std::shared_ptr<const ls::InspectGrid>(run, &run->capture.inspect) : nullptr);
            return has;
        });
}

AnalysisView exitView() {
    return viewEntry<ls::widgets::EarlyExitView>(QStringLiteral("exit"), QObject::tr("Early exit"),
                                                 [](auto* view, const Run& run) {
                                                     if (!run || !run->exit) {
                                                         view->clear();
                                                         return false;
                                                     }
                                                     view->setData(std::shared_ptr<const ls::CaptureResult>(run, &run->capture),
                                                                   std::shared_ptr<const ls::ExitResult>(run, &*run->exit));
                                                     return true;
                                                 });
}

// Head ablation, ReLU linearisation and the context sweep share one tab.
AnalysisView ablationView() {
    return viewEntry<ls::widgets::AblationView>(
        QStringLiteral("ablation"), QObject::tr("Ablation"), [](auto* view, const Run& run) {
            view->setResult(run && run->ablation ? std::shared_ptr<const ls::AblationResult>(run, &*run->ablation)
                                                 : nullptr);
            view->setLinearization(run && run->linearize
                                       ? std::shared_ptr<const ls::LinearizeResult>(run, &*run->linearize)
                                       : nullptr);
            return run && (run->ablation || run->linearize);
        });
}

}  // namespace

const QList<AnalysisView>& analysisViews() {
    using namespace ls::widgets;
    using ls::LayerRun;
    static const QList<AnalysisView> all = {
        fieldView<CossimView, ls::CossimResult>("cossim", QObject::tr("Cos-sim"), &LayerRun::cossim),
        fieldView<SaturationView, ls::SaturationResult>("saturation", QObject::tr("Saturation"), &LayerRun::saturation),
        namedView<LensDivView, ls::LensDivResult>("lensdiv", QObject::tr("Lens divergence")),
        fieldView<LowRankView, ls::LowRankResult>("lowrank", QObject::tr("Low-rank head"), &LayerRun::lowRank),
        inspectView(),
        fieldView<LossSepView, ls::LossSepResult>("losssep", QObject::tr("Loss separation"), &LayerRun::lossSep),
        exitView(),
        ablationView(),
    };
    return all;
}
