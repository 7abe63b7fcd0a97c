#include "microscope_panel.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "kit/forms.h"
#include "kit/palette.h"

using namespace ls::widgets;

namespace {

QLabel* problemLabel(QWidget* parent, const char* name) {
    auto* label = new QLabel(parent);
    label->setObjectName(name);
    label->setWordWrap(true);
    label->setStyleSheet(palette::textStyle(palette::problemText(parent->palette())));
    return label;
}

}  // namespace

MicroscopePanel::MicroscopePanel(QWidget* parent) : QWidget(parent) {
    prompt_ = makeLineEdit(this, "microscopePrompt", tr("A prompt (text; without a tokenizer, token ids separated by spaces)"),
                           tr("One prompt: every head's attention pattern, and the direct logit attribution below"));
    window_ = makeSpin(this, "microscopeWindow", -1, 1 << 30, -1,
                       tr("A window of the open dataset (from 0, as the layer analyses window it) instead of the prompt text"));
    window_->setSpecialValueText(tr("the prompt above"));
    position_ = makeSpin(this, "microscopePosition", -1, 4095, -1, tr("The position attributed, from 0 (last: the prompt's last)"));
    position_->setSpecialValueText(tr("last"));
    token_ = makeLineEdit(this, "microscopeToken", tr("the next token, or the top prediction"),
                          tr("The token whose logit is attributed: its text (one token) or #ID; empty: the prompt's next token "
                             "at the position, or the model's top prediction at the last"));
    top_ = makeSpin(this, "microscopeTop", 1, 100, 10, tr("Tokens each component promotes and suppresses"));
    runPrompt_ = new QPushButton(tr("Run prompt"), this);
    runPrompt_->setObjectName("microscopeRunPrompt");
    promptProblem_ = problemLabel(this, "microscopePromptProblem");

    pairs_ = makeLineEdit(this, "microscopePairs", tr("pairs.jsonl"),
                          tr("JSONL, one pair per line: {\"clean\": ..., \"corrupted\": ..., \"answer\": ..., \"wrong\": ...}; "
                             "prompts of the same length as text or token ids, answer and wrong one token each"));
    browse_ = new QPushButton(tr("Browse…"), this);
    auto* pairsRow = new QWidget(this);
    auto* pairsLayout = new QHBoxLayout(pairsRow);
    pairsLayout->setContentsMargins(0, 0, 0, 0);
    pairsLayout->addWidget(pairs_, 1);
    pairsLayout->addWidget(browse_);
    resid_ = new QCheckBox(tr("residual stream (layer × position)"), this);
    heads_ = new QCheckBox(tr("head outputs (all positions and each)"), this);
    mlp_ = new QCheckBox(tr("MLP outputs"), this);
    for (QCheckBox* box : {resid_, heads_, mlp_}) box->setChecked(true);
    runPatch_ = new QPushButton(tr("Run patching"), this);
    runPatch_->setObjectName("microscopeRunPatch");
    patchProblem_ = problemLabel(this, "microscopePatchProblem");

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(formBox(this, tr("One prompt"), {{tr("Prompt"), prompt_}, {tr("Or window"), window_}, {tr("Position"), position_}, {tr("Token"), token_},
                                                        {tr("Top tokens"), top_}, {QString(), runPrompt_}, {QString(), promptProblem_}}));
    layout->addWidget(formBox(this, tr("Activation patching"), {{tr("Pairs"), pairsRow}, {QString(), resid_}, {QString(), heads_},
                                                                 {QString(), mlp_}, {QString(), runPatch_}, {QString(), patchProblem_}}));
    layout->addStretch(1);

    connect(browse_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Prompt pairs"), pairs_->text(), tr("JSON lines (*.jsonl *.json);;All files (*)"));
        if (!path.isEmpty()) pairs_->setText(path);
    });
    connect(runPrompt_, &QPushButton::clicked, this, &MicroscopePanel::promptRequested);
    connect(prompt_, &QLineEdit::returnPressed, this, [this] {
        if (runPrompt_->isEnabled()) emit promptRequested();
    });
    connect(runPatch_, &QPushButton::clicked, this, &MicroscopePanel::patchRequested);
    onChanged({prompt_, window_, token_, pairs_, resid_, heads_, mlp_}, this, [this] { revalidate(); });
    revalidate();
}

QString MicroscopePanel::promptText() const { return prompt_->text(); }
void MicroscopePanel::setPromptText(const QString& text) { prompt_->setText(text); }
QString MicroscopePanel::tokenText() const { return token_->text(); }
int MicroscopePanel::window() const { return window_->value(); }
void MicroscopePanel::setWindow(int window) { window_->setValue(window); }
QString MicroscopePanel::pairsPath() const { return pairs_->text().trimmed(); }
void MicroscopePanel::setPairsPath(const QString& path) { pairs_->setText(path); }

ls::PromptParams MicroscopePanel::promptParams() const {
    ls::PromptParams p;
    p.position = position_->value();
    p.top = top_->value();
    return p;
}

ls::PatchParams MicroscopePanel::patchParams() const {
    ls::PatchParams p;
    p.resid = resid_->isChecked();
    p.heads = heads_->isChecked();
    p.mlp = mlp_->isChecked();
    return p;
}

QString MicroscopePanel::promptProblem() const {
    if (!runAvailable_) return tr("Open a model first (and wait for the task running to end).");
    if (window_->value() < 0 && prompt_->text().trimmed().isEmpty()) return tr("Write a prompt, or choose a window of the dataset.");
    return {};
}

QString MicroscopePanel::patchProblem() const {
    if (!runAvailable_) return tr("Open a model first (and wait for the task running to end).");
    if (pairsPath().isEmpty()) return tr("Choose a file of prompt pairs.");
    if (!QFileInfo(pairsPath()).isFile()) return tr("%1 is not a file.").arg(pairsPath());
    if (!resid_->isChecked() && !heads_->isChecked() && !mlp_->isChecked()) return tr("Choose at least one site to patch.");
    return {};
}

void MicroscopePanel::setRunAvailable(bool available) {
    runAvailable_ = available;
    revalidate();
}

void MicroscopePanel::revalidate() {
    // A missing model is said once, by the buttons being off; a form problem under its button.
    const QString prompt = runAvailable_ ? promptProblem() : QString(), patch = runAvailable_ ? patchProblem() : QString();
    runPrompt_->setEnabled(runAvailable_ && prompt.isEmpty());
    runPatch_->setEnabled(runAvailable_ && patch.isEmpty());
    promptProblem_->setText(prompt);
    promptProblem_->setVisible(!prompt.isEmpty() && !prompt_->text().isEmpty());
    patchProblem_->setText(patch);
    patchProblem_->setVisible(!patch.isEmpty() && !pairsPath().isEmpty());
}
