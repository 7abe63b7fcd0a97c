#pragma once
// The "Dataset" panel: how the file is read (format, Alpaca prompt templates, first N
// documents) and how it is cut into evaluation windows (seq len, stride, max tokens, max
// windows, documents packed or respected), with a summary line of what those windows
// cover. Read options take effect when the file is re-read (Apply); window options apply
// at once.
#include <QWidget>
#include <memory>
#include <vector>

#include "data/dataset.h"
#include "data/windows.h"

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

class DatasetPanel : public QWidget {
    Q_OBJECT
public:
    explicit DatasetPanel(QWidget* parent = nullptr);

    // What the widgets say now.
    ls::DatasetOptions datasetOptions() const;
    ls::WindowParams windowParams() const;
    void setDatasetOptions(const ls::DatasetOptions& options);
    // Also sets the preferred seq len (see setContextLimit).
    void setWindowParams(const ls::WindowParams& params);

    // The model's context (0 = no model): seq len goes up to it and becomes
    // min(preferred seq len, context), the preferred one being the last set by the user
    // or setWindowParams (1024 by default).
    void setContextLimit(int context);

    // The dataset now shown (null: none) and the options it was read with.
    void setDataset(std::shared_ptr<const ls::Dataset> dataset, const ls::DatasetOptions& readWith);

    // The windows of the current dataset under windowParams(); empty if there is no dataset
    // or the options are invalid (windowError() says why).
    const std::vector<ls::Window>& windows() const { return windows_; }
    const ls::WindowSummary& summary() const { return summary_; }
    QString windowError() const { return windowError_; }
    QString summaryText() const;
    // True when the read options differ from those the dataset was read with.
    bool needsReread() const;

signals:
    void openRequested();
    void rereadRequested();
    void windowsChanged();  // windows() / summary() changed

private:
    void recomputeWindows();
    void updateReadState();  // template enabling, Apply button, format label

    std::shared_ptr<const ls::Dataset> dataset_;
    ls::DatasetOptions readWith_;
    std::vector<ls::Window> windows_;
    ls::WindowSummary summary_;
    QString windowError_;
    int preferredSeqLen_ = 1024;
    bool settingSeqLen_ = false;  // true while the code, not the user, changes seq len

    QLabel* fileLabel_ = nullptr;
    QComboBox* formatCombo_ = nullptr;
    QPlainTextEdit* templateEdit_ = nullptr;
    QPlainTextEdit* templateNoInputEdit_ = nullptr;
    QPushButton* resetTemplatesButton_ = nullptr;
    QSpinBox* documentsSpin_ = nullptr;
    QPushButton* applyButton_ = nullptr;
    QSpinBox* seqLenSpin_ = nullptr;
    QSpinBox* strideSpin_ = nullptr;
    QSpinBox* maxTokensSpin_ = nullptr;
    QSpinBox* maxWindowsSpin_ = nullptr;
    QComboBox* documentsCombo_ = nullptr;
    QLabel* summaryLabel_ = nullptr;
};
