// sg/wire/codec.hpp — sg::wire::encode(value) and sg::wire::decode<T>(bytes): values as bytes
// that another process (another build, another machine) reads back.
//
//   std::vector<std::byte> bytes = sg::wire::encode(answer);          // on a node
//   auto answer = sg::wire::decode<decltype(answer)>(bytes);           // on the coordinator
//
// A buffer is a 12-byte header — the magic "SGW", the format version (1) and a 64-bit
// fingerprint of the type's layout — then the value, little-endian, fixed width for
// numbers, every length a u64 count before its items (docs/wire.md has the table). decode
// checks every byte: a buffer that is truncated, has bytes left over, another version,
// another type's fingerprint, a length longer than the bytes that remain (checked before
// anything is allocated), a bool other than 0 or 1, or a value its type's own check refuses
// (a sketch, sg/wire/agg.hpp) throws std::system_error(sg::errc::bad_input) saying what
// and at which byte — never undefined behaviour, never an allocation larger than the
// buffer justifies. Types: bool, integers, float and double (their bits: NaN payloads and
// -0.0 survive), std::byte, std::string, std::vector, std::optional, std::pair,
// std::tuple, std::array; sg/wire/agg.hpp adds sg::agg's states, sg/wire/gathered.hpp
// gathered<T>; a user type joins by specializing sg::wire::codec<T>, a struct most simply
// as sg::wire::fields<T, &T::a, &T::b, ...>.
// Encoding is O(size), decoding O(size); both are thread-safe (no shared state).
// Example: examples/wire_node.cpp, tests/wire/codec.cpp.
#pragma once

#include <sg/error.hpp>

#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::wire {

// The format version this build writes and reads (the header's fourth byte).
inline constexpr std::uint8_t version = 1;
// The header: "SGW", version, then the type's fingerprint (u64).
inline constexpr std::size_t header_size = 12;

// Throws std::system_error(sg::errc::bad_input) with "sg::wire: " + what.
[[noreturn]] inline void bad_input(std::string const& what) {
  throw std::system_error(make_error_code(errc::bad_input), "sg::wire: " + what);
}

// Appends values to a byte buffer, little-endian.
class writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<std::byte>(v)); }
  template <std::unsigned_integral U>
  void uint(U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i) out_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  }
  void u64(std::uint64_t v) { uint(v); }
  void bytes(void const* p, std::size_t n) {
    auto const* b = static_cast<std::byte const*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  std::vector<std::byte>& buffer() noexcept { return out_; }

 private:
  std::vector<std::byte> out_;
};

// Reads values from a byte buffer, checking every read against the bytes that remain.
class reader {
 public:
  explicit reader(std::span<std::byte const> in) noexcept : in_(in) {}

  std::size_t position() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return in_.size() - pos_; }

  [[noreturn]] void fail(std::string const& what) const {
    bad_input(what + " (at byte " + std::to_string(pos_) + " of " + std::to_string(in_.size()) + ")");
  }
  void need(std::size_t n, char const* what) const {
    if (n > remaining())
      fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
           std::to_string(remaining()) + " remain");
  }
  std::uint8_t u8(char const* what = "a byte") {
    need(1, what);
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  template <std::unsigned_integral U>
  U uint(char const* what = "an integer") {
    need(sizeof(U), what);
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) v = static_cast<U>(v | (static_cast<U>(in_[pos_ + i]) << (8 * i)));
    pos_ += sizeof(U);
    return v;
  }
  std::uint64_t u64(char const* what = "an integer") { return uint<std::uint64_t>(what); }
  // A u64 count of items that each take at least `min_item` bytes (at least 1 is assumed):
  // refused when the bytes left cannot hold them, before the caller allocates anything.
  std::size_t count(std::size_t min_item, char const* what) {
    const std::uint64_t n = u64(what);
    const std::size_t per = min_item == 0 ? 1 : min_item;
    if (n > remaining() / per)
      fail(std::string(what) + " says " + std::to_string(n) + " items of at least " + std::to_string(per) +
           " bytes, but " + std::to_string(remaining()) + " bytes remain");
    return static_cast<std::size_t>(n);
  }
  std::span<std::byte const> bytes(std::size_t n, char const* what) {
    need(n, what);
    auto s = in_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  std::span<std::byte const> in_;
  std::size_t pos_ = 0;
};

// How a T is written and read. Each specialization has `schema` (a fingerprint of the
// layout, equal for equal layouts in every build), `min_size` (the fewest bytes a value
// takes, for length checks), write(writer&, T const&) and read(reader&) -> T, which
// throws through reader::fail on bad bytes.
template <class T>
struct codec;

// T has a codec: encode and decode accept it.
template <class T>
concept encodable = requires(writer& w, reader& r, T const& v) {
  { codec<T>::schema } -> std::convertible_to<std::uint64_t>;
  { codec<T>::min_size } -> std::convertible_to<std::size_t>;
  codec<T>::write(w, v);
  { codec<T>::read(r) } -> std::same_as<T>;
};

namespace detail {

constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
// The fingerprint of a name (FNV-1a, then mixed).
constexpr std::uint64_t tag(std::string_view name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return mix(h);
}
constexpr std::uint64_t combine(std::uint64_t a, std::uint64_t b) noexcept { return mix(a * 31 + b + 0x9e3779b97f4a7c15ULL); }

template <class... T>
constexpr std::uint64_t schema_of(std::string_view name) noexcept {
  std::uint64_t h = tag(name);
  ((h = combine(h, codec<T>::schema)), ...);
  return h;
}

template <class T>
inline constexpr bool is_char = std::same_as<T, char> || std::same_as<T, signed char> || std::same_as<T, unsigned char> ||
                                std::same_as<T, char8_t> || std::same_as<T, char16_t> || std::same_as<T, char32_t> ||
                                std::same_as<T, wchar_t>;

}  // namespace detail

// bool: one byte, 0 or 1 (anything else is bad input).
template <>
struct codec<bool> {
  static constexpr std::uint64_t schema = detail::tag("bool");
  static constexpr std::size_t min_size = 1;
  static void write(writer& w, bool v) { w.u8(v ? 1 : 0); }
  static bool read(reader& r) {
    const auto b = r.u8("a bool");
    if (b > 1) r.fail("a bool is " + std::to_string(b) + ", not 0 or 1");
    return b == 1;
  }
};

// Integers (and character types): their width in bytes, two's complement, little-endian.
template <std::integral T>
  requires(!std::same_as<T, bool> && sizeof(T) <= 8)
struct codec<T> {
  static constexpr std::uint64_t schema =
      detail::combine(detail::tag(std::is_signed_v<T> ? "int" : "uint"), sizeof(T));
  static constexpr std::size_t min_size = sizeof(T);
  using unsigned_type = std::make_unsigned_t<T>;
  static void write(writer& w, T v) { w.uint(static_cast<unsigned_type>(v)); }
  static T read(reader& r) { return static_cast<T>(r.uint<unsigned_type>("an integer")); }
};

// float and double: their IEEE 754 bits, little-endian (every value, NaN payloads and -0.0
// included, reads back bit for bit).
template <std::floating_point T>
  requires(sizeof(T) == 4 || sizeof(T) == 8) && std::numeric_limits<T>::is_iec559
struct codec<T> {
  using bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  static constexpr std::uint64_t schema = detail::combine(detail::tag("float"), sizeof(T));
  static constexpr std::size_t min_size = sizeof(T);
  static void write(writer& w, T v) { w.uint(std::bit_cast<bits>(v)); }
  static T read(reader& r) { return std::bit_cast<T>(r.uint<bits>("a floating-point number")); }
};

template <>
struct codec<std::byte> {
  static constexpr std::uint64_t schema = detail::tag("byte");
  static constexpr std::size_t min_size = 1;
  static void write(writer& w, std::byte v) { w.u8(static_cast<std::uint8_t>(v)); }
  static std::byte read(reader& r) { return static_cast<std::byte>(r.u8()); }
};

// std::string: a u64 length, then the bytes.
template <>
struct codec<std::string> {
  static constexpr std::uint64_t schema = detail::tag("string");
  static constexpr std::size_t min_size = 8;
  static void write(writer& w, std::string const& s) {
    w.u64(s.size());
    w.bytes(s.data(), s.size());
  }
  static std::string read(reader& r) {
    const auto n = r.count(1, "a string's length");
    auto b = r.bytes(n, "a string");
    return std::string(reinterpret_cast<char const*>(b.data()), b.size());
  }
};

// std::vector<T>: a u64 count, then the items.
template <class T, class A>
  requires encodable<T>
struct codec<std::vector<T, A>> {
  static constexpr std::uint64_t schema = detail::schema_of<T>("vector");
  static constexpr std::size_t min_size = 8;
  static void write(writer& w, std::vector<T, A> const& v) {
    w.u64(v.size());
    if constexpr (std::is_same_v<T, std::byte> || std::is_same_v<T, std::uint8_t>)
      w.bytes(v.data(), v.size());
    else
      for (auto const& x : v) codec<T>::write(w, x);
  }
  static std::vector<T, A> read(reader& r) {
    const auto n = r.count(codec<T>::min_size, "a vector's count");
    std::vector<T, A> v;
    v.reserve(n);
    for (std::size_t i = 0; i < n; ++i) v.push_back(codec<T>::read(r));
    return v;
  }
};

// std::optional<T>: a byte (0 empty, 1 engaged), then the value when engaged.
template <class T>
  requires encodable<T>
struct codec<std::optional<T>> {
  static constexpr std::uint64_t schema = detail::schema_of<T>("optional");
  static constexpr std::size_t min_size = 1;
  static void write(writer& w, std::optional<T> const& v) {
    codec<bool>::write(w, v.has_value());
    if (v) codec<T>::write(w, *v);
  }
  static std::optional<T> read(reader& r) {
    if (!codec<bool>::read(r)) return std::nullopt;
    return codec<T>::read(r);
  }
};

// std::tuple and std::pair: the elements in order, nothing between them.
template <class... T>
  requires(encodable<T> && ...)
struct codec<std::tuple<T...>> {
  static constexpr std::uint64_t schema = detail::schema_of<T...>("tuple");
  static constexpr std::size_t min_size = (std::size_t{0} + ... + codec<T>::min_size);
  static void write(writer& w, std::tuple<T...> const& v) {
    std::apply([&](auto const&... x) { (codec<std::remove_cvref_t<decltype(x)>>::write(w, x), ...); }, v);
  }
  static std::tuple<T...> read(reader& r) {
    return std::tuple<T...>{codec<T>::read(r)...};  // braces: left to right
  }
};
template <class A, class B>
  requires encodable<A> && encodable<B>
struct codec<std::pair<A, B>> {
  static constexpr std::uint64_t schema = detail::schema_of<A, B>("tuple");
  static constexpr std::size_t min_size = codec<A>::min_size + codec<B>::min_size;
  static void write(writer& w, std::pair<A, B> const& v) {
    codec<A>::write(w, v.first);
    codec<B>::write(w, v.second);
  }
  static std::pair<A, B> read(reader& r) {
    A a = codec<A>::read(r);
    return {std::move(a), codec<B>::read(r)};
  }
};
template <class T, std::size_t N>
  requires encodable<T> && std::default_initializable<T>
struct codec<std::array<T, N>> {
  static constexpr std::uint64_t schema = detail::combine(detail::schema_of<T>("array"), N);
  static constexpr std::size_t min_size = N * codec<T>::min_size;
  static void write(writer& w, std::array<T, N> const& v) {
    for (auto const& x : v) codec<T>::write(w, x);
  }
  static std::array<T, N> read(reader& r) {
    std::array<T, N> v;
    for (auto& x : v) x = codec<T>::read(r);
    return v;
  }
};

namespace detail {
template <auto Member>
struct member_of;
template <class T, class M, M T::*Member>
struct member_of<Member> {
  using type = M;
};
}  // namespace detail

// A codec for a struct of the user's, field by field in the order given, each field as its
// own codec: a row type joins with one line,
//   template <> struct sg::wire::codec<order> : sg::wire::fields<order, &order::id, &order::cents> {};
// Fields left out are not sent and read back value-initialized; T must be
// default-initializable.
template <class T, auto... Members>
  requires std::default_initializable<T> && (encodable<typename detail::member_of<Members>::type> && ...)
struct fields {
  static constexpr std::uint64_t schema = detail::schema_of<typename detail::member_of<Members>::type...>("fields");
  static constexpr std::size_t min_size = (std::size_t{0} + ... + codec<typename detail::member_of<Members>::type>::min_size);
  static void write(writer& w, T const& v) { (codec<typename detail::member_of<Members>::type>::write(w, v.*Members), ...); }
  static T read(reader& r) {
    T v{};
    ((v.*Members = codec<typename detail::member_of<Members>::type>::read(r)), ...);  // a fold: left to right
    return v;
  }
};

// The header encode writes for a T: "SGW", version, fingerprint.
template <class T>
  requires encodable<T>
void write_header(writer& w) {
  w.bytes("SGW", 3);
  w.u8(version);
  w.u64(codec<T>::schema);
}

// Reads and checks the header of a T.
template <class T>
  requires encodable<T>
void read_header(reader& r) {
  if (r.remaining() < header_size)
    r.fail("truncated: a buffer starts with a " + std::to_string(header_size) + "-byte header");
  auto magic = r.bytes(3, "the magic");
  if (std::memcmp(magic.data(), "SGW", 3) != 0) r.fail("the buffer does not start with \"SGW\": not sg::wire bytes");
  const auto v = r.u8("the version");
  if (v != version)
    r.fail("format version " + std::to_string(v) + ", but this build reads version " + std::to_string(version));
  if (r.u64("the type's fingerprint") != codec<T>::schema)
    r.fail("the bytes hold another type than the one decoded (its layout's fingerprint differs)");
}

// The bytes of `value`: header, then the value. Throws only what allocation throws.
template <class T>
  requires encodable<T>
std::vector<std::byte> encode(T const& value) {
  writer w;
  write_header<T>(w);
  codec<T>::write(w, value);
  return std::move(w.buffer());
}

// The value `bytes` holds, which encode<T> wrote. Throws std::system_error(sg::errc::bad_input)
// for any buffer encode<T> cannot have written (see the top of this file).
template <class T>
  requires encodable<T>
T decode(std::span<std::byte const> bytes) {
  reader r(bytes);
  read_header<T>(r);
  T value = codec<T>::read(r);
  if (r.remaining() != 0) r.fail(std::to_string(r.remaining()) + " bytes left over after the value");
  return value;
}

}  // namespace sg::wire
