// porthole-agent.exe and its installer carry the project version in their
// version resources, and the agent its application manifest (PerMonitorV2
// DPI awareness, the supported OS ids), read back as Windows reads them.
#include <gtest/gtest.h>
#include <windows.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace {

// A path of this Linux build tree as Wine sees it (drive Z: is /).
std::wstring wine_path(const char* unix_path) {
    std::string s = std::string("Z:") + unix_path;
    return std::wstring(s.begin(), s.end());
}

struct VersionInfo {
    unsigned major = 0, minor = 0, patch = 0, build = 0;
    std::wstring product_version;
    std::wstring product_name;
};

std::optional<VersionInfo> read_version(const std::wstring& path) {
    DWORD ignored = 0;
    const DWORD size = GetFileVersionInfoSizeW(path.c_str(), &ignored);
    if (size == 0) return std::nullopt;
    std::vector<std::byte> data(size);
    if (!GetFileVersionInfoW(path.c_str(), 0, size, data.data())) return std::nullopt;
    void* p = nullptr;
    UINT len = 0;
    if (!VerQueryValueW(data.data(), L"\\", &p, &len) || len < sizeof(VS_FIXEDFILEINFO))
        return std::nullopt;
    const auto* fixed = static_cast<const VS_FIXEDFILEINFO*>(p);
    VersionInfo v;
    v.major = HIWORD(fixed->dwFileVersionMS);
    v.minor = LOWORD(fixed->dwFileVersionMS);
    v.patch = HIWORD(fixed->dwFileVersionLS);
    v.build = LOWORD(fixed->dwFileVersionLS);
    auto text = [&](const wchar_t* key) {
        void* t = nullptr;
        UINT n = 0;
        std::wstring query = std::wstring(L"\\StringFileInfo\\040904b0\\") + key;
        if (!VerQueryValueW(data.data(), query.c_str(), &t, &n) || n == 0) return std::wstring();
        return std::wstring(static_cast<const wchar_t*>(t));
    };
    v.product_version = text(L"ProductVersion");
    v.product_name = text(L"ProductName");
    return v;
}

std::wstring widen(const char* s) {
    const std::string n(s);
    return std::wstring(n.begin(), n.end());
}

TEST(AgentResources, VersionResourceHoldsTheProjectVersion) {
    auto v = read_version(wine_path(PORTHOLE_AGENT_EXE));
    ASSERT_TRUE(v) << "no version resource in " << PORTHOLE_AGENT_EXE;
    EXPECT_EQ(v->major, PORTHOLE_VERSION_MAJOR);
    EXPECT_EQ(v->minor, PORTHOLE_VERSION_MINOR);
    EXPECT_EQ(v->patch, PORTHOLE_VERSION_PATCH);
    EXPECT_TRUE(v->product_version == widen(PORTHOLE_VERSION));
    EXPECT_TRUE(v->product_name == L"Porthole");
}

TEST(AgentResources, ManifestAsksForPerMonitorV2AndNamesTheSupportedWindows) {
    const std::wstring path = wine_path(PORTHOLE_AGENT_EXE);
    HMODULE module = LoadLibraryExW(path.c_str(), nullptr,
                                    LOAD_LIBRARY_AS_DATAFILE | LOAD_LIBRARY_AS_IMAGE_RESOURCE);
    ASSERT_NE(module, nullptr) << GetLastError();
    // RT_MANIFEST is MAKEINTRESOURCE(24); resource id 1 is a program's own manifest.
    HRSRC res = FindResourceW(module, MAKEINTRESOURCEW(1), MAKEINTRESOURCEW(24));
    ASSERT_NE(res, nullptr) << "no manifest resource";
    HGLOBAL loaded = LoadResource(module, res);
    const auto* bytes = static_cast<const char*>(LockResource(loaded));
    const std::string manifest(bytes, SizeofResource(module, res));
    FreeLibrary(module);
    EXPECT_NE(manifest.find("<dpiAwareness xmlns=\"http://schemas.microsoft.com/SMI/2016/"
                            "WindowsSettings\">PerMonitorV2</dpiAwareness>"),
              std::string::npos)
        << manifest;
    EXPECT_NE(manifest.find("true/pm"), std::string::npos);
    EXPECT_NE(manifest.find("{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"), std::string::npos)
        << "Windows 10/11 id missing";
    EXPECT_NE(manifest.find("{1f676c76-80e1-4239-95bb-83d0f6d0da78}"), std::string::npos);
    EXPECT_NE(manifest.find("version=\"" PORTHOLE_VERSION ".0\""), std::string::npos);
    EXPECT_NE(manifest.find("level=\"asInvoker\""), std::string::npos);
}

TEST(AgentResources, InstallerCarriesTheProjectVersion) {
#ifdef PORTHOLE_AGENT_INSTALLER
    auto v = read_version(wine_path(PORTHOLE_AGENT_INSTALLER));
    ASSERT_TRUE(v) << "no version resource in " << PORTHOLE_AGENT_INSTALLER;
    EXPECT_EQ(v->major, PORTHOLE_VERSION_MAJOR);
    EXPECT_EQ(v->minor, PORTHOLE_VERSION_MINOR);
    EXPECT_EQ(v->patch, PORTHOLE_VERSION_PATCH);
    EXPECT_TRUE(v->product_version == widen(PORTHOLE_VERSION));
#else
    GTEST_SKIP() << "makensis not found at configure time: no installer was built";
#endif
}

}  // namespace
