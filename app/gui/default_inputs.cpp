#include "default_inputs.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

QStringList demoFolderCandidates() {
    QStringList folders;
    if (QCoreApplication::instance())
        folders << QDir(QCoreApplication::applicationDirPath()).filePath("../share/layerscope/demo");
    folders << QStringLiteral(LAYERSCOPE_DEMO_SOURCE_DIR);  // resources/demo of the build's source tree
    return folders;
}

DefaultInputs findDemo(const QStringList& demoFolders) {
    for (const QString& folder : demoFolders) {
        const QDir dir(folder);
        if (!QFileInfo::exists(dir.filePath("model/config.json")))
            continue;
        DefaultInputs inputs;
        inputs.modelDir = QDir::cleanPath(dir.absoluteFilePath("model"));
        if (QFileInfo::exists(dir.filePath("eval.txt")))
            inputs.dataPath = QDir::cleanPath(dir.absoluteFilePath("eval.txt"));
        inputs.prompt = QStringLiteral("copy sami sape tope runu again sami sape");
        if (QFileInfo::exists(dir.filePath("copy_pairs.jsonl")))
            inputs.pairsPath = QDir::cleanPath(dir.absoluteFilePath("copy_pairs.jsonl"));
        return inputs;
    }
    return {};
}
