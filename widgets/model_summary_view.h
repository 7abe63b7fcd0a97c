#pragma once
// Two-column key/value table (architecture, layers, heads, dims, parameters, ...), grouped
// in titled sections ("Model", "Dataset", "Last run").
#include <QList>
#include <QPair>
#include <QString>
#include <QWidget>

class QTableWidget;

namespace ls::widgets {

struct SummarySection {
    QString title;
    QList<QPair<QString, QString>> rows;  // (key, value)
};

class ModelSummaryView : public QWidget {
    Q_OBJECT
public:
    explicit ModelSummaryView(QWidget* parent = nullptr);

    void setSections(const QList<SummarySection>& sections);
    void clear() { setSections({}); }

    // Plain text, one "key: value" line per row, for the clipboard and tests.
    QString toText() const;
    QTableWidget* table() const { return table_; }

private:
    QTableWidget* table_ = nullptr;
};

}  // namespace ls::widgets
