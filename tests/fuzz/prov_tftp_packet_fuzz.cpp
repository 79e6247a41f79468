// TFTP datagrams from the network: parse must answer, never crash; whatever it
// accepts must serialize back to a datagram that parses to the same packet.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "prov/codec/tftp_packet.hpp"

using namespace ucedge::prov::tftp;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool same_options(const std::vector<Option>& a, const std::vector<Option>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = parse(std::span<const std::uint8_t>(data, size));
  if (!parsed) return 0;

  std::vector<std::uint8_t> out;
  const Packet& p = *parsed;
  if (const auto* r = std::get_if<Request>(&p)) {
    check(!r->file_name.empty());
    check(r->mode == "octet" || r->mode == "netascii" || r->mode == "mail");
    write_request(out, *r);
  } else if (const auto* d = std::get_if<Data>(&p)) {
    check(d->payload.size() + 4 == size);
    write_data(out, d->block, d->payload);
    // DATA is the one packet that must come back byte for byte.
    check(out.size() == size && std::equal(out.begin(), out.end(), data));
  } else if (const auto* a = std::get_if<Ack>(&p)) {
    write_ack(out, a->block);
  } else if (const auto* e = std::get_if<Error>(&p)) {
    write_error(out, e->code, e->message);
  } else if (const auto* o = std::get_if<OptionAck>(&p)) {
    write_oack(out, o->options);
  }

  auto again = parse(out);
  check(again.ok());
  const Packet& q = *again;
  check(q.index() == p.index());
  if (const auto* r = std::get_if<Request>(&p)) {
    const auto& r2 = std::get<Request>(q);
    check(r2.write == r->write && r2.file_name == r->file_name && r2.mode == r->mode);
    check(same_options(r2.options, r->options));
  } else if (const auto* d = std::get_if<Data>(&p)) {
    const auto& d2 = std::get<Data>(q);
    check(d2.block == d->block && d2.payload == d->payload);
  } else if (const auto* a = std::get_if<Ack>(&p)) {
    check(std::get<Ack>(q).block == a->block);
  } else if (const auto* e = std::get_if<Error>(&p)) {
    const auto& e2 = std::get<Error>(q);
    check(e2.code == e->code && e2.message == e->message);
  } else if (const auto* o = std::get_if<OptionAck>(&p)) {
    check(same_options(std::get<OptionAck>(q).options, o->options));
  }
  return 0;
}
