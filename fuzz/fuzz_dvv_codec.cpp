// The DVV codec (libnode/data/codec.hpp) and the opaque client contexts: decoding arbitrary
// bytes returns a Status or a value whose invariants hold; a decoded value encodes to bytes
// that decode to an equal value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "apiary/data/codec.hpp"
#include "apiary/data/version_vector.hpp"

using namespace apiary;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  if (auto dvv = data::decode_dvv(bytes); dvv.ok()) {
    const auto again = data::encode_dvv(dvv.value());
    auto round = data::decode_dvv(again);
    if (!round.ok() || !(round.value() == dvv.value())) std::abort();
    (void)dvv.value().lww();
    (void)dvv.value().context();
  }
  if (auto context = data::decode_context(bytes); context.ok()) {
    const std::string again = data::encode_context(context.value());
    auto round = data::decode_context(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(again.data()), again.size()));
    if (!round.ok() || !(round.value() == context.value())) std::abort();
  }
  return 0;
}
