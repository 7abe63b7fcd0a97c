#include "dataset_panel.h"

#include <QComboBox>
#include <QHash>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <limits>

#include "common/error.h"
#include "kit/format.h"
#include "kit/forms.h"
#include "kit/palette.h"

namespace palette = ls::widgets::palette;

using ls::widgets::formatCount;

using ls::widgets::makeSpin;

namespace {

constexpr int kNoModelMaxSeqLen = 1 << 20;

bool isAlpaca(ls::DataFormat format) {
    return format == ls::DataFormat::AlpacaJson || format == ls::DataFormat::AlpacaJsonl;
}

QString formatName(ls::DataFormat format) { return QString::fromLatin1(ls::dataFormatName(format)); }


QPlainTextEdit* makeTemplateEdit(QWidget* parent, const char* name) {
    auto* edit = new QPlainTextEdit(parent);
    edit->setObjectName(name);
    edit->setLineWrapMode(QPlainTextEdit::WidgetWidth);
    edit->setFixedHeight(edit->fontMetrics().lineSpacing() * 5 + 10);
    edit->setToolTip(QObject::tr("{instruction}, {input} and {output} are replaced by the record's fields"));
    return edit;
}

}  // namespace

DatasetPanel::DatasetPanel(QWidget* parent) : QWidget(parent) {
    // ---- reading the file
    fileLabel_ = new QLabel(tr("none"), this);
    fileLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    fileLabel_->setMinimumWidth(80);
    auto* openButton = new QPushButton(tr("Open…"), this);
    connect(openButton, &QPushButton::clicked, this, &DatasetPanel::openRequested);
    auto* fileRow = new QHBoxLayout;
    fileRow->addWidget(fileLabel_, 1);
    fileRow->addWidget(openButton);

    formatCombo_ = new QComboBox(this);
    formatCombo_->setObjectName("formatCombo");
    ls::widgets::wheelOnlyWhenFocused(formatCombo_);
    for (ls::DataFormat f : {ls::DataFormat::Auto, ls::DataFormat::Text, ls::DataFormat::WikiText,
                             ls::DataFormat::AlpacaJson, ls::DataFormat::AlpacaJsonl, ls::DataFormat::Npy,
                             ls::DataFormat::Bin})
        formatCombo_->addItem(formatName(f), int(f));
    formatCombo_->setToolTip(tr("auto: detected from the file's name and content"));
    formatCombo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    formatCombo_->setMinimumContentsLength(18);  // "auto (detected: wikitext)"

    templateEdit_ = makeTemplateEdit(this, "templateEdit");
    templateNoInputEdit_ = makeTemplateEdit(this, "templateNoInputEdit");
    resetTemplatesButton_ = new QPushButton(tr("Reset to Alpaca default"), this);
    resetTemplatesButton_->setObjectName("resetTemplatesButton");
    connect(resetTemplatesButton_, &QPushButton::clicked, this, [this] {
        templateEdit_->setPlainText(QString::fromUtf8(ls::kAlpacaTemplate));
        templateNoInputEdit_->setPlainText(QString::fromUtf8(ls::kAlpacaTemplateNoInput));
    });

    documentsSpin_ = makeSpin(this, "documentsSpin", 0, std::numeric_limits<int>::max(), 0,
                              tr("num_samples: read only the first N documents (paragraphs, articles or records)"));
    documentsSpin_->setSpecialValueText(tr("all"));

    applyButton_ = new QPushButton(tr("Apply: re-read the file"), this);
    applyButton_->setObjectName("applyButton");
    connect(applyButton_, &QPushButton::clicked, this, &DatasetPanel::rereadRequested);

    auto* readBox = new QGroupBox(tr("Reading"), this);
    auto* readForm = new QFormLayout(readBox);
    readForm->addRow(tr("File"), fileRow);
    readForm->addRow(tr("Format"), formatCombo_);
    readForm->addRow(new QLabel(tr("Alpaca prompt template"), this));
    readForm->addRow(templateEdit_);
    readForm->addRow(new QLabel(tr("Template for records without input"), this));
    readForm->addRow(templateNoInputEdit_);
    readForm->addRow(resetTemplatesButton_);
    readForm->addRow(tr("Documents"), documentsSpin_);
    readForm->addRow(applyButton_);

    // ---- windows
    seqLenSpin_ = makeSpin(this, "seqLenSpin", 2, kNoModelMaxSeqLen, preferredSeqLen_,
                           tr("Tokens per window (at most the model's context)"));
    strideSpin_ = makeSpin(this, "strideSpin", 0, preferredSeqLen_, 0,
                           tr("Step between window starts; smaller than seq len gives every scored token "
                              "more context"));
    strideSpin_->setSpecialValueText(tr("= seq len"));
    maxTokensSpin_ = makeSpin(this, "maxTokensSpin", 0, std::numeric_limits<int>::max(), 0,
                              tr("Use only the first N tokens of the dataset"));
    maxTokensSpin_->setSingleStep(1000);
    maxTokensSpin_->setSpecialValueText(tr("all"));
    maxWindowsSpin_ = makeSpin(this, "maxWindowsSpin", 0, std::numeric_limits<int>::max(), 0,
                               tr("Evaluate only the first N windows"));
    maxWindowsSpin_->setSpecialValueText(tr("all"));
    documentsCombo_ = new QComboBox(this);
    documentsCombo_->setObjectName("documentsCombo");
    ls::widgets::wheelOnlyWhenFocused(documentsCombo_);
    documentsCombo_->addItem(tr("packed"), false);
    documentsCombo_->addItem(tr("respected"), true);
    documentsCombo_->setToolTip(tr("packed: windows run across document boundaries; "
                                   "respected: every window lies inside one document"));

    QGroupBox* windowBox = ls::widgets::formBox(this, tr("Windows"),
                                                {{tr("Seq len"), seqLenSpin_},
                                                 {tr("Stride"), strideSpin_},
                                                 {tr("Max tokens"), maxTokensSpin_},
                                                 {tr("Max windows"), maxWindowsSpin_},
                                                 {tr("Documents"), documentsCombo_}});

    summaryLabel_ = new QLabel(this);
    summaryLabel_->setObjectName("summaryLabel");
    summaryLabel_->setWordWrap(true);
    summaryLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(readBox);
    layout->addWidget(windowBox);
    layout->addWidget(summaryLabel_);
    layout->addStretch(1);

    setDatasetOptions({});

    ls::widgets::onChanged({strideSpin_, maxTokensSpin_, maxWindowsSpin_, documentsCombo_}, this,
                           [this] { recomputeWindows(); });
    connect(seqLenSpin_, &QSpinBox::valueChanged, this, [this](int value) {
        if (!settingSeqLen_)
            preferredSeqLen_ = value;
        strideSpin_->setMaximum(value);  // a stride beyond seq len would skip tokens
        recomputeWindows();
    });
    ls::widgets::onChanged({formatCombo_, documentsSpin_, templateEdit_, templateNoInputEdit_}, this,
                           [this] { updateReadState(); });
    recomputeWindows();
    updateReadState();
}

ls::DatasetOptions DatasetPanel::datasetOptions() const {
    ls::DatasetOptions options;
    options.format = ls::DataFormat(formatCombo_->currentData().toInt());
    options.promptTemplate = templateEdit_->toPlainText().toStdString();
    options.promptTemplateNoInput = templateNoInputEdit_->toPlainText().toStdString();
    options.maxDocuments = documentsSpin_->value();
    return options;
}

void DatasetPanel::setDatasetOptions(const ls::DatasetOptions& options) {
    formatCombo_->setCurrentIndex(std::max(0, formatCombo_->findData(int(options.format))));
    templateEdit_->setPlainText(QString::fromStdString(options.promptTemplate));
    templateNoInputEdit_->setPlainText(QString::fromStdString(options.promptTemplateNoInput));
    documentsSpin_->setValue(int(std::min<int64_t>(options.maxDocuments, documentsSpin_->maximum())));
}

ls::WindowParams DatasetPanel::windowParams() const {
    ls::WindowParams params;
    params.seqLen = seqLenSpin_->value();
    params.stride = strideSpin_->value();
    params.maxTokens = maxTokensSpin_->value();
    params.maxWindows = maxWindowsSpin_->value();
    params.respectDocuments = documentsCombo_->currentData().toBool();
    return params;
}

void DatasetPanel::setWindowParams(const ls::WindowParams& params) {
    preferredSeqLen_ = params.seqLen;
    seqLenSpin_->setValue(params.seqLen);  // clamped to the context, if one is set
    strideSpin_->setValue(params.stride);
    maxTokensSpin_->setValue(int(std::min<int64_t>(params.maxTokens, maxTokensSpin_->maximum())));
    maxWindowsSpin_->setValue(int(std::min<int64_t>(params.maxWindows, maxWindowsSpin_->maximum())));
    documentsCombo_->setCurrentIndex(params.respectDocuments ? 1 : 0);
}

void DatasetPanel::setContextLimit(int context) {
    settingSeqLen_ = true;
    seqLenSpin_->setMaximum(context > 1 ? context : kNoModelMaxSeqLen);
    seqLenSpin_->setValue(std::min(preferredSeqLen_, seqLenSpin_->maximum()));
    settingSeqLen_ = false;
}

void DatasetPanel::setDataset(std::shared_ptr<const ls::Dataset> dataset, const ls::DatasetOptions& readWith) {
    dataset_ = std::move(dataset);
    readWith_ = readWith;
    if (dataset_) {
        const QString path = QString::fromStdString(dataset_->path.string());
        fileLabel_->setText(QFileInfo(path).fileName());
        fileLabel_->setToolTip(path);
    } else {
        fileLabel_->setText(tr("none"));
        fileLabel_->setToolTip({});
    }
    updateReadState();
    recomputeWindows();
}

bool DatasetPanel::needsReread() const {
    if (!dataset_)
        return false;
    const ls::DatasetOptions now = datasetOptions();
    if (now.format != readWith_.format || now.maxDocuments != readWith_.maxDocuments)
        return true;
    // Templates only matter for Alpaca records.
    return isAlpaca(dataset_->format) && (now.promptTemplate != readWith_.promptTemplate ||
                                          now.promptTemplateNoInput != readWith_.promptTemplateNoInput);
}

void DatasetPanel::updateReadState() {
    // The "auto" entry says what it detected.
    formatCombo_->setItemText(0, dataset_ && readWith_.format == ls::DataFormat::Auto
                                     ? tr("auto (detected: %1)").arg(formatName(dataset_->format))
                                     : formatName(ls::DataFormat::Auto));
    ls::DataFormat format = datasetOptions().format;
    if (format == ls::DataFormat::Auto && dataset_)
        format = dataset_->format;
    const bool alpaca = isAlpaca(format);
    for (QWidget* w : std::initializer_list<QWidget*>{templateEdit_, templateNoInputEdit_, resetTemplatesButton_})
        w->setEnabled(alpaca);
    applyButton_->setEnabled(needsReread());
}

void DatasetPanel::recomputeWindows() {
    windows_.clear();
    summary_ = {};
    windowError_.clear();
    if (dataset_) {
        try {
            windows_ = ls::makeWindows(int64_t(dataset_->tokens.size()), dataset_->documentStarts, windowParams());
            summary_ = ls::summarizeWindows(windows_, dataset_->documentStarts);
        } catch (const ls::ParamError& e) {  // named as the form names the field
            const QHash<QString, QString> labels = {{"seq-len", tr("Seq len")},
                                                    {"stride", tr("Stride")},
                                                    {"max-tokens", tr("Max tokens")},
                                                    {"max-windows", tr("Max windows")}};
            const QString key = QString::fromStdString(e.key());
            windowError_ = tr("%1: %2").arg(labels.value(key, key), QString::fromStdString(e.problem()));
        } catch (const ls::Error& e) {
            windowError_ = QString::fromStdString(e.what());
        }
    }
    summaryLabel_->setText(summaryText());
    summaryLabel_->setStyleSheet(windowError_.isEmpty() ? QString() : palette::textStyle(palette::problemText(palette())));
    emit windowsChanged();
}

QString DatasetPanel::summaryText() const {
    if (!dataset_)
        return tr("No dataset: open one to see its windows.");
    if (!windowError_.isEmpty())
        return windowError_;
    return tr("%1 documents · %2 tokens · %3 windows · %4 tokens scored")
        .arg(formatCount(summary_.documents), formatCount(summary_.tokens), formatCount(summary_.windows),
             formatCount(summary_.scoredTokens));
}
