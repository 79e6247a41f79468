#pragma once
// Report_Rule uploads: a phone, asked with a NOTIFY "Event: report", sends its
// configuration back (HTTP POST or TFTP write into reports/). Each device
// keeps its newest uploads; an upload is acknowledged only once committed.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace ucedge::prov {

struct Report {
  std::int64_t id = 0;
  std::string mac;
  std::string name;
  std::string transport;
  std::int64_t received_at = 0;
  std::uint64_t size = 0;
  std::string content;  // only from ReportStore::get
};

class ReportStore {
 public:
  ReportStore(store::Store& store, std::size_t kept_per_device = 20,
              const core::Clock& clock = core::RealClock::instance());

  core::Result<std::int64_t> save(const std::string& mac, const std::string& name, const std::string& transport,
                                  std::string_view content);
  std::vector<Report> list(const std::string& mac) const;  // newest first, without content
  std::optional<Report> get(const std::string& mac, std::int64_t id) const;

 private:
  store::Store& store_;
  const std::size_t kept_per_device_;
  const core::Clock& clock_;
};

}  // namespace ucedge::prov
