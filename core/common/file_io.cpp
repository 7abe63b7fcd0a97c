#include "common/file_io.h"

#include <fstream>

#include "common/error.h"

namespace ls {

void writeFileAtomically(const std::filesystem::path& path, const std::string& bytes) {
    const std::filesystem::path partial = path.string() + ".partial";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            std::error_code ec;
            std::filesystem::remove(partial, ec);
            throw Error(path, "cannot write");
        }
    }
    std::error_code ec;
    std::filesystem::rename(partial, path, ec);
    if (ec) throw Error(path, "cannot write: " + ec.message());
}

}  // namespace ls
