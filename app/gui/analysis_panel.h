#pragma once
// The "Layer analyses" panel: one checkbox per analysis of ls::analysisRegistry() (cos-sim,
// saturation, low-rank head, token inspector, loss separation, early exit) and their
// parameters: the chosen / exit layer, the low-rank ranks, the hard ratios, the
// post-attention lens, the inspector's window and top-k, the histogram bins; for loss
// separation the probes (on/off, hidden-state layer) and the low-rank metric ranks; for early
// exit the signal and the allowed exit layers; a Run button. It produces an ls::LayerRunParams
// without windows and dataset options (the main window takes those from the Dataset
// panel) and checks it as the user types: parsing here, the rest through
// ls::resolveLayerRunParams against the loaded model's config; the first problem shows in
// red under the form, named as the form names the field, and the Run button stays off.
#include <QHash>
#include <QWidget>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/layer_run.h"
#include "model/model.h"

class QCheckBox;
class QComboBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

class AnalysisPanel : public QWidget {
    Q_OBJECT
public:
    explicit AnalysisPanel(QWidget* parent = nullptr);

    // The loaded model (none: nullopt). Sets the layer range 1..L with L-1 as the chosen
    // layer, top-k up to the vocabulary, and checks the parameters against it.
    void setModelConfig(const std::optional<ls::ModelConfig>& config);
    // Windows of the current dataset under the Dataset panel's options (0: no dataset); the
    // inspector window must be one of them.
    void setWindowCount(int64_t windows);
    // Whether the Run button may be pressed when nothing is wrong (a model and a dataset are
    // loaded and no task runs).
    void setRunAvailable(bool available);

    // What the widgets say. windows and dataset are left at their defaults. Fields that do
    // not parse are left at their defaults too: check problemText() first.
    ls::LayerRunParams params() const;
    // Fills the widgets (analyses, layer if > 0, ranks, ratios, lens, inspector, bins).
    void setParams(const ls::LayerRunParams& params);
    void setAnalyses(const std::vector<std::string>& analyses);
    void setRanksText(const QString& text);
    void setHardRatiosText(const QString& text);
    void setMetricRanksText(const QString& text);
    void setExitLayersText(const QString& text);

    // The first problem with the parameters (empty if none), as shown under the form.
    QString problemText() const { return problem_; }
    bool canRun() const;
    QPushButton* runButton() const { return runButton_; }

signals:
    void runRequested();
    void paramsChanged();

private:
    void revalidate();
    // The spin boxes that each hold one int parameter as it is, for params() and setParams().
    std::vector<std::pair<QSpinBox*, int ls::LayerRunParams::*>> intFields() const;

    std::optional<ls::ModelConfig> config_;
    int64_t windowCount_ = 0;
    bool runAvailable_ = false;
    QString problem_;

    QHash<QString, QCheckBox*> analysisChecks_;  // by analysis name
    std::vector<std::string> order_;             // names in ls::analysisRegistry() order
    QSpinBox* layerSpin_ = nullptr;
    QLineEdit* ranksEdit_ = nullptr;
    QLineEdit* ratiosEdit_ = nullptr;
    QCheckBox* postAttentionCheck_ = nullptr;
    QSpinBox* inspectWindowSpin_ = nullptr;
    QSpinBox* topKSpin_ = nullptr;
    QSpinBox* binsSpin_ = nullptr;
    QGroupBox* lossSepBox_ = nullptr;
    QCheckBox* probesCheck_ = nullptr;
    QSpinBox* probeLayerSpin_ = nullptr;   // -1 = L (the last block)
    QLineEdit* metricRanksEdit_ = nullptr;
    QGroupBox* exitBox_ = nullptr;
    QComboBox* exitSignalCombo_ = nullptr;
    QLineEdit* exitLayersEdit_ = nullptr;
    QGroupBox* headsBox_ = nullptr;         // ablation, linearize, context
    QLineEdit* headsEdit_ = nullptr;        // TransformerLens names; empty = every head
    QSpinBox* subsetTokensSpin_ = nullptr;
    QCheckBox* attributionCheck_ = nullptr;
    QComboBox* normalizeCombo_ = nullptr;
    QSpinBox* stepsSpin_ = nullptr;
    QLineEdit* protectLayersEdit_ = nullptr;
    QLineEdit* contextLengthsEdit_ = nullptr;
    QLabel* problemLabel_ = nullptr;
    QLabel* layerNote_ = nullptr;
    QPushButton* runButton_ = nullptr;
    QHash<QString, QWidget*> optionFields_;  // CLI option name ("layer") -> its field
    QHash<QString, QString> optionLabels_;   // CLI option name -> the form's label
};
