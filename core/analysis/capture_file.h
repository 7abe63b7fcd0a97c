#pragma once
// The capture pass's per-token scalars in a run file (the groups /tokens, /cossim, /lens,
// /lowrank, /metrics, /metrics_lowrank, /inspect and the capture's attributes in /meta; see
// docs/run-files.md). They belong to the capture, not to one analysis: exit reads the cos-sim
// and the lens metrics that cossim and losssep read too.
#include <filesystem>

#include "analysis/capture_pass.h"

namespace ls {

class H5Reader;
class H5Writer;

void writeCapture(const CaptureResult& capture, H5Writer& file);
// Throws ls::Error naming file for datasets of the wrong shape or size.
CaptureResult readCapture(const H5Reader& file, const std::filesystem::path& path);

}  // namespace ls
