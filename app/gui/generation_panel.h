#pragma once
// The "Generation" panel: prompts (one per line), conditions (one spec per line, as
// `layerscope-cli generate --condition`), decoding settings and Run. Heads can be picked from the
// run shown: its most damaging ablated heads, or the heads its linearisation keeps within 1.1x
// PPL. The task itself runs in WorkbenchTasks::generate.
#include <QWidget>
#include <memory>

#include "analysis/generation.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace ls {
struct LayerRun;
}

class GenerationPanel : public QWidget {
    Q_OBJECT
public:
    explicit GenerationPanel(QWidget* parent = nullptr);

    QString promptsText() const;
    void setPromptsText(const QString& text);
    void setConditionsText(const QString& text);  // one spec per line
    QPushButton* runButton() const { return runButton_; }
    // The settings as generate's parameters (conditions as written); problemText() says what
    // is wrong with them, if anything.
    ls::GenerationParams params() const;
    QString problemText() const;

    // The run shown: where "Add heads" buttons take their heads from (ablation, linearize).
    void setSourceRun(std::shared_ptr<const ls::LayerRun> run);
    void setRunAvailable(bool available);  // a model is loaded and no task runs

signals:
    void runRequested();

private:
    void revalidate();
    void addCondition(const QString& spec);

    QPlainTextEdit *prompts_ = nullptr, *conditions_ = nullptr;
    QPushButton *addAblated_ = nullptr, *addLinearised_ = nullptr, *runButton_ = nullptr;
    QSpinBox *maxNewTokens_ = nullptr, *topK_ = nullptr, *seed_ = nullptr, *refine_ = nullptr;
    QDoubleSpinBox *temperature_ = nullptr, *topP_ = nullptr;
    QCheckBox *sample_ = nullptr, *cache_ = nullptr;
    QLineEdit* bestOf_ = nullptr;
    QComboBox* normalize_ = nullptr;
    QLabel* problemLabel_ = nullptr;
    std::shared_ptr<const ls::LayerRun> source_;
    bool runAvailable_ = false;
};
