#pragma once
// Device identifiers: MAC address forms, and the hints a requested file name
// gives about which device asks ($MA.xml, CP-7841-3PCC$MA.cfg, SEP$MAU.cnf.xml,
// spa$PSN.cfg, $PSN.xml), as wazo-provd guesses them.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ucedge::prov {

// Accepts 000e08abcdef, 000E08ABCDEF, 00:0e:08:ab:cd:ef, 00-0e-08-ab-cd-ef and
// 000e.08ab.cdef; returns the 12 lower-case hex digits ($MA form).
std::optional<std::string> normalize_mac(std::string_view text);
// "000e08abcdef" → "00:0e:08:ab:cd:ef" ($MAC form). Input must be normalized.
std::string colon_mac(std::string_view ma);
// "000e08abcdef" → "000E08ABCDEF" ($MAU form).
std::string upper_mac(std::string_view ma);

// The product series of a model: "CP-7841-3PCC" → "7841", "SPA508G" → "508G",
// "CP-8832-3PCC" → "8832"; "" when the model has no recognisable number.
std::string product_series(std::string_view model);

// Every 12-hex-digit window in the base name of `file_name` (directories and
// extensions ignored), normalized to lower case, in order and without
// repeats: candidates the caller checks against known devices. For
// "CP-7841-3PCC000e08abcdef.cfg" the hex run "CC000e08abcdef" yields three.
std::vector<std::string> mac_candidates(std::string_view file_name);

}  // namespace ucedge::prov
