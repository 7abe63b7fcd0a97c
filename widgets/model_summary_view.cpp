#include "model_summary_view.h"

#include <QHeaderView>
#include <QTableWidget>
#include <QVBoxLayout>

namespace ls::widgets {

ModelSummaryView::ModelSummaryView(QWidget* parent) : QWidget(parent) {
    table_ = new QTableWidget(0, 2, this);
    table_->setHorizontalHeaderLabels({tr("Property"), tr("Value")});
    table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->horizontalHeader()->hide();
    table_->verticalHeader()->hide();
    // Compact rows: a summary should fit without scrolling.
    table_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    table_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setShowGrid(false);
    table_->setWordWrap(false);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(table_);
}

void ModelSummaryView::setSections(const QList<SummarySection>& sections) {
    table_->clearContents();
    table_->clearSpans();
    table_->setRowCount(0);
    QFont bold = font();
    bold.setBold(true);
    for (const SummarySection& section : sections) {
        // A section title spans both columns.
        const int titleRow = table_->rowCount();
        table_->insertRow(titleRow);
        auto* title = new QTableWidgetItem(section.title);
        title->setFont(bold);
        table_->setItem(titleRow, 0, title);
        table_->setSpan(titleRow, 0, 1, 2);
        for (const auto& [key, value] : section.rows) {
            const int row = table_->rowCount();
            table_->insertRow(row);
            table_->setItem(row, 0, new QTableWidgetItem(key));
            auto* valueItem = new QTableWidgetItem(value);
            valueItem->setToolTip(value);  // long paths are elided in the cell
            table_->setItem(row, 1, valueItem);
        }
    }
}

QString ModelSummaryView::toText() const {
    QStringList lines;
    for (int row = 0; row < table_->rowCount(); ++row) {
        const QTableWidgetItem* value = table_->item(row, 1);
        const QString key = table_->item(row, 0) ? table_->item(row, 0)->text() : QString();
        lines << (value ? key + ": " + value->text() : key);
    }
    return lines.join('\n');
}

}  // namespace ls::widgets
