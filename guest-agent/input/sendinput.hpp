#pragma once
// Windows guests: SendInput with the records of sendinput_translate.hpp.

#ifdef _WIN32
#include <windows.h>

#include <vector>

#include "input/injector.hpp"
#include "input/sendinput_translate.hpp"

namespace porthole::agent::win {

// The INPUT structure for one record (what SendInput receives).
INPUT to_native(const SendInputRecord& r);

class SendInputInjector final : public InputInjector {
  public:
    [[nodiscard]] std::string_view name() const override { return "sendinput"; }
    Status inject(std::span<const protocol::InputEvent> events) override;
    [[nodiscard]] InjectorStats stats() const override;

  private:
    SendInputTranslator translator_;
    InjectorStats stats_;
};

}  // namespace porthole::agent::win
#endif
