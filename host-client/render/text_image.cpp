#include "render/text_image.hpp"

#include <fontconfig/fontconfig.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string_view>
#include <type_traits>

namespace porthole::client {

namespace {

// Classic 5x7 font, one byte a column (bit 0 = top row), ASCII 0x20-0x5F.
constexpr std::array<std::uint8_t, 64 * 5> kFont = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5F, 0x00, 0x00, 0x00, 0x07, 0x00, 0x07, 0x00, 0x14,
    0x7F, 0x14, 0x7F, 0x14, 0x24, 0x2A, 0x7F, 0x2A, 0x12, 0x23, 0x13, 0x08, 0x64, 0x62, 0x36, 0x49,
    0x56, 0x20, 0x50, 0x00, 0x08, 0x07, 0x03, 0x00, 0x00, 0x1C, 0x22, 0x41, 0x00, 0x00, 0x41, 0x22,
    0x1C, 0x00, 0x2A, 0x1C, 0x7F, 0x1C, 0x2A, 0x08, 0x08, 0x3E, 0x08, 0x08, 0x00, 0x80, 0x70, 0x30,
    0x00, 0x08, 0x08, 0x08, 0x08, 0x08, 0x00, 0x00, 0x60, 0x60, 0x00, 0x20, 0x10, 0x08, 0x04, 0x02,
    0x3E, 0x51, 0x49, 0x45, 0x3E, 0x00, 0x42, 0x7F, 0x40, 0x00, 0x72, 0x49, 0x49, 0x49, 0x46, 0x21,
    0x41, 0x49, 0x4D, 0x33, 0x18, 0x14, 0x12, 0x7F, 0x10, 0x27, 0x45, 0x45, 0x45, 0x39, 0x3C, 0x4A,
    0x49, 0x49, 0x31, 0x41, 0x21, 0x11, 0x09, 0x07, 0x36, 0x49, 0x49, 0x49, 0x36, 0x46, 0x49, 0x49,
    0x29, 0x1E, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x40, 0x34, 0x00, 0x00, 0x00, 0x08, 0x14, 0x22,
    0x41, 0x14, 0x14, 0x14, 0x14, 0x14, 0x00, 0x41, 0x22, 0x14, 0x08, 0x02, 0x01, 0x59, 0x09, 0x06,
    0x3E, 0x41, 0x5D, 0x59, 0x4E, 0x7C, 0x12, 0x11, 0x12, 0x7C, 0x7F, 0x49, 0x49, 0x49, 0x36, 0x3E,
    0x41, 0x41, 0x41, 0x22, 0x7F, 0x41, 0x41, 0x41, 0x3E, 0x7F, 0x49, 0x49, 0x49, 0x41, 0x7F, 0x09,
    0x09, 0x09, 0x01, 0x3E, 0x41, 0x41, 0x51, 0x73, 0x7F, 0x08, 0x08, 0x08, 0x7F, 0x00, 0x41, 0x7F,
    0x41, 0x00, 0x20, 0x40, 0x41, 0x3F, 0x01, 0x7F, 0x08, 0x14, 0x22, 0x41, 0x7F, 0x40, 0x40, 0x40,
    0x40, 0x7F, 0x02, 0x1C, 0x02, 0x7F, 0x7F, 0x04, 0x08, 0x10, 0x7F, 0x3E, 0x41, 0x41, 0x41, 0x3E,
    0x7F, 0x09, 0x09, 0x09, 0x06, 0x3E, 0x41, 0x51, 0x21, 0x5E, 0x7F, 0x09, 0x19, 0x29, 0x46, 0x26,
    0x49, 0x49, 0x49, 0x32, 0x03, 0x01, 0x7F, 0x01, 0x03, 0x3F, 0x40, 0x40, 0x40, 0x3F, 0x1F, 0x20,
    0x40, 0x20, 0x1F, 0x3F, 0x40, 0x38, 0x40, 0x3F, 0x63, 0x14, 0x08, 0x14, 0x63, 0x03, 0x04, 0x78,
    0x04, 0x03, 0x61, 0x59, 0x49, 0x4D, 0x43, 0x00, 0x7F, 0x41, 0x41, 0x41, 0x02, 0x04, 0x08, 0x10,
    0x20, 0x41, 0x41, 0x41, 0x7F, 0x00, 0x04, 0x02, 0x01, 0x02, 0x04, 0x40, 0x40, 0x40, 0x40, 0x40,
};

constexpr std::uint32_t kCellW = 6, kCellH = 10, kPad = 4;
constexpr std::uint8_t kBoxAlpha = 170;
// The packaged font's usual place (fonts-dejavu-core), when fontconfig finds nothing.
constexpr const char* kFontFile = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
constexpr const char* kFontName = "DejaVu Sans Mono";

// The next code point of UTF-8 text at `i` (advanced past it); U+FFFD for a bad sequence.
char32_t next_code_point(std::string_view s, std::size_t& i) {
    const auto c = static_cast<unsigned char>(s[i++]);
    if (c < 0x80) return c;
    std::size_t n = 0;
    char32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
        n = 1;
        cp = c & 0x1fU;
    } else if ((c & 0xf0) == 0xe0) {
        n = 2;
        cp = c & 0x0fU;
    } else if ((c & 0xf8) == 0xf0) {
        n = 3;
        cp = c & 0x07U;
    } else {
        return 0xfffd;
    }
    for (std::size_t k = 0; k < n; ++k) {
        if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) return 0xfffd;
        cp = cp << 6 | (static_cast<unsigned char>(s[i++]) & 0x3fU);
    }
    return cp;
}

std::vector<char32_t> code_points(std::string_view s) {
    std::vector<char32_t> out;
    for (std::size_t i = 0; i < s.size();)
        out.push_back(next_code_point(s, i));
    return out;
}

std::uint32_t glyph_index(char32_t c) {
    if (c >= 'a' && c <= 'z') c = c - 'a' + 'A';
    if (c == 0x2013 || c == 0x2014 || c == 0x2212) c = '-';  // dashes, minus
    if (c < 0x20 || c > 0x5F) c = '?';
    return static_cast<std::uint32_t>(c) - 0x20U;
}

TextImage empty_box(std::uint32_t w, std::uint32_t h) {
    TextImage img;
    img.width = w;
    img.height = h;
    img.bgra.assign(std::size_t{w} * h * 4, std::byte{0});
    for (std::size_t i = 3; i < img.bgra.size(); i += 4)
        img.bgra[i] = std::byte{kBoxAlpha};
    return img;
}

// White at coverage `cov` over the box (straight alpha: the renderer blends
// with SRC_ALPHA); overlapping glyph edges keep the stronger coverage.
void cover(TextImage& img, std::size_t x, std::size_t y, std::uint8_t cov) {
    const std::size_t p = (y * img.width + x) * 4;
    const auto old = static_cast<std::uint8_t>(img.bgra[p]);
    if (cov <= old) return;
    img.bgra[p] = img.bgra[p + 1] = img.bgra[p + 2] = std::byte{cov};
    img.bgra[p + 3] =
        std::byte{static_cast<std::uint8_t>(kBoxAlpha + (255 - kBoxAlpha) * cov / 255)};
}

struct FtLibraryFree {
    void operator()(FT_Library l) const { FT_Done_FreeType(l); }
};
struct FtFaceFree {
    void operator()(FT_Face f) const { FT_Done_Face(f); }
};
struct FcConfigFree {
    void operator()(FcConfig* c) const { FcConfigDestroy(c); }
};
struct FcPatternFree {
    void operator()(FcPattern* p) const { FcPatternDestroy(p); }
};

// fontconfig's file for `name` ("" when it has none). A private configuration,
// so that nothing global is left initialised.
std::string fontconfig_file(const char* name) {
    const std::unique_ptr<FcConfig, FcConfigFree> config(FcInitLoadConfigAndFonts());
    if (!config) return {};
    const std::unique_ptr<FcPattern, FcPatternFree> pattern(
        FcNameParse(reinterpret_cast<const FcChar8*>(name)));
    if (!pattern) return {};
    FcConfigSubstitute(config.get(), pattern.get(), FcMatchPattern);
    FcDefaultSubstitute(pattern.get());
    FcResult result = FcResultNoMatch;
    const std::unique_ptr<FcPattern, FcPatternFree> match(
        FcFontMatch(config.get(), pattern.get(), &result));
    FcChar8* file = nullptr;
    if (!match || FcPatternGetString(match.get(), FC_FILE, 0, &file) != FcResultMatch ||
        file == nullptr)
        return {};
    return reinterpret_cast<const char*>(file);
}

// The one FreeType face, loaded on first use; a mutex because a face is not
// thread-safe and tests may draw text from several threads.
class Font {
  public:
    static Font& get() {
        static Font font;
        return font;
    }
    [[nodiscard]] const std::string& path() const { return path_; }

    TextImage render(const std::vector<std::string>& lines, std::uint32_t px) {
        const std::lock_guard lock(mutex_);
        FT_Face face = face_.get();
        if (FT_Set_Pixel_Sizes(face, 0, px) != 0) return render_bitmap_text(lines, 1);
        const auto& m = face->size->metrics;
        const auto ascender = static_cast<std::int64_t>((m.ascender + 63) >> 6);
        const auto line_h = std::max<std::int64_t>((m.height + 63) >> 6, 1);
        const std::int64_t pad = std::max<std::uint32_t>(px / 3, 2);

        struct Glyph {
            std::int64_t x, y;  // top left in the image
            std::uint32_t w, h;
            std::vector<std::uint8_t> coverage;
        };
        std::vector<Glyph> glyphs;
        std::int64_t width = 0;
        for (std::size_t row = 0; row < lines.size(); ++row) {
            std::int64_t pen = 0;
            const std::int64_t baseline = pad + static_cast<std::int64_t>(row) * line_h + ascender;
            for (const char32_t cp : code_points(lines[row])) {
                if (FT_Load_Char(face, cp, FT_LOAD_RENDER | FT_LOAD_TARGET_LIGHT) != 0) continue;
                const FT_GlyphSlot g = face->glyph;
                const FT_Bitmap& b = g->bitmap;
                if (b.pixel_mode == FT_PIXEL_MODE_GRAY && b.width != 0 && b.rows != 0) {
                    Glyph out{pad + pen + g->bitmap_left, baseline - g->bitmap_top, b.width, b.rows,
                              std::vector<std::uint8_t>(std::size_t{b.width} * b.rows)};
                    for (std::uint32_t y = 0; y < b.rows; ++y) {
                        const auto* src = b.buffer + static_cast<std::ptrdiff_t>(y) * b.pitch;
                        std::copy_n(src, b.width, out.coverage.begin() + std::size_t{y} * b.width);
                    }
                    glyphs.push_back(std::move(out));
                }
                pen += (g->advance.x + 32) >> 6;
            }
            width = std::max(width, pen);
        }
        if (width == 0) width = 1;
        TextImage img = empty_box(
            static_cast<std::uint32_t>(width + 2 * pad),
            static_cast<std::uint32_t>(static_cast<std::int64_t>(lines.size()) * line_h + 2 * pad));
        for (const auto& g : glyphs) {
            for (std::uint32_t y = 0; y < g.h; ++y) {
                for (std::uint32_t x = 0; x < g.w; ++x) {
                    const std::int64_t ix = g.x + x, iy = g.y + y;
                    if (ix < 0 || iy < 0 || ix >= img.width || iy >= img.height) continue;
                    cover(img, static_cast<std::size_t>(ix), static_cast<std::size_t>(iy),
                          g.coverage[std::size_t{y} * g.w + x]);
                }
            }
        }
        return img;
    }

    [[nodiscard]] bool loaded() const { return face_ != nullptr; }

  private:
    // $PORTHOLE_FONT names a font file instead of fontconfig's choice ("" or a
    // file FreeType cannot read: the bitmap font).
    Font() {
        FT_Library lib = nullptr;
        if (FT_Init_FreeType(&lib) != 0) {
            spdlog::warn("text: FreeType did not start; the overlay uses the built-in bitmap font");
            return;
        }
        lib_.reset(lib);
        std::vector<std::string> candidates;
        if (const char* env = std::getenv("PORTHOLE_FONT")) {
            candidates.emplace_back(env);
        } else {
            candidates = {fontconfig_file(kFontName), kFontFile};
        }
        for (const auto& file : candidates) {
            FT_Face face = nullptr;
            if (file.empty() || FT_New_Face(lib_.get(), file.c_str(), 0, &face) != 0) continue;
            if (FT_IS_SCALABLE(face) == 0) {
                FT_Done_Face(face);
                continue;
            }
            face_.reset(face);
            path_ = file;
            spdlog::debug("text: font {}", path_);
            return;
        }
        spdlog::warn(
            "text: no font could be loaded ({}{}); the overlay uses the built-in bitmap font "
            "(package fonts-dejavu-core)",
            candidates.back().empty() ? "\"\"" : candidates.back(),
            candidates.size() > 1 ? " nor fontconfig's " + std::string(kFontName) : "");
    }

    std::mutex mutex_;
    std::unique_ptr<std::remove_pointer_t<FT_Library>, FtLibraryFree> lib_;
    std::unique_ptr<std::remove_pointer_t<FT_Face>, FtFaceFree> face_;
    std::string path_;
};

}  // namespace

std::uint32_t text_pixel_size(std::uint32_t base_px, float density) {
    if (!std::isfinite(density) || density <= 0.0F) density = 1.0F;
    return std::max<std::uint32_t>(
        static_cast<std::uint32_t>(std::lround(static_cast<float>(base_px) * density)), 6);
}

const std::string& text_font_path() {
    return Font::get().path();
}

TextImage render_text_fitting(const std::vector<std::string>& lines, std::uint32_t pixel_size,
                              std::uint32_t max_width, std::uint32_t max_height) {
    auto img = render_text(lines, pixel_size);
    // Text scales about linearly with the size: a proportional guess, then
    // one pixel less at a time for the rounding of glyph advances.
    while ((img.width > max_width || img.height > max_height) && pixel_size > kMinFitTextPx) {
        const double f = std::min(static_cast<double>(max_width) / std::max(img.width, 1U),
                                  static_cast<double>(max_height) / std::max(img.height, 1U));
        const auto guess = static_cast<std::uint32_t>(pixel_size * std::min(f, 1.0));
        pixel_size = std::max(kMinFitTextPx, std::min(guess, pixel_size - 1));
        img = render_text(lines, pixel_size);
    }
    return img;
}

TextImage render_text(const std::vector<std::string>& lines, std::uint32_t pixel_size) {
    if (lines.empty()) return {};
    pixel_size = std::clamp<std::uint32_t>(pixel_size, 6, 256);
    Font& font = Font::get();
    // The bitmap font's cell is 10 pixels high: about a 9-pixel em.
    if (!font.loaded())
        return render_bitmap_text(lines, std::max<std::uint32_t>(pixel_size / 9, 1));
    return font.render(lines, pixel_size);
}

TextImage render_overlay(const std::vector<std::string>& lines, std::span<const float> frame_ms,
                         std::uint32_t pixel_size) {
    TextImage text = render_text(lines, pixel_size);
    if (frame_ms.empty() || text.width == 0) return text;
    // The graph: as wide as the text's box, three lines high, under it.
    const std::uint32_t pad = std::max<std::uint32_t>(pixel_size / 3, 2);
    const std::uint32_t gh = std::max<std::uint32_t>(pixel_size * 3, 12);
    const std::uint32_t gw = text.width - 2 * pad;
    TextImage img = empty_box(text.width, text.height + gh + pad);
    std::copy(text.bgra.begin(), text.bgra.end(), img.bgra.begin());
    const std::uint32_t top = text.height, bottom = top + gh;  // bars grow up from bottom
    const auto put = [&](std::uint32_t x, std::uint32_t y, std::uint8_t b, std::uint8_t g,
                         std::uint8_t r) {
        const std::size_t p = (std::size_t{y} * img.width + x) * 4;
        img.bgra[p] = std::byte{b};
        img.bgra[p + 1] = std::byte{g};
        img.bgra[p + 2] = std::byte{r};
        img.bgra[p + 3] = std::byte{255};
    };
    const auto height_of = [&](float ms) {
        const float t = std::clamp(std::isfinite(ms) ? ms : kGraphMaxMs, 0.0F, kGraphMaxMs);
        return static_cast<std::uint32_t>(std::lround(t / kGraphMaxMs * static_cast<float>(gh)));
    };
    const std::size_t n = frame_ms.size();
    for (std::uint32_t x = 0; x < gw; ++x) {
        // The samples spread over the width, the newest at the right.
        const std::size_t i = std::min(n - 1, std::size_t{x} * n / gw);
        const float ms = frame_ms[i];
        const std::uint32_t h = height_of(ms);
        // BGR: green at 60 Hz or better, yellow to 30 Hz, red below.
        const std::array<std::uint8_t, 3> c = ms <= 17.0F ? std::array<std::uint8_t, 3>{80, 200, 80}
                                              : ms <= 34.0F
                                                  ? std::array<std::uint8_t, 3>{40, 200, 230}
                                                  : std::array<std::uint8_t, 3>{60, 60, 240};
        for (std::uint32_t y = bottom - h; y < bottom; ++y)
            put(pad + x, y, c[0], c[1], c[2]);
        const std::uint32_t mark = bottom - height_of(1000.0F / 60.0F);
        if (h < bottom - mark) put(pad + x, mark, 140, 140, 140);
    }
    return img;
}

TextImage render_bitmap_text(const std::vector<std::string>& lines, std::uint32_t scale) {
    scale = std::max(scale, 1U);
    std::vector<std::vector<char32_t>> text;
    std::size_t cols = 0;
    for (const auto& l : lines) {
        text.push_back(code_points(l));
        cols = std::max(cols, text.back().size());
    }
    if (lines.empty()) return {};
    TextImage img =
        empty_box((static_cast<std::uint32_t>(cols) * kCellW + 2 * kPad) * scale,
                  (static_cast<std::uint32_t>(lines.size()) * kCellH + 2 * kPad) * scale);
    for (std::size_t row = 0; row < text.size(); ++row) {
        for (std::size_t col = 0; col < text[row].size(); ++col) {
            const std::uint32_t g = glyph_index(text[row][col]);
            for (std::uint32_t gx = 0; gx < 5; ++gx) {
                const std::uint8_t bits = kFont[g * 5 + gx];
                for (std::uint32_t gy = 0; gy < 8; ++gy) {
                    if ((bits >> gy & 1U) == 0) continue;
                    const std::uint32_t x0 =
                        (kPad + static_cast<std::uint32_t>(col) * kCellW + gx) * scale;
                    const std::uint32_t y0 =
                        (kPad + static_cast<std::uint32_t>(row) * kCellH + gy) * scale;
                    for (std::uint32_t dy = 0; dy < scale; ++dy)
                        for (std::uint32_t dx = 0; dx < scale; ++dx)
                            cover(img, x0 + dx, y0 + dy, 255);
                }
            }
        }
    }
    return img;
}

}  // namespace porthole::client
