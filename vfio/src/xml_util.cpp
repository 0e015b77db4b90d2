#include "xml_util.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "porthole/vfio/vm.hpp"

namespace porthole::vfio::xml {

namespace {

Status check(const pugi::xml_parse_result& r, std::string_view what) {
    if (r) return {};
    return Error::make(
        fmt::format("{} is not well-formed XML: {} at byte {}", what, r.description(), r.offset));
}

}  // namespace

Status parse(pugi::xml_document& doc, std::string_view text) {
    return check(doc.load_buffer(text.data(), text.size(), pugi::parse_default), "the domain XML");
}

Status append_fragment(pugi::xml_node parent, std::string_view fragment,
                       std::initializer_list<const char*> only) {
    pugi::xml_document frag;
    if (auto s = check(frag.load_buffer(fragment.data(), fragment.size(),
                                        pugi::parse_default | pugi::parse_fragment),
                       "a snippet");
        !s) {
        return s;
    }
    for (auto child : frag.children()) {
        if (child.type() != pugi::node_element) continue;
        const bool wanted =
            only.size() == 0 || std::any_of(only.begin(), only.end(), [&](const char* n) {
                return std::string_view(child.name()) == n;
            });
        if (wanted) parent.append_copy(child);
    }
    return {};
}

std::string to_string(const pugi::xml_node& node) {
    std::ostringstream out;
    node.print(
        out, "  ",
        pugi::format_indent | pugi::format_no_declaration | pugi::format_attribute_single_quote);
    return out.str();
}

std::string prefix_for(pugi::xml_node node, std::string_view uri) {
    for (auto n = node; n && n.type() == pugi::node_element; n = n.parent()) {
        for (auto a : n.attributes()) {
            const std::string_view name = a.name();
            if (a.value() != uri) continue;
            if (name == "xmlns") return "";
            if (name.starts_with("xmlns:")) return std::string(name.substr(6)) + ":";
        }
    }
    return "\x01";  // an impossible prefix: nothing matches
}

std::string prefix_of(pugi::xml_node node) {
    const std::string_view name = node.name();
    auto colon = name.find(':');
    return colon == std::string_view::npos ? "" : std::string(name.substr(0, colon + 1));
}

pugi::xml_node porthole_metadata(pugi::xml_node domain) {
    for (auto child : domain.child("metadata").children()) {
        if (child.type() != pugi::node_element) continue;
        const std::string prefix = prefix_for(child, kVmMetadataNamespace);
        if (prefix + "vm" == child.name()) return child;
    }
    return {};
}

pugi::xml_node append_element(
    pugi::xml_node parent, const char* name,
    std::initializer_list<std::pair<const char*, std::string_view>> attributes) {
    auto node = parent.append_child(name);
    for (const auto& [key, value] : attributes)
        node.append_attribute(key).set_value(std::string(value).c_str());
    return node;
}

}  // namespace porthole::vfio::xml
