#pragma once
// Windows guests: SendInput with the records of sendinput_translate.hpp.

#ifdef _WIN32
#include <windows.h>

#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "input/desktop_follow.hpp"
#include "input/injector.hpp"
#include "input/sas.hpp"
#include "input/sendinput_translate.hpp"

namespace porthole::agent::win {

// The INPUT structure for one record (what SendInput receives).
INPUT to_native(const SendInputRecord& r);

// Ctrl+Alt+Del as Windows accepts it from software: SendSAS from sas.dll
// (loaded at run time: absent from Wine and from Windows editions without
// it). The error says when sas.dll or the SoftwareSASGeneration policy is missing.
Status send_sas();
// The SoftwareSASGeneration policy value (0: nobody may, 1: services, 2:
// ease-of-access apps, 3: both); nullopt if it is not set.
std::optional<unsigned long> software_sas_policy();

class SendInputInjector final : public InputInjector {
  public:
    using SasSender = std::function<Status()>;
    explicit SendInputInjector(DesktopApi& desktops = system_desktop_api(),
                               SasSender sas = send_sas)
        : desktop_(desktops), send_sas_(std::move(sas)) {}
    [[nodiscard]] std::string_view name() const override { return "sendinput"; }
    Status inject(std::span<const protocol::InputEvent> events) override;
    [[nodiscard]] InjectorStats stats() const override;
    void set_captured_area(const ScreenArea& area) override;
    [[nodiscard]] const DesktopFollower& desktop() const { return desktop_; }
    [[nodiscard]] unsigned sas_sent() const { return sas_sent_; }

  private:
    SendInputTranslator translator_;
    InjectorStats stats_;
    DesktopFollower desktop_;
    SasDetector sas_;
    SasSender send_sas_;
    unsigned sas_sent_ = 0;
    std::mutex area_mutex_;
    ScreenArea area_;  // guarded by area_mutex_
};

}  // namespace porthole::agent::win
#endif
