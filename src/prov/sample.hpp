#pragma once
// The sample a newcomer finds after `make run`: profiles for every exercise
// of seed 004 (TFTP resync, per-MAC profile, HTTP, HTTPS, client certificate
// reflector, gzip, AES, partitioned profiles) and one device to fetch them as.
#include <filesystem>

#include "core/result.hpp"
#include "prov/device_directory.hpp"

namespace ucedge::prov {

inline constexpr std::string_view kSampleMac = "000e08abcdef";

// Writes the sample files into `root` and registers the sample device.
core::Result<void> install_sample(const std::filesystem::path& root, DeviceDirectory& devices);

}  // namespace ucedge::prov
