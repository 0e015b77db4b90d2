#include "porthole/qmp/message.hpp"

namespace porthole::qmp {

Result<std::string> parse_qmp_address(std::string_view spec) {
    if (spec.starts_with("unix:")) spec.remove_prefix(5);
    if (spec.empty() || spec.find(',') != std::string_view::npos) {
        return Error::make(
            "bad QMP address '" + std::string(spec) +
            "': give unix:/path/to/socket (QEMU: -qmp unix:/path,server=on,wait=off)");
    }
    return std::string(spec);
}

namespace {

// {"major": M, "minor": N, ..} found by following `path` from `root`.
QemuVersion version_at(const nlohmann::json& root, std::initializer_list<const char*> path) {
    const auto* v = &root;
    for (const char* key : path) {
        if (!v->is_object()) return {};
        const auto it = v->find(key);
        if (it == v->end()) return {};
        v = &*it;
    }
    if (!v->is_object()) return {};
    const auto number = [v](const char* key) -> int {
        const auto it = v->find(key);
        if (it == v->end() || !it->is_number_integer()) return -1;
        const auto n = it->get<std::int64_t>();
        return n >= 0 && n < 1000 ? static_cast<int>(n) : -1;
    };
    const int major = number("major"), minor = number("minor");
    if (major < 0 || minor < 0) return {};
    return {major, minor};
}

}  // namespace

QemuVersion greeting_version(const nlohmann::json& greeting) {
    return version_at(greeting, {"QMP", "version", "qemu"});
}

QemuVersion query_version_result(const nlohmann::json& result) {
    return version_at(result, {"qemu"});
}

Result<Message> parse_message(std::string_view line) {
    const auto shown = [line] {
        return std::string(line.substr(0, 80)) + (line.size() > 80 ? "..." : "");
    };
    if (line.size() > kMaxLine) return Error::make("QMP sent a line longer than 4 MiB");
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return Error::make("QMP sent something that is not a JSON object: " + shown());
    Message m;
    if (const auto id = j.find("id"); id != j.end() && id->is_number_unsigned())
        m.id = id->get<std::uint64_t>();
    if (j.contains("QMP")) {
        m.kind = Message::Kind::greeting;
        m.body = std::move(j);
    } else if (j.contains("event")) {
        if (!j["event"].is_string()) return Error::make("QMP sent an event without a name");
        m.kind = Message::Kind::event;
        m.body = std::move(j);
    } else if (const auto r = j.find("return"); r != j.end()) {
        m.kind = Message::Kind::reply;
        m.body = std::move(*r);
    } else if (const auto e = j.find("error"); e != j.end()) {
        m.kind = Message::Kind::error;
        if (!e->is_object()) return Error::make("QMP sent a malformed error: " + shown());
        const auto text = [&](const char* key) {
            const auto it = e->find(key);
            return it != e->end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        m.error_class = text("class");
        m.error_desc = text("desc");
        if (m.error_desc.empty()) m.error_desc = "unknown error";
    } else {
        return Error::make("QMP sent a message that is neither reply, error nor event: " + shown());
    }
    return m;
}

std::string command_line(std::string_view command, const nlohmann::json& arguments,
                         std::uint64_t id) {
    nlohmann::json c{{"execute", command}, {"id", id}};
    if (!arguments.is_null()) c["arguments"] = arguments;
    return c.dump() + "\n";
}

}  // namespace porthole::qmp
