#include <gtest/gtest.h>

#include "kube/api_error.h"

namespace lagpilot::kube {
namespace {

TEST(ApiError, DecodesInvalidWithCauses) {
  auto error = decode_api_error(422, R"({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"QueueMonitor.lagpilot.io \"x\" is invalid: spec.scaling.maxReplicas: Invalid value: 0",
    "reason":"Invalid","details":{"causes":[{"reason":"FieldValueInvalid",
    "message":"Invalid value: 0: should be greater than or equal to 1","field":"spec.scaling.maxReplicas"}]},
    "code":422})",
                                "", "POST /apis/x");
  EXPECT_EQ(error.reason, ApiReason::kInvalid);
  EXPECT_EQ(error.code, "Invalid");
  ASSERT_EQ(error.causes.size(), 1u);
  EXPECT_EQ(error.causes[0].rfind("spec.scaling.maxReplicas: ", 0), 0u);
  EXPECT_NE(error.message.find("POST /apis/x"), std::string::npos);
}

TEST(ApiError, TellsConflictFromAlreadyExists) {
  auto exists =
      decode_api_error(409, R"({"kind":"Status","reason":"AlreadyExists","code":409})", "", "r");
  auto conflict =
      decode_api_error(409, R"({"kind":"Status","reason":"Conflict","code":409})", "", "r");
  EXPECT_EQ(exists.reason, ApiReason::kAlreadyExists);
  EXPECT_EQ(conflict.reason, ApiReason::kConflict);
  EXPECT_FALSE(is_retriable(conflict));
}

TEST(ApiError, TooManyRequestsHonoursRetryAfter) {
  auto header = decode_api_error(429, "slow down", "7", "r");
  EXPECT_EQ(header.reason, ApiReason::kTooManyRequests);
  ASSERT_TRUE(header.retry_after.has_value());
  EXPECT_EQ(*header.retry_after, std::chrono::seconds(7));
  auto details = decode_api_error(
      429, R"({"kind":"Status","reason":"TooManyRequests","details":{"retryAfterSeconds":3}})", "",
      "r");
  ASSERT_TRUE(details.retry_after.has_value());
  EXPECT_EQ(*details.retry_after, std::chrono::seconds(3));
  EXPECT_TRUE(is_retriable(details));
}

TEST(ApiError, FallsBackToHttpStatusWithoutStatusBody) {
  EXPECT_EQ(decode_api_error(404, "<html>", "", "r").reason, ApiReason::kNotFound);
  EXPECT_EQ(decode_api_error(403, "", "", "r").reason, ApiReason::kForbidden);
  EXPECT_EQ(decode_api_error(401, "", "", "r").reason, ApiReason::kUnauthorized);
  EXPECT_EQ(decode_api_error(410, "", "", "r").reason, ApiReason::kGone);
  EXPECT_EQ(decode_api_error(502, "", "", "r").reason, ApiReason::kInternalError);
  EXPECT_EQ(decode_api_error(504, "", "", "r").reason, ApiReason::kServerTimeout);
}

TEST(ApiError, WatchExpiredIsGone) {
  auto error = decode_api_error(410, R"({"kind":"Status","reason":"Expired","code":410,
    "message":"too old resource version: 1 of 2"})",
                                "", "WATCH");
  EXPECT_EQ(error.reason, ApiReason::kGone);
}

}  // namespace
}  // namespace lagpilot::kube
