// sg/detail/type_traits.hpp — private helpers shared by sg's headers.
#pragma once

#include <optional>
#include <type_traits>

namespace sg::detail {

// For static_assert in a template that must fail only when instantiated.
template <class...>
inline constexpr bool always_false = false;

template <class T>
concept not_void = !std::is_void_v<T>;

// Whether T is a std::optional (a nullable column: empty is SQL NULL).
template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

// A character type: char, wchar_t, char8_t, char16_t, char32_t (not signed / unsigned char,
// which are integers).
template <class T>
inline constexpr bool is_character =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

// A signed or unsigned integer type: what std::cmp_equal and std::in_range accept (not
// bool, not a character type).
template <class T>
inline constexpr bool is_integer = std::is_integral_v<T> && !std::is_same_v<T, bool> && !is_character<T>;

// std::forward_like (C++23) for the one case sg needs: an element of a range taken as an
// rvalue when the range itself was an rvalue.
template <class Range, class T>
constexpr decltype(auto) forward_element(T& element) noexcept {
  if constexpr (std::is_lvalue_reference_v<Range>)
    return static_cast<T const&>(element);
  else
    return static_cast<T&&>(element);
}

}  // namespace sg::detail
