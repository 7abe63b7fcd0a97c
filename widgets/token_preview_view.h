#pragma once
// Token windows drawn as a flow of rounded boxes, one box per token, so token boundaries
// are visible: neighbouring boxes alternate colours, spaces show as "·", newlines as "↵"
// (and end the row), tabs as "→". Tokens marked as context (fed to the model but not
// scored) are drawn faded. Hovering a box shows its tooltip and highlights it.
// Takes plain data; the app fills it from a dataset and tokenizer.
#include <QAbstractScrollArea>
#include <QList>
#include <QRect>
#include <QString>
#include <QVector>

namespace ls::widgets {

struct PreviewToken {
    QString text;          // what the token stands for (whitespace is made visible here)
    qint64 id = -1;        // token id
    QString tooltip;       // e.g. id and vocabulary string
    bool context = false;  // true: input only, not scored
};

struct PreviewWindow {
    QString title;               // heading line above the window's tokens
    QList<PreviewToken> tokens;
    QString note;                // optional line below (e.g. "… 900 more tokens")
};

class TokenPreviewView : public QAbstractScrollArea {
    Q_OBJECT
public:
    explicit TokenPreviewView(QWidget* parent = nullptr);

    void setWindows(QList<PreviewWindow> windows);
    void clear() { setWindows({}); }
    const QList<PreviewWindow>& windows() const { return windows_; }
    // Shown when there are no windows.
    void setPlaceholderText(const QString& text);
    // A grey line above the windows (e.g. how to read the boxes); empty: none.
    void setLegend(const QString& text);

    // The laid-out boxes in content coordinates (scroll offset 0), for painting, hit
    // tests and tests.
    struct Box {
        QRect rect;
        QString label;  // visibleWhitespace(text)
        int window = 0;
        int token = 0;
    };
    const QVector<Box>& boxes() const { return boxes_; }
    // Index into boxes() of the token under a viewport position, or -1.
    int boxAt(const QPoint& viewportPos) const;
    // Total height of the laid-out content (pixels).
    int contentHeight() const { return contentHeight_; }

    // " " -> "·", "\n" -> "↵", "\t" -> "→", "\r" dropped; empty text -> "∅".
    static QString visibleWhitespace(const QString& text);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    bool viewportEvent(QEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void scrollContentsBy(int dx, int dy) override;

private:
    // Places every title, box and note for the viewport's width.
    void relayout();
    void setHovered(int box);

    struct Line {  // a title or note line
        QRect rect;
        QString text;
        bool title = true;
    };

    QList<PreviewWindow> windows_;
    QString placeholder_;
    QString legend_;
    QVector<Box> boxes_;
    QVector<Line> lines_;
    int contentHeight_ = 0;
    int hovered_ = -1;
};

}  // namespace ls::widgets
