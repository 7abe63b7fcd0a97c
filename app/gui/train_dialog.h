#pragma once
// "Train Small Model": data file, output folder, tokenizer source, model shape and training
// options on the left; the live train/validation loss curve on the right; progress, ETA
// and Cancel below. The data is read and tokenized in the background as soon as it is
// chosen, so every option is checked (ls::validateTrainParams) before Start. The work
// itself is train_job.h, which the tests call directly.
#include <QDialog>
#include <QHash>
#include <QString>
#include <functional>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include "train_job.h"

namespace ls::widgets {
class TaskProgressBar;
class TrainingCurveView;
}  // namespace ls::widgets

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QHBoxLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QRadioButton;
class QSpinBox;
class QTimer;
class TaskRunner;
struct TaskOutcome;
struct TrainRun;

class TrainDialog : public QDialog {
    Q_OBJECT
public:
    explicit TrainDialog(QWidget* parent = nullptr);
    ~TrainDialog() override;

    void setDataPath(const QString& path);
    // The model folder whose tokenizer can be reused; empty: no model loaded.
    void setCurrentModel(const QString& modelDir);
    void setOutputFolder(const QString& dir);
    void setTrainParams(const ls::TrainParams& params);
    // Reuse the current model's tokenizer (true) or build a word-level one (false).
    void setReuseTokenizer(bool reuse);
    void setWordVocab(int topK);
    void setTokenizerFolder(const QString& dir);  // train with that model folder's tokenizer

    ls::TrainDataSpec dataSpec() const;
    ls::TrainParams trainParams() const;
    QString outputFolder() const;

    // The data for dataSpec() has been read and nothing stops a start.
    bool canStart() const;
    bool isBusy() const;      // reading the data or training
    bool isTraining() const;
    // Why Start is disabled (empty if it is not); shown in red under the options.
    QString problemText() const;
    QString resultText() const;
    ls::widgets::TrainingCurveView* curveView() const { return curve_; }

public slots:
    void start();

signals:
    void dataPrepared();      // the data was read (or failed to be): problemText() is current
    void trainingEnded();     // resultText() says how
    void openModelRequested(const QString& modelDir);

protected:
    void closeEvent(QCloseEvent* event) override;
    void reject() override;

private:
    void buildForm(QWidget* form);
    // edit with a Browse… button after it: choose() asks for a path, apply() takes it.
    QHBoxLayout* browseRow(QLineEdit* edit, const std::function<QString()>& choose,
                           void (TrainDialog::*apply)(const QString&));
    // The spin boxes that each hold one TrainParams field as it is, for trainParams() and
    // setTrainParams().
    std::vector<std::pair<QSpinBox*, int ls::TrainParams::*>> intFields() const;
    std::vector<std::pair<QDoubleSpinBox*, double ls::TrainParams::*>> realFields() const;
    // A labelled field for an option, named as in validateTrainParams messages ("ffn-dim").
    struct OptionRow {
        QString name;
        QString label;
        QWidget* field;
    };
    // A group box of option fields, two a row; each is marked when its option has a problem.
    QGroupBox* optionBox(QWidget* parent, const QString& title, std::initializer_list<OptionRow> rows);
    void schedulePrepare();
    void prepare();
    void revalidate();
    void showPoint(const ls::TrainPoint& point);
    void trainingDone(const TaskOutcome& outcome, const std::shared_ptr<TrainRun>& run);
    void suggestOutputFolder();
    void updateButtons();

    // The last data read (matching dataSpec() unless a change is pending) or why it failed.
    std::shared_ptr<const ls::TrainData> data_;
    QString dataError_;
    bool preparePending_ = false;
    bool training_ = false;
    QString currentModel_;
    QString trainedFolder_;    // the last run's folder, if it saved a model
    QString problem_;
    bool outputEdited_ = false;  // the user typed a folder: stop suggesting one

    // Option name as in validateTrainParams messages ("ffn-dim") -> field and label.
    QHash<QString, QWidget*> optionFields_;
    QHash<QString, QString> optionLabels_;

    QLineEdit* dataEdit_ = nullptr;
    QRadioButton* wordLevelRadio_ = nullptr;
    QSpinBox* wordVocabSpin_ = nullptr;
    QRadioButton* reuseRadio_ = nullptr;
    QRadioButton* folderTokenizerRadio_ = nullptr;  // another model folder's tokenizer (--tokenizer)
    QLineEdit* tokenizerEdit_ = nullptr;
    QComboBox* formatCombo_ = nullptr;              // --format
    QSpinBox* documentsSpin_ = nullptr;             // --num-samples
    QLabel* dataSummary_ = nullptr;
    QLineEdit* outputEdit_ = nullptr;
    QCheckBox* overwriteCheck_ = nullptr;
    QComboBox* layoutCombo_ = nullptr;
    QSpinBox* dimSpin_ = nullptr;
    QSpinBox* headsSpin_ = nullptr;
    QSpinBox* ffnSpin_ = nullptr;
    QSpinBox* layersSpin_ = nullptr;
    QSpinBox* seqLenSpin_ = nullptr;
    QSpinBox* samplesSpin_ = nullptr;
    QDoubleSpinBox* lrSpin_ = nullptr;
    QSpinBox* batchSpin_ = nullptr;
    QSpinBox* epochsSpin_ = nullptr;
    QSpinBox* patienceSpin_ = nullptr;
    QDoubleSpinBox* valFractionSpin_ = nullptr;
    QDoubleSpinBox* weightDecaySpin_ = nullptr;
    QSpinBox* evalEverySpin_ = nullptr;
    QSpinBox* seedSpin_ = nullptr;
    QLabel* problemLabel_ = nullptr;
    QWidget* form_ = nullptr;

    ls::widgets::TrainingCurveView* curve_ = nullptr;
    QLabel* pointLabel_ = nullptr;
    QLabel* resultLabel_ = nullptr;
    ls::widgets::TaskProgressBar* taskBar_ = nullptr;
    QPushButton* startButton_ = nullptr;
    QPushButton* openButton_ = nullptr;
    TaskRunner* runner_ = nullptr;
    QTimer* prepareTimer_ = nullptr;
};
