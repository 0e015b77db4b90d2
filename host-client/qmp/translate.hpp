#pragma once
// evdev-style events to QMP input-send-event: keys by QEMU key name (qcode),
// buttons, relative axes and absolute axes (0..32767, as QEMU's own range).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "porthole/protocol/region.hpp"
#include "porthole/qmp/message.hpp"

namespace porthole::client::qmp {

using porthole::qmp::greeting_version;
using porthole::qmp::QemuVersion;

// The qcode QEMU `qemu` accepts for an evdev key, empty if none: the keymap's
// names are QEMU 7.2's; F13..F24 have names from QEMU 8.0 on (unknown names
// make QEMU refuse the whole command, so older versions are not sent them).
std::string_view qcode_for(std::uint16_t evdev_code, QemuVersion qemu);

struct Translation {
    nlohmann::json events = nlohmann::json::array();  // input-send-event "events"
    std::uint32_t unmapped = 0;  // events QEMU has no name for (counted, not sent)
    // Of those, keys a newer QEMU names (F13..F24 before 8.0).
    std::uint32_t needs_newer_qemu = 0;
};

// The first QEMU version that names F13..F24 (qapi/ui.json: "@f13: since 8.0").
inline constexpr QemuVersion kQemuWithF13ToF24{8, 0};

// The QMP events for one batch (one SYN_REPORT's worth). Wheel steps become
// wheel button clicks; high-resolution wheel events are left out because the
// plain REL_WHEEL of the same motion carries them for QEMU.
Translation to_qmp_events(std::span<const protocol::InputEvent> batch, QemuVersion qemu = {});

// The whole command line, with an id for matching the reply.
std::string input_send_event_command(const nlohmann::json& events, std::uint64_t id);

}  // namespace porthole::client::qmp
