// The Windows region mapping: errors without the IVSHMEM driver, and the
// Mapping owner releasing views.
#include <gtest/gtest.h>

#include <windows.h>

#include <string>

#include "porthole/ivshmem/doorbell.hpp"
#include "porthole/ivshmem/mapping.hpp"

using namespace porthole::ivshmem;

TEST(WindowsIvshmem, NoDeviceErrorTellsToInstallTheDriver) {
    auto m = open_windows_ivshmem(0);
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message.find("no IVSHMEM device found"), std::string::npos)
        << m.error().message;
    EXPECT_NE(m.error().message.find("virtio-win IVSHMEM driver"), std::string::npos)
        << m.error().message;
}

TEST(WindowsIvshmem, MissingIndexIsNamed) {
    auto m = open_windows_ivshmem(3);
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message.find("device 3 not found"), std::string::npos) << m.error().message;
}

namespace {
void* map_test_view(HANDLE& section) {
    section =
        CreateFileMappingA(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, 1 << 20, nullptr);
    return section == nullptr ? nullptr
                              : MapViewOfFile(section, FILE_MAP_ALL_ACCESS, 0, 0, 1 << 20);
}
bool is_mapped(const void* p) {
    MEMORY_BASIC_INFORMATION mbi{};
    return VirtualQuery(p, &mbi, sizeof(mbi)) != 0 && mbi.State == MEM_COMMIT;
}
}  // namespace

TEST(WindowsIvshmem, MappingUnmapsExactlyOnceAfterMoves) {
    HANDLE section = nullptr;
    void* view = map_test_view(section);
    ASSERT_NE(view, nullptr);
    {
        Mapping a(view, 1 << 20, "test view");
        EXPECT_TRUE(is_mapped(view));
        Mapping b(std::move(a));
        EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from state is specified
        Mapping c;
        c = std::move(b);
        EXPECT_EQ(c.size(), 1u << 20);
        EXPECT_EQ(c.bytes().data(), static_cast<std::byte*>(view));
        c.bytes()[0] = std::byte{42};
        EXPECT_TRUE(is_mapped(view));
    }
    EXPECT_FALSE(is_mapped(view));
    CloseHandle(section);
}

TEST(WindowsRegionFile, IsCreatedSizedAndSharedBetweenViews) {
    char dir[MAX_PATH] = {};
    ASSERT_NE(GetTempPathA(MAX_PATH, dir), 0U);
    const std::string path = std::string(dir) + "porthole-region-file-test";
    DeleteFileA(path.c_str());
    {
        auto a = create_region_file(path, std::size_t{2} << 20);
        ASSERT_TRUE(a) << a.error().message;
        EXPECT_EQ(a->size(), std::size_t{2} << 20);
        auto b = create_region_file(path, std::size_t{1} << 20);  // a larger file is kept whole
        ASSERT_TRUE(b) << b.error().message;
        EXPECT_EQ(b->size(), std::size_t{2} << 20);
        a->bytes()[(1 << 20) + 5] = std::byte{0x5a};  // one file: the other view sees it
        EXPECT_EQ(b->bytes()[(1 << 20) + 5], std::byte{0x5a});
    }
    auto c = create_region_file(path, std::size_t{2} << 20);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->bytes()[(1 << 20) + 5], std::byte{0x5a});  // in the file, not only the view
    c = Mapping{};
    EXPECT_NE(DeleteFileA(path.c_str()), 0);
}

// The doorbell rings through the handle that mapped the region; no IVSHMEM
// device runs under Wine, so these pin its refusals (the IOCTL itself is
// read against the driver's Queue.c, not run).
namespace {
HANDLE temp_file_handle() {
    char dir[MAX_PATH] = {};
    char name[MAX_PATH] = {};
    GetTempPathA(MAX_PATH, dir);
    GetTempFileNameA(dir, "pdb", 0, name);
    return CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                       FILE_FLAG_DELETE_ON_CLOSE, nullptr);
}
}  // namespace

TEST(WindowsDoorbell, ARegionFileHasNone) {
    char dir[MAX_PATH] = {};
    GetTempPathA(MAX_PATH, dir);
    const std::string path = std::string(dir) + "porthole-doorbell-test.bin";
    {
        auto m = create_region_file(path, std::size_t{1} << 20);
        ASSERT_TRUE(m) << m.error().message;
        auto bell = open_windows_doorbell(*m);
        ASSERT_FALSE(bell);
        EXPECT_NE(bell.error().message.find("not an IVSHMEM device"), std::string::npos)
            << bell.error().message;
    }
    DeleteFileA(path.c_str());
}

TEST(WindowsDoorbell, ADeviceWithoutInterruptVectorsIsPlain) {
    HANDLE h = temp_file_handle();
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    Mapping m(nullptr, 0, "test", h);  // closes h
    auto bell = open_windows_doorbell(m);
    ASSERT_FALSE(bell);
    EXPECT_NE(bell.error().message.find("ivshmem-plain"), std::string::npos)
        << bell.error().message;
}

TEST(WindowsDoorbell, AHandleThatRefusesTheIoctlsIsNamed) {
    HANDLE h = temp_file_handle();
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    Mapping m(nullptr, 0, "test", h);
    m.set_interrupt_vectors(1);
    auto bell = open_windows_doorbell(m);
    ASSERT_FALSE(bell);
    EXPECT_NE(bell.error().message.find("peer ID"), std::string::npos) << bell.error().message;
}
