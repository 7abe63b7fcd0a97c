#pragma once
// "Train Tuned Lens": a tuned lens for the open model on the open dataset's windows
// (train/tuned_lens_trainer.h, the same training as `layerscope-cli lens train`). Output folder,
// steps, learning rate, tokens per step and whether to translate after attention too on the
// left; the live training and held-out KL on the right; when it ends, the held-out KL per layer
// of the logit and the tuned lens, and "Use This Lens" sets the Lens field of the analyses.
// The training itself runs as a workbench task: progress, ETA and Cancel on the window's bar.
#include <QDialog>
#include <memory>

#include "data/windows.h"
#include "train/tuned_lens_trainer.h"

namespace ls::widgets {
class TrainingCurveView;
}

class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;
class WorkbenchTasks;

class TrainLensDialog : public QDialog {
    Q_OBJECT
public:
    TrainLensDialog(WorkbenchTasks* tasks, QWidget* parent = nullptr);

    // The windows to train on (the Dataset panel's options), and a folder to suggest.
    void setWindows(const ls::WindowParams& windows);
    void setOutputFolder(const QString& dir);
    QString outputFolder() const;
    ls::LensTrainParams trainParams() const;
    void setTrainParams(const ls::LensTrainParams& params);  // the fields (windows come from setWindows)

    QString problemText() const;  // why Start is off; empty when it can start
    QString resultText() const;
    QTableWidget* klTable() const { return klTable_; }
    ls::widgets::TrainingCurveView* curveView() const { return curve_; }

public slots:
    void start();

signals:
    void lensChosen(const QString& dir);  // "Use This Lens"
    void trainingEnded();

private:
    void updateState();
    void showResult(const ls::LensTrainResult& result);

    WorkbenchTasks* tasks_;
    ls::WindowParams windows_;
    QLineEdit* folder_ = nullptr;
    QCheckBox* postAttention_ = nullptr;
    QCheckBox* overwrite_ = nullptr;
    QSpinBox* steps_ = nullptr;
    QDoubleSpinBox* rate_ = nullptr;
    QSpinBox* batchTokens_ = nullptr;
    QSpinBox* seed_ = nullptr;
    QLabel* problem_ = nullptr;
    QLabel* result_ = nullptr;
    QTableWidget* klTable_ = nullptr;
    ls::widgets::TrainingCurveView* curve_ = nullptr;
    QPushButton* start_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QPushButton* use_ = nullptr;
    bool training_ = false;
    QString trainedDir_;
};
