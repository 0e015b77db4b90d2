#pragma once
// Clipboard channels: one per direction, each written by one side only. A
// side's ClipboardEndpoint writes its own channel (ClipboardWriter) and reads
// the peer's (ClipboardReader): offers carry only formats and sizes; the data
// of one format travels when the other side asks for it, in chunks of at most
// the channel's capacity, each acknowledged through the asker's own header.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/protocol/region.hpp"
#include "porthole/util/result.hpp"

namespace porthole::protocol {

// The agent lays out both directions at session start.
Status init_clipboard_channel(std::span<std::byte> channel);

// This side's own channel (it alone writes it).
class ClipboardWriter {
  public:
    static Result<ClipboardWriter> attach(std::span<std::byte> channel);
    [[nodiscard]] std::uint64_t capacity() const { return capacity_; }
    [[nodiscard]] std::span<std::byte> channel() const { return channel_; }
    [[nodiscard]] std::uint64_t data_offset() const { return data_offset_; }

  private:
    ClipboardWriter(std::span<std::byte> channel, std::uint64_t capacity, std::uint64_t data_offset)
        : channel_(channel), capacity_(capacity), data_offset_(data_offset) {}
    std::span<std::byte> channel_;
    std::uint64_t capacity_;
    std::uint64_t data_offset_;
};

// The peer's channel (read only; everything in it is validated).
class ClipboardReader {
  public:
    static Result<ClipboardReader> attach(std::span<const std::byte> channel);
    [[nodiscard]] std::uint64_t capacity() const { return capacity_; }
    [[nodiscard]] std::span<const std::byte> channel() const { return channel_; }
    [[nodiscard]] std::uint64_t data_offset() const { return data_offset_; }

  private:
    ClipboardReader(std::span<const std::byte> channel, std::uint64_t capacity,
                    std::uint64_t data_offset)
        : channel_(channel), capacity_(capacity), data_offset_(data_offset) {}
    std::span<const std::byte> channel_;
    std::uint64_t capacity_;
    std::uint64_t data_offset_;
};

// "text/plain;charset=utf-8", "image/png"; "" for none or an unknown value.
std::string_view mime_name(ClipboardMime mime);

struct OfferedFormat {
    ClipboardMime mime = ClipboardMime::none;
    std::uint64_t size = 0;  // 0 when unknown until fetched
};

struct ClipboardOffer {
    std::uint64_t serial = 0;
    std::vector<OfferedFormat> formats;
    [[nodiscard]] const OfferedFormat* find(ClipboardMime mime) const;
};

// The peer asks for one format of this side's offer (its data not held here).
struct ClipboardRequest {
    std::uint32_t id = 0;
    std::uint64_t serial = 0;
    ClipboardMime mime = ClipboardMime::none;
};

// A requested format's data, complete.
struct ClipboardData {
    std::uint64_t serial = 0;
    ClipboardMime mime = ClipboardMime::none;
    std::string bytes;
};

// What one step saw.
struct ClipboardEvents {
    std::optional<ClipboardOffer> offer;        // the peer's new offer
    std::optional<ClipboardRequest> request;    // answer it with answer() or refuse()
    std::optional<ClipboardData> received;      // this side's request, complete
    std::optional<std::string> request_failed;  // this side's request, given up (why)
    std::vector<std::string> errors;            // what the peer wrote that was refused
    bool active = false;                        // something moved
};

class ClipboardEndpoint {
  public:
    ClipboardEndpoint(ClipboardWriter own, ClipboardReader peer);

    // Owner: offers these formats (at most kClipboardMaxFormats, each mime once);
    // `data`, when given for a format, answers requests without asking the caller.
    // A new offer ends any answer under way.
    struct Format {
        ClipboardMime mime = ClipboardMime::none;
        std::uint64_t size = 0;
        std::optional<std::string> data;
    };
    Status offer(std::vector<Format> formats);
    // Answers the request `id` (from ClipboardEvents::request) with `data`.
    Status answer(std::uint32_t id, std::string data);
    void refuse(std::uint32_t id);

    // Requester: asks the peer's offer `serial` for `mime`, at most
    // `max_size` bytes (a larger answer is refused unread). Replaces any
    // request under way.
    Status request(std::uint64_t serial, ClipboardMime mime, std::uint64_t max_size);
    void cancel();
    [[nodiscard]] bool requesting() const { return request_.has_value(); }

    // Reads the peer's header, moves both transfers on. Never blocks.
    ClipboardEvents step();

    [[nodiscard]] std::uint64_t offer_serial() const { return serial_; }

  private:
    struct Outgoing {
        std::uint32_t id;
        std::uint64_t serial;
        ClipboardMime mime;
        std::string data;
        std::uint64_t sent_end = 0;  // end of the chunk in the data area
    };
    struct Incoming {
        std::uint32_t id;
        std::uint64_t serial;
        ClipboardMime mime;
        std::uint64_t max_size;
        std::optional<std::uint64_t> total;
        std::string data;
    };
    void write_own(const ClipboardHeader& h);
    void write_chunk(Outgoing& out);
    void read_offer(const ClipboardHeader& peer, ClipboardEvents& ev);
    void serve(const ClipboardHeader& peer, ClipboardEvents& ev);
    void receive(const ClipboardHeader& peer, std::uint64_t begin, ClipboardEvents& ev);

    ClipboardWriter own_;
    ClipboardReader peer_;
    ClipboardHeader mine_{};  // what this side last wrote to its header
    std::uint64_t serial_ = 0;
    std::vector<Format> formats_;
    std::uint64_t peer_serial_ = 0;            // the peer's offer last read
    std::uint32_t peer_request_id_ = 0;        // the peer's request last seen
    std::optional<ClipboardRequest> waiting_;  // a peer request handed to the caller
    std::optional<Outgoing> out_;
    std::optional<Incoming> request_;
    std::uint32_t next_request_id_ = 1;
};

}  // namespace porthole::protocol
