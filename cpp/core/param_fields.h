// Build parameters declared once: a parameter struct lists its fields (name, member, bounds) in
// `static auto fields()`, and that list drives bounds checking, save/load in index files, the
// Python binding's keyword arguments and `params` dict, and `param_fields()` (see
// cpp/bindings/param_fields.h), which tests compare with the Python method's `Param` set.
//
//   struct BuildParams {
//     int M = 24;
//     uint64_t seed = 0;
//     static auto fields() {
//       return std::make_tuple(param_field("M", &BuildParams::M, 2, 4096),
//                              param_field("seed", &BuildParams::seed, 0));
//     }
//     void validate() const { check_fields(*this); }
//   };
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>

#include "core/binary_io.h"

namespace fanns {

/// No bound on that side (beyond the field type's own range).
constexpr double kUnbounded = std::numeric_limits<double>::infinity();

/// One field of a parameter struct `P`: its name, member and closed bounds [minimum, maximum].
template <class P, class T>
struct ParamField {
  const char* name;
  T P::*member;
  double minimum;
  double maximum;
};

template <class P, class T>
constexpr ParamField<P, T> param_field(const char* name, T P::*member, double minimum = -kUnbounded,
                                       double maximum = kUnbounded) {
  static_assert(std::is_same_v<T, int> || std::is_same_v<T, uint64_t> || std::is_same_v<T, float> ||
                    std::is_same_v<T, bool>,
                "a parameter field is int, uint64_t, float or bool");
  return {name, member, minimum, maximum};
}

/// The Python type name of a field type: "int", "float" or "bool".
template <class T>
constexpr const char* param_type_name() {
  if constexpr (std::is_same_v<T, bool>) return "bool";
  if constexpr (std::is_floating_point_v<T>) return "float";
  return "int";
}

/// Call `fn(field)` for every field of `P`, in declaration order.
template <class P, class Fn>
void for_each_field(Fn&& fn) {
  std::apply([&](const auto&... field) { (fn(field), ...); }, P::fields());
}

namespace detail {

inline std::string bound_text(double bound) {
  if (bound == std::floor(bound) && std::fabs(bound) < 1e15) return std::to_string(static_cast<int64_t>(bound));
  return std::to_string(bound);
}

template <class T>
std::string value_text(T value) {
  if constexpr (std::is_same_v<T, bool>) return value ? "true" : "false";
  return std::to_string(value);
}

/// The one error of a value outside its field's bounds: names the parameter, value and bound.
template <class P, class T>
void check_field(const ParamField<P, T>& field, T value) {
  if constexpr (std::is_same_v<T, bool>) return;
  const double v = static_cast<double>(value);
  const bool low_ok = field.minimum == -kUnbounded || v >= field.minimum;
  const bool high_ok = field.maximum == kUnbounded || v <= field.maximum;
  const bool finite = !std::is_floating_point_v<T> || std::isfinite(v);
  if (low_ok && high_ok && finite) return;
  std::string expected;
  if (field.minimum != -kUnbounded && field.maximum != kUnbounded) {
    expected = "in [" + bound_text(field.minimum) + ", " + bound_text(field.maximum) + "]";
  } else if (field.minimum != -kUnbounded) {
    expected = ">= " + bound_text(field.minimum);
  } else if (field.maximum != kUnbounded) {
    expected = "<= " + bound_text(field.maximum);
  }
  if (std::is_floating_point_v<T>) expected = "a finite number" + (expected.empty() ? "" : " " + expected);
  throw std::invalid_argument(std::string(field.name) + " must be " + expected + ", got " + value_text(value));
}

/// The type a field is stored as in index files (int as int32, bool as one byte).
template <class T>
using stored_t = std::conditional_t<std::is_same_v<T, int>, int32_t, std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>>;

}  // namespace detail

/// Throws std::invalid_argument naming the first field of `params` outside its bounds.
template <class P>
void check_fields(const P& params) {
  for_each_field<P>([&](const auto& field) { detail::check_field(field, params.*field.member); });
}

/// Write every field of `params` in declaration order (int as int32, bool as a byte).
template <class P>
void write_fields(BinaryWriter& out, const P& params) {
  for_each_field<P>([&](const auto& field) {
    using T = std::decay_t<decltype(params.*field.member)>;
    out.value(static_cast<detail::stored_t<T>>(params.*field.member));
  });
}

/// Read the fields written by write_fields into `params` (other members keep their values).
template <class P>
void read_fields(BinaryReader& in, P& params) {
  for_each_field<P>([&](const auto& field) {
    using T = std::decay_t<decltype(params.*field.member)>;
    const auto stored = in.value<detail::stored_t<T>>();
    if constexpr (std::is_same_v<T, bool>) {
      params.*field.member = stored != 0;
    } else {
      params.*field.member = static_cast<T>(stored);
    }
  });
}

/// Read P's fields (write_fields) and return P::engine(): the index's configuration from a
/// method's field list; a value out of bounds makes the file corrupt.
template <class P>
auto read_engine_params(BinaryReader& in) {
  P params;
  read_fields(in, params);
  try {
    return params.engine();
  } catch (const std::invalid_argument& error) {
    in.corrupt(error.what());
  }
}

}  // namespace fanns
