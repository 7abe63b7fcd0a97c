#pragma once
// Early-exit simulation (spec section 6): a policy exits token t at the first allowed layer
// whose signal passes its threshold; tokens that pass nowhere run all L blocks.
//   - controls: the signal (cos-sim when the capture has it, and the logit-lens metrics),
//     the allowed exit layers (checkboxes 1..L-1), the policy (one threshold for every
//     allowed layer, or one per allowed layer) and the threshold slider(s);
//   - the numbers of the policy: exit fraction, mean layers computed, compute saved, top-1
//     agreement of the exit layer's lens prediction with the final one, PPL of the exit
//     layer's logits (and the full model's), and how long the evaluation took;
//   - charts: the exit histogram over layers, compute saved vs top-1 agreement (the sweep,
//     its Pareto front, the current policy) and PPL vs compute saved.
// Every slider step (valueChanged) calls ls::ExitSimulator::evaluate on the GUI thread:
// O(L log N) for one threshold. Changing the signal or the allowed layers rebuilds the
// simulator (O(L N log N)) in a worker when the run is large, so the GUI never waits.
#include <QFutureWatcher>
#include <QStringList>
#include <memory>
#include <vector>

#include "analysis/early_exit.h"
#include "kit/result_view.h"

class QCheckBox;
class QComboBox;
class QCPBars;
class QCPGraph;
class QCustomPlot;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QScrollArea;
class QSlider;

namespace ls {
struct CaptureResult;
}

namespace ls::widgets {

class ExitLayersChart;
class ExitNumbersBox;
class ExitSweepChart;
class LayerThresholdSliders;

class EarlyExitView : public ResultView {
    Q_OBJECT
public:
    enum class Policy { Single, PerLayer };
    static constexpr int kSliderSteps = 1000;  // slider positions 0..kSliderSteps

    explicit EarlyExitView(QWidget* parent = nullptr);
    ~EarlyExitView() override;

    // The capture's per-token scalars (the simulator's input) and the run's exit result (its
    // parameters are the initial policy; its sweep is shown until the signal or the layers
    // change). result may be null: the view starts from the median confidence policy.
    void setData(std::shared_ptr<const ls::CaptureResult> capture, std::shared_ptr<const ls::ExitResult> result);
    void clear() { setData(nullptr, nullptr); }
    bool hasData() const { return capture_ != nullptr; }
    // True while a simulator is being built in a worker (the sliders wait for it).
    bool isRebuilding() const;
    // Rebuild synchronously when tokens x allowed layers is at most this (default 150,000
    // values: well under 100 ms here, about 0.5 µs per value), else in a worker. Tests set 0
    // to force the worker.
    void setSynchronousLimit(int64_t values) { syncLimit_ = values; }

    // Signals the capture offers: "cossim" (if it has cos-sim), then the metrics.
    QStringList availableSignals() const;
    QString signalName() const;
    void setSignal(const QString& name);  // rebuilds
    // Allowed exit layers (1..L-1), ascending.
    std::vector<int> allowedLayers() const;
    void setAllowedLayers(const std::vector<int>& layers);  // rebuilds
    Policy policy() const { return policy_; }
    void setPolicy(Policy policy);

    // One threshold: evaluates at exactly this value (the slider moves to the nearest step).
    double threshold() const { return threshold_; }
    void setThreshold(double threshold);
    // Per allowed layer (in allowedLayers() order).
    const std::vector<double>& layerThresholds() const { return layerThresholds_; }
    void setLayerThreshold(int index, double threshold);
    // The threshold slider position i maps to (ascending in i).
    double sliderThreshold(int position) const;
    double layerSliderThreshold(int index, int position) const;

    const ls::ExitSimulator* simulator() const { return simulator_.get(); }
    const ls::ExitOutcome& outcome() const { return outcome_; }
    const std::vector<ls::SweepPoint>& sweep() const { return sweep_; }
    double fullPpl() const { return fullPpl_; }
    double lastEvaluationMs() const { return evalMs_; }
    double lastRebuildMs() const { return rebuildMs_; }
    // The current state as an ExitResult (what Export writes through ls::exitTables).
    ls::ExitResult currentResult() const;

    // "Compute saved 42.6% · top-1 agreement 91.2% · …" (one line, for the status bar / tests)
    QString numbersText() const;
    QString barToolTip(int layer) const;
    QString sweepToolTip(int index) const;

    // For tests and the app.
    QComboBox* signalCombo() const { return signalCombo_; }
    QComboBox* policyCombo() const { return policyCombo_; }
    QList<QCheckBox*> layerChecks() const { return layerChecks_; }  // [l-1] = layer l
    QSlider* thresholdSlider() const { return slider_; }
    QDoubleSpinBox* thresholdSpin() const { return spin_; }
    QList<QSlider*> layerSliders() const;
    QLabel* exitFractionLabel() const;
    QLabel* meanLayersLabel() const;
    QLabel* computeSavedLabel() const;
    QLabel* agreementLabel() const;
    QLabel* pplLabel() const;
    QLabel* timingLabel() const { return timingLabel_; }
    QLabel* messageLabel() const { return messageLabel_; }
    QCustomPlot* histogramPlot() const;
    QCPBars* exitBars() const;       // (layer, tokens) for allowed layers
    QCPBars* finalBars() const;      // (L, tokens that ran every block)
    QCustomPlot* paretoPlot() const;
    QCPGraph* sweepGraph() const;    // (compute saved %, agreement %)
    QCPGraph* frontGraph() const;    // the Pareto front
    QCPGraph* currentGraph() const;  // one point: the policy
    QCustomPlot* pplPlot() const;
    QCPGraph* pplSweepGraph() const;  // (compute saved %, PPL)
    QCPGraph* pplCurrentGraph() const;
    std::vector<ls::Table> tables() const override;

signals:
    void outcomeChanged();   // after every evaluation
    void simulatorReady();   // after a (re)build

private:
    struct Built;
    // The rebuild itself: plain data in, plain data out (runs in a worker for large runs).
    static std::shared_ptr<Built> build(std::shared_ptr<const ls::CaptureResult> capture,
                                        std::shared_ptr<const ls::ExitResult> result, std::shared_ptr<Built> built);
    void buildControls();
    void buildCharts();
    void rebuild();                     // signal / layers -> simulator, grids, sweep
    void startBuild();
    void dropSimulator();
    void applyBuilt(const std::shared_ptr<Built>& built);
    void rebuildLayerSliders();
    void evaluateNow();                 // threshold(s) -> outcome_ -> numbers and charts
    void updateNumbers();
    void updateHistogram();
    void updateCurrentPoint();
    void fillSweepCharts();
    void syncSliders();                 // slider positions from the thresholds (signals blocked)
    void updateDirectionText();
    void showPolicyPanel();                 // the one slider, or the per-layer sliders
    int nearestPosition(const std::vector<double>& grid, double value) const;

    std::shared_ptr<const ls::CaptureResult> capture_;
    std::shared_ptr<const ls::ExitResult> result_;
    std::shared_ptr<const ls::ExitSimulator> simulator_;
    std::vector<double> grid_;                    // kSliderSteps + 1 thresholds, ascending
    std::vector<std::vector<double>> layerGrids_; // per allowed layer
    std::vector<ls::SweepPoint> sweep_;
    std::vector<int> builtLayers_;                // the simulator's allowed layers
    ls::ExitOutcome outcome_;
    Policy policy_ = Policy::Single;
    double threshold_ = 0;
    std::vector<double> layerThresholds_;
    double fullPpl_ = 0;
    double evalMs_ = 0, rebuildMs_ = 0;
    int64_t syncLimit_ = 150'000;
    bool updating_ = false;
    bool pendingRebuild_ = false;                 // a change arrived while a worker ran
    bool building_ = false;                       // a worker runs (until its result is taken)
    int generation_ = 0;
    QFutureWatcher<std::shared_ptr<Built>>* watcher_ = nullptr;

    // Controls, left: the signal and policy, the allowed layers, the threshold(s), the numbers.
    QScrollArea* controlsScroll_ = nullptr;
    QComboBox *signalCombo_ = nullptr, *policyCombo_ = nullptr;
    QWidget* layersBox_ = nullptr;
    QGridLayout* layersGrid_ = nullptr;
    QList<QCheckBox*> layerChecks_;
    QWidget* thresholdBox_ = nullptr;
    QWidget* singlePanel_ = nullptr;  // the one slider, its spin box and which way it exits
    QSlider* slider_ = nullptr;
    QDoubleSpinBox* spin_ = nullptr;
    QLabel* directionLabel_ = nullptr;
    LayerThresholdSliders* layerSliders_ = nullptr;
    ExitNumbersBox* numbersBox_ = nullptr;
    QLabel *timingLabel_ = nullptr, *messageLabel_ = nullptr;

    // Charts, right.
    ExitLayersChart* histogram_ = nullptr;
    ExitSweepChart *pareto_ = nullptr, *ppl_ = nullptr;
};

}  // namespace ls::widgets
