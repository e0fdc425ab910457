// Aligned plain-text tables, the one renderer behind every table the CLI prints (a scenario's
// runs, the suite summary, the suite verdict): columns as wide as their widest cell, two spaces
// apart, a rule under the header, no padding after a left-aligned last column.
#pragma once

#include <range/v3/numeric/accumulate.hpp>
#include <range/v3/view/enumerate.hpp>
#include <range/v3/view/transform.hpp>
#include <range/v3/view/zip.hpp>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace pvmkit {

class text_table {
 public:
  enum class align { left, right };

  // One column per header cell; `left` lists the columns aligned left (the others align right,
  // as numbers do).
  text_table(std::vector<std::string> header, std::vector<std::size_t> left = {0}) : align_(header.size(), align::right) {
    for (std::size_t j : left)
      if (j < align_.size()) align_[j] = align::left;
    rows_.push_back(std::move(header));
  }

  // A row has exactly the header's number of cells: a short row is a bug in the report.
  text_table& add(std::vector<std::string> row) {
    if (row.size() != align_.size())
      throw std::logic_error("text_table: a row of " + std::to_string(row.size()) + " cells in a table of " +
                             std::to_string(align_.size()) + " columns");
    rows_.push_back(std::move(row));
    return *this;
  }

  [[nodiscard]] std::size_t rows() const noexcept { return rows_.size() - 1; }

  [[nodiscard]] std::string render() const {
    std::vector<std::size_t> width(align_.size(), 0);
    for (const auto& row : rows_)
      for (auto&& [w, cell] : ranges::views::zip(width, row)) w = std::max(w, cell.size());
    const std::size_t rule = ranges::accumulate(width | ranges::views::transform([](std::size_t w) { return w + 2; }), std::size_t{0}) - 2;
    std::string out;
    for (auto&& [i, row] : ranges::views::enumerate(rows_)) {
      std::string line;
      for (auto&& [j, cell] : ranges::views::enumerate(row)) {
        const std::string pad(width[j] - cell.size(), ' ');
        if (j) line += "  ";
        const bool last = j + 1 == row.size();  // no blanks after a left-aligned last cell
        line += align_[j] == align::left ? cell + (last ? std::string{} : pad) : pad + cell;
      }
      out += line + '\n';
      if (i == 0) out += std::string(rule, '-') + '\n';
    }
    return out;
  }

 private:
  std::vector<align> align_;
  std::vector<std::vector<std::string>> rows_;  // the header first
};

}  // namespace pvmkit
