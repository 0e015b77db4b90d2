// The Windows region mapping: errors without the IVSHMEM driver, and the
// Mapping owner releasing views.
#include <gtest/gtest.h>

#include <windows.h>

#include <string>

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
