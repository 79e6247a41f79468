// STUN messages and ChannelData from the network: every entry point of the
// codec must answer, never crash. Whatever parse() accepts is walked with
// every typed decoder, checked for integrity and fingerprint, and rebuilt
// attribute by attribute into a message that parses to the same list.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "turn/codec/stun.hpp"

using namespace ucedge::turn::stun;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::uint8_t kKey[] = {'f', 'u', 'z', 'z', '-', 'k', 'e', 'y'};

void decode_everything(const Message& m) {
  const std::uint16_t known[] = {attr::username, attr::message_integrity,   attr::realm,
                                 attr::nonce,    attr::requested_transport, attr::lifetime};
  auto unknown = unknown_required(m, known);
  check(unknown.count <= unknown.types.size());
  for (auto type : unknown.view()) check(attr::comprehension_required(type));

  for (const Attribute& a : m.attributes()) {
    check(a.offset >= kHeaderBytes + 4u && a.offset + a.length <= m.bytes().size());
    auto value = m.bytes().subspan(a.offset, a.length);
    // Every decoder on every value, whatever its type: they must refuse, not crash.
    if (auto x = decode_xor_address(value, m.transaction_id())) {
      // A decoded address encodes back to the same value but for the reserved byte.
      std::array<std::uint8_t, 64> buffer{};
      Builder b(buffer, m.method(), m.message_class(), m.transaction_id());
      b.add_xor_address(a.type, *x);
      auto out = b.finish();
      check(out.size() == kHeaderBytes + 4 + value.size());
      check(std::memcmp(out.data() + kHeaderBytes + 5, value.data() + 1, value.size() - 1) == 0);
    }
    if (auto p = decode_address(value)) check(p->ip_bytes() + 4 == value.size());
    if (decode_u32(value).ok()) check(value.size() == 4);
    if (auto e = decode_error_code(value)) check(e->code >= 300 && e->code <= 699);
    if (auto c = decode_channel_number(value)) check(*c >= kMinChannel && *c <= kMaxChannel);
    (void)decode_requested_transport(value);
    (void)decode_address_family(value);
    (void)decode_even_port(value);
    (void)as_text(value);
    if (auto found = m.find(a.type)) {
      check(found->data() >= m.bytes().data());
      check(found->data() + found->size() <= m.bytes().data() + m.bytes().size());
    }
  }
  (void)check_fingerprint(m);
  (void)check_integrity(m, kKey);
  (void)check_integrity(m, {});
}

// Rebuilds the message from its attributes: the builder's output must parse
// to the same types and values (the padding may differ: it is zeroed).
void rebuild(const Message& m) {
  static std::array<std::uint8_t, 0x10000> buffer;
  Builder b(buffer, static_cast<Method>(m.raw_method()), m.message_class(), m.transaction_id());
  for (const Attribute& a : m.attributes()) b.add(a.type, m.bytes().subspan(a.offset, a.length));
  check(b.ok());
  auto again = parse(b.finish());
  check(again.ok());
  check(again->raw_method() == m.raw_method() && again->message_class() == m.message_class());
  check(again->transaction_id() == m.transaction_id());
  check(again->attributes().size() == m.attributes().size());
  for (std::size_t i = 0; i < m.attributes().size(); ++i) {
    const Attribute& x = m.attributes()[i];
    const Attribute& y = again->attributes()[i];
    check(x.type == y.type && x.length == y.length && x.offset == y.offset);
    check(std::memcmp(m.bytes().data() + x.offset, again->bytes().data() + y.offset, x.length) == 0);
  }
  check(again->integrity_index() == m.integrity_index());
  check(again->integrity_sha256_index() == m.integrity_sha256_index());
  check(again->fingerprint_index() == m.fingerprint_index());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);

  if (auto parsed = parse(bytes)) {
    check(looks_like_stun(bytes));
    check(parsed->bytes().size() == size);
    decode_everything(*parsed);
    rebuild(*parsed);
  }

  if (auto cd = parse_channel_data(bytes)) {
    check(cd->channel >= kMinChannel && cd->channel <= kMaxChannel);
    check(cd->payload.size() + 4 <= size);
  }

  if (auto frame = stream_frame_size(bytes)) {
    check(size < 4 ? *frame == 0 : *frame >= 4);
  }
  return 0;
}
