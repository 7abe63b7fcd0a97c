#include "losssep_page.h"

#include <QVBoxLayout>

#include "losssep_view.h"
#include "probe_training_panel.h"

namespace ls::widgets {

LossSepPage::LossSepPage(QWidget* parent) : QWidget(parent) {
    training_ = new ProbeTrainingPanel(this);
    view_ = new LossSepView(this);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(training_);
    layout->addWidget(view_, 1);
}

void LossSepPage::setResult(std::shared_ptr<const ls::LossSepResult> result) {
    view_->setResult(std::move(result));
    view_->setVisible(training_->isHidden());
}

void LossSepPage::beginTraining(int probes) { training_->begin(probes); }

void LossSepPage::addEpoch(const ls::ProbeEpoch& epoch) {
    if (!training_->isTraining()) return;  // late: the run is over
    training_->addEpoch(epoch);
    view_->hide();
}

void LossSepPage::endTraining() {
    training_->end();
    view_->show();
}

}  // namespace ls::widgets
