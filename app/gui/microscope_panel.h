#pragma once
// The "Microscope" panel: one prompt (its attention patterns and the direct logit attribution
// of a token at a position) and activation patching over a file of prompt pairs. The tasks run
// in WorkbenchTasks::inspectPrompt and ::patch; the Prompt and Patching tabs show them.
#include <QWidget>

#include "analysis/patching.h"
#include "analysis/prompt.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

class MicroscopePanel : public QWidget {
    Q_OBJECT
public:
    explicit MicroscopePanel(QWidget* parent = nullptr);

    QString promptText() const;
    void setPromptText(const QString& text);
    // The position (-1: the last) and top; the token is tokenText().
    ls::PromptParams promptParams() const;
    QString tokenText() const;  // "" (the default), a token's text, or #ID
    // The dataset window to run instead of the prompt text (from 0), or -1 for the text.
    int window() const;
    void setWindow(int window);
    QString pairsPath() const;
    void setPairsPath(const QString& path);
    ls::PatchParams patchParams() const;
    // What is wrong with the form for each task, if anything.
    QString promptProblem() const;
    QString patchProblem() const;
    QPushButton* promptButton() const { return runPrompt_; }
    QPushButton* patchButton() const { return runPatch_; }

    void setRunAvailable(bool available);  // a model is loaded and no task runs

signals:
    void promptRequested();
    void patchRequested();

private:
    void revalidate();

    QLineEdit *prompt_ = nullptr, *token_ = nullptr, *pairs_ = nullptr;
    QSpinBox *window_ = nullptr, *position_ = nullptr, *top_ = nullptr;
    QCheckBox *resid_ = nullptr, *heads_ = nullptr, *mlp_ = nullptr;
    QPushButton *runPrompt_ = nullptr, *runPatch_ = nullptr, *browse_ = nullptr;
    QLabel *promptProblem_ = nullptr, *patchProblem_ = nullptr;
    bool runAvailable_ = false;
};
