#include "qmp/shared_channel.hpp"

#include <algorithm>
#include <optional>
#include <string>

namespace porthole::client::qmp {

SharedChannel::SharedChannel(QmpClient& client, std::chrono::milliseconds timeout)
    : client_(client), timeout_(timeout) {
    client_.on_event([state = state_](const nlohmann::json& e) {
        {
            std::lock_guard lock(state->mutex);
            if (state->events.size() == kMaxEvents) state->events.pop_front();
            state->events.push_back(e);
        }
        state->cv.notify_all();
    });
}

SharedChannel::~SharedChannel() {
    client_.on_event(nullptr);
}

Result<nlohmann::json> SharedChannel::execute(std::string_view command,
                                              const nlohmann::json& arguments) {
    // The reply may come after this call gave up: the callback owns what it fills.
    struct Reply {
        std::mutex mutex;
        std::condition_variable cv;
        std::optional<Result<nlohmann::json>> result;
    };
    auto reply = std::make_shared<Reply>();
    client_.execute(std::string(command), arguments, [reply](Result<nlohmann::json> r) {
        {
            std::lock_guard lock(reply->mutex);
            reply->result.emplace(std::move(r));
        }
        reply->cv.notify_all();
    });
    std::unique_lock lock(reply->mutex);
    if (!reply->cv.wait_for(lock, timeout_, [&] { return reply->result.has_value(); }))
        return Error::make("QMP " + std::string(command) + ": QEMU did not answer within " +
                           std::to_string(timeout_.count()) + " ms");
    return std::move(*reply->result);
}

Result<nlohmann::json> SharedChannel::wait_event(
    std::string_view name, const std::function<bool(const nlohmann::json&)>& match,
    std::chrono::milliseconds timeout) {
    const auto is_it = [&](const nlohmann::json& e) {
        const auto n = e.find("event");
        return n != e.end() && n->is_string() && n->get<std::string>() == name && match(e);
    };
    std::unique_lock lock(state_->mutex);
    std::optional<nlohmann::json> found;
    const auto take = [&] {
        auto& q = state_->events;
        const auto it = std::find_if(q.begin(), q.end(), is_it);
        if (it == q.end()) return false;
        found = std::move(*it);
        q.erase(it);
        return true;
    };
    if (!state_->cv.wait_for(lock, timeout, take))
        return Error::make("QEMU sent no " + std::string(name) + " event within " +
                           std::to_string(timeout.count()) + " ms");
    return std::move(*found);
}

}  // namespace porthole::client::qmp
