#include "prov/reports.hpp"

namespace ucedge::prov {

ReportStore::ReportStore(store::Store& store, std::size_t kept_per_device, const core::Clock& clock)
    : store_(store), kept_per_device_(kept_per_device), clock_(clock) {}

core::Result<std::int64_t> ReportStore::save(const std::string& mac, const std::string& name,
                                             const std::string& transport, std::string_view content) {
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch()).count();
  std::int64_t id = 0;
  auto saved = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    auto rows = txn.query(
        "INSERT INTO prov_reports (mac, name, transport, received_at, content) VALUES (?, ?, ?, ?, ?) RETURNING id",
        {mac, name, transport, now, store::Blob::from(content)});
    if (!rows) return core::fail(rows.error());
    if (rows->empty()) return core::fail(store::StoreError{store::StoreError::Kind::internal, "no id returned"});
    auto got = rows->front().get<std::int64_t>(0);
    if (!got) return core::fail(got.error());
    id = *got;
    // Only the newest few per device stay.
    auto pruned = txn.exec(
        "DELETE FROM prov_reports WHERE mac = ? AND id NOT IN (SELECT id FROM prov_reports WHERE mac = ? "
        "ORDER BY id DESC LIMIT ?)",
        {mac, mac, static_cast<std::int64_t>(kept_per_device_)});
    if (!pruned) return core::fail(pruned.error());
    return {};
  });
  if (!saved) return core::fail("cannot store the report: " + saved.error().message);
  return id;
}

std::vector<Report> ReportStore::list(const std::string& mac) const {
  std::vector<Report> out;
  auto rows = store_.query(
      "SELECT id, name, transport, received_at, LENGTH(content) FROM prov_reports WHERE mac = ? ORDER BY id DESC",
      {mac});
  if (!rows) return out;
  for (const auto& row : *rows) {
    Report r;
    r.mac = mac;
    auto id = row.get<std::int64_t>(0);
    auto name = row.get<std::string>(1);
    auto transport = row.get<std::string>(2);
    auto at = row.get<std::int64_t>(3);
    auto size = row.get<std::int64_t>(4);
    if (!id || !name || !transport || !at || !size) continue;
    r.id = *id;
    r.name = *name;
    r.transport = *transport;
    r.received_at = *at;
    r.size = static_cast<std::uint64_t>(*size);
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<Report> ReportStore::get(const std::string& mac, std::int64_t id) const {
  auto rows = store_.query("SELECT name, transport, received_at, content FROM prov_reports WHERE mac = ? AND id = ?",
                           {mac, id});
  if (!rows || rows->empty()) return std::nullopt;
  const auto& row = rows->front();
  auto name = row.get<std::string>(0);
  auto transport = row.get<std::string>(1);
  auto at = row.get<std::int64_t>(2);
  auto content = row.get<store::Blob>(3);
  if (!name || !transport || !at || !content) return std::nullopt;
  Report r;
  r.id = id;
  r.mac = mac;
  r.name = *name;
  r.transport = *transport;
  r.received_at = *at;
  r.content = std::string(content->view());
  r.size = r.content.size();
  return r;
}

}  // namespace ucedge::prov
