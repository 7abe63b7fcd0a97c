#include "kit/result_view.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "export_menu.h"
#include "kit/tables.h"

namespace ls::widgets {

ResultView::ResultView(const QString& description, QWidget* parent) : QWidget(parent) {
    description_ = makeNote(this, description);
    description_->setVisible(!description.isEmpty());
    summary_ = makeNote(this);
    summary_->hide();

    exportButton_ = new ExportButton(this);
    // Virtual calls, made only once the derived view exists (when the menu opens).
    exportButton_->setCharts([this] { return charts(); });
    exportButton_->setTables([this] { return tables(); });

    texts_ = new QVBoxLayout;
    texts_->setSpacing(2);
    texts_->addWidget(description_);
    texts_->addWidget(summary_);
    controls_ = new QHBoxLayout;
    controls_->setSpacing(4);
    controls_->addWidget(exportButton_);
    auto* top = new QHBoxLayout;
    top->setContentsMargins(6, 4, 6, 0);
    top->addLayout(texts_, 1);
    top->addLayout(controls_);
    top->setAlignment(controls_, Qt::AlignTop);

    layout_ = new QVBoxLayout(this);
    layout_->setContentsMargins(0, 0, 0, 4);
    layout_->setSpacing(4);
    layout_->addLayout(top);
}

void ResultView::setSummary(const QString& text) {
    summary_->setText(text);
    summary_->setVisible(!text.isEmpty());
}

void ResultView::addHeaderLine(QWidget* line) { texts_->addWidget(line); }

void ResultView::addHeaderControl(QWidget* control) {
    controls_->insertWidget(controls_->count() - 1, control);
    controls_->setAlignment(control, Qt::AlignVCenter);
}

void ResultView::setBody(QWidget* body) { layout_->addWidget(body, 1); }
void ResultView::setBody(QLayout* body) { layout_->addLayout(body, 1); }

void ResultView::replotCharts(bool queued) {
    for (const auto& [stem, plot] : charts())
        plot->replot(queued ? QCustomPlot::rpQueuedReplot : QCustomPlot::rpRefreshHint);
}

}  // namespace ls::widgets
