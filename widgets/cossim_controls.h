#pragma once
// The controls of CossimView (cossim_view.h): the exit-layer and hard-ratio sliders with their
// values, the threshold they give and the histogram's zoom switch. The view owns the selection;
// these show it and report moves.
#include <QWidget>

class QCheckBox;
class QLabel;
class QSlider;

namespace ls::widgets {

// "30%" for whole percentages, "32.5%" otherwise.
QString hardRatioText(double ratio);

class CossimControls : public QWidget {
    Q_OBJECT
public:
    explicit CossimControls(QWidget* parent);
    // Layers 1..layers to choose from; 0: no result (disabled, no texts).
    void setLayers(int layers);
    // The sliders at layer and ratio (without layerMoved / ratioMoved), their values and the
    // threshold's text (plain; shown in bold).
    void showSelection(int layer, bool special, double ratio, const QString& thresholdText);
    QSlider* layerSlider() const { return layerSlider_; }
    QSlider* ratioSlider() const { return ratioSlider_; }
    QCheckBox* zoomCheck() const { return zoomCheck_; }

signals:
    void layerMoved(int layer);
    void ratioMoved(double ratio);
    void zoomToggled(bool on);

private:
    QSlider *layerSlider_ = nullptr, *ratioSlider_ = nullptr;
    QLabel *layerValue_ = nullptr, *ratioValue_ = nullptr, *threshold_ = nullptr;
    QCheckBox* zoomCheck_ = nullptr;
};

}  // namespace ls::widgets
