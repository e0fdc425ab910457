#include <pvmkit/core/id_set.hpp>

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace pvmkit;

TEST_CASE("cpuset membership, size and iteration in order") {
  cpuset s{cpu_id{65}, cpu_id{0}, cpu_id{3}};
  CHECK(s.size() == 3);
  CHECK(s.contains(cpu_id{65}));
  CHECK_FALSE(s.contains(cpu_id{64}));
  CHECK_FALSE(s.contains(cpu_id{100000}));
  std::vector<unsigned> got;
  for (cpu_id c : s) got.push_back(c.value());
  CHECK(got == std::vector<unsigned>{0, 3, 65});
  CHECK(s.extent() == 66);
  CHECK(s.first() == cpu_id{0});
  s.erase(cpu_id{65});
  CHECK(s.extent() == 4);
  CHECK(s == cpuset{cpu_id{0}, cpu_id{3}});  // equality ignores storage that was grown then emptied
  CHECK_FALSE(cpuset{}.first().has_value());
}

TEST_CASE("set algebra") {
  const auto a = cpuset::range(0, 8);
  const auto b = cpuset::range(4, 12);
  CHECK((a & b) == cpuset::range(4, 8));
  CHECK((a | b) == cpuset::range(0, 12));
  CHECK((a - b) == cpuset::range(0, 4));
  CHECK(a.intersects(b));
  CHECK_FALSE(cpuset::range(0, 4).intersects(cpuset::range(4, 8)));
  CHECK(cpuset::range(2, 4).is_subset_of(a));
  CHECK_FALSE(b.is_subset_of(a));
  CHECK((cpuset::range(0, 64) - cpuset::range(0, 64)).empty());
}

TEST_CASE("list syntax round-trips and rejects garbage") {
  CHECK(cpuset::range(0, 4).to_string() == "0-3");
  CHECK((cpuset::range(0, 2) | cpuset{cpu_id{5}} | cpuset::range(8, 11)).to_string() == "0-1,5,8-10");
  CHECK(cpuset{}.to_string().empty());
  for (const char* text : {"0-3", "0-1,5,8-10", "7", "0,2,4,6", "63-65"}) {
    auto parsed = cpuset::parse(text);
    REQUIRE(parsed.has_value());
    CHECK(parsed->to_string() == text);
  }
  CHECK(cpuset::parse("")->empty());
  for (const char* bad : {"a", "3-1", "1,", ",1", "1--3", "1-", "0-99999999", "1 2"}) {
    INFO(bad);
    CHECK_FALSE(cpuset::parse(bad).has_value());
  }
}

// Small sets are stored inline, larger ones on the heap (the boundary is at id 256): behaviour must
// not depend on where the words are.
TEST_CASE("sets across the inline/heap storage boundary behave the same") {
  const std::vector<unsigned> ids{0, 63, 64, 255, 256, 511, 512, 1000};
  cpuset s;
  for (unsigned i : ids) s.insert(cpu_id{i});
  CHECK(s.size() == ids.size());
  CHECK(s.extent() == 1001);
  std::vector<unsigned> got;
  for (cpu_id c : s) got.push_back(c.value());
  CHECK(got == ids);
  CHECK(s.to_string() == "0,63-64,255-256,511-512,1000");
  CHECK(cpuset::parse("0,63-64,255-256,511-512,1000") == s);

  SUBCASE("erasing back below the boundary compares equal to a set that never grew") {
    cpuset t = s;
    for (unsigned i : {1000U, 512U, 511U, 256U}) t.erase(cpu_id{i});
    CHECK(t == cpuset{cpu_id{0}, cpu_id{63}, cpu_id{64}, cpu_id{255}});
    CHECK(t.extent() == 256);
    CHECK(t != s);
    t.erase(cpu_id{255});
    CHECK(t.extent() == 65);
    t.insert(cpu_id{511});  // regrows over words that held members before: they must read as empty
    CHECK(t == cpuset{cpu_id{0}, cpu_id{63}, cpu_id{64}, cpu_id{511}});
    CHECK(t.size() == 4);
  }
  SUBCASE("copies and moves in every direction") {
    const cpuset small{cpu_id{1}, cpu_id{255}};
    cpuset a = s;  // heap -> new
    CHECK(a == s);
    a = small;  // heap target, inline source
    CHECK(a == small);
    CHECK(a.extent() == 256);
    a = s;  // reuses the heap words
    CHECK(a == s);
    cpuset b = small;
    b = s;  // inline target, heap source
    CHECK(b == s);
    cpuset c = std::move(b);  // heap move: the source is left empty and usable
    CHECK(c == s);
    CHECK(b.empty());  // NOLINT(bugprone-use-after-move): moved-from sets are empty, as vectors were
    b.insert(cpu_id{300});
    CHECK(b == cpuset{cpu_id{300}});
    cpuset d = small;
    cpuset e = std::move(d);  // inline move
    CHECK(e == small);
    CHECK(d.empty());  // NOLINT(bugprone-use-after-move)
    e = std::move(c);  // inline target, heap source
    CHECK(e == s);
    c = cpuset{cpu_id{7}};  // moved-from target, inline source
    CHECK(c.to_string() == "7");
    const cpuset& alias = a;
    a = alias;  // self-assignment keeps the set
    CHECK(a == s);
    cpuset f = cpuset::range(0, 256);
    const cpuset one{cpu_id{5}};
    f = one;  // inline target and source, fewer words: the words past them read as empty
    CHECK(f == one);
    CHECK(f.extent() == 6);
    cpuset g = one;  // inline copy, then grown on its own
    g.insert(cpu_id{200});
    CHECK(g == cpuset{cpu_id{5}, cpu_id{200}});
    CHECK(one == cpuset{cpu_id{5}});
  }
  SUBCASE("set algebra mixes inline and heap operands") {
    const auto low = cpuset::range(0, 256);
    const auto high = cpuset::range(200, 600);
    CHECK((low | high) == cpuset::range(0, 600));
    CHECK((low & high) == cpuset::range(200, 256));
    CHECK((high & low) == cpuset::range(200, 256));
    CHECK((high - low) == cpuset::range(256, 600));
    CHECK((low - high) == cpuset::range(0, 200));
    CHECK((low - cpuset::range(0, 1000)).empty());
    CHECK(low.intersects(high));
    CHECK_FALSE(low.intersects(cpuset::range(256, 1000)));
    CHECK(cpuset::range(200, 256).is_subset_of(low));
    CHECK(cpuset::range(200, 256).is_subset_of(high));
    CHECK_FALSE(high.is_subset_of(low));
    CHECK_FALSE(cpuset{cpu_id{512}}.is_subset_of(low));
    CHECK(cpuset{}.is_subset_of(cpuset{}));
    cpuset x = low;
    x |= high;
    x &= cpuset::range(250, 260);
    CHECK(x == cpuset::range(250, 260));
    x.clear();
    CHECK(x.empty());
    CHECK(x == cpuset{});
    CHECK(x.extent() == 0);
    x.insert(cpu_id{3});
    CHECK(x == cpuset{cpu_id{3}});
  }
  SUBCASE("sets in a vector survive its reallocations") {
    std::vector<cpuset> v;
    for (unsigned i = 0; i < 64; ++i) v.push_back(i % 2 == 0 ? cpuset{cpu_id{i}} : cpuset{cpu_id{i}, cpu_id{i + 700}});
    for (unsigned i = 0; i < 64; ++i) {
      INFO(i);
      CHECK(v[i].contains(cpu_id{i}));
      CHECK(v[i].size() == (i % 2 == 0 ? 1U : 2U));
    }
  }
}

TEST_CASE("a set that shrank and grew again holds only what was put back") {
  cpuset a = cpuset::range(0, 256);
  a &= cpuset::range(0, 64);
  CHECK(a == cpuset::range(0, 64));
  a.insert(cpu_id{200});
  CHECK(a.to_string() == "0-63,200");
  CHECK(a.size() == 65);
  cpuset b = cpuset::range(0, 256);
  b.clear();
  CHECK(b == cpuset{});
  b.insert(cpu_id{130});
  CHECK(b == cpuset{cpu_id{130}});
  CHECK(b.to_string() == "130");
  cpuset c = cpuset::range(0, 256);
  c = cpuset{cpu_id{1}};  // assigning a shorter set over a longer one
  CHECK(c == cpuset{cpu_id{1}});
  c.insert(cpu_id{255});
  CHECK(c.to_string() == "1,255");
  cpuset h = cpuset::range(0, 700);  // the same on the heap
  h &= cpuset::range(0, 64);
  CHECK(h == cpuset::range(0, 64));
  h.insert(cpu_id{600});
  CHECK(h.to_string() == "0-63,600");
  h.clear();
  h.insert(cpu_id{650});
  CHECK(h.to_string() == "650");
}

TEST_CASE("equality, subset and list syntax at exact word and storage boundaries") {
  for (unsigned id : {255U, 256U, 511U, 512U, 1000U}) {
    INFO(id);
    const cpuset one{cpu_id{id}};
    CHECK(one.extent() == id + 1);
    CHECK(one.first() == cpu_id{id});
    CHECK(one.to_string() == std::to_string(id));
    CHECK(cpuset::parse(std::to_string(id)) == one);
    CHECK(one == cpuset::range(id, id + 1));
    CHECK(one != cpuset{cpu_id{id - 1}});
    CHECK(one.is_subset_of(cpuset::range(0, id + 1)));
    CHECK_FALSE(one.is_subset_of(cpuset::range(0, id)));
    cpuset grown = cpuset::range(0, id + 1);
    grown -= cpuset::range(0, id);
    CHECK(grown == one);
  }
  CHECK(cpuset::parse("250-260")->size() == 11);
  CHECK(cpuset::parse("250-260")->to_string() == "250-260");
}
