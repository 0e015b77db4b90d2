#pragma once
// Column-aligned plain-text tables for the human-readable output.

#include <algorithm>
#include <string>
#include <vector>

namespace porthole::vfio {

// Pads every column but the last to its widest cell; `indent` before each row.
inline std::string render_table(const std::vector<std::vector<std::string>>& rows,
                                const std::string& indent = "") {
    std::vector<size_t> width;
    for (const auto& row : rows) {
        if (width.size() < row.size()) width.resize(row.size(), 0);
        for (size_t i = 0; i < row.size(); ++i)
            width[i] = std::max(width[i], row[i].size());
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line = indent;
        for (size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
        }
        while (!line.empty() && line.back() == ' ')
            line.pop_back();
        out += line + "\n";
    }
    return out;
}

}  // namespace porthole::vfio
