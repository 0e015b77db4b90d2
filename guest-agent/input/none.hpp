#pragma once
// The "none" injector: counts what it is given and injects nothing.

#include "input/injector.hpp"

namespace porthole::agent {

class NullInjector final : public InputInjector {
  public:
    [[nodiscard]] std::string_view name() const override { return "none"; }
    Status inject(std::span<const protocol::InputEvent> events) override;
    [[nodiscard]] InjectorStats stats() const override { return stats_; }

  private:
    InjectorStats stats_;
};

}  // namespace porthole::agent
