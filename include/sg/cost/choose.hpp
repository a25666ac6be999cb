// sg/cost/choose.hpp — sg::cost::choose(model, stats, plans...): the cheapest of a
// heterogeneous list of alternative plans, and every alternative's estimate.
//
//   auto c = sg::cost::choose(model, shard_stats, sg::cost::two_phase<order>(q), sg::cost::one_phase<order>(q));
//   c.index;                 // which plan won (ties: the first given)
//   c.estimates[1].total;    // what the model thought of the second
//   c.visit([](auto const& plan) { run(plan); });   // the winner, with its own type
//
// A plan is any value with `p.profile(stats)` giving an sg::cost::profile (or a
// std::optional<profile>: std::nullopt when the plan does not apply, e.g. a co-located join
// of tables that are not co-located) and, optionally, `p.name()`. The plans are kept in a
// Boost.Hana tuple; nothing is virtual. With sg::cost::feedback, estimates are corrected
// (choose(model, feedback, stats, plans...)). When no plan applies, choose throws
// std::system_error(sg::errc::bad_input). Example: tests/cost/model.cpp.
#pragma once

#include <sg/cost/model.hpp>
#include <sg/error.hpp>

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include <array>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace sg::cost {

template <std::size_t Terms, class... Plans>
struct choice {
  static constexpr std::size_t size = sizeof...(Plans);
  std::size_t index = 0;
  std::array<estimate<Terms>, size> estimates{};
  std::array<bool, size> applicable{};
  boost::hana::tuple<Plans...> plans;

  estimate<Terms> const& chosen_estimate() const { return estimates[index]; }

  // f(the chosen plan); f must return the same type for every plan (or void).
  template <class F>
  decltype(auto) visit(F&& f) const {
    return visit_from<0>(f);
  }

  // The chosen plan's name (its name() when it has one, else "plan <index>").
  std::string name() const {
    std::string out;
    visit([&](auto const& p) {
      if constexpr (requires { p.name(); })
        out = p.name();
      else
        out = "plan " + std::to_string(index);
    });
    return out;
  }

 private:
  template <std::size_t I, class F>
  decltype(auto) visit_from(F& f) const {
    if constexpr (I + 1 == size)
      return f(boost::hana::at_c<I>(plans));
    else
      return index == I ? f(boost::hana::at_c<I>(plans)) : visit_from<I + 1>(f);
  }
};

// P is a plan for statistics S: p.profile(s) gives a profile or an optional of one.
template <class P, class S>
concept plan_for = requires(P const& p, S const& s) { p.profile(s); };

namespace detail {

template <class Plan, class Stats>
std::optional<profile> profile_of(Plan const& plan, Stats const& stats) {
  using result = decltype(plan.profile(stats));
  if constexpr (std::is_same_v<std::remove_cvref_t<result>, profile>)
    return plan.profile(stats);
  else
    return std::optional<profile>(plan.profile(stats));
}

template <class Model, class Fb, class Stats, class... Plans>
auto choose_impl(Model const& m, Fb const* fb, Stats const& stats, Plans... plans) {
  static_assert(sizeof...(Plans) > 0, "sg::cost::choose needs at least one plan");
  static_assert((true && ... && plan_for<Plans, Stats>),
                "sg::cost::choose: a plan has no p.profile(stats) giving an sg::cost::profile (or an "
                "std::optional of one) for these statistics");
  choice<Model::size, Plans...> c{0, {}, {}, boost::hana::make_tuple(std::move(plans)...)};
  double best = std::numeric_limits<double>::infinity();
  bool any = false;
  std::size_t i = 0;
  boost::hana::for_each(c.plans, [&](auto const& plan) {
    if (auto p = profile_of(plan, stats)) {
      c.estimates[i] = fb ? m.evaluate(*p, *fb) : m.evaluate(*p);
      c.applicable[i] = true;
      if (!any || c.estimates[i].total < best) {
        best = c.estimates[i].total;
        c.index = i;
        any = true;
      }
    } else {
      c.estimates[i].total = std::numeric_limits<double>::infinity();
    }
    ++i;
  });
  if (!any) throw std::system_error(make_error_code(errc::bad_input), "sg::cost::choose: no alternative plan applies");
  return c;
}

}  // namespace detail

// The cheapest plan by `model` over `stats`; see the top of this file.
template <class Model, class Stats, class... Plans>
  requires requires { Model::size; }
auto choose(Model const& model, Stats const& stats, Plans... plans) {
  return detail::choose_impl(model, static_cast<feedback<Model::size> const*>(nullptr), stats, std::move(plans)...);
}

// As above, with the estimates corrected by `fb`.
template <class Model, class Stats, class... Plans>
  requires requires { Model::size; }
auto choose(Model const& model, feedback<Model::size> const& fb, Stats const& stats, Plans... plans) {
  return detail::choose_impl(model, &fb, stats, std::move(plans)...);
}

}  // namespace sg::cost
