#pragma once
// Live probe training (loss separation's probes, spec section 3): while a run trains its
// probes, the train / validation loss per epoch of the probe being trained, and a table of
// the probes trained so far with their epochs and best validation loss. Epochs arrive one at
// a time on the GUI thread; nothing here is kept once the run is over.
#include <QFrame>
#include <QString>

class QLabel;
class QTableWidget;

namespace ls {
struct ProbeEpoch;
}

namespace ls::widgets {

class TrainingCurveView;

class ProbeTrainingPanel : public QFrame {
    Q_OBJECT
public:
    explicit ProbeTrainingPanel(QWidget* parent = nullptr);

    // A run that trains `probes` probes starts: the panel empties (it shows with the first epoch).
    void begin(int probes);
    void addEpoch(const ls::ProbeEpoch& epoch);
    // The run is over (finished, failed or canceled): the panel hides.
    void end();
    bool isTraining() const { return training_; }

    QString headingText() const;  // "Training probes: probe 2 of 25, linear regression, epoch 7 …"
    TrainingCurveView* curve() const { return curve_; }
    QTableWidget* table() const { return table_; }  // the probes trained so far

private:
    void finishCurrentProbe();  // its row in the table

    bool training_ = false;
    int probesExpected_ = 0;
    int probesSeen_ = 0;
    QString currentProbe_;
    int currentEpochs_ = 0;
    double currentBest_ = 0;
    QLabel* heading_ = nullptr;
    TrainingCurveView* curve_ = nullptr;
    QTableWidget* table_ = nullptr;
};

}  // namespace ls::widgets
