#include "porthole/protocol/clipboard_channel.hpp"

#include <algorithm>

#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/shared_memory.hpp"

namespace porthole::protocol {
namespace {

Error channel_error(std::string msg) {
    return Error::make(std::move(msg), static_cast<int>(RegionError::bad_channel_header));
}

Result<std::pair<std::uint64_t, std::uint64_t>> geometry(std::span<const std::byte> channel) {
    if (channel.size() < sizeof(ClipboardHeader))
        return channel_error("clipboard channel too small");
    const auto h = copy_out(*reinterpret_cast<const ClipboardHeader*>(channel.data()));
    if (h.data_offset < sizeof(ClipboardHeader) || h.data_offset > channel.size() ||
        h.capacity > channel.size() - h.data_offset || h.capacity > 0xFFFFFFFFU ||
        h.capacity == 0) {
        return channel_error("clipboard header does not fit its channel");
    }
    return std::pair{h.capacity, h.data_offset};
}

bool known_mime(std::uint32_t m) {
    return m == static_cast<std::uint32_t>(ClipboardMime::text_utf8) ||
           m == static_cast<std::uint32_t>(ClipboardMime::image_png);
}

}  // namespace

std::string_view mime_name(ClipboardMime mime) {
    switch (mime) {
        case ClipboardMime::text_utf8:
            return "text/plain;charset=utf-8";
        case ClipboardMime::image_png:
            return "image/png";
        case ClipboardMime::none:
            break;
    }
    return "";
}

const OfferedFormat* ClipboardOffer::find(ClipboardMime mime) const {
    for (const auto& f : formats)
        if (f.mime == mime) return &f;
    return nullptr;
}

Status init_clipboard_channel(std::span<std::byte> channel) {
    if (channel.size() < 2 * kPageSize) return channel_error("clipboard channel too small");
    ClipboardHeader h{};
    h.data_offset = kPageSize;
    h.capacity = channel.size() - kPageSize;
    copy_in(*reinterpret_cast<ClipboardHeader*>(channel.data()), h);
    return {};
}

Result<ClipboardWriter> ClipboardWriter::attach(std::span<std::byte> channel) {
    auto g = geometry(channel);
    if (!g) return g.error();
    return ClipboardWriter(channel, g->first, g->second);
}

Result<ClipboardReader> ClipboardReader::attach(std::span<const std::byte> channel) {
    auto g = geometry(channel);
    if (!g) return g.error();
    return ClipboardReader(channel, g->first, g->second);
}

// ---------------------------------------------------------------- endpoint

ClipboardEndpoint::ClipboardEndpoint(ClipboardWriter own, ClipboardReader peer)
    : own_(own), peer_(peer) {
    // Only the geometry validated at attach is kept: whatever else the header
    // holds (a previous session's values) is this side's to overwrite.
    mine_.capacity = own_.capacity();
    mine_.data_offset = own_.data_offset();
    write_own(mine_);
}

void ClipboardEndpoint::write_own(const ClipboardHeader& h) {
    auto& shared = *reinterpret_cast<ClipboardHeader*>(own_.channel().data());
    seqlock_begin_write(shared.seq);
    ClipboardHeader v = h;
    v.seq = load_relaxed(shared.seq);
    copy_in(shared, v);
    seqlock_end_write(shared.seq);
}

Status ClipboardEndpoint::offer(std::vector<Format> formats) {
    if (formats.size() > kClipboardMaxFormats)
        return Error::make("clipboard: at most " + std::to_string(kClipboardMaxFormats) +
                           " formats per offer");
    for (std::size_t i = 0; i < formats.size(); ++i) {
        if (!known_mime(static_cast<std::uint32_t>(formats[i].mime)))
            return Error::make("clipboard: offer of an unknown format");
        for (std::size_t k = 0; k < i; ++k)
            if (formats[k].mime == formats[i].mime)
                return Error::make("clipboard: a format offered twice");
        if (formats[i].data) formats[i].size = formats[i].data->size();
    }
    serial_ += 1;
    formats_ = std::move(formats);
    out_.reset();
    waiting_.reset();
    mine_.serial = serial_;
    mine_.format_count = static_cast<std::uint32_t>(formats_.size());
    for (std::uint32_t i = 0; i < kClipboardMaxFormats; ++i) {
        mine_.formats[i] = ClipboardFormat{};
        if (i < formats_.size()) {
            mine_.formats[i].mime = static_cast<std::uint32_t>(formats_[i].mime);
            mine_.formats[i].size = formats_[i].size;
        }
    }
    mine_.answer_state = static_cast<std::uint32_t>(ClipboardAnswerState::none);
    write_own(mine_);
    return {};
}

void ClipboardEndpoint::write_chunk(Outgoing& out) {
    auto& shared = *reinterpret_cast<ClipboardHeader*>(own_.channel().data());
    const std::uint64_t offset = out.sent_end;
    const std::uint64_t len = std::min<std::uint64_t>(own_.capacity(), out.data.size() - offset);
    seqlock_begin_write(shared.seq);
    copy_racy(own_.channel().data() + own_.data_offset(), out.data.data() + offset, len);
    wc_store_fence();  // the data before the header that announces it
    mine_.answer_id = out.id;
    mine_.answer_serial = out.serial;
    mine_.answer_mime = static_cast<std::uint32_t>(out.mime);
    mine_.answer_total = out.data.size();
    mine_.chunk_offset = offset;
    mine_.chunk_length = static_cast<std::uint32_t>(len);
    mine_.answer_state = static_cast<std::uint32_t>(ClipboardAnswerState::sending);
    ClipboardHeader v = mine_;
    v.seq = load_relaxed(shared.seq);
    copy_in(shared, v);
    seqlock_end_write(shared.seq);
    out.sent_end = offset + len;
}

Status ClipboardEndpoint::answer(std::uint32_t id, std::string data) {
    if (!waiting_ || waiting_->id != id)
        return Error::make("clipboard: the request was superseded before its data came");
    out_ = Outgoing{id, waiting_->serial, waiting_->mime, std::move(data)};
    waiting_.reset();
    write_chunk(*out_);
    return {};
}

void ClipboardEndpoint::refuse(std::uint32_t id) {
    if (waiting_ && waiting_->id == id) waiting_.reset();
    out_.reset();
    mine_.answer_id = id;
    mine_.answer_serial = serial_;
    mine_.answer_mime = 0;
    mine_.answer_total = 0;
    mine_.chunk_offset = 0;
    mine_.chunk_length = 0;
    mine_.answer_state = static_cast<std::uint32_t>(ClipboardAnswerState::refused);
    write_own(mine_);
}

Status ClipboardEndpoint::request(std::uint64_t serial, ClipboardMime mime,
                                  std::uint64_t max_size) {
    if (!known_mime(static_cast<std::uint32_t>(mime)))
        return Error::make("clipboard: request for an unknown format");
    const std::uint32_t id = next_request_id_++;
    if (next_request_id_ == 0) next_request_id_ = 1;
    request_ = Incoming{id, serial, mime, max_size, std::nullopt, {}};
    mine_.request_serial = serial;
    mine_.request_id = id;
    mine_.request_mime = static_cast<std::uint32_t>(mime);
    mine_.request_acked = 0;
    write_own(mine_);
    return {};
}

void ClipboardEndpoint::cancel() {
    request_.reset();
    const std::uint32_t id = next_request_id_++;
    if (next_request_id_ == 0) next_request_id_ = 1;
    mine_.request_id = id;
    mine_.request_mime = static_cast<std::uint32_t>(ClipboardMime::none);
    mine_.request_acked = 0;
    write_own(mine_);
}

ClipboardEvents ClipboardEndpoint::step() {
    ClipboardEvents ev;
    const auto& shared = *reinterpret_cast<const ClipboardHeader*>(peer_.channel().data());
    const std::uint64_t begin = seqlock_read_begin(shared.seq);
    if ((begin & 1U) != 0) return ev;
    const ClipboardHeader peer = copy_out(shared);
    if (!seqlock_read_valid(shared.seq, begin)) return ev;
    read_offer(peer, ev);
    serve(peer, ev);
    receive(peer, begin, ev);
    return ev;
}

void ClipboardEndpoint::read_offer(const ClipboardHeader& peer, ClipboardEvents& ev) {
    if (peer.serial == peer_serial_) return;
    peer_serial_ = peer.serial;
    ev.active = true;
    if (request_ && request_->serial != peer.serial) {
        ev.request_failed = "the other side's clipboard changed before its data came";
        cancel();
    }
    if (peer.format_count > kClipboardMaxFormats) {
        ev.errors.push_back("clipboard offer of " + std::to_string(peer.format_count) +
                            " formats refused (at most " + std::to_string(kClipboardMaxFormats) +
                            ")");
        return;
    }
    ClipboardOffer o;
    o.serial = peer.serial;
    for (std::uint32_t i = 0; i < peer.format_count; ++i) {
        const auto& f = peer.formats[i];
        if (!known_mime(f.mime)) {
            ev.errors.push_back("clipboard offer with an unknown format " + std::to_string(f.mime) +
                                " refused");
            return;
        }
        if (o.find(static_cast<ClipboardMime>(f.mime)) != nullptr) {
            ev.errors.push_back("clipboard offer with a format twice refused");
            return;
        }
        o.formats.push_back(OfferedFormat{static_cast<ClipboardMime>(f.mime), f.size});
    }
    ev.offer = std::move(o);
}

void ClipboardEndpoint::serve(const ClipboardHeader& peer, ClipboardEvents& ev) {
    if (peer.request_id != peer_request_id_) {
        peer_request_id_ = peer.request_id;
        ev.active = true;
        out_.reset();
        waiting_.reset();
        const auto mime = static_cast<ClipboardMime>(peer.request_mime);
        if (peer.request_id == 0 || mime == ClipboardMime::none) return;  // a cancel
        const Format* f = nullptr;
        for (const auto& x : formats_)
            if (x.mime == mime) f = &x;
        if (f == nullptr || serial_ == 0 || peer.request_serial != serial_) {
            refuse(peer.request_id);
            return;
        }
        if (f->data) {
            out_ = Outgoing{peer.request_id, serial_, mime, *f->data};
            write_chunk(*out_);
        } else {
            waiting_ = ClipboardRequest{peer.request_id, serial_, mime};
            ev.request = waiting_;
        }
        return;
    }
    if (!out_ || peer.request_acked != out_->sent_end) return;
    ev.active = true;
    if (out_->sent_end < out_->data.size())
        write_chunk(*out_);
    else
        out_.reset();  // all taken
}

void ClipboardEndpoint::receive(const ClipboardHeader& peer, std::uint64_t begin,
                                ClipboardEvents& ev) {
    if (!request_ || peer.answer_id != request_->id) return;
    auto& in = *request_;
    const std::string_view what = mime_name(in.mime);
    auto fail = [&](std::string why) {
        ev.active = true;
        ev.request_failed = std::move(why);
        cancel();
    };
    if (peer.answer_state == static_cast<std::uint32_t>(ClipboardAnswerState::refused))
        return fail("the other side no longer has the " + std::string(what) + " asked for");
    if (peer.answer_state != static_cast<std::uint32_t>(ClipboardAnswerState::sending)) return;
    if (peer.answer_serial != in.serial || peer.answer_mime != static_cast<std::uint32_t>(in.mime))
        return fail("clipboard answer for another offer or format refused");
    if (peer.answer_total > in.max_size) {
        return fail("clipboard " + std::string(what) + " of " + std::to_string(peer.answer_total) +
                    " bytes refused: over the limit of " + std::to_string(in.max_size) + " bytes");
    }
    if (in.total && *in.total != peer.answer_total)
        return fail("clipboard answer changed its size midway: refused");
    const std::uint64_t have = in.data.size();
    const std::uint64_t off = peer.chunk_offset, len = peer.chunk_length;
    if (in.total && len != 0 && off < have && len == have - off) return;  // taken: wait for more
    if (off != have) return fail("clipboard answer's chunks out of order: refused");
    if (len > peer_.capacity() || len > peer.answer_total - off)
        return fail("clipboard answer's chunk does not fit: refused");
    if (len == 0 && off != peer.answer_total)
        return fail("clipboard answer with an empty chunk: refused");
    if (!in.total) {
        in.total = peer.answer_total;
        in.data.reserve(peer.answer_total);  // at most max_size, checked above
    }
    in.data.resize(have + len);
    copy_racy(in.data.data() + have, peer_.channel().data() + peer_.data_offset(), len);
    const auto& shared = *reinterpret_cast<const ClipboardHeader*>(peer_.channel().data());
    if (!seqlock_read_valid(shared.seq, begin)) {
        in.data.resize(have);  // torn: read again next step
        return;
    }
    ev.active = true;
    mine_.request_acked = in.data.size();
    write_own(mine_);
    if (in.data.size() == *in.total) {
        ev.received = ClipboardData{in.serial, in.mime, std::move(in.data)};
        request_.reset();
    }
}

}  // namespace porthole::protocol
