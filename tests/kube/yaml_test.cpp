#include <gtest/gtest.h>

#include "kube/yaml.h"

namespace lagpilot::kube {
namespace {

TEST(Yaml, TypesPlainScalarsAndKeepsQuotedOnesStrings) {
  auto docs = parse_yaml_documents(R"(a: 1
b: "1"
c: true
d: 'false'
e: 0.5
f: ~
g: hello
h: [1, two]
---
second: doc
)",
                                   "test.yaml");
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  ASSERT_EQ(docs->size(), 2u);
  const Json& first = (*docs)[0];
  EXPECT_EQ(first["a"], 1);
  EXPECT_EQ(first["b"], "1");
  EXPECT_EQ(first["c"], true);
  EXPECT_EQ(first["d"], "false");
  EXPECT_DOUBLE_EQ(first["e"].get<double>(), 0.5);
  EXPECT_TRUE(first["f"].is_null());
  EXPECT_EQ(first["g"], "hello");
  EXPECT_EQ(first["h"], Json::parse(R"([1, "two"])"));
  EXPECT_EQ((*docs)[1]["second"], "doc");
}

// Integers past 64 bits become what a JSON parser makes of them (unsigned, then a double), so the
// field's parser reports them out of range rather than wrapped to a negative number or a string.
TEST(Yaml, IntegersPast64BitsAreReadAsJsonReadsThem) {
  auto docs = parse_yaml_documents(R"(max: 9223372036854775807
unsigned: 9223372036854775808
plus: +18446744073709551615
huge: 18446744073709551616
below: -9223372036854775809
digits: 1)" + std::string(400, '0') + "\n",
                                   "big.yaml");
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  const Json& doc = (*docs)[0];
  EXPECT_EQ(doc["max"].get<std::int64_t>(), 9223372036854775807);
  ASSERT_TRUE(doc["unsigned"].is_number_unsigned()) << doc["unsigned"].dump();
  EXPECT_EQ(doc["unsigned"].get<std::uint64_t>(), 9223372036854775808u);
  EXPECT_EQ(doc["plus"].get<std::uint64_t>(), 18446744073709551615u);
  ASSERT_TRUE(doc["huge"].is_number_float()) << doc["huge"].dump();
  EXPECT_DOUBLE_EQ(doc["huge"].get<double>(), 18446744073709551616.0);
  ASSERT_TRUE(doc["below"].is_number_float()) << doc["below"].dump();
  EXPECT_LT(doc["below"].get<double>(), 0);
  EXPECT_TRUE(doc["digits"].is_string());  // beyond a double too: "must be an integer"
}

TEST(Yaml, ErrorNamesSourceAndLine) {
  auto docs = parse_yaml_documents("a: 1\nb: [unclosed\n", "bad.yaml");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.error().message.rfind("bad.yaml:", 0), 0u) << docs.error().message;
}

// yaml-cpp 0.7.0's LoadAll never returns on a ',' outside [ ] or { } at the top of a document;
// each of these must be an error naming the file and line, at once (found by fuzzing).
TEST(Yaml, CommaOutsideAFlowCollectionIsAnErrorNotAHang) {
  for (std::string text : {",", "\"a\",", ",\",", "[a],", "{a: b},", "a: 1\n---\n\"b\"\n,"}) {
    auto docs = parse_yaml_documents(text, "bad.yaml");
    ASSERT_FALSE(docs.ok()) << text;
    EXPECT_EQ(docs.error().message.rfind("bad.yaml:", 0), 0u) << docs.error().message;
    EXPECT_NE(docs.error().message.find("','"), std::string::npos) << docs.error().message;
  }
  auto plain = parse_yaml_documents("a,", "ok.yaml");  // a plain scalar may hold a comma
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ((*plain)[0], "a,");
}

// JSON and the API server take UTF-8 only: a value or key that is not is an error at its line.
TEST(Yaml, TextThatIsNotUtf8IsAnErrorNamingTheLine) {
  for (std::string text :
       {"a: 1\nb: \"\xeb\"\n", "a: 1\n\xc0\xaf: 2\n", "a: 1\nb: \xed\xa0\x80\n"}) {
    auto docs = parse_yaml_documents(text, "bad.yaml");
    ASSERT_FALSE(docs.ok()) << text;
    EXPECT_EQ(docs.error().message.rfind("bad.yaml:2:", 0), 0u) << docs.error().message;
    EXPECT_NE(docs.error().message.find("UTF-8"), std::string::npos) << docs.error().message;
  }
  auto good = parse_yaml_documents("summary: \"caf\xc3\xa9 \xf0\x9f\x93\x88\"\n", "ok.yaml");
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ((*good)[0]["summary"], "caf\xc3\xa9 \xf0\x9f\x93\x88");
}

TEST(Yaml, ReadsTheShippedCrd) {
  auto docs = read_yaml_file(LAGPILOT_SOURCE_DIR "/crds/lagpilot.io_queuemonitors.yaml");
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  ASSERT_EQ(docs->size(), 1u);
  EXPECT_EQ((*docs)[0]["kind"], "CustomResourceDefinition");
  EXPECT_EQ((*docs)[0]["spec"]["group"], "lagpilot.io");
}

}  // namespace
}  // namespace lagpilot::kube
