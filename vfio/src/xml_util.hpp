#pragma once
// pugixml helpers for domain XML: parse with located errors, graft snippets, print,
// and find elements by namespace URI (prefixes are the document's choice).

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <pugixml.hpp>

#include "porthole/util/result.hpp"

namespace porthole::vfio::xml {

// Parses a whole document; the Error names the reason and the byte offset.
[[nodiscard]] Status parse(pugi::xml_document& doc, std::string_view text);

// Parses `fragment` (elements side by side) and appends copies of its top-level
// elements to `parent`: all, or only those named in `only`.
[[nodiscard]] Status append_fragment(pugi::xml_node parent, std::string_view fragment,
                                     std::initializer_list<const char*> only = {});

// Appends <name a="v" ...> to `parent`, the attributes in the order given.
pugi::xml_node append_element(
    pugi::xml_node parent, const char* name,
    std::initializer_list<std::pair<const char*, std::string_view>> attributes = {});

// Two-space indented, no XML declaration (as virsh dumpxml prints).
[[nodiscard]] std::string to_string(const pugi::xml_node& node);

// The prefix (with its colon, "" for none) bound to `uri` on `node` or an ancestor.
[[nodiscard]] std::string prefix_for(pugi::xml_node node, std::string_view uri);
// The prefix of an element's own name ("porthole:" for porthole:vm).
[[nodiscard]] std::string prefix_of(pugi::xml_node node);

// <metadata>'s child in Porthole's namespace (vm define's record), or null.
[[nodiscard]] pugi::xml_node porthole_metadata(pugi::xml_node domain);

}  // namespace porthole::vfio::xml
