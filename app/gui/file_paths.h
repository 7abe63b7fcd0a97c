#pragma once
// QString file names to std::filesystem paths and back, in the file system's encoding.
#include <QByteArray>
#include <QFile>
#include <QString>
#include <filesystem>

inline std::filesystem::path toPath(const QString& path) {
    return std::filesystem::path(QFile::encodeName(path).toStdString());
}

inline QString fromPath(const std::filesystem::path& path) {
    return QFile::decodeName(QByteArray::fromStdString(path.string()));
}
