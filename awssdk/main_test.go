package awssdk_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lambda-mw/mw/awssdk/internal/moto"
)

// server is the moto_server every test shares, nil when it is missing.
var server *moto.Server

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	srv, err := moto.Start(30 * time.Second)
	switch {
	case err == moto.ErrMissing:
		if moto.Missing() {
			return 1
		}
	case err != nil:
		fmt.Println("awssdk:", err)
		return 1
	default:
		server = srv
		defer srv.Close()
	}
	return m.Run()
}

// newBackend returns a Backend on the shared moto, with its state cleared,
// or skips the test when moto_server is missing (TestMain said so).
func newBackend(t *testing.T) *moto.Backend {
	t.Helper()
	if server == nil {
		t.Skip(moto.ErrMissing)
	}
	return moto.NewBackend(t, server)
}
