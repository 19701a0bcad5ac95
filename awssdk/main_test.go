package awssdk_test

import (
	"os"
	"testing"

	"github.com/lambda-mw/mw/awssdk/internal/moto"
)

// server is the moto_server every test shares, nil when it is missing.
var server *moto.Server

func TestMain(m *testing.M) {
	os.Exit(moto.Main(m, func(s *moto.Server) { server = s }))
}

// newBackend returns a Backend on the shared moto, with its state cleared,
// or skips the test when moto_server is missing (TestMain said so).
func newBackend(t *testing.T) *moto.Backend {
	t.Helper()
	return moto.NewBackend(t, server)
}
