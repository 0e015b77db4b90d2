#pragma once
// Helpers for the vm define / domain check tests: OVMF and host tools laid into a
// fixture copy, a card grown extra functions, and XPath over generated XML.

#include <string>
#include <vector>

#include <pugixml.hpp>

#include "fixture.hpp"

namespace porthole::vfio::testing {

// Debian's three QEMU firmware descriptors (enrolled Secure Boot, Secure Boot, plain)
// and the files they name, under the copy's root.
void install_debian_ovmf(const FixtureCopy& copy);
// /etc/os-release for ID (and ID_LIKE when given).
void set_os_release(const FixtureCopy& copy, const std::string& id,
                    const std::string& id_like = {});
// Adds function `function` to the card at `slot` (e.g. "0000:01:00"), class `class_code`,
// in the same IOMMU group as function 0.
void add_function(const FixtureCopy& copy, const std::string& slot, int function,
                  const std::string& class_code);
// Sets a huge page pool: page size in KiB, number of pages.
void set_hugepages(const FixtureCopy& copy, unsigned long page_kib, unsigned long pages);

// A parsed document that fails the test when not well-formed.
struct Xml {
    explicit Xml(const std::string& text);
    [[nodiscard]] pugi::xpath_node_set all(const char* xpath) const;
    [[nodiscard]] pugi::xml_node one(const char* xpath) const;  // null when absent
    [[nodiscard]] std::string attr(const char* xpath, const char* attribute) const;
    [[nodiscard]] std::string text(const char* xpath) const;
    pugi::xml_document doc;
};

}  // namespace porthole::vfio::testing
