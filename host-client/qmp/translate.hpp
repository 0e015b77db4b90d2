#pragma once
// evdev-style events to QMP input-send-event: keys by QEMU key name (qcode),
// buttons, relative axes and absolute axes (0..32767, as QEMU's own range).

#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "porthole/protocol/region.hpp"

namespace porthole::client::qmp {

struct Translation {
    nlohmann::json events = nlohmann::json::array();  // input-send-event "events"
    std::uint32_t unmapped = 0;  // events QEMU has no name for (counted, not sent)
};

// The QMP events for one batch (one SYN_REPORT's worth). Wheel steps become
// wheel button clicks; high-resolution wheel events are left out because the
// plain REL_WHEEL of the same motion carries them for QEMU.
Translation to_qmp_events(std::span<const protocol::InputEvent> batch);

// The whole command line, with an id for matching the reply.
std::string input_send_event_command(const nlohmann::json& events, std::uint64_t id);

}  // namespace porthole::client::qmp
