#pragma once
// The "Layer analyses" panel: one checkbox per analysis of ls::analysisRegistry() and, built
// from the registry's ParamSpecs, a box of fields for the shared parameters and one for each
// analysis that has parameters (enabled while that analysis is checked); Plan and Run buttons. A
// field per ParamSpec: a flag a check box, an integer a spin box, a text of fixed choices a
// combo box, anything else a line edit; label and tooltip from the spec, initial text from a
// default ls::LayerRunParams (through the entries' `values`). It produces an
// ls::LayerRunParams without windows and dataset options (the main window takes those from
// the Dataset panel) and checks it as the user types, the way the command line does:
// ls::parseParam, ls::applyParams, then ls::resolveLayerRunParams against the loaded model's
// config. The first problem shows in red under the form as "<label>: <problem>", its field
// is marked, and the Run button stays off. An empty field is not given: the analysis keeps
// its default (the field's placeholder says which).
#include <QHash>
#include <QWidget>
#include <optional>
#include <string>
#include <vector>

#include "analysis/layer_run.h"
#include "analysis/params.h"
#include "model/model.h"

class QCheckBox;
class QGroupBox;
class QLabel;
class QPushButton;

class AnalysisPanel : public QWidget {
    Q_OBJECT
public:
    explicit AnalysisPanel(QWidget* parent = nullptr);

    // The loaded model (none: nullopt). Sets the layer fields' range (1..L), and checks the
    // parameters against it.
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
    // Fills the widgets: the analyses and every parameter's field.
    void setParams(const ls::LayerRunParams& params);
    void setAnalyses(const std::vector<std::string>& analyses);
    // The field of a parameter key ("hard-ratios"; object name "field_<key>"), as text: what
    // the command line's --key takes; "" = not given (a flag unchecked, a spin box at its
    // automatic value, an empty line edit). A flag takes any other text as checked.
    void setFieldText(const QString& key, const QString& text);
    QString fieldText(const QString& key) const;
    // The values a list field offers (a Text parameter with choices), for those known only at
    // run time (--lens: the tuned lenses of the model); the current value stays chosen.
    void setChoices(const QString& key, const QStringList& values);

    // The first problem with the parameters (empty if none), as shown under the form.
    QString problemText() const { return problem_; }
    bool canRun() const;
    QPushButton* runButton() const { return runButton_; }
    QPushButton* planButton() const { return planButton_; }
    // The plan of the run these parameters make (run --plan's text), shown above the buttons
    // until a parameter changes; empty hides it.
    void setPlanText(const QString& text);
    QString planText() const;

signals:
    void runRequested();
    void planRequested();
    void paramsChanged();

private:
    struct Field {
        const ls::ParamSpec* spec = nullptr;
        QWidget* widget = nullptr;
        std::string analysis;  // "" for the shared parameters
    };
    // The form read as the command line reads its options; the first problem by key.
    struct Reading {
        ls::LayerRunParams params;
        std::string key;
        QString problem;
    };
    QGroupBox* makeBox(const ls::AnalysisSpec& spec);
    QWidget* makeField(const ls::ParamSpec& spec, QWidget* parent);
    const Field* findField(const std::string& key) const;
    static QString text(const Field& field);
    static void setText(const Field& field, const QString& text);
    bool checked(const std::string& analysis) const;
    Reading read() const;
    void updateLayerRanges();
    void revalidate();

    std::optional<ls::ModelConfig> config_;
    int64_t windowCount_ = 0;
    bool runAvailable_ = false;
    QString problem_;

    QHash<QString, QCheckBox*> analysisChecks_;  // by analysis name
    std::vector<std::string> order_;             // names in ls::analysisRegistry() order
    std::vector<Field> fields_;                  // shared, then each analysis's, in registry order
    QHash<QString, QGroupBox*> boxes_;           // each analysis's box, by name
    QLabel* problemLabel_ = nullptr;
    QLabel* layerNote_ = nullptr;
    QPushButton* runButton_ = nullptr;
    QPushButton* planButton_ = nullptr;
    QLabel* planLabel_ = nullptr;
    QWidget* planScroll_ = nullptr;
};
