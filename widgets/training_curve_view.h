#pragma once
// Live loss curves of a training run: train loss (line) and validation loss (line with
// dots) against the optimizer step, the best validation point marked. Points arrive one
// at a time while training runs; the axes follow the data.
#include <QVector>
#include <QWidget>
#include <limits>

class QCPGraph;
class QCustomPlot;

namespace ls::widgets {

struct LossCurvePoint {
    double step = 0;
    double trainLoss = 0;                                       // nats
    double valLoss = std::numeric_limits<double>::quiet_NaN();  // NaN: not validated here
};

class TrainingCurveView : public QWidget {
    Q_OBJECT
public:
    explicit TrainingCurveView(QWidget* parent = nullptr);

    void addPoint(const LossCurvePoint& point);
    void setPoints(const QVector<LossCurvePoint>& points);
    void clear() { setPoints({}); }
    const QVector<LossCurvePoint>& points() const { return points_; }
    void setTitle(const QString& title);
    // What the curves measure (default "loss": "train loss", "validation loss", "loss (nats)"),
    // and what the validation data is called ("validation").
    void setQuantity(const QString& quantity, const QString& validation);

    QCustomPlot* plot() const { return plot_; }
    QCPGraph* trainGraph() const { return train_; }
    QCPGraph* validationGraph() const { return validation_; }
    QCPGraph* bestGraph() const { return best_; }  // one point: the lowest validation loss

    // .png/.pdf/.svg by suffix; see plot_export.h.
    bool exportTo(const QString& path, QSize size = {}, QString* error = nullptr) const;

private:
    void append(const LossCurvePoint& point);  // to the graphs, no replot
    void updateRanges();

    QVector<LossCurvePoint> points_;
    QCustomPlot* plot_ = nullptr;
    QCPGraph* train_ = nullptr;
    QCPGraph* validation_ = nullptr;
    QCPGraph* best_ = nullptr;
};

}  // namespace ls::widgets
