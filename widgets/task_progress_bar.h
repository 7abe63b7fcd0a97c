#pragma once
// Progress of one running task: stage label, progress bar, ETA ("~12 s left") and a
// Cancel button. The owner polls its task and calls setProgress(); the bar only shows.
#include <QElapsedTimer>
#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;

namespace ls::widgets {

class TaskProgressBar : public QWidget {
    Q_OBJECT
public:
    explicit TaskProgressBar(QWidget* parent = nullptr);

    // Shows the bar for a new task and starts its clock.
    void start(const QString& title);
    // fraction in [0, 1]; stage may be empty (keeps the title).
    void setProgress(double fraction, const QString& stage);
    // Hides the bar.
    void finish();

    bool isActive() const { return active_; }
    double fraction() const;
    QString stageText() const;
    QString etaText() const;

signals:
    void cancelRequested();

private:
    QLabel* stageLabel_ = nullptr;
    QProgressBar* bar_ = nullptr;
    QLabel* etaLabel_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QElapsedTimer clock_;
    QString title_;
    bool active_ = false;
};

}  // namespace ls::widgets
