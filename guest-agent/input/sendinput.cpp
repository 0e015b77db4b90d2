#include "input/sendinput.hpp"

#include <string>

namespace porthole::agent::win {

static_assert(kKeyExtended == KEYEVENTF_EXTENDEDKEY && kKeyUp == KEYEVENTF_KEYUP &&
              kKeyScancode == KEYEVENTF_SCANCODE);
static_assert(kMouseMove == MOUSEEVENTF_MOVE && kLeftDown == MOUSEEVENTF_LEFTDOWN &&
              kLeftUp == MOUSEEVENTF_LEFTUP && kRightDown == MOUSEEVENTF_RIGHTDOWN &&
              kRightUp == MOUSEEVENTF_RIGHTUP && kMiddleDown == MOUSEEVENTF_MIDDLEDOWN &&
              kMiddleUp == MOUSEEVENTF_MIDDLEUP && kXDown == MOUSEEVENTF_XDOWN &&
              kXUp == MOUSEEVENTF_XUP && kWheel == MOUSEEVENTF_WHEEL &&
              kHWheel == MOUSEEVENTF_HWHEEL && kVirtualDesk == MOUSEEVENTF_VIRTUALDESK &&
              kAbsolute == MOUSEEVENTF_ABSOLUTE);
static_assert(kXButton1 == XBUTTON1 && kXButton2 == XBUTTON2 && kVkPause == VK_PAUSE);

INPUT to_native(const SendInputRecord& r) {
    INPUT in{};
    if (r.kind == SendInputRecord::Kind::keyboard) {
        in.type = INPUT_KEYBOARD;
        in.ki.wVk = r.vk;
        in.ki.wScan = r.scan;
        in.ki.dwFlags = r.flags;
    } else {
        in.type = INPUT_MOUSE;
        in.mi.dx = r.dx;
        in.mi.dy = r.dy;
        in.mi.mouseData = static_cast<DWORD>(r.mouse_data);
        in.mi.dwFlags = r.flags;
    }
    return in;
}

Status SendInputInjector::inject(std::span<const protocol::InputEvent> events) {
    const auto records = translator_.translate(events);
    if (records.empty()) return {};
    std::vector<INPUT> inputs;
    inputs.reserve(records.size());
    for (const auto& r : records)
        inputs.push_back(to_native(r));
    const UINT sent = SendInput(static_cast<UINT>(inputs.size()), inputs.data(), sizeof(INPUT));
    stats_.events += sent;
    if (sent != inputs.size()) {
        stats_.failed += inputs.size() - sent;
        // UIPI blocks input to elevated windows unless the agent runs elevated too.
        return Error::make("SendInput injected " + std::to_string(sent) + " of " +
                               std::to_string(inputs.size()) + " inputs (error " +
                               std::to_string(GetLastError()) +
                               "): run porthole-agent as administrator to reach elevated windows",
                           static_cast<int>(GetLastError()));
    }
    return {};
}

InjectorStats SendInputInjector::stats() const {
    InjectorStats s = stats_;
    s.unmapped = translator_.unmapped();
    return s;
}

}  // namespace porthole::agent::win
