// The Python side of a parameter struct declared once (cpp/core/param_fields.h): keyword
// arguments of the constructor, the `params` dict and `param_fields()`, all from P::fields().
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <string>
#include <type_traits>

#include "core/distance.h"
#include "core/param_fields.h"
#include "core/vector_store.h"

namespace fanns::bindings {

namespace nb = nanobind;

/// Remove and return keyword argument `name` as a T; TypeError when missing or of the wrong type.
template <class T>
T take_keyword(nb::kwargs& kwargs, const char* name) {
  if (!kwargs.contains(name)) throw nb::type_error(("missing keyword argument '" + std::string(name) + "'").c_str());
  nb::object value = kwargs[name];
  PyDict_DelItemString(kwargs.ptr(), name);
  T result;
  if (!nb::try_cast<T>(value, result)) {
    const char* type = std::is_same_v<T, std::string> ? "str" : param_type_name<T>();
    throw nb::type_error(("keyword argument '" + std::string(name) + "' must be " + type +
                          ", got " + nb::cast<std::string>(nb::repr(value)))
                             .c_str());
  }
  return result;
}

/// The fields of P taken from `kwargs` (every one required); bounds are checked by the index.
template <class P>
P take_params(nb::kwargs& kwargs) {
  P params;
  for_each_field<P>([&](const auto& field) {
    using T = std::decay_t<decltype(params.*field.member)>;
    params.*field.member = take_keyword<T>(kwargs, field.name);
  });
  return params;
}

/// TypeError naming the keyword arguments nobody took.
inline void reject_unknown_keywords(const nb::kwargs& kwargs) {
  if (kwargs.size() == 0) return;
  std::string names;
  for (auto [key, value] : kwargs) names += (names.empty() ? "'" : ", '") + nb::cast<std::string>(key) + "'";
  throw nb::type_error(("unexpected keyword argument(s) " + names).c_str());
}

/// The field-list struct P of what an index holds: `stored` itself, or P::of(stored) when the
/// index keeps a wider engine configuration that several methods' field lists map onto.
template <class P, class Stored>
P param_struct(const Stored& stored) {
  if constexpr (std::is_same_v<P, Stored>) {
    return stored;
  } else {
    return P::of(stored);
  }
}

/// Every field of `params` into `d`, by name.
template <class P>
void put_params(nb::dict& d, const P& params) {
  for_each_field<P>([&](const auto& field) { d[field.name] = params.*field.member; });
}

inline nb::object bound_object(double bound, bool integral) {
  if (bound == kUnbounded || bound == -kUnbounded) return nb::none();
  if (integral) return nb::int_(static_cast<int64_t>(bound));
  return nb::float_(bound);
}

/// [(name, type, minimum or None, maximum or None)] of P's fields, in declaration order.
template <class P>
nb::list param_field_list() {
  nb::list out;
  for_each_field<P>([&](const auto& field) {
    using T = std::decay_t<decltype(std::declval<P>().*field.member)>;
    const bool integral = std::is_integral_v<T>;
    out.append(nb::make_tuple(field.name, param_type_name<T>(), bound_object(field.minimum, integral),
                              bound_object(field.maximum, integral)));
  });
  return out;
}

/// The `params` dict (metric, storage when WithStorage, the fields, then what `more` adds) and
/// the static `param_fields()`. Py::index() gives the index, whose params(), metric() (and
/// storage()) are read back.
template <class Py, class P, bool WithStorage = true>
void def_param_info(nb::class_<Py>& cls, void (*more)(const Py&, nb::dict&) = nullptr) {
  cls.def_prop_ro("params",
                  [more](const Py& self) {
                    nb::dict d;
                    d["metric"] = metric_name(self.index().metric());
                    if constexpr (WithStorage) d["storage"] = storage_name(self.index().storage());
                    put_params(d, param_struct<P>(self.index().params()));
                    if (more) more(self, d);
                    return d;
                  })
      .def_static("param_fields", &param_field_list<P>,
                  "The build parameters as [(name, type, minimum or None, maximum or None)].");
}

/// `__init__(dim, metric, **params)`: P's fields (and `storage` when WithStorage) as required
/// keyword arguments, no defaults (the Python method's declaration is the one source), built
/// as Py(dim, metric, storage, P) or Py(dim, metric, P); plus def_param_info.
template <class Py, class P, bool WithStorage = true>
void def_param_fields(nb::class_<Py>& cls, void (*more)(const Py&, nb::dict&) = nullptr) {
  cls.def(
      "__init__",
      [](Py* self, size_t dim, const std::string& metric, nb::kwargs kwargs) {
        const P params = take_params<P>(kwargs);
        if constexpr (WithStorage) {
          const std::string storage = take_keyword<std::string>(kwargs, "storage");
          reject_unknown_keywords(kwargs);
          new (self) Py(dim, metric, storage, params);
        } else {
          reject_unknown_keywords(kwargs);
          new (self) Py(dim, metric, params);
        }
      },
      nb::arg("dim"), nb::arg("metric"), nb::arg("params"));
  def_param_info<Py, P, WithStorage>(cls, more);
}

}  // namespace fanns::bindings
