#include "train_job.h"

#include <cmath>
#include <QDir>
#include <QObject>

namespace fs = std::filesystem;

namespace {

QString folderText(const fs::path& path) { return QDir::toNativeSeparators(QString::fromStdString(path.string())); }

}  // namespace

QString describeTrainResult(const ls::TrainResult& r, const ls::TrainParams& params) {
    const QString folder = folderText(r.outputDir);
    const QString best = QObject::tr("best validation loss %1 (PPL %2) at step %3")
                             .arg(r.bestValLoss, 0, 'f', 4)
                             .arg(std::exp(r.bestValLoss), 0, 'f', 2)
                             .arg(r.bestStep);
    if (r.canceled) {
        if (r.saved)
            return QObject::tr("Canceled after %1 steps. The best checkpoint so far (%2) was kept in %3.")
                .arg(r.steps)
                .arg(best, folder);
        return QObject::tr("Canceled after %1 steps, before the first validation: no checkpoint was saved "
                           "(%2 holds only the tokenizer).")
            .arg(r.steps)
            .arg(folder);
    }
    const QString how = r.stoppedEarly
                            ? QObject::tr("Stopped early after %1 steps (%2 s): the validation loss did not "
                                          "improve for %3 validations.")
                                  .arg(r.steps)
                                  .arg(r.seconds, 0, 'f', 1)
                                  .arg(params.patience)
                            : QObject::tr("Finished %1 epochs: %2 steps in %3 s.")
                                  .arg(params.maxEpochs)
                                  .arg(r.steps)
                                  .arg(r.seconds, 0, 'f', 1);
    if (!r.saved)
        return how + ' ' + QObject::tr("No checkpoint was saved.");
    return how + ' ' + QObject::tr("The model (%1) is in %2.").arg(best, folder);
}
