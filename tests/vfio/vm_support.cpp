#include "vm_support.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

namespace porthole::vfio::testing {

namespace {

std::string descriptor(const std::string& code, const std::string& vars,
                       const std::string& features) {
    return fmt::format(R"({{
  "description": "test firmware",
  "interface-types": ["uefi"],
  "mapping": {{"device": "flash",
    "executable": {{"filename": "{}", "format": "raw"}},
    "nvram-template": {{"filename": "{}", "format": "raw"}}}},
  "targets": [{{"architecture": "x86_64", "machines": ["pc-q35-*"]}}],
  "features": [{}],
  "tags": []
}})",
                       code, vars, features);
}

}  // namespace

void install_debian_ovmf(const FixtureCopy& copy) {
    const std::string d = "/usr/share/OVMF/";
    for (const char* f : {"OVMF_CODE_4M.ms.fd", "OVMF_VARS_4M.ms.fd", "OVMF_CODE_4M.secboot.fd",
                          "OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"}) {
        copy.write("root" + d + f, "firmware");
    }
    const std::string q = "root/usr/share/qemu/firmware/";
    copy.write(q + "40-edk2-x86_64-secure-enrolled.json",
               descriptor(d + "OVMF_CODE_4M.ms.fd", d + "OVMF_VARS_4M.ms.fd",
                          R"("acpi-s3", "enrolled-keys", "requires-smm", "secure-boot")"));
    copy.write(q + "50-edk2-x86_64-secure.json",
               descriptor(d + "OVMF_CODE_4M.secboot.fd", d + "OVMF_VARS_4M.fd",
                          R"("acpi-s3", "requires-smm", "secure-boot")"));
    copy.write(q + "60-edk2-x86_64.json",
               descriptor(d + "OVMF_CODE_4M.fd", d + "OVMF_VARS_4M.fd", R"("acpi-s3")"));
}

void set_os_release(const FixtureCopy& copy, const std::string& id, const std::string& id_like) {
    std::string text = "NAME=\"Test\"\nID=" + id + "\n";
    if (!id_like.empty()) text += "ID_LIKE=\"" + id_like + "\"\n";
    copy.write("root/etc/os-release", text);
}

void add_function(const FixtureCopy& copy, const std::string& slot, int function,
                  const std::string& class_code) {
    const fs::path devices = copy.dir() / "sys/bus/pci/devices";
    const fs::path from = devices / (slot + ".0");
    const std::string bdf = fmt::format("{}.{}", slot, function);
    fs::copy(from, devices / bdf, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    copy.write("sys/bus/pci/devices/" + bdf + "/class", class_code + "\n");
    fs::remove(devices / bdf / "boot_vga");
    fs::remove(devices / bdf / "rom");
}

void set_hugepages(const FixtureCopy& copy, unsigned long page_kib, unsigned long pages) {
    copy.write(fmt::format("sys/kernel/mm/hugepages/hugepages-{}kB/nr_hugepages", page_kib),
               fmt::format("{}\n", pages));
}

Xml::Xml(const std::string& text) {
    auto r = doc.load_string(text.c_str());
    EXPECT_TRUE(r) << r.description() << " at " << r.offset << " in\n" << text;
}

pugi::xpath_node_set Xml::all(const char* xpath) const {
    return doc.select_nodes(xpath);
}

pugi::xml_node Xml::one(const char* xpath) const {
    return doc.select_node(xpath).node();
}

std::string Xml::attr(const char* xpath, const char* attribute) const {
    return one(xpath).attribute(attribute).as_string();
}

std::string Xml::text(const char* xpath) const {
    return one(xpath).text().as_string();
}

}  // namespace porthole::vfio::testing
