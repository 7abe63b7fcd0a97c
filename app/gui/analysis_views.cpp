#include "analysis_views.h"

#include "ablation_view.h"
#include "analysis/layer_run.h"
#include "cossim_view.h"
#include "early_exit_view.h"
#include "generation_view.h"
#include "lensdiv_view.h"
#include "losssep_page.h"
#include "losssep_view.h"
#include "lowrank_view.h"
#include "patching_view.h"
#include "prompt_view.h"
#include "probe_training_panel.h"
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

// A view of the result the run keeps by the analysis's name (LayerRun::results).
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
                                                     auto exit = run ? run->result<ls::ExitResult>("exit") : nullptr;
                                                     if (!exit) {
                                                         view->clear();
                                                         return false;
                                                     }
                                                     view->setData(std::shared_ptr<const ls::CaptureResult>(run, &run->capture),
                                                                   std::move(exit));
                                                     return true;
                                                 });
}

// Loss separation, and the live training of its probes while a run trains them.
AnalysisView lossSepView() {
    using ls::widgets::LossSepPage;
    AnalysisView entry = namedView<LossSepPage, ls::LossSepResult>("losssep", QObject::tr("Loss separation"));
    entry.begin = [](QWidget* view, const ls::LayerRunParams& params) {
        if (params.lossSep.probes) static_cast<LossSepPage*>(view)->beginTraining(ls::probeCount(params.lossSep.probe));
    };
    entry.live = [](QWidget* view, const std::shared_ptr<const ls::LiveReport>& report) {
        if (const auto* epoch = dynamic_cast<const ls::ProbeEpoch*>(report.get()))
            static_cast<LossSepPage*>(view)->addEpoch(*epoch);
    };
    entry.end = [](QWidget* view) { static_cast<LossSepPage*>(view)->endTraining(); };
    return entry;
}

// Head ablation, ReLU linearisation and the context sweep share one tab; the ablation
// heatmaps fill as the scan goes.
AnalysisView ablationView() {
    using ls::widgets::AblationView;
    AnalysisView entry = viewEntry<AblationView>(
        QStringLiteral("ablation"), QObject::tr("Ablation"), [](auto* view, const Run& run) {
            auto ablation = run ? run->result<ls::AblationResult>("ablation") : nullptr;
            auto linearize = run ? run->result<ls::LinearizeResult>("linearize") : nullptr;
            const bool has = ablation || linearize;
            view->setResult(std::move(ablation));
            view->setLinearization(std::move(linearize));
            return has;
        });
    entry.live = [](QWidget* view, const std::shared_ptr<const ls::LiveReport>& report) {
        if (auto snapshot = std::dynamic_pointer_cast<const ls::AblationResult>(report))
            static_cast<AblationView*>(view)->updateResult(std::move(snapshot));
    };
    return entry;
}

// Generation: the columns fill as continuations finish.
AnalysisView generationView() {
    using ls::widgets::GenerationView;
    AnalysisView entry = namedView<GenerationView, ls::GenerationResult>("generate", QObject::tr("Generation"));
    entry.begin = [](QWidget* view, const ls::LayerRunParams& params) {
        static_cast<GenerationView*>(view)->beginRun(params.generation.conditions);
    };
    entry.live = [](QWidget* view, const std::shared_ptr<const ls::LiveReport>& report) {
        if (const auto* progress = dynamic_cast<const ls::GenerationProgress*>(report.get()))
            static_cast<GenerationView*>(view)->addContinuation(*progress);
    };
    return entry;
}

}  // namespace

const QList<AnalysisView>& analysisViews() {
    using namespace ls::widgets;
    static const QList<AnalysisView> all = {
        namedView<CossimView, ls::CossimResult>("cossim", QObject::tr("Cos-sim")),
        namedView<SaturationView, ls::SaturationResult>("saturation", QObject::tr("Saturation")),
        namedView<LensDivView, ls::LensDivResult>("lensdiv", QObject::tr("Lens divergence")),
        namedView<LowRankView, ls::LowRankResult>("lowrank", QObject::tr("Low-rank head")),
        inspectView(),
        lossSepView(),
        exitView(),
        ablationView(),
        generationView(),
        namedView<PromptView, ls::PromptResult>("prompt", QObject::tr("Prompt")),
        namedView<PatchingView, ls::PatchResult>("patch", QObject::tr("Patching")),
    };
    return all;
}
