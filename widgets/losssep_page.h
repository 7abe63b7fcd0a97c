#pragma once
// The Loss separation tab: the live probe training (while a run trains its probes) in place of
// the loss-separation view (the two squeezed into one tab were unreadable); the view is back
// when the run is over.
#include <QWidget>
#include <memory>

namespace ls {
struct LossSepResult;
struct ProbeEpoch;
}  // namespace ls

namespace ls::widgets {

class LossSepView;
class ProbeTrainingPanel;

class LossSepPage : public QWidget {
    Q_OBJECT
public:
    explicit LossSepPage(QWidget* parent = nullptr);

    void setResult(std::shared_ptr<const ls::LossSepResult> result);
    // A run that trains `probes` probes starts (0: it trains none); it is over.
    void beginTraining(int probes);
    void addEpoch(const ls::ProbeEpoch& epoch);  // the first one shows the training in the view's place
    void endTraining();

    LossSepView* view() const { return view_; }
    ProbeTrainingPanel* training() const { return training_; }

private:
    LossSepView* view_ = nullptr;
    ProbeTrainingPanel* training_ = nullptr;
};

}  // namespace ls::widgets
