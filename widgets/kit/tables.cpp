#include "kit/tables.h"

#include <QEvent>
#include <QBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <algorithm>
#include <vector>

namespace ls::widgets {

namespace {

// Refits a table's columns whenever its viewport (the width the columns share) is resized.
class ColumnFitter : public QObject {
public:
    explicit ColumnFitter(QTableWidget* table) : QObject(table), table_(table) {
        table->viewport()->installEventFilter(this);
    }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (watched == table_->viewport() && event->type() == QEvent::Resize)
            fitColumns(table_);
        return false;
    }

private:
    QTableWidget* table_;
};

}  // namespace

QTableWidget* makeTable(QWidget* parent, const QStringList& headers, const QStringList& headerTips) {
    auto* table = new QTableWidget(0, int(headers.size()), parent);
    table->setHorizontalHeaderLabels(headers);
    for (int c = 0; c < headerTips.size() && c < headers.size(); ++c)
        if (!headerTips[c].isEmpty())
            table->horizontalHeaderItem(c)->setToolTip(headerTips[c]);
    table->verticalHeader()->setVisible(false);
    table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setSelectionMode(QAbstractItemView::SingleSelection);
    table->setWordWrap(false);
    new ColumnFitter(table);
    return table;
}

CaptionedTable makeCaptionedTable(QWidget* parent, const QString& caption, const QStringList& headers,
                                  const QStringList& headerTips) {
    return {new QLabel(caption, parent), makeTable(parent, headers, headerTips)};
}

void addCaptionedTable(QBoxLayout* layout, const CaptionedTable& table, int tableStretch) {
    layout->addWidget(table.caption);
    layout->addWidget(table.table, tableStretch);
}

QLabel* makeNote(QWidget* parent, const QString& text) {
    auto* label = new QLabel(text, parent);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return label;
}

QTableWidgetItem* setCell(QTableWidget* table, int row, int column, const QString& text, Qt::Alignment align,
                          const QString& tip) {
    QTableWidgetItem* item = table->item(row, column);
    if (!item) {
        item = new QTableWidgetItem;
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        table->setItem(row, column, item);
    }
    if (item->text() != text)
        item->setText(text);
    item->setTextAlignment(align);
    item->setToolTip(tip);
    for (int role : {Qt::FontRole, Qt::ForegroundRole, Qt::BackgroundRole})
        if (item->data(role).isValid())
            item->setData(role, QVariant());
    return item;
}

void fitColumns(QTableWidget* table) {
    if (table->columnCount() == 0)
        return;
    QHeaderView* header = table->horizontalHeader();
    std::vector<int> need(size_t(table->columnCount()), 0);
    int needed = 0, shown = 0;
    for (int c = 0; c < table->columnCount(); ++c) {
        if (table->isColumnHidden(c))
            continue;
        need[size_t(c)] = std::max(static_cast<QAbstractItemView*>(table)->sizeHintForColumn(c), header->sectionSizeHint(c));
        needed += need[size_t(c)];
        ++shown;
    }
    if (header->sectionResizeMode(0) != QHeaderView::Interactive)
        header->setSectionResizeMode(QHeaderView::Interactive);
    const int available = table->viewport()->width();
    const int spare = shown > 0 && needed < available ? (available - needed) / shown : 0;
    for (int c = 0; c < table->columnCount(); ++c)
        if (!table->isColumnHidden(c) && header->sectionSize(c) != need[size_t(c)] + spare)
            header->resizeSection(c, need[size_t(c)] + spare);
}

int tableHeight(const QTableWidget* table, int rows) {
    return table->horizontalHeader()->sizeHint().height() + table->verticalHeader()->defaultSectionSize() * rows +
           2 * table->frameWidth() + 4;
}

}  // namespace ls::widgets
