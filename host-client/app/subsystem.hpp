#pragma once
// A part of the client that serves some of a session's channels (input,
// audio, clipboard). The session loop owns the HostSession; on every new
// agent session it detaches all subsystems, attaches the channels, and hands
// them over; each subsystem moves out the channel ends it serves.

#include <cstdint>

#include "porthole/protocol/session.hpp"

namespace porthole::client {

class SessionSubsystem {
  public:
    virtual ~SessionSubsystem() = default;
    // A new session's channels: take what this subsystem serves (std::move the optionals).
    virtual void attach(protocol::HostChannels& channels, const protocol::HostSession& session) = 0;
    // The session ended (agent gone, restarted or invalid): drop every channel end.
    virtual void detach() = 0;
    // Once per loop turn; true if it did work (keeps the loop polling quickly).
    virtual bool tick(std::uint64_t now_ns) = 0;
    // Window mode: on the main thread after each pump of SDL's events (at
    // least every 100 ms), for work that must stay on SDL's thread. The other
    // calls are the render thread's.
    virtual void main_thread_round(std::uint64_t /*now_ns*/) {}
};

}  // namespace porthole::client
