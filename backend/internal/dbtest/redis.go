package dbtest

import (
	"os"
	"testing"

	"github.com/hibiken/asynq"
)

// RedisURL returns the test Redis ($REDIS_URL_TEST, default redis://127.0.0.1:6379/0) after a
// ping; when it does not answer the test is skipped, or failed under
// TESSERA_REQUIRE_SERVICES=1 (see Unavailable).
func RedisURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("REDIS_URL_TEST")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := asynq.ParseRedisURI(url)
	if err == nil {
		c := asynq.NewClient(opt)
		err = c.Ping()
		c.Close()
	}
	if err != nil {
		Unavailable(tb, "redis at %s: %v", url, err)
	}
	return url
}
